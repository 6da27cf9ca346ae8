#!/usr/bin/env bash
# End to end: the bundled install against the suite's moto and kube-apiserver
# (started by tools/test.sh), read back with the real aws and kubectl clients;
# a second run must change nothing; --dry-run on a fresh cluster writes nothing.
set -uo pipefail
: "${SGK_BIN:?run from tools/test.sh}" "${SGK_TEST_KUBECONFIG:?}" "${SGK_TEST_AWS_ENDPOINT:?}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
INSTALLER="$ROOT/../shared/fixtures/sagemaker-operator/installer.yaml"
export KUBECONFIG="$SGK_TEST_KUBECONFIG" AWS_ENDPOINT_URL="$SGK_TEST_AWS_ENDPOINT"
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $1" >&2; return 1; fi; }

cluster="e2e-$$"
arn=$(aws eks create-cluster --name "$cluster" --role-arn arn:aws:iam::123456789012:role/eks \
  --resources-vpc-config subnetIds=subnet-1 --query cluster.arn --output text)
# The binding, as aws eks update-kubeconfig writes it (moto's endpoint is fake).
"$ROOT/tools/kube-peer.sh" bind-eks "$KUBECONFIG" "$arn"
journal=$(mktemp -d)/journal.jsonl
trap 'rm -rf "$(dirname "$journal")"' EXIT
run() { "$SGK_BIN" run install-sagemaker-operator --cluster "$cluster" --region us-west-2 --installer "$INSTALLER" --journal "$journal" "$@"; }

bad=$(run --namespace ML_x 2>&1); code=$?
check "a namespace that is no Kubernetes name fails before any write" '[ "$code" -ne 0 ] && [[ "$bad" == *"is not a Kubernetes namespace name"* ]] && ! aws iam get-role --role-name "sagemaker-k8s-operator-$cluster" >/dev/null 2>&1'
bad=$(run --service-account not-in-the-installer 2>&1); code=$?
check "a service account the installer lacks fails before any write" '[ "$code" -ne 0 ] && [[ "$bad" == *"no document matches"* ]] && ! aws iam get-role --role-name "sagemaker-k8s-operator-$cluster" >/dev/null 2>&1'

bad=$(run --role-name "sagemaker-k8s-operator-$(printf 'x%.0s' {1..50})" 2>&1); code=$?
check "a role name over 64 characters fails before any write, naming --role-name" '[ "$code" -ne 0 ] && [[ "$bad" == *"is not an IAM role name"* ]] && [[ "$bad" == *"pass --role-name NAME"* ]] && [ ! -s "$journal" ]'

dry=$(run --dry-run 2>&1); code=$?
check "dry run shows the image rewrite" '[[ "$dry" == *"-> registry.k8s.io/kubebuilder/kube-rbac-proxy:v0.4.0"* ]]'
kept=$(run --dry-run --original-images 2>&1)
check "--original-images keeps the installer's images (no rewrite)" '[[ "$kept" != *"image: "* ]]'
over=$(run --dry-run --image 957583890962.dkr.ecr.us-east-1.amazonaws.com/amazon-sagemaker-operator-for-k8s:v1=mirror.example/sm-operator:v1 --image x=y 2>&1)
check "--image OLD=NEW (repeatable) rewrites, then the table" '[[ "$over" == *"-> mirror.example/sm-operator:v1 (--image)"* ]] && [[ "$over" == *"-> registry.k8s.io/kubebuilder/kube-rbac-proxy:v0.4.0"* ]]'
bad=$(run --dry-run --image nonsense 2>&1); code2=$?
check "--image without = is a clear error" '[ "$code2" -ne 0 ] && [[ "$bad" == *"is not OLD=NEW"* ]]'
check "dry run plans the role" '[[ "$dry" == *"+ create role sagemaker-k8s-operator-$cluster"* ]]'
check "dry run ends well: nothing to verify yet, counts planned" '[ "$code" -eq 0 ] && [[ "$dry" == *"verify: skipped in a dry run"* ]] && [[ "$dry" == *"(planned: nothing was written)"* ]]'
check "dry run creates no role" '! aws iam get-role --role-name "sagemaker-k8s-operator-$cluster" >/dev/null 2>&1'

first=$(run 2>&1); code=$?
check "install succeeds" '[ "$code" -eq 0 ]'
check "install reports 8 CRDs" '[[ "$first" == *"sagemaker CRDs: 8"* ]]'
role_arn=$(aws iam get-role --role-name "sagemaker-k8s-operator-$cluster" --query Role.Arn --output text 2>/dev/null)
check "aws reads back the role" '[ "$role_arn" = "arn:aws:iam::123456789012:role/sagemaker-k8s-operator-$cluster" ]'
attached=$(aws iam list-attached-role-policies --role-name "sagemaker-k8s-operator-$cluster" --query 'AttachedPolicies[].PolicyArn' --output text 2>/dev/null)
check "aws reads back the attached policy" '[ "$attached" = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess" ]'
sub=$(aws iam get-role --role-name "sagemaker-k8s-operator-$cluster" --output json | python3 -c 'import json,sys; d=json.load(sys.stdin)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]; print([v for k,v in d.items() if k.endswith(":sub")][0])')
check "trust names the operator's service account" '[ "$sub" = "system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default" ]'
check "aws lists the OIDC provider" 'aws iam list-open-id-connect-providers --output text | grep -q oidc.eks.us-west-2.amazonaws.com'
ann=$(kubectl -n sagemaker-k8s-operator-system get sa sagemaker-k8s-operator-default -o jsonpath='{.metadata.annotations.eks\.amazonaws\.com/role-arn}')
check "kubectl reads back the role annotation" '[ "$ann" = "$role_arn" ]'
check "kubectl sees 8 sagemaker CRDs" '[ "$(kubectl get crd -o name | grep -c sagemaker)" -eq 8 ]'
# Images that can be pulled today: the removed gcr.io/kubebuilder proxy is moved by default, said in one line.
images=$(kubectl -n sagemaker-k8s-operator-system get deploy sagemaker-k8s-operator-controller-manager -o jsonpath='{.spec.template.spec.containers[*].image}')
check "kubectl reads back the moved proxy image" '[[ " $images " == *" registry.k8s.io/kubebuilder/kube-rbac-proxy:v0.4.0 "* ]] && [[ "$images" != *gcr.io* ]]'
check "the install says the image rewrite in one line" '[ "$(grep -c "^image: Deployment/sagemaker-k8s-operator-controller-manager container kube-rbac-proxy: gcr.io/kubebuilder/kube-rbac-proxy:v0.4.0 -> registry.k8s.io/kubebuilder/kube-rbac-proxy:v0.4.0" <<<"$first")" -eq 1 ]'
check "the install says the operator's end of support, once" '[ "$(grep -c "end of support on 2023-02-15" <<<"$first")" -eq 1 ]'

check "--journal FILE has the role's create, done" 'grep -q "\"status\":\"done\",\"action\":\"create\",\"kind\":\"role\",\"name\":\"sagemaker-k8s-operator-$cluster\"" "$journal"'
check "--journal FILE has the Kubernetes writes" 'grep -q "\"kind\":\"ServiceAccount\",\"name\":\"sagemaker-k8s-operator-system/sagemaker-k8s-operator-default\"" "$journal"'
lines=$(wc -l <"$journal")

second=$(run 2>&1)
check "second run changes nothing" '[[ "$second" == *"objects: 0 created, 0 configured, 18 unchanged"* ]]'
again=$(run --dry-run 2>&1)
check "dry run after install plans no change" '! grep -qE "^[+~-] " <<<"$again"'
check "neither journals a write" '[ "$(wc -l <"$journal")" -eq "$lines" ]'

# --explain's kubectl line runs as it is: the real kubectl applies the here-document (the
# annotated installer as sgk sends it) and, as sgk's field manager, changes no object (kubectl
# always sends its patches, and 1.20 then stamps a new time on the Deployment's managedFields).
explained=$(run --dry-run --explain 2>/dev/null | sed -n "/^kubectl apply .* <<'EOF'\$/,/^EOF\$/p")
versions() { kubectl get -f "$INSTALLER" -o json 2>/dev/null | python3 -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    for k in ("resourceVersion", "managedFields", "generation"): o["metadata"].pop(k, None)
    o.pop("status", None)
    # What the controllers add on their own time: the token secret of a ServiceAccount, the revision of a Deployment;
    # and the bookkeeping of client-side kubectl (its annotation, the generation its move to server-side apply
    # counts), which kubectl itself changes on objects it once applied client-side (the suite does elsewhere).
    if o["kind"] == "ServiceAccount": o.pop("secrets", None)
    for a in ("deployment.kubernetes.io/revision", "kubectl.kubernetes.io/last-applied-configuration"):
        o["metadata"].get("annotations", {}).pop(a, None)
    if o["metadata"].get("annotations") == {}: o["metadata"].pop("annotations")
    print(json.dumps(o, sort_keys=True))'; }
before=$(versions)
applied=$(bash -c "$explained" 2>/dev/null); code=$?
after=$(versions)
check "--explain's kubectl apply line runs with the real kubectl and changes nothing" '[ "$code" -eq 0 ] && [ "$(grep -c " serverside-applied$" <<<"$applied")" -eq 18 ] && [ -n "$before" ] && [ "$after" = "$before" ]' ||
  { echo "exit $code; kubectl said:"; echo "$applied" | grep -v " serverside-applied$" | head -20; diff <(echo "$before") <(echo "$after") | cut -c1-400 | head -10; } >&2

echo "install e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
