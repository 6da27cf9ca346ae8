#!/usr/bin/env bash
# End to end, on its own moto and a kube-apiserver without
# apiextensions.k8s.io/v1beta1 (like EKS ≥ 1.22): the bundled install (its
# v1beta1 CRDs converted), and each variation script — namespaced, China
# partition, least-privilege — each read back with the real aws and kubectl,
# then verified and uninstalled (only what it created).
. "$(dirname "$0")/common.bash"
start_peers --no-v1beta1
run() { "$SGK_BIN" run "$@" 2>&1; }
role_exists() { aws iam get-role --role-name "$1" "${@:2}" >/dev/null 2>&1; }
crds_v1() { kubectl get crd -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.apiVersion}{"\n"}{end}' | grep -c 'sagemaker.aws.amazon.com apiextensions.k8s.io/v1$'; }
sub_of() { # ROLE [aws args…]: the trust's :sub condition
  aws iam get-role --role-name "$1" "${@:2}" --output json | python3 -c 'import json,sys; d=json.load(sys.stdin)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]; print([v for k,v in d.items() if k.endswith(":sub")][0])'
}

# ---- the bundled install on a server without v1beta1
make_cluster nv
out=$(run install-sagemaker-operator --cluster nv --region us-west-2 --installer "$FIX/installer.yaml"); code=$?
check "install on a server without v1beta1 succeeds" '[ "$code" -eq 0 ] && [[ "$out" == *"sagemaker CRDs: 8"* ]]'
check "it says the CRDs were converted" '[[ "$out" == *"notice:"*"v1"* ]]'
check "kubectl sees 8 v1 CRDs" '[ "$(crds_v1)" -eq 8 ]'
mark
out=$(run install-sagemaker-operator --cluster nv --region us-west-2 --installer "$FIX/installer.yaml")
check "a second install writes nothing (moto $(moto_writes), kube $(kube_writes))" '[ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ] && [[ "$out" == *"0 created, 0 configured, 18 unchanged"* ]]'
out=$(run uninstall-sagemaker-operator --cluster nv --region us-west-2 --installer "$FIX/installer.yaml"); code=$?
check "uninstall succeeds" '[ "$code" -eq 0 ] && ! role_exists sagemaker-k8s-operator-nv && [ "$(kubectl get crd -o name | grep -c sagemaker)" -eq 0 ]'

# ---- namespaced
make_cluster nsd
out=$(run install-sagemaker-operator-namespaced --cluster nsd --region us-west-2 --namespace ml-team \
  --installer "$FIX/namespaced-operator.yaml" --crds "$FIX/namespaced-crd.yaml"); code=$?
check "namespaced install succeeds" '[ "$code" -eq 0 ] && [[ "$out" == *"objects: 18 created"* ]]'
[ "$code" -eq 0 ] || echo "$out" >&2
role=sagemaker-k8s-operator-nsd-ml-team
check "namespaced: the trust's sub is the namespace's service account" '[ "$(sub_of $role)" = system:serviceaccount:ml-team:sagemaker-k8s-operator-default ]'
check "namespaced: the service account in ml-team carries the role ARN" '[ "$(kubectl -n ml-team get sa sagemaker-k8s-operator-default -o jsonpath="{.metadata.annotations.eks\.amazonaws\.com/role-arn}")" = arn:aws:iam::123456789012:role/$role ]'
check "namespaced: no PLACEHOLDER-NAMESPACE is left" '[ "$(kubectl -n ml-team get deploy sagemaker-k8s-operator-controller-manager -o jsonpath="{.spec.template.spec.containers[0].args}")" = "[\"--metrics-addr=127.0.0.1:8080\",\"--namespace=ml-team\"]" ] && ! kubectl get ns PLACEHOLDER-NAMESPACE >/dev/null 2>&1'
check "namespaced: kubectl sees 8 v1 CRDs" '[ "$(crds_v1)" -eq 8 ]'
"$ROOT/tools/kube-peer.sh" ready-pod "$E2E_STATE/kube" ml-team control-plane=controller-manager >/dev/null 2>&1
# verify and uninstall find the namespaced install's role from --namespace, without --role-name.
out=$(run verify-sagemaker-operator --cluster nsd --region us-west-2 --namespace ml-team --wait 60s); code=$?
check "namespaced: verify passes (the role found from --namespace)" '[ "$code" -eq 0 ] && [[ "$out" == *"all checks passed"* ]]'
out=$(run verify-sagemaker-operator --cluster nsd --region us-west-2 --namespace other-team --role-name $role --wait 1s); code=$?
check "namespaced: verify for another namespace names the trust's sub" '[ "$code" -eq 1 ] && [[ "$out" == *"FAILED  role trust:"*":sub: system:serviceaccount:other-team:sagemaker-k8s-operator-default is not system:serviceaccount:ml-team:sagemaker-k8s-operator-default"* ]]'
# Another namespace's install given this install's role: refused (the trust differs), nothing written.
mark
out=$(run install-sagemaker-operator-namespaced --cluster nsd --region us-west-2 --namespace ml-other --role-name $role \
  --installer "$FIX/namespaced-operator.yaml" --crds "$FIX/namespaced-crd.yaml"); code=$?
check "namespaced: another install's role is refused with a hint, nothing written (moto $(moto_writes), kube $(kube_writes))" '[ "$code" -eq 1 ] && [[ "$out" == *"TrustPolicyMismatch"* ]] && [[ "$out" == *"hint: the role belongs to another install of the operator: give this one its own role (--role-name NAME)"* ]] && [ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ] && [ "$(sub_of $role)" = system:serviceaccount:ml-team:sagemaker-k8s-operator-default ]'
# A TrainingJob of another namespace shares the CRDs: the namespaced uninstall leaves it and them.
kubectl create namespace ml-jobs >/dev/null 2>&1
kubectl apply -n ml-jobs -f "$FIX/sample-trainingjob.yaml" >/dev/null 2>&1
out=$(run uninstall-sagemaker-operator --cluster nsd --region us-west-2 --namespace ml-team --role-name $role \
  --installer "$FIX/namespaced-operator.yaml" --crds "$FIX/namespaced-crd.yaml" --dry-run); code=$?
check "namespaced: uninstall keeps another namespace's job and the CRD it uses" '[ "$code" -eq 0 ] && [[ "$out" != *"TrainingJob ml-jobs/"* ]] && [[ "$out" == *"kept:    CustomResourceDefinition trainingjobs.sagemaker.aws.amazon.com (1 custom resource(s) of other namespaces use it)"* ]]'
kubectl delete namespace ml-jobs --wait=true >/dev/null 2>&1
out=$(run uninstall-sagemaker-operator --cluster nsd --region us-west-2 --namespace ml-team \
  --installer "$FIX/namespaced-operator.yaml" --crds "$FIX/namespaced-crd.yaml"); code=$?
check "namespaced: uninstall removes the role (found from --namespace), the CRDs and the namespace" '[ "$code" -eq 0 ] && ! role_exists $role && [ "$(kubectl get crd -o name | grep -c sagemaker)" -eq 0 ] && ! kubectl get ns ml-team >/dev/null 2>&1'
[ "$code" -eq 0 ] || echo "$out" >&2

# ---- two teams share the CRDs: one team's uninstall keeps what the other team still needs
nsargs=(--installer "$FIX/namespaced-operator.yaml" --crds "$FIX/namespaced-crd.yaml")
for team in team-a team-b; do
  out=$(run install-sagemaker-operator-namespaced --cluster nsd --region us-west-2 --namespace $team "${nsargs[@]}"); code=$?
  check "two teams: $team installs" '[ "$code" -eq 0 ]' || echo "$out" >&2
  "$ROOT/tools/kube-peer.sh" ready-pod "$E2E_STATE/kube" $team control-plane=controller-manager >/dev/null 2>&1
done
out=$(run uninstall-sagemaker-operator --cluster nsd --region us-west-2 --namespace team-a "${nsargs[@]}" --dry-run); code=$?
check "two teams: team-a's uninstall plan keeps the CRDs, saying why" '[ "$code" -eq 0 ] && [[ "$out" != *"- delete CustomResourceDefinition"* ]] && [[ "$out" == *"kept:    CustomResourceDefinition trainingjobs.sagemaker.aws.amazon.com (still used by the operator in namespace team-b)"* ]]' || echo "$out" | grep -E "kept|delete Custom" >&2
out=$(run uninstall-sagemaker-operator --cluster nsd --region us-west-2 --namespace team-a "${nsargs[@]}"); code=$?
check "two teams: team-a's uninstall removes team-a and keeps the 8 CRDs" '[ "$code" -eq 0 ] && ! kubectl get ns team-a >/dev/null 2>&1 && [ "$(crds_v1)" -eq 8 ] && [ "$(grep -c "kept:    CustomResourceDefinition .* (still used by the operator in namespace team-b)" <<<"$out")" -eq 8 ]' || echo "$out" >&2
out=$(run verify-sagemaker-operator --cluster nsd --region us-west-2 --namespace team-b --wait 30s); code=$?
check "two teams: team-b's verify still passes" '[ "$code" -eq 0 ] && [[ "$out" == *"all checks passed"* ]]' || echo "$out" >&2
out=$(run uninstall-sagemaker-operator --cluster nsd --region us-west-2 --namespace team-b "${nsargs[@]}"); code=$?
check "two teams: the last team's uninstall removes the CRDs" '[ "$code" -eq 0 ] && [ "$(kubectl get crd -o name | grep -c sagemaker)" -eq 0 ]' || echo "$out" >&2

# ---- China partition
make_cluster cn cn-north-1
out=$(run install-sagemaker-operator-china --cluster cn --installer "$FIX/installer-china.yaml"); code=$?
check "China install succeeds" '[ "$code" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2
check "China: the role is in aws-cn" '[ "$(aws iam get-role --region cn-north-1 --role-name sagemaker-k8s-operator-cn --query Role.Arn --output text)" = arn:aws-cn:iam::123456789012:role/sagemaker-k8s-operator-cn ]'
check "China: the aws-cn policy is attached" '[ "$(aws iam list-attached-role-policies --region cn-north-1 --role-name sagemaker-k8s-operator-cn --query "AttachedPolicies[].PolicyArn" --output text)" = arn:aws-cn:iam::aws:policy/AmazonSageMakerFullAccess ]'
check "China: the provider is in aws-cn" 'aws iam list-open-id-connect-providers --region cn-north-1 --output text | grep -q "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com"'
check "China: the operator image comes from the China ECR" '[[ "$(kubectl -n sagemaker-k8s-operator-system get deploy sagemaker-k8s-operator-controller-manager -o jsonpath="{.spec.template.spec.containers[*].image}")" == *".amazonaws.com.cn/"* ]]'
check "China: the service account carries the aws-cn role ARN" '[ "$(kubectl -n sagemaker-k8s-operator-system get sa sagemaker-k8s-operator-default -o jsonpath="{.metadata.annotations.eks\.amazonaws\.com/role-arn}")" = arn:aws-cn:iam::123456789012:role/sagemaker-k8s-operator-cn ]'
"$ROOT/tools/kube-peer.sh" ready-pod "$E2E_STATE/kube" sagemaker-k8s-operator-system control-plane=controller-manager >/dev/null 2>&1
out=$(run verify-sagemaker-operator --cluster cn --region cn-north-1 --wait 60s); code=$?
check "China: verify passes (the aws-cn policy by default)" '[ "$code" -eq 0 ] && [[ "$out" == *"ok      policy: arn:aws-cn:iam::aws:policy/AmazonSageMakerFullAccess attached"* ]]'
[ "$code" -eq 0 ] || echo "$out" >&2
out=$(run uninstall-sagemaker-operator --cluster cn --region cn-north-1 --installer "$FIX/installer-china.yaml"); code=$?
check "China: uninstall removes the role and the provider" '[ "$code" -eq 0 ] && ! role_exists sagemaker-k8s-operator-cn --region cn-north-1 && [ "$(aws iam list-open-id-connect-providers --region cn-north-1 --query "length(OpenIDConnectProviderList)" --output text)" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2

# ---- least privilege
make_cluster lp
aws iam create-role --role-name unrelated --assume-role-policy-document '{"Version":"2012-10-17","Statement":[]}' >/dev/null
out=$(run install-sagemaker-operator-least-privilege --cluster lp --region us-west-2 --installer "$FIX/installer.yaml"); code=$?
check "least-privilege install succeeds" '[ "$code" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2
pol=arn:aws:iam::123456789012:policy/sagemaker-k8s-operator-lp
check "least-privilege: the custom policy is attached instead of AmazonSageMakerFullAccess" '[ "$(aws iam list-attached-role-policies --role-name sagemaker-k8s-operator-lp --query "AttachedPolicies[].PolicyArn" --output text)" = $pol ]'
check "least-privilege: the policy allows iam:PassRole only to SageMaker" 'aws iam get-policy-version --policy-arn $pol --version-id v1 --output json | grep -q "iam:PassedToService"'
"$ROOT/tools/kube-peer.sh" ready-pod "$E2E_STATE/kube" sagemaker-k8s-operator-system control-plane=controller-manager >/dev/null 2>&1
out=$(run verify-sagemaker-operator --cluster lp --region us-west-2 --policy-name sagemaker-k8s-operator-lp --wait 60s); code=$?
check "least-privilege: verify --policy-name passes" '[ "$code" -eq 0 ] && [[ "$out" == *"ok      policy: $pol attached to sagemaker-k8s-operator-lp"* ]]'
out=$(run verify-sagemaker-operator --cluster lp --region us-west-2 --wait 1s); code=$?
check "least-privilege: verify without it does not offer AmazonSageMakerFullAccess as the only fix" '[ "$code" -eq 1 ] && [[ "$out" == *"fix: if the install used another policy (the least-privilege one), verify with --policy-name NAME"* ]]'
mark
out=$(run install-sagemaker-operator-least-privilege --cluster lp --region us-west-2 --installer "$FIX/installer.yaml")
check "least-privilege: a second install writes nothing (moto $(moto_writes), kube $(kube_writes))" '[ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ]'
out=$(run uninstall-sagemaker-operator --cluster lp --region us-west-2 --installer "$FIX/installer.yaml" --policy-name sagemaker-k8s-operator-lp); code=$?
check "least-privilege: uninstall deletes the role and the policy it created" '[ "$code" -eq 0 ] && ! role_exists sagemaker-k8s-operator-lp && ! aws iam get-policy --policy-arn $pol >/dev/null 2>&1'
check "least-privilege: the unrelated role is kept" 'role_exists unrelated'

finish "sagemaker variations"
