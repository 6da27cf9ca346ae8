#!/usr/bin/env bash
# End to end, on its own moto and kube-apiserver: the SageMaker operator's
# whole life, checked with the real aws and kubectl and by counting the write
# requests the peers receive.
#   1. an install killed (SGK_TEST_ABORT_AFTER_WRITES) after write 1, 2, 3, 4
#      and after the last one converges when re-run; uninstall cleans up each time,
#      also after a kill between a write and its journal entry;
#   2. idempotence: a second install makes no write call (moto's recorder and
#      the apiserver's audit log count 0), nor does a dry-run uninstall;
#   3. verify: passes once the pod is Ready; a broken link fails, named with its fix;
#   4. uninstall on an account that also holds an unrelated role and a
#      pre-existing OIDC provider: custom resources (with the finalizer) first,
#      then the installer's objects, then only what the install created;
#   5. a role that existed before the install is kept (only the policy the
#      install attached is detached);
#   6. the install's role is kept by an uninstall for another namespace (its
#      trust is not for that service account), and once made again by hand.
. "$(dirname "$0")/common.bash"
start_peers
I="$FIX/installer.yaml"
NS=sagemaker-k8s-operator-system
run() { "$SGK_BIN" run "$@" 2>&1; }
install() { run install-sagemaker-operator --cluster "$1" --region us-west-2 --installer "$I" "${@:2}"; }
uninstall() { run uninstall-sagemaker-operator --cluster "$1" --region us-west-2 --installer "$I" "${@:2}"; }
role_exists() { aws iam get-role --role-name "$1" >/dev/null 2>&1; }
# Every Namespace and CRD of the installer that is in the cluster is in the journal as created
# (and at least one is in the cluster).
journaled_all() {
  local crd found=false
  if [ "$(kubectl get ns "$NS" -o jsonpath='{.status.phase}' 2>/dev/null)" = Active ]; then
    found=true
    [ "$("$SGK_BIN" journal created Namespace "$NS")" = true ] || { echo "not journaled: Namespace $NS" >&2; return 1; }
  fi
  for crd in $(kubectl get crd -o name | grep sagemaker | sed 's|.*/||'); do
    found=true
    [ "$("$SGK_BIN" journal created CustomResourceDefinition "$crd")" = true ] || { echo "not journaled: $crd" >&2; return 1; }
  done
  $found
}
providers() { aws iam list-open-id-connect-providers --query 'length(OpenIDConnectProviderList)' --output text; }

# ---- 1. interrupted installs converge
make_cluster lc-int
total=21   # provider, role, attachment, 18 objects
for n in 1 2 3 4 "$total"; do
  out=$(SGK_TEST_ABORT_AFTER_WRITES=$n "$SGK_BIN" run install-sagemaker-operator --cluster lc-int --region us-west-2 --installer "$I" 2>&1); code=$?
  check "install killed after write $n (exit $code)" '[ "$code" -eq 137 ] && [[ "$out" == *"killing the process after write $n"* ]]'
  case $n in
    1) check "after write 1 the provider exists, the role does not" '[ "$(providers)" -eq 1 ] && ! role_exists sagemaker-k8s-operator-lc-int' ;;
    2) check "after write 2 the role exists without its policy" 'role_exists sagemaker-k8s-operator-lc-int && [ -z "$(aws iam list-attached-role-policies --role-name sagemaker-k8s-operator-lc-int --query "AttachedPolicies[].PolicyArn" --output text)" ]' ;;
    3) check "after write 3 nothing is in the cluster yet" '! kubectl get ns $NS >/dev/null 2>&1' ;;
    # Killed in the middle of the apply: what reached the API server is journaled, each as it was made.
    4) check "after write 4 (mid-apply) every installer object in the cluster is journaled as created" journaled_all ;;
  esac
  again=$(install lc-int); code=$?
  check "re-run after write $n succeeds" '[ "$code" -eq 0 ]'
  check "re-run after write $n converges to 8 CRDs and the annotation" '[[ "$again" == *"sagemaker CRDs: 8"* ]] && [ "$(kubectl -n $NS get sa sagemaker-k8s-operator-default -o jsonpath="{.metadata.annotations.eks\.amazonaws\.com/role-arn}")" = "arn:aws:iam::123456789012:role/sagemaker-k8s-operator-lc-int" ]'
  mark
  third=$(install lc-int)
  check "after write $n: a third run makes no write (moto $(moto_writes), kube $(kube_writes))" '[ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ] && [[ "$third" == *"0 created, 0 configured, 18 unchanged"* ]]'
  out=$(uninstall lc-int); code=$?
  check "uninstall after the interrupted install $n" '[ "$code" -eq 0 ] && ! role_exists sagemaker-k8s-operator-lc-int && [ "$(providers)" -eq 0 ] && [ "$(kubectl get crd -o name | grep -c sagemaker)" -eq 0 ]'
  [ "$code" -eq 0 ] || echo "$out" >&2
done

# ---- 1b. killed after a write reached AWS or the API server but before its
# journal entry said so: re-run, then uninstall still removes what it made.
for n in 2 4; do   # the role; the first Kubernetes write
  out=$(SGK_TEST_ABORT_AFTER_WRITES=$n:unjournaled "$SGK_BIN" run install-sagemaker-operator --cluster lc-int --region us-west-2 --installer "$I" 2>&1); code=$?
  check "install killed after write $n, before its journal entry (exit $code)" '[ "$code" -eq 137 ] && [[ "$out" == *"after write $n, before its journal entry"* ]]'
  if [ "$n" = 4 ]; then
    check "every installer object in the cluster is journaled, each before its request was sent" journaled_all
  fi
  again=$(install lc-int); code=$?
  check "re-run after the unjournaled write $n succeeds" '[ "$code" -eq 0 ] && [[ "$again" == *"sagemaker CRDs: 8"* ]]'
  out=$(uninstall lc-int); code=$?
  check "uninstall removes what the unjournaled write $n made" '[ "$code" -eq 0 ] && ! role_exists sagemaker-k8s-operator-lc-int && [ "$(providers)" -eq 0 ] && [ "$(kubectl get ns $NS -o jsonpath={.status.phase} 2>/dev/null)" != Active ]'
  [ "$code" -eq 0 ] || echo "$out" >&2
done

# ---- 2.–4. an account with an unrelated role and a pre-existing provider
make_cluster lc
issuer=$(aws eks describe-cluster --name lc --query cluster.identity.oidc.issuer --output text)
aws iam create-open-id-connect-provider --url "$issuer" --client-id-list sts.amazonaws.com \
  --thumbprint-list 9e99a48a9960b14926bb7f3b02e22da2b0ab7280 >/dev/null
provider_arn="arn:aws:iam::123456789012:oidc-provider/${issuer#https://}"
aws iam create-role --role-name unrelated-ml-role --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
aws iam attach-role-policy --role-name unrelated-ml-role --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess

mark
first=$(install lc); code=$?
check "install succeeds" '[ "$code" -eq 0 ] && [[ "$first" == *"objects: 18 created, 0 configured, 0 unchanged"* ]]'
order=$(kube_write_order | tr '\n' ' ')
before=${order%%namespaced*}
# Namespaces and CRDs first: the Namespace and all 8 CRDs reach the server before any object in the namespace.
check "apply writes the Namespace and the 8 CRDs before any namespaced object ($order)" \
  '[ "$(grep -ow crd <<<"$before" | wc -l)" -eq 8 ] && [ "$(grep -ow namespace <<<"$before" | wc -l)" -eq 1 ]'
check "install summary names the provider and the role" '[[ "$first" == *"OIDC provider: $provider_arn"* ]] && [[ "$first" == *"role: arn:aws:iam::123456789012:role/sagemaker-k8s-operator-lc"* ]]'
# (The pod's phase shows once the controller-manager has made the pod, which may come after the summary.)
check "install summary shows the pod state" '[[ "$first" == *"operator pods: 0/1 ready"* ]]'

mark
second=$(install lc)
mw=$(moto_writes); kw=$(kube_writes)
check "second install: no write at moto ($mw)" '[ "$mw" -eq 0 ]'
check "second install: no write at the kube-apiserver ($kw)" '[ "$kw" -eq 0 ]'
[ "$mw$kw" = 00 ] || cat "$E2E_STATE/moto-writes.txt" "$E2E_STATE/kube-writes.txt" >&2
check "second install reports everything unchanged" '[[ "$second" == *"objects: 0 created, 0 configured, 18 unchanged"* ]]'

# verify: the pod is Pending (no kubelet) → a failed check with its fix; then Ready → all pass.
v=$(run verify-sagemaker-operator --cluster lc --region us-west-2 --wait 2s); code=$?
check "verify fails while the pod is not Ready" '[ "$code" -ne 0 ] && [[ "$v" == *"FAILED  operator:"* ]] && [[ "$v" == *"fix: "* ]] && [[ "$v" == *"waiting up to 2s"* ]]'
"$ROOT/tools/kube-peer.sh" ready-pod "$E2E_STATE/kube" "$NS" control-plane=controller-manager >/dev/null 2>&1
v=$(run verify-sagemaker-operator --cluster lc --region us-west-2 --wait 60s); code=$?
check "verify passes once the pod is Ready (the cluster binding and the 7 links)" '[ "$code" -eq 0 ] && [[ "$v" == *"all checks passed"* ]] && [ "$(grep -c "^ok " <<<"$v")" -eq 8 ]'
aws iam detach-role-policy --role-name sagemaker-k8s-operator-lc --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
v=$(run verify-sagemaker-operator --cluster lc --region us-west-2 --wait 5s); code=$?
check "verify names a detached policy and its fix" '[ "$code" -eq 1 ] && [[ "$v" == *"FAILED  policy: arn:aws:iam::aws:policy/AmazonSageMakerFullAccess is not attached"* ]] && [[ "$v" == *"fix: sgk role attach-policy sagemaker-k8s-operator-lc policy: arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"* ]] && [[ "$v" == *"1 check(s) failed: policy"* ]]'
kubectl -n $NS annotate sa sagemaker-k8s-operator-default eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/other --overwrite >/dev/null
v=$(run verify-sagemaker-operator --cluster lc --region us-west-2 --wait 5s)
check "verify names a wrong service account annotation" '[[ "$v" == *"FAILED  service account: $NS/sagemaker-k8s-operator-default has eks.amazonaws.com/role-arn = arn:aws:iam::123456789012:role/other"* ]]'
check "verify gives the annotate command as the fix" '[[ "$v" == *"kubectl -n $NS annotate serviceaccount sagemaker-k8s-operator-default eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/sagemaker-k8s-operator-lc --overwrite"* ]]'
fixed=$(install lc); code=$?
check "a re-run re-attaches the policy, then stops at the annotation another tool owns (Conflict, named)" '[ "$code" -eq 1 ] && [[ "$fixed" == *"Conflict"* ]] && [[ "$fixed" == *"kubectl-annotate"* ]] && [ -n "$(aws iam list-attached-role-policies --role-name sagemaker-k8s-operator-lc --query "AttachedPolicies[].PolicyArn" --output text)" ]'
kubectl -n $NS annotate sa sagemaker-k8s-operator-default eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/sagemaker-k8s-operator-lc --overwrite >/dev/null
fixed=$(install lc); code=$?
check "after the fix verify gave, the install and verify pass" '[ "$code" -eq 0 ] && run verify-sagemaker-operator --cluster lc --region us-west-2 --wait 30s >/dev/null'
# A missing CRD is named at once (the wait for the eight ends on it), not after the 30 s wait.
kubectl delete crd models.sagemaker.aws.amazon.com --wait=true >/dev/null
t0=$(date +%s)
v=$(run verify-sagemaker-operator --cluster lc --region us-west-2 --wait 5s); code=$?
took=$(( $(date +%s) - t0 ))
check "verify names a missing CRD at once (${took} s) with its fix" '[ "$code" -eq 1 ] && [[ "$v" == *"FAILED  CRDs: missing: models.sagemaker.aws.amazon.com"* ]] && [[ "$v" == *"fix: re-run the install"* ]] && [ "$took" -lt 15 ]'
fixed=$(install lc); code=$?
check "a re-run restores the CRD, and verify passes" '[ "$code" -eq 0 ] && [[ "$fixed" == *"objects: 1 created, 0 configured, 17 unchanged"* ]] && run verify-sagemaker-operator --cluster lc --region us-west-2 --wait 30s >/dev/null'

# A TrainingJob whose finalizer the (absent) operator never removes.
kubectl create namespace ml-jobs >/dev/null
kubectl create namespace ml-jobs2 >/dev/null
for n in ml-jobs ml-jobs2; do
  sed 's/^metadata:/metadata:\n  finalizers: [sagemaker-operator-finalizer]/' "$FIX/sample-trainingjob.yaml" | kubectl -n $n apply -f - >/dev/null
done

mark
dry=$(uninstall lc --dry-run); code=$?
check "dry-run uninstall plans the deletions" '[ "$code" -eq 0 ] && [[ "$dry" == *"- delete TrainingJob ml-jobs/xgboost-mnist"* ]] && [[ "$dry" == *"- delete role sagemaker-k8s-operator-lc"* ]] && [[ "$dry" == *"- delete Namespace $NS"* ]]'
check "dry-run uninstall keeps the pre-existing provider" '[[ "$dry" != *"- delete oidc-provider"* ]] && [[ "$dry" == *"kept:    OIDC provider $provider_arn (not in the journal: sgk did not create it)"* ]]'
check "dry-run uninstall writes nothing (moto $(moto_writes), kube $(kube_writes))" '[ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ]'

out=$(uninstall lc --timeout 2s); code=$?
check "uninstall stops at the finalizers, names each resource and the way out" '[ "$code" -eq 1 ] && [[ "$out" == *"2 custom resource(s) still there after 2s (finalizer sagemaker-operator-finalizer): TrainingJob ml-jobs/xgboost-mnist, TrainingJob ml-jobs2/xgboost-mnist"* ]] && [[ "$out" == *"--remove-finalizers true"* ]]'
kubectl -n $NS delete deployment sagemaker-k8s-operator-controller-manager >/dev/null
out=$(uninstall lc --timeout 2s); code=$?
check "with the operator gone, the hint says so" '[ "$code" -eq 1 ] && [[ "$out" == *"the operator is gone, so nothing will remove the finalizer: re-run with --remove-finalizers true"* ]]'
check "nothing else was removed yet" 'role_exists sagemaker-k8s-operator-lc && kubectl get crd trainingjobs.sagemaker.aws.amazon.com >/dev/null 2>&1'

out=$(uninstall lc --timeout 2s --remove-finalizers true --explain); code=$?
check "uninstall with --remove-finalizers succeeds" '[ "$code" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2
check "it explains the finalizer patch (through the cluster's context)" '[[ "$out" == *"kubectl patch trainingjobs.sagemaker.aws.amazon.com xgboost-mnist --context arn:aws:eks:us-west-2:123456789012:cluster/lc -n ml-jobs --type merge"* ]]' || grep -n 'patch\|finalizer' <<<"$out" >&2
check "the TrainingJobs are gone" '! kubectl -n ml-jobs get trainingjob xgboost-mnist >/dev/null 2>&1 && ! kubectl -n ml-jobs2 get trainingjob xgboost-mnist >/dev/null 2>&1'
check "the report names the finalizers it removed" '[[ "$out" == *"removed: the finalizers of TrainingJob ml-jobs2/xgboost-mnist"* ]]'
check "the CRDs are gone" '[ "$(kubectl get crd -o name | grep -c sagemaker)" -eq 0 ]'
check "the operator namespace is gone" '! kubectl get ns $NS >/dev/null 2>&1'
check "the user namespace is kept" 'kubectl get ns ml-jobs >/dev/null 2>&1'
check "the role the install created is deleted" '! role_exists sagemaker-k8s-operator-lc'
check "the pre-existing provider is kept" 'aws iam get-open-id-connect-provider --open-id-connect-provider-arn "$provider_arn" >/dev/null 2>&1'
check "the unrelated role and its policy are kept" '[ "$(aws iam list-attached-role-policies --role-name unrelated-ml-role --query "AttachedPolicies[].PolicyArn" --output text)" = arn:aws:iam::aws:policy/AmazonSageMakerFullAccess ]'
mark
out=$(uninstall lc); code=$?
check "a second uninstall succeeds and writes nothing (moto $(moto_writes), kube $(kube_writes))" '[ "$code" -eq 0 ] && [ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ]'

# ---- 5. a role that existed before the install
make_cluster lc-pre
trust=$("$SGK_BIN" -c 'use irsa
print (irsa trust provider: (eks describe-cluster lc-pre) namespace: sagemaker-k8s-operator-system service-account: sagemaker-k8s-operator-default | json emit compact: true)')
aws iam create-role --role-name sagemaker-k8s-operator-lc-pre --assume-role-policy-document "$trust" >/dev/null
out=$(install lc-pre); code=$?
check "install over a pre-existing role succeeds" '[ "$code" -eq 0 ]'
out=$(uninstall lc-pre); code=$?
check "uninstall keeps the pre-existing role" '[ "$code" -eq 0 ] && role_exists sagemaker-k8s-operator-lc-pre && [[ "$out" == *"kept:    role arn:aws:iam::123456789012:role/sagemaker-k8s-operator-lc-pre (not in the journal: sgk did not create it"* ]]'
check "uninstall detached the policy the install attached" '[ -z "$(aws iam list-attached-role-policies --role-name sagemaker-k8s-operator-lc-pre --query "AttachedPolicies[].PolicyArn" --output text)" ]'
check "uninstall keeps the pre-existing provider" 'aws iam get-open-id-connect-provider --open-id-connect-provider-arn "$provider_arn" >/dev/null 2>&1'

# ---- 6. the install's role is removed only by its own uninstall: not by one for another
# namespace's service account, and not once it was deleted and made again by hand with its name
make_cluster lc-again
out=$(install lc-again); code=$?
check "install lc-again succeeds" '[ "$code" -eq 0 ]'
out=$(uninstall lc-again --namespace other-team --dry-run); code=$?
check "an uninstall for another namespace looks for that namespace's role, and removes no role" '[ "$code" -eq 0 ] && [[ "$out" != *"- delete role "* ]] && [[ "$out" == *"note: there is no role sagemaker-k8s-operator-lc-again-other-team"* ]]'
out=$(uninstall lc-again --namespace other-team --role-name sagemaker-k8s-operator-lc-again --dry-run); code=$?
check "an uninstall for another namespace given this role keeps it, saying why" '[ "$code" -eq 0 ] && [[ "$out" != *"- delete role "* ]] && [[ "$out" == *"its trust is not for system:serviceaccount:other-team:"* ]]'
aws iam detach-role-policy --role-name sagemaker-k8s-operator-lc-again --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
aws iam delete-role --role-name sagemaker-k8s-operator-lc-again
aws iam create-role --role-name sagemaker-k8s-operator-lc-again --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
out=$(uninstall lc-again); code=$?
check "uninstall keeps the role made again by hand (another RoleId)" '[ "$code" -eq 0 ] && role_exists sagemaker-k8s-operator-lc-again && [[ "$out" == *"kept:    role arn:aws:iam::123456789012:role/sagemaker-k8s-operator-lc-again"* ]]'

finish "sagemaker lifecycle"
