// The SGKKubernetes module.
