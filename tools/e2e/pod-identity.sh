#!/usr/bin/env bash
# End to end, on its own moto and the EKS API stub (tools/e2e/eks-api-stub.py; no kube peer):
# EKS Pod Identity as the sgk binary makes it, read back with the real aws CLI (botocore checks
# every answer against the EKS model):
#   1. a role with `podidentity trust`, an association, the agent add-on: aws reads back the
#      association (describe, list with --namespace, the paginator over pages of 2) and the add-on;
#   2. a second run writes nothing (counted at the stub and at moto); --dry-run writes nothing;
#   3. another role: the association is updated in place, said as an update;
#   4. the add-on missing or DEGRADED is what `eks addon get` says;
#   5. the delete removes it (journal: no longer sgk's); a second delete with missing-ok is unchanged.
# Bounded: every command runs under `timeout`, the stub stops by itself after 300 s.
. "$(dirname "$0")/common.bash"
T="timeout 120"

E2E_STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-e2e.XXXXXX")
STUB_PID=""
cleanup() {
  [ -z "$STUB_PID" ] || kill "$STUB_PID" 2>/dev/null || true
  stop_peers
}
trap cleanup EXIT INT TERM
"$ROOT/tools/moto.sh" start "$E2E_STATE/moto" >"$E2E_STATE/peers.log" 2>&1 || { cat "$E2E_STATE/peers.log" >&2; echo "cannot start moto" >&2; exit 1; }
# shellcheck disable=SC1091
. "$E2E_STATE/moto/moto.env"
export XDG_STATE_HOME="$E2E_STATE/xdg"
unset SGK_JOURNAL SGK_INSTALLER
MOTO=$(cat "$E2E_STATE/moto/moto.url")
curl -fsS -X POST "$MOTO/moto-api/recorder/start-recording" >/dev/null

C=podid-demo
echo "{\"$C\": {\"eks-pod-identity-agent\": \"ACTIVE\"}}" >"$E2E_STATE/addons.json"
start_eks_stub --addons "$E2E_STATE/addons.json" --page-cap 2 --ttl 300
# common.bash's mark also reads the kube peer's audit log: this test has no kube peer.
mark() { MOTO_MARK=$(wc -l <"$E2E_STATE/moto/moto-recording.jsonl" 2>/dev/null || echo 0); }

$T aws eks create-cluster --name "$C" --role-arn arn:aws:iam::123456789012:role/eks \
  --resources-vpc-config subnetIds=subnet-1 >/dev/null || { echo "cannot make the cluster" >&2; exit 1; }

cat >"$E2E_STATE/install.sgk" <<EOF
param role_name = "podid-runner"
use podidentity
let role = role create \$role_name trust: (podidentity trust)
let a = eks pod-identity create cluster: $C namespace: ml service-account: runner role-arn: \$role.Arn
let agent = eks addon get cluster: $C name: eks-pod-identity-agent missing-ok: true
print "association \${a.associationId} role \${a.roleArn} agent \${agent.status}"
EOF
sgk() { $T "$SGK_BIN" "$@"; }

# 1. install, read back with aws.
out=$(sgk run "$E2E_STATE/install.sgk" 2>&1)
check "the install runs" '[[ "$out" == *"role arn:aws:iam::123456789012:role/podid-runner agent ACTIVE"* ]]' || echo "$out" >&2
ID=$(aws eks list-pod-identity-associations --cluster-name "$C" --namespace ml --service-account runner \
  --query 'associations[0].associationId' --output text)
check "aws lists the association sgk made" '[[ "$out" == *"association $ID "* ]]'
check "aws describes its role" '[ "$(aws eks describe-pod-identity-association --cluster-name "$C" --association-id "$ID" --query association.roleArn --output text)" = arn:aws:iam::123456789012:role/podid-runner ]'
check "aws reads the role trust: pods.eks.amazonaws.com, AssumeRole + TagSession" \
  '[ "$(aws iam get-role --role-name podid-runner --query "Role.AssumeRolePolicyDocument.Statement[0].[Principal.Service, join(\`,\`, Action)]" --output text)" = "pods.eks.amazonaws.com	sts:AssumeRole,sts:TagSession" ]'
check "aws describes the add-on ACTIVE" '[ "$(aws eks describe-addon --cluster-name "$C" --addon-name eks-pod-identity-agent --query addon.status --output text)" = ACTIVE ]'
check "the journal says sgk made it" '[ "$(sgk -c "print (journal created pod-identity-association \"$C/ml/runner\" arn: \"$(aws eks describe-pod-identity-association --cluster-name "$C" --association-id "$ID" --query association.associationArn --output text)\")")" = true ]'

# 2. again: nothing written; a dry run of a change writes nothing either.
mark; before=$(stub_writes)
out=$(sgk run "$E2E_STATE/install.sgk" --dry-run 2>&1)
check "a second run plans nothing" '[[ "$out" == *"= unchanged pod-identity-association $C/ml/runner"* && "$out" != *"+ create"* ]]' || echo "$out" >&2
sgk run "$E2E_STATE/install.sgk" >/dev/null 2>&1
check "a second run writes nothing at the stub" '[ "$(stub_writes)" -eq "$before" ]'
check "a second run writes nothing at moto" '[ "$(moto_writes)" -eq 0 ]'
out=$(sgk run "$E2E_STATE/install.sgk" --role-name podid-other --dry-run --explain 2>&1)
check "a dry run of another role plans a role and an update" '[[ "$out" == *"+ create role podid-other"* && "$out" == *"~ update pod-identity-association $C/ml/runner (role arn:aws:iam::123456789012:role/podid-other)"* ]]' || echo "$out" >&2
check "and explains it with the aws line" '[[ "$out" == *"aws eks update-pod-identity-association --cluster-name $C --association-id $ID --role-arn arn:aws:iam::123456789012:role/podid-other --region us-west-2"* ]]'
check "the dry run wrote nothing" '[ "$(stub_writes)" -eq "$before" ] && [ "$(moto_writes)" -eq 0 ]'

# 3. another role: updated in place.
sgk run "$E2E_STATE/install.sgk" --role-name podid-other >/dev/null 2>&1
check "another role updates the association in place" '[ "$(aws eks describe-pod-identity-association --cluster-name "$C" --association-id "$ID" --query association.roleArn --output text)" = arn:aws:iam::123456789012:role/podid-other ]'

# Pages: five more service accounts, listed by sgk and by the aws paginator (pages of 2).
for i in 1 2 3 4 5; do sgk -c "eks pod-identity create cluster: $C namespace: batch service-account: job$i role-arn: arn:aws:iam::123456789012:role/podid-other" >/dev/null; done
check "sgk lists every page" '[ "$(sgk -c "print (eks pod-identity list cluster: $C | count)")" = 6 ]'
check "the aws paginator reads the same" '[ "$(aws eks list-pod-identity-associations --cluster-name "$C" --query "length(associations)")" = 6 ]'
check "aws filters by namespace" '[ "$(aws eks list-pod-identity-associations --cluster-name "$C" --namespace batch --query "length(associations)")" = 5 ]'

# 4. the add-on DEGRADED, then missing.
curl -fsS -X PUT "$STUB/stub/addons/$C/eks-pod-identity-agent?status=DEGRADED&issue=InsufficientNumberOfReplicas" >/dev/null
check "a DEGRADED add-on and its issue" '[ "$(sgk -c "let a = eks addon get cluster: $C name: eks-pod-identity-agent; print \"\${a.status} \${a.health.issues[0].code}\"")" = "DEGRADED InsufficientNumberOfReplicas" ]'
curl -fsS -X DELETE "$STUB/stub/addons/$C/eks-pod-identity-agent" >/dev/null
out=$(sgk -c "eks addon get cluster: $C name: eks-pod-identity-agent" 2>&1); rc=$?
check "a missing add-on is an error with the create-addon hint" '[ "$rc" -ne 0 ] && [[ "$out" == *ResourceNotFoundException* && "$out" == *"aws eks create-addon --cluster-name $C --addon-name eks-pod-identity-agent"* ]]' || echo "$out" >&2
check "missing-ok gives null" '[ "$(sgk -c "print (eks addon get cluster: $C name: eks-pod-identity-agent missing-ok: true)")" = null ]'

# 5. delete.
sgk -c "eks pod-identity delete cluster: $C namespace: ml service-account: runner" >/dev/null 2>&1
check "aws no longer lists it" '[ "$(aws eks list-pod-identity-associations --cluster-name "$C" --namespace ml --query "length(associations)")" = 0 ]'
check "the journal no longer says it is sgk's" '[ "$(sgk -c "print (journal created pod-identity-association \"$C/ml/runner\")")" = false ]'
out=$(sgk -c "eks pod-identity delete cluster: $C namespace: ml service-account: runner missing-ok: true" --dry-run 2>&1)
check "a second delete is unchanged" '[[ "$out" == *"= unchanged pod-identity-association $C/ml/runner (absent)"* ]]' || echo "$out" >&2
finish pod-identity
