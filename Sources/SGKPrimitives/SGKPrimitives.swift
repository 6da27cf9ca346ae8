// The SGKPrimitives module.
