#!/usr/bin/env bash
# End to end, on its own moto and kube-apiserver v1.20: the ACK SageMaker controller's whole
# life (install-ack-controller, verify-ack-controller, uninstall-ack-controller) from the
# fixture's config/ tree, read back with the real aws and kubectl, writes counted at the peers:
#   1. IRSA: --dry-run writes nothing; the install makes the role (trust: the OIDC provider,
#      `sub` the LIST of the controller's and ack-applicationautoscaling-controller's service
#      accounts), attaches AmazonSageMakerFullAccess, puts SagemakerStudioAccess, applies the
#      28 CRDs (the CEL ones lowered for 1.20), the Deployment with its image and AWS_REGION,
#      the annotated service account, the reader/writer Roles in ack-system; a second run
#      writes nothing; verify passes once the pod is Ready and names a broken link with its fix;
#      uninstall refuses while an ACK resource exists, then removes exactly what the install
#      created (a dry run first: no write); an unrelated role survives;
#   2. Pod Identity (the loopback EKS stub for what moto does not answer);
#   3. the migration from the SageMaker operator on a peer holding both CRD sets and old
#      TrainingJobs: ACK installed, the operator gone, ACK manifests the ACK CRDs accept.
. "$(dirname "$0")/common.bash"
start_peers
CFG="$ROOT/../shared/fixtures/ack-sagemaker-controller/config"
NS=ack-system
ROLE=ack-sagemaker-controller-ack
run() { "$SGK_BIN" run "$@" 2>&1; }
install() { run install-ack-controller --cluster "$1" --region us-west-2 --config "$CFG" "${@:2}"; }
verify() { run verify-ack-controller --cluster "$1" --region us-west-2 --config "$CFG" "${@:2}"; }
uninstall() { run uninstall-ack-controller --cluster "$1" --region us-west-2 --config "$CFG" "${@:2}"; }
role_exists() { aws iam get-role --role-name "$1" >/dev/null 2>&1; }
ack_crds() { kubectl get crd -o name | grep -c 'services.k8s.aws'; }
# Writes at the kube-apiserver, a server-side dry run (?dryRun=All: what a --dry-run apply asks
# to show its plan; the server persists nothing) left out.
kube_persisted_writes() {
  tail -n +"$((KUBE_MARK + 1))" "$E2E_STATE/kube/audit.log" 2>/dev/null | python3 -c '
import sys, json
n = 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("userAgent", "").startswith("sgk") and e.get("verb") not in ("get", "list", "watch") and "dryRun=All" not in e.get("requestURI", ""):
        n += 1
print(n)'
}
providers() { aws iam list-open-id-connect-providers --query 'length(OpenIDConnectProviderList)' --output text; }

# ---- 1. IRSA
make_cluster ack
issuer=$(aws eks describe-cluster --name ack --query cluster.identity.oidc.issuer --output text)
host=${issuer#https://}
aws iam create-role --role-name unrelated-ml-role --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null

# (Without --config, sagemaker's tree comes from GitHub at the release tag: never in a test.)
out=$(run install-ack-controller --service s3 --cluster ack --region us-west-2); code=$?
check "a service of no known release without --config: a clear error telling how to get the tree" '[ "$code" -ne 0 ] && [[ "$out" == *"config: is required for s3"* ]] && [[ "$out" == *"git clone --depth 1 --branch vVERSION https://github.com/aws-controllers-k8s/s3-controller"* ]]' || echo "$out" >&2
# The tree at a URL (served on loopback as GitHub's raw files are): downloaded as its
# kustomizations name its files, and the same plan as the local copy.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$(dirname "$CFG")" >"$E2E_STATE/httpd.log" 2>&1 &
HTTPD=$!
for _ in $(seq 50); do port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$E2E_STATE/httpd.log" 2>/dev/null | head -1); [ -n "$port" ] && break; sleep 0.1; done
local_plan=$(install ack --dry-run 2>&1 | grep '^[+~=-] ')
url_plan=$(run install-ack-controller --cluster ack --region us-west-2 --config "http://127.0.0.1:$port/$(basename "$CFG")" --dry-run 2>&1 | grep '^[+~=-] ')
check "--config URL: the same plan as the local tree" '[ -n "$url_plan" ] && [ "$url_plan" = "$local_plan" ]' || diff <(echo "$local_plan") <(echo "$url_plan") | head >&2
kill "$HTTPD" 2>/dev/null

mark
out=$(install ack --dry-run --explain); code=$?
check "dry-run plans the role, its policies and the objects" '[ "$code" -eq 0 ] && [[ "$out" == *"+ create role $ROLE"* ]] && [[ "$out" == *"SagemakerStudioAccess"* ]] && [[ "$out" == *"+ create Deployment $NS/ack-sagemaker-controller"* ]]' || echo "$out" >&2
check "--explain gives the aws and kubectl lines" '[[ "$out" == *"aws iam put-role-policy"*"--policy-name SagemakerStudioAccess"* ]] && [[ "$out" == *"aws iam attach-role-policy"* ]] && [[ "$out" == *"kubectl apply"* ]]' || grep -E "^\s*(aws|kubectl) " <<<"$out" | head -5 >&2
check "dry-run writes nothing (moto $(moto_writes), kube $(kube_persisted_writes) besides server-side dry runs)" '[ "$(moto_writes)" -eq 0 ] && [ "$(kube_persisted_writes)" -eq 0 ]'

mark
t0=$(date +%s.%N)
first=$(install ack); code=$?
t1=$(date +%s.%N)
check "install succeeds ($(python3 -c "print(round($t1 - $t0, 2))") s)" '[ "$code" -eq 0 ]' || echo "$first" >&2
order=$(kube_write_order | tr '\n' ' ')
check "the CRDs reach the server before any namespaced object" '[[ "${order%%namespaced*}" == *crd* ]] && [ "$(grep -ow crd <<<"${order%%namespaced*}" | wc -l)" -eq 28 ]'
check "the 1.20 peer gets the CEL CRDs lowered, with a Warning line" '[[ "$first" == *"Warning:"*"x-kubernetes-validations"* ]]' || grep -i warn <<<"$first" >&2
trust=$(aws iam get-role --role-name $ROLE --query Role.AssumeRolePolicyDocument --output json)
check "the role trusts the cluster's OIDC provider" '[ "$(jq -r ".Statement[0].Principal.Federated" <<<"$trust")" = "arn:aws:iam::123456789012:oidc-provider/$host" ] && [ "$(jq -r ".Statement[0].Action" <<<"$trust")" = sts:AssumeRoleWithWebIdentity ]'
check "its sub is the list of both service accounts" '[ "$(jq -c ".Statement[0].Condition.StringEquals[\"$host:sub\"]" <<<"$trust")" = "[\"system:serviceaccount:ack-system:ack-sagemaker-controller\",\"system:serviceaccount:ack-system:ack-applicationautoscaling-controller\"]" ] && [ "$(jq -r ".Statement[0].Condition.StringEquals[\"$host:aud\"]" <<<"$trust")" = sts.amazonaws.com ]' || echo "$trust" >&2
check "the managed policy is attached" '[ "$(aws iam list-attached-role-policies --role-name $ROLE --query "AttachedPolicies[].PolicyArn" --output text)" = arn:aws:iam::aws:policy/AmazonSageMakerFullAccess ]'
inline=$(aws iam get-role-policy --role-name $ROLE --policy-name SagemakerStudioAccess --query PolicyDocument --output json)
check "the inline policy SagemakerStudioAccess allows sagemaker:* on domains, user profiles, apps" '[ "$(jq -c ".Statement[0].Action" <<<"$inline")" = "[\"sagemaker:*\"]" ] && [ "$(jq -r ".Statement[0].Resource | join(\" \")" <<<"$inline")" = "arn:aws:sagemaker:*:*:domain/* arn:aws:sagemaker:*:*:user-profile/* arn:aws:sagemaker:*:*:app/*" ]' || echo "$inline" >&2
check "the 28 CRDs (26 sagemaker, 2 common) are there" '[ "$(ack_crds)" -eq 28 ]'
check "the Deployment runs the kustomization's image" '[ "$(kubectl -n $NS get deploy ack-sagemaker-controller -o jsonpath="{.spec.template.spec.containers[0].image}")" = public.ecr.aws/aws-controllers-k8s/sagemaker-controller:1.9.1 ]'
check "its AWS_REGION is set" '[ "$(kubectl -n $NS get deploy ack-sagemaker-controller -o jsonpath="{.spec.template.spec.containers[0].env[?(@.name==\"AWS_REGION\")].value}")" = us-west-2 ]'
check "the service account is annotated with the role" '[ "$(kubectl -n $NS get sa ack-sagemaker-controller -o jsonpath="{.metadata.annotations.eks\.amazonaws\.com/role-arn}")" = arn:aws:iam::123456789012:role/$ROLE ]'
check "the reader/writer Roles are in the controller's namespace" 'kubectl -n $NS get role ack-sagemaker-reader ack-sagemaker-writer >/dev/null && ! kubectl -n default get role ack-sagemaker-reader >/dev/null 2>&1'
check "the summary names the role, the policies and the image" '[[ "$first" == *"role: arn:aws:iam::123456789012:role/$ROLE"* ]] && [[ "$first" == *"inline policies: SagemakerStudioAccess"* ]] && [[ "$first" == *"image: public.ecr.aws/aws-controllers-k8s/sagemaker-controller:1.9.1"* ]]'

mark
second=$(install ack); code=$?
mw=$(moto_writes); kw=$(kube_writes)
check "second install: no write at moto ($mw) nor at the kube-apiserver ($kw)" '[ "$code" -eq 0 ] && [ "$mw" -eq 0 ] && [ "$kw" -eq 0 ]'
[ "$mw$kw" = 00 ] || cat "$E2E_STATE/moto-writes.txt" "$E2E_STATE/kube-writes.txt" >&2
check "second install reports everything unchanged" '[[ "$second" == *" 0 created, 0 configured, "* ]]' || grep objects: <<<"$second" >&2

"$ROOT/tools/kube-peer.sh" ready-pod "$E2E_STATE/kube" "$NS" app.kubernetes.io/name=ack-sagemaker-controller >/dev/null 2>&1
v=$(verify ack --wait 60s); code=$?
check "verify passes once the pod is Ready" '[ "$code" -eq 0 ] && [[ "$v" == *"all checks passed"* ]] && [[ "$v" == *"ok      role trust:"*"ack-applicationautoscaling-controller"* ]] && [[ "$v" == *"ok      CRDs: 28 of 28 Established"* ]]' || echo "$v" >&2
aws iam delete-role-policy --role-name $ROLE --policy-name SagemakerStudioAccess
v=$(verify ack --wait 5s); code=$?
check "verify names a missing inline policy with its fix" '[ "$code" -eq 1 ] && [[ "$v" == *"FAILED  inline policy: $ROLE has no inline policy SagemakerStudioAccess"* ]] && [[ "$v" == *"fix: re-run the install: sgk run install-ack-controller"* ]]' || echo "$v" >&2
out=$(install ack); code=$?
check "a re-run puts it back" '[ "$code" -eq 0 ] && aws iam get-role-policy --role-name $ROLE --policy-name SagemakerStudioAccess >/dev/null'

# An ACK resource: the uninstall will not delete the CRD under it (its AWS resource is the user's).
kubectl create namespace ml-jobs >/dev/null
kubectl -n ml-jobs apply -f - >/dev/null <<'EOF'
apiVersion: sagemaker.services.k8s.aws/v1alpha1
kind: Model
metadata:
  name: m1
spec:
  modelName: m1
EOF
out=$(uninstall ack); code=$?
check "uninstall refuses while an ACK resource exists, names it, removes nothing" '[ "$code" -ne 0 ] && [[ "$out" == *"ResourcesInUse"* || "$out" == *"Model ml-jobs/m1"* ]] && role_exists $ROLE && [ "$(ack_crds)" -eq 28 ]' || echo "$out" >&2
kubectl -n ml-jobs delete model.sagemaker.services.k8s.aws m1 >/dev/null

mark
dry=$(uninstall ack --dry-run); code=$?
check "dry-run uninstall plans the deletions and writes nothing (moto $(moto_writes), kube $(kube_writes))" '[ "$code" -eq 0 ] && [[ "$dry" == *"- delete role $ROLE"* ]] && [ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ]' || echo "$dry" >&2
out=$(uninstall ack); code=$?
check "uninstall succeeds" '[ "$code" -eq 0 ]' || echo "$out" >&2
check "the role is gone, with its policies" '! role_exists $ROLE'
check "the OIDC provider the install made is gone" '[ "$(providers)" -eq 0 ]'
check "the CRDs and the namespace are gone" '[ "$(ack_crds)" -eq 0 ] && [ "$(kubectl get ns $NS -o jsonpath={.status.phase} 2>/dev/null)" != Active ]'
check "the unrelated role and its user namespace survive" 'role_exists unrelated-ml-role && kubectl get ns ml-jobs >/dev/null'
mark
out=$(uninstall ack); code=$?
check "a second uninstall writes nothing (moto $(moto_writes), kube $(kube_writes))" '[ "$code" -eq 0 ] && [ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ]' || echo "$out" >&2

# A role that existed before: kept by the uninstall, only what the install added to it removed;
# a pre-existing role with another trust stops the install.
make_cluster ack-pre
phost=$(aws eks describe-cluster --name ack-pre --query cluster.identity.oidc.issuer --output text); phost=${phost#https://}
aws iam create-role --role-name other-trust-role --assume-role-policy-document \
  "$(aws iam get-role --role-name unrelated-ml-role --query Role.AssumeRolePolicyDocument --output json)" >/dev/null
out=$(install ack-pre --role-name other-trust-role); code=$?
check "install over a role with another trust stops with TrustPolicyMismatch and a hint" '[ "$code" -ne 0 ] && [[ "$out" == *"TrustPolicyMismatch"* ]] && [[ "$out" == *"--role-name NAME"* ]]' || echo "$out" >&2
aws iam create-open-id-connect-provider --url "https://$phost" --client-id-list sts.amazonaws.com \
  --thumbprint-list 9e99a48a9960b14926bb7f3b02e22da2b0ab7280 >/dev/null 2>&1 || true
sed "s#$host#$phost#g" <<<"$trust" >"$E2E_STATE/pre-trust.json"
aws iam create-role --role-name ack-sagemaker-controller-ack-pre --assume-role-policy-document "file://$E2E_STATE/pre-trust.json" >/dev/null
out=$(install ack-pre); code=$?
check "install over a pre-existing role with the right trust succeeds" '[ "$code" -eq 0 ]' || echo "$out" >&2
# Another ACK controller in the cluster (another service's): the CRDs all ACK controllers share,
# and the namespace it runs in, stay.
kubectl -n $NS create deployment ack-s3-controller --image public.ecr.aws/aws-controllers-k8s/s3-controller:1.0.0 >/dev/null
out=$(uninstall ack-pre); code=$?
check "uninstall keeps the pre-existing role and provider, removes the policies the install added" '[ "$code" -eq 0 ] && role_exists ack-sagemaker-controller-ack-pre && [[ "$out" == *"kept:    role arn:aws:iam::123456789012:role/ack-sagemaker-controller-ack-pre (not in the journal"* ]] && [ -z "$(aws iam list-attached-role-policies --role-name ack-sagemaker-controller-ack-pre --query "AttachedPolicies[].PolicyArn" --output text)" ] && [ -z "$(aws iam list-role-policies --role-name ack-sagemaker-controller-ack-pre --query "PolicyNames" --output text)" ] && [ "$(providers)" -eq 1 ]' || echo "$out" >&2

check "the common services.k8s.aws CRDs and the namespace stay for the other controller; the sagemaker ones go" '[ "$(kubectl get crd -o name | grep -cE "/[a-z]+\.services\.k8s\.aws$")" -eq 2 ] && [ "$(kubectl get crd -o name | grep -c sagemaker.services.k8s.aws)" -eq 0 ] && kubectl get ns $NS >/dev/null && [[ "$out" == *"(shared by the ACK controllers: still used by $NS/ack-s3-controller)"* ]]' || { echo "$out" >&2; kubectl get crd -o name >&2; }
kubectl -n $NS delete deployment ack-s3-controller >/dev/null

# ---- 2. EKS Pod Identity: moto answers none of its operations, the loopback EKS stub does
# (IAM and STS stay on moto; the clusters are moto's, forwarded).
start_eks_stub --ttl 600
PIROLE=ack-sagemaker-controller-ack-pi
make_cluster ack-pi
p0=$(providers)
out=$(install ack-pi --identity pod-identity); code=$?
check "without the eks-pod-identity-agent add-on the install stops before any write, saying how" '[ "$code" -ne 0 ] && [[ "$out" == *"needs the eks-pod-identity-agent add-on ACTIVE on ack-pi: the add-on is not installed; nothing was written"* ]] && [[ "$out" == *"aws eks create-addon --cluster-name ack-pi --addon-name eks-pod-identity-agent"* ]] && ! role_exists $PIROLE' || echo "$out" >&2
curl -fsS -X PUT "$STUB/stub/addons/ack-pi/eks-pod-identity-agent?status=ACTIVE" >/dev/null
mark; sw=$(stub_writes)
out=$(install ack-pi --identity pod-identity --dry-run); code=$?
check "Pod Identity dry run plans the associations and writes nothing (moto $(moto_writes), kube $(kube_persisted_writes), stub $(( $(stub_writes) - sw )))" '[ "$code" -eq 0 ] && [[ "$out" == *"+ create pod-identity-association ack-pi/$NS/ack-sagemaker-controller"* ]] && [ "$(moto_writes)" -eq 0 ] && [ "$(kube_persisted_writes)" -eq 0 ] && [ "$(stub_writes)" -eq "$sw" ]' || echo "$out" >&2
out=$(install ack-pi --identity pod-identity); code=$?
check "Pod Identity install succeeds" '[ "$code" -eq 0 ]' || echo "$out" >&2
pitrust=$(aws iam get-role --role-name $PIROLE --query Role.AssumeRolePolicyDocument --output json)
check "the role trusts pods.eks.amazonaws.com for sts:AssumeRole and sts:TagSession" '[ "$(jq -r ".Statement[0].Principal.Service" <<<"$pitrust")" = pods.eks.amazonaws.com ] && [ "$(jq -c "[.Statement[0].Action[]] | sort" <<<"$pitrust")" = "[\"sts:AssumeRole\",\"sts:TagSession\"]" ]' || echo "$pitrust" >&2
check "its managed and inline policies are there" '[ "$(aws iam list-attached-role-policies --role-name $PIROLE --query "AttachedPolicies[].PolicyArn" --output text)" = arn:aws:iam::aws:policy/AmazonSageMakerFullAccess ] && aws iam get-role-policy --role-name $PIROLE --policy-name SagemakerStudioAccess >/dev/null'
assoc=$(aws eks list-pod-identity-associations --cluster-name ack-pi --query "associations[].serviceAccount" --output text | tr '\t' '\n' | sort | tr '\n' ' ')
check "an association for each service account ($assoc)" '[ "$assoc" = "ack-applicationautoscaling-controller ack-sagemaker-controller " ]'
aid=$(aws eks list-pod-identity-associations --cluster-name ack-pi --service-account ack-sagemaker-controller --query "associations[0].associationId" --output text)
check "the association names the role" '[ "$(aws eks describe-pod-identity-association --cluster-name ack-pi --association-id "$aid" --query association.roleArn --output text)" = arn:aws:iam::123456789012:role/$PIROLE ]'
check "no OIDC provider made, no service account annotation" '[ "$(providers)" -eq "$p0" ] && [ -z "$(kubectl -n $NS get sa ack-sagemaker-controller -o jsonpath="{.metadata.annotations.eks\.amazonaws\.com/role-arn}")" ]'
check "the Deployment runs the image with AWS_REGION" '[ "$(kubectl -n $NS get deploy ack-sagemaker-controller -o jsonpath="{.spec.template.spec.containers[0].image}")" = public.ecr.aws/aws-controllers-k8s/sagemaker-controller:1.9.1 ] && [ "$(kubectl -n $NS get deploy ack-sagemaker-controller -o jsonpath="{.spec.template.spec.containers[0].env[?(@.name==\"AWS_REGION\")].value}")" = us-west-2 ]'
mark; sw=$(stub_writes)
out=$(install ack-pi --identity pod-identity); code=$?
check "a second Pod Identity install writes nothing (moto $(moto_writes), kube $(kube_writes), stub $(( $(stub_writes) - sw )))" '[ "$code" -eq 0 ] && [ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ] && [ "$(stub_writes)" -eq "$sw" ]' || echo "$out" >&2
"$ROOT/tools/kube-peer.sh" ready-pod "$E2E_STATE/kube" "$NS" app.kubernetes.io/name=ack-sagemaker-controller >/dev/null 2>&1
v=$(verify ack-pi --identity pod-identity --wait 60s); code=$?
check "verify passes: the agent, the two associations" '[ "$code" -eq 0 ] && [[ "$v" == *"ok      pod identity agent: eks-pod-identity-agent ACTIVE"* ]] && [ "$(grep -c "^ok      pod identity: " <<<"$v")" -eq 2 ] && [[ "$v" == *"ok      role trust: pods.eks.amazonaws.com"* ]]' || echo "$v" >&2
curl -fsS -X PUT "$STUB/stub/addons/ack-pi/eks-pod-identity-agent?status=DEGRADED&issue=InsufficientNumberOfReplicas" >/dev/null
v=$(verify ack-pi --identity pod-identity --wait 5s); code=$?
check "verify names a degraded agent with its fix" '[ "$code" -eq 1 ] && [[ "$v" == *"FAILED  pod identity agent: eks-pod-identity-agent: the add-on is DEGRADED"* ]] && [[ "$v" == *"fix: "* ]]' || echo "$v" >&2
curl -fsS -X PUT "$STUB/stub/addons/ack-pi/eks-pod-identity-agent?status=ACTIVE" >/dev/null
out=$(uninstall ack-pi --identity pod-identity); code=$?
check "Pod Identity uninstall removes the associations, the role, the objects" '[ "$code" -eq 0 ] && [ -z "$(aws eks list-pod-identity-associations --cluster-name ack-pi --query "associations[]" --output text)" ] && ! role_exists $PIROLE && [ "$(ack_crds)" -eq 0 ] && [[ "$out" == *"removed: Pod Identity association $NS/ack-sagemaker-controller"* ]]' || echo "$out" >&2
check "the unrelated role still survives" 'role_exists unrelated-ml-role'
kill "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null
unset AWS_ENDPOINT_URL_EKS

# ---- 3. the migration from the SageMaker operator, on a peer holding both CRD sets
FIXOP="$ROOT/../shared/fixtures/sagemaker-operator"
make_cluster mig
out=$(run install-sagemaker-operator --cluster mig --region us-west-2 --installer "$FIXOP/installer.yaml"); code=$?
check "the old operator is installed" '[ "$code" -eq 0 ]' || echo "$out" >&2
out=$("$SGK_BIN" -c "kubectl apply -k $CFG/crd" 2>&1); code=$?
check "the ACK CRDs are there too (kubectl apply -k)" '[ "$code" -eq 0 ] && [ "$(ack_crds)" -eq 28 ] && [ "$(kubectl get crd -o name | grep -c sagemaker.aws.amazon.com)" -eq 8 ]' || echo "$out" >&2
kubectl create namespace ml-old >/dev/null
kubectl create namespace ml-old2 >/dev/null
kubectl -n ml-old apply -f "$FIXOP/sample-trainingjob.yaml" >/dev/null
sed 's/^metadata:/metadata:\n  finalizers: [sagemaker-operator-finalizer]/; s/name: xgboost-mnist/name: xgboost-2/' "$FIXOP/sample-trainingjob.yaml" | kubectl -n ml-old2 apply -f - >/dev/null
migrate() { run migrate-sagemaker-operator-to-ack --cluster mig --region us-west-2 --config "$CFG" --installer "$FIXOP/installer.yaml" "$@"; }
mark
dry=$(migrate --dry-run); code=$?
check "a dry-run migration shows the plan and writes nothing (moto $(moto_writes), kube $(kube_persisted_writes))" '[ "$code" -eq 0 ] && [[ "$dry" == *"TrainingJob ml-old/xgboost-mnist → sagemaker.services.k8s.aws/v1alpha1 TrainingJob"* ]] && [ "$(moto_writes)" -eq 0 ] && [ "$(kube_persisted_writes)" -eq 0 ]' || echo "$dry" >&2
mkdir -p "$E2E_STATE/migrated"
out=$(migrate --out "$E2E_STATE/migrated"); code=$?
check "the migration succeeds" '[ "$code" -eq 0 ]' || echo "$out" >&2
check "its plan names the old custom resources, the role and the installer's objects" '[[ "$out" == *"custom resources (sagemaker.aws.amazon.com): 2"* ]] && [[ "$out" == *"TrainingJob ml-old2/xgboost-2 → sagemaker.services.k8s.aws/v1alpha1 TrainingJob"* ]] && [[ "$out" == *"role: arn:aws:iam::123456789012:role/sagemaker-k8s-operator-mig"* ]] && [[ "$out" == *"objects of its installer: 18"* ]]' || echo "$out" >&2
check "ACK is installed" '[ "$(kubectl -n $NS get deploy ack-sagemaker-controller -o jsonpath="{.spec.template.spec.containers[0].image}")" = public.ecr.aws/aws-controllers-k8s/sagemaker-controller:1.9.1 ] && role_exists ack-sagemaker-controller-mig'
check "the operator is uninstalled: its CRDs, namespace, role and old TrainingJobs gone" '[ "$(kubectl get crd -o name | grep -c sagemaker.aws.amazon.com)" -eq 0 ] && ! kubectl get ns sagemaker-k8s-operator-system >/dev/null 2>&1 && ! role_exists sagemaker-k8s-operator-mig'
check "the ACK CRDs and the user namespaces are kept" '[ "$(ack_crds)" -eq 28 ] && kubectl get ns ml-old ml-old2 >/dev/null'
m="$E2E_STATE/migrated/ml-old-TrainingJob-xgboost-mnist.yaml"
check "a starting ACK manifest is printed and written for each old TrainingJob" '[ -f "$m" ] && [ -f "$E2E_STATE/migrated/ml-old2-TrainingJob-xgboost-2.yaml" ] && [[ "$out" == *"apiVersion: sagemaker.services.k8s.aws/v1alpha1"* ]]'
# A server-side dry run through the ACK CRD's structural schema: a field it does not know is pruned,
# so the spec coming back equal to the manifest's says every converted field is an ACK field.
got=$(kubectl create --dry-run=server -f "$m" -o json 2>&1); code=$?
check "the ACK CRD takes it with every converted field (server-side dry run)" '[ "$code" -eq 0 ] && [ "$(jq -r .spec.trainingJobName <<<"$got")" = xgboost-mnist ] && [ "$(jq -r .spec.roleARN <<<"$got")" = arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole ] && [ "$(jq -r .spec.hyperParameters.max_depth <<<"$got")" = 5 ] && [ "$(jq -r ".spec.inputDataConfig[0].dataSource.s3DataSource.s3URI" <<<"$got")" = s3://my-bucket/xgboost/train/ ] && [ "$(jq -r ".metadata.annotations[\"services.k8s.aws/region\"]" <<<"$got")" = us-west-2 ] && python3 -c "import sys,json,yaml; a=json.loads(sys.argv[1])[\"spec\"]; b=yaml.safe_load(open(sys.argv[2]))[\"spec\"]; sys.exit(a!=b)" "$got" "$m"' || { echo "$got" >&2; cat "$m" >&2; }

finish "ack controller"
