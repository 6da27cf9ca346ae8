#!/usr/bin/env bash
# End to end, on its own moto and two kube-apiservers — two EKS clusters, each
# with its own API server, as two contexts of one kubeconfig: one sgk script
# installs the SageMaker operator on both (`sagemaker install … context:`).
#   1. each cluster gets its objects, with its own role's ARN, whatever the
#      current context is; a second run of the script writes nothing;
#   2. the operator's Namespace existed on the second cluster before: its
#      uninstall keeps it, although the journal says sgk created that Namespace
#      — in the first cluster (journal entries name their API server);
#   3. uninstalling the second cluster leaves the first untouched; the first's
#      own uninstall then removes its Namespace too.
. "$(dirname "$0")/common.bash"
start_peers
"$ROOT/tools/kube-peer.sh" start "$E2E_STATE/kube2" >>"$E2E_STATE/peers.log" 2>&1 ||
  { cat "$E2E_STATE/peers.log" >&2; echo "cannot start the second kube peer" >&2; exit 1; }
trap '"$ROOT/tools/kube-peer.sh" stop "$E2E_STATE/kube2" >/dev/null 2>&1; stop_peers' EXIT INT TERM

I="$FIX/installer.yaml"
NS=sagemaker-k8s-operator-system
SA=sagemaker-k8s-operator-default
K="$E2E_STATE/two-clusters.kubeconfig"
i=0
for d in "$E2E_STATE/kube" "$E2E_STATE/kube2"; do
  i=$((i + 1))
  kubectl --kubeconfig "$K" config set-cluster "c$i" --server="$(cat "$d/server")" --certificate-authority="$d/ca.crt" --embed-certs >/dev/null
  kubectl --kubeconfig "$K" config set-credentials "u$i" --token="$(cat "$d/token")" >/dev/null
  kubectl --kubeconfig "$K" config set-context "ml-$i" --cluster "c$i" --user "u$i" >/dev/null
  make_cluster "ml-$i"
done
kubectl --kubeconfig "$K" config use-context ml-1 >/dev/null
export KUBECONFIG="$K"
k1() { kubectl --context ml-1 "$@"; }
k2() { kubectl --context ml-2 "$@"; }
arn() { echo "arn:aws:iam::123456789012:role/sagemaker-k8s-operator-$1"; }
k2 create namespace "$NS" >/dev/null   # the second cluster had the Namespace already

script="$E2E_STATE/install-many.sgk"
cat >"$script" <<EOF
use sagemaker
for c in [{cluster: "ml-1", context: "ml-1"}, {cluster: "ml-2", context: "ml-2"}] {
  let r = sagemaker install cluster: \$c.cluster region: us-west-2 context: \$c.context installer: "$I"
  print "\${c.cluster}: \${r.created} created, \${r.configured} configured, \${r.unchanged} unchanged, CRDs \${r.crds}"
}
EOF

# ---- 1. both clusters from one script
out=$("$SGK_BIN" run "$script" 2>&1); code=$?
check "the script installs on both clusters (exit $code)" '[ "$code" -eq 0 ] && [[ "$out" == *"ml-1: 18 created, 0 configured, 0 unchanged, CRDs 8"* ]] && [[ "$out" == *"ml-2: 17 created, 1 configured, 0 unchanged, CRDs 8"* ]]'
[ "$code" -eq 0 ] || echo "$out" >&2
for n in 1 2; do
  check "cluster ml-$n: its service account names its own role" '[ "$(k$n -n $NS get sa $SA -o jsonpath="{.metadata.annotations.eks\.amazonaws\.com/role-arn}")" = "$(arn ml-$n)" ]'
  check "cluster ml-$n: 8 sagemaker CRDs" '[ "$(k$n get crd -o name | grep -c sagemaker)" -eq 8 ]'
  check "ml-$n: aws reads back the role" '[ "$(aws iam get-role --role-name sagemaker-k8s-operator-ml-$n --query Role.Arn --output text)" = "$(arn ml-$n)" ]'
done
check "the current context is still ml-1" '[ "$(kubectl config current-context)" = ml-1 ]'
check "the journal: the Namespace was created in ml-1, not in ml-2" \
  '[ "$("$SGK_BIN" journal created Namespace $NS context: ml-1)" = true ] && [ "$("$SGK_BIN" journal created Namespace $NS context: ml-2)" = false ]'
check "the journal names each object's API server" \
  '[ "$("$SGK_BIN" -c "print (journal entries kind: Namespace | each { \$it.cluster } | join \" \")")" = "$(cat "$E2E_STATE/kube/server") $(cat "$E2E_STATE/kube2/server")" ]'

mark
again=$("$SGK_BIN" run "$script" 2>&1)
check "a second run changes nothing on either cluster (moto $(moto_writes), ml-1 $(kube_writes))" \
  '[[ "$again" == *"ml-1: 0 created, 0 configured, 18 unchanged"* ]] && [[ "$again" == *"ml-2: 0 created, 0 configured, 18 unchanged"* ]] && [ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ]'

# ---- 2.–3. uninstall the second cluster, then the first
out=$("$SGK_BIN" run uninstall-sagemaker-operator --cluster ml-2 --region us-west-2 --installer "$I" --context ml-2 2>&1); code=$?
check "uninstall ml-2 succeeds (exit $code)" '[ "$code" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2
check "uninstall ml-2 keeps its pre-existing Namespace" '[[ "$out" == *"kept:    Namespace $NS (not in the journal: sgk did not create it"* ]] && [ "$(k2 get ns $NS -o jsonpath={.status.phase})" = Active ]'
check "uninstall ml-2 removes its CRDs and role" '[ "$(k2 get crd -o name | grep -c sagemaker)" -eq 0 ] && ! aws iam get-role --role-name sagemaker-k8s-operator-ml-2 >/dev/null 2>&1'
check "ml-1 is untouched: its CRDs, service account and role" \
  '[ "$(k1 get crd -o name | grep -c sagemaker)" -eq 8 ] && k1 -n $NS get sa $SA >/dev/null && aws iam get-role --role-name sagemaker-k8s-operator-ml-1 >/dev/null'
out=$("$SGK_BIN" run uninstall-sagemaker-operator --cluster ml-1 --region us-west-2 --installer "$I" --context ml-1 2>&1); code=$?
check "uninstall ml-1 removes everything, its Namespace too" \
  '[ "$code" -eq 0 ] && [ "$(k1 get ns $NS -o jsonpath={.status.phase} 2>/dev/null)" != Active ] && ! aws iam get-role --role-name sagemaker-k8s-operator-ml-1 >/dev/null 2>&1 && [ "$(aws iam list-open-id-connect-providers --query "length(OpenIDConnectProviderList)" --output text)" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2

finish "sagemaker clusters"
