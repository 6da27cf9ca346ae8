#!/usr/bin/env bash
# End to end, on its own moto and kube-apiserver: verify says why the operator's pod is not
# ready. The peer has no kubelet and no scheduler, so each pod state is SIMULATED by
# `tools/kube-peer.sh pod-state` (the pod's status patched through the status subresource, and
# core/v1 Events created through the API); verify must name the cause and its fix, with exit 1:
#   unschedulable, ImagePullBackOff of a moved image (the installer's gcr.io kube-rbac-proxy,
#   installed with --original-images), ImagePullBackOff of the operator's ECR image (the node
#   role's permissions), CrashLoopBackOff (exit code, and the log: not available on the peer),
#   OOMKilled, CreateContainerConfigError, and a service account annotated after the pod started.
. "$(dirname "$0")/common.bash"
start_peers
I="$FIX/installer.yaml"
NS=sagemaker-k8s-operator-system
SEL=control-plane=controller-manager
run() { "$SGK_BIN" run "$@" 2>&1; }
simulate() { "$ROOT/tools/kube-peer.sh" pod-state "$E2E_STATE/kube" "$NS" "$SEL" "$@" >>"$E2E_STATE/simulate.log" 2>&1 || { cat "$E2E_STATE/simulate.log" >&2; echo "cannot simulate $*" >&2; }; }
verify() { v=$(run verify-sagemaker-operator --cluster dg --region us-west-2 --wait 2s); code=$?; }
failed_line() { grep -m1 "^FAILED  operator:" <<<"$v"; }
fix_line() { grep -A1 -m1 "^FAILED  operator:" <<<"$v" | sed -n 2p; }
show() { printf '%s\n%s\n' "$(failed_line)" "$(fix_line)" >>"$E2E_STATE/lines.txt"; printf '%s\n' "$v" >>"$E2E_STATE/verify.txt"; }

make_cluster dg
out=$(run install-sagemaker-operator --cluster dg --region us-west-2 --installer "$I" --original-images); code=$?
check "install (original images) succeeds" '[ "$code" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2
# The controller-manager makes the pod a moment after the install.
for _ in $(seq 1 60); do [ -n "$(kubectl -n $NS get pods -l $SEL -o name 2>/dev/null)" ] && break; sleep 0.5; done
POD=$(kubectl -n $NS get pods -l $SEL -o jsonpath='{.items[0].metadata.name}')

verify
check "no scheduler at all: Pending, and why it cannot say more" '[ "$code" -eq 1 ] && [[ "$(failed_line)" == *"pod $POD: Pending: no node is assigned and no scheduler has said why"* ]] && [[ "$(fix_line)" == *"kubectl get nodes"* ]]'
show

simulate unschedulable
verify
check "unschedulable: the scheduler's message, and room to make" '[ "$code" -eq 1 ] && [[ "$(failed_line)" == *"not Available after 2s, pods 0/1 ready (Pending): pod $POD: Unschedulable: the scheduler says: 0/3 nodes are available: 3 Insufficient memory."* ]] && [[ "$(fix_line)" == *"fix: the nodes lack what the pod requests: add nodes or larger ones"* ]]'
show

simulate image-pull --container kube-rbac-proxy --message 'failed to resolve reference "gcr.io/kubebuilder/kube-rbac-proxy:v0.4.0": gcr.io/kubebuilder/kube-rbac-proxy:v0.4.0: not found'
verify
check "ImagePullBackOff of a moved image: the registry's message, and the install's rewrite" '[ "$code" -eq 1 ] && [[ "$(failed_line)" == *"pod $POD container kube-rbac-proxy: ImagePullBackOff: image gcr.io/kubebuilder/kube-rbac-proxy:v0.4.0: Failed to pull image \"gcr.io/kubebuilder/kube-rbac-proxy:v0.4.0\": rpc error: code = NotFound desc = failed to resolve reference"* ]] && [[ "$(fix_line)" == *"moved to registry.k8s.io/kubebuilder/kube-rbac-proxy:v0.4.0"* ]] && [[ "$(fix_line)" == *"re-run the install without --original-images"* ]] && [[ "$(fix_line)" == *"--image gcr.io/kubebuilder/kube-rbac-proxy:v0.4.0=registry.k8s.io/kubebuilder/kube-rbac-proxy:v0.4.0"* ]]'
show

ECR=957583890962.dkr.ecr.us-east-1.amazonaws.com/amazon-sagemaker-operator-for-k8s:v1
simulate image-pull --container manager --message "failed to pull and unpack image \"$ECR\": failed to resolve reference \"$ECR\": unexpected status from HEAD request: 403 Forbidden"
verify
check "ImagePullBackOff of the operator's ECR image: the node role's ECR permissions" '[ "$code" -eq 1 ] && [[ "$(failed_line)" == *"container manager: ImagePullBackOff: image $ECR: "*"403 Forbidden"* ]] && [[ "$(fix_line)" == *"account 957583890962"* ]] && [[ "$(fix_line)" == *"ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer"* ]] && [[ "$(fix_line)" == *"AmazonEC2ContainerRegistryReadOnly"* ]]'
show

simulate crash-loop --container manager
verify
check "CrashLoopBackOff: the exit code, and the log (not available: the peer has no kubelet)" '[ "$code" -eq 1 ] && [[ "$(failed_line)" == *"container manager: CrashLoopBackOff: the container exits: last exit code 1 (Error), restarted 6 time(s)"* ]] && [[ "$(fix_line)" == *"logs $POD -c manager --previous"* ]] && [[ "$v" == *"        logs not available: "* ]]'
show

simulate oom --container manager
verify
check "OOMKilled: raise the memory limit" '[ "$code" -eq 1 ] && [[ "$(failed_line)" == *"container manager: OOMKilled: killed for using more memory than its limit"*"exit code 137"* ]] && [[ "$(fix_line)" == *"raise the container'"'"'s memory limit"* ]]'
show

simulate config-error --container manager
verify
check "CreateContainerConfigError: the message" '[ "$code" -eq 1 ] && [[ "$(failed_line)" == *"container manager: CreateContainerConfigError: configmap \"sagemaker-operator-config\" not found"* ]] && [[ "$(fix_line)" == *"create what the message names"* ]]'
show

simulate stale-role
verify
check "a service account annotated after the pod started: restart the Deployment" '[ "$code" -eq 1 ] && [[ "$(failed_line)" == *"Available, pods 1/1 ready (Running): pod $POD container kube-rbac-proxy,manager: StaleServiceAccount: service account $NS/sagemaker-k8s-operator-default names role arn:aws:iam::123456789012:role/sagemaker-k8s-operator-dg"* ]] && [[ "$(fix_line)" == *"kubectl -n $NS rollout restart deployment/sagemaker-k8s-operator-controller-manager"* ]] && [[ "$v" == *"1 check(s) failed: operator"* ]]'
show

# The sgk line the fix offers restarts the Deployment (a new pod template).
kubectl -n $NS get deploy sagemaker-k8s-operator-controller-manager -o jsonpath='{.spec.template.metadata.annotations}' >"$E2E_STATE/before.txt"
"$SGK_BIN" kubectl patch deployment sagemaker-k8s-operator-controller-manager -n $NS --type merge -p '{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}}' >/dev/null 2>&1
check "the sgk restart line works" '[ "$(kubectl -n $NS get deploy sagemaker-k8s-operator-controller-manager -o jsonpath="{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}")" = 2026-01-01T00:00:00Z ]'

cp "$E2E_STATE/lines.txt" "${DIAG_LINES_OUT:-/dev/null}" 2>/dev/null || true
cp "$E2E_STATE/verify.txt" "${DIAG_VERIFY_OUT:-/dev/null}" 2>/dev/null || true
[ "$fail" -eq 0 ] || cat "$E2E_STATE/verify.txt" >&2
finish "sagemaker diagnoses"
