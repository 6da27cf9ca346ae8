#!/usr/bin/env bash
# End to end: the cluster binding. The Kubernetes side must be the EKS cluster the AWS side is
# set up for: a context that is another EKS cluster (its cluster entry named by the other's ARN,
# its exec plugin making tokens for it, or the current context being it) is refused before any
# write, AWS or Kubernetes, counted at the peers; each proof is accepted and said; a context that
# proves nothing is used with a note. Uses the suite's moto and kube-apiserver (tools/test.sh).
set -uo pipefail
: "${SGK_BIN:?run from tools/test.sh}" "${SGK_TEST_KUBECONFIG:?}" "${SGK_TEST_KUBE_STATE:?}" "${SGK_TEST_AWS_ENDPOINT:?}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
INSTALLER="$ROOT/../shared/fixtures/sagemaker-operator/installer.yaml"
export AWS_ENDPOINT_URL="$SGK_TEST_AWS_ENDPOINT" AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $1" >&2; return 1; fi; }
STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-binding.XXXXXX")
trap 'rm -rf "$STATE"' EXIT INT TERM

mine="bind-$$"; other="bind-other-$$"
for c in "$mine" "$other"; do
  aws eks create-cluster --name "$c" --role-arn arn:aws:iam::123456789012:role/eks --resources-vpc-config subnetIds=subnet-1 >/dev/null
done
arn_of() { aws eks describe-cluster --name "$1" --query cluster.arn --output text; }
endpoint_of() { aws eks describe-cluster --name "$1" --query cluster.endpoint --output text; }
role="sagemaker-k8s-operator-$mine"
audit="$SGK_TEST_KUBE_STATE/audit.log"
kube_writes() { # sgk's writes in the audit log since line $1
  tail -n +"$(($1 + 1))" "$audit" | python3 -c '
import sys, json
print(sum(1 for l in sys.stdin if (e := json.loads(l)).get("userAgent", "").startswith("sgk") and e.get("verb") not in ("get", "list", "watch")))'
}

# A copy of the peer's kubeconfig whose cluster entry is NAME and, optionally, whose user is an
# exec plugin (ARGS…); the server and CA stay the peer's.
variant() { # FILE ENTRY [EXEC ARGS…]
  local file=$1 entry=$2; shift 2
  python3 - "$SGK_TEST_KUBECONFIG" "$file" "$entry" "$@" <<'PY'
import sys, yaml
src, dst, entry, *exe = sys.argv[1:]
k = yaml.safe_load(open(src))
old = k["contexts"][0]["context"]["cluster"]
for c in k["clusters"]:
    if c["name"] == old: c["name"] = entry
k["contexts"][0]["context"]["cluster"] = entry
if exe:
    k["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": exe[0], "args": exe[1:]}}
yaml.safe_dump(k, open(dst, "w"))
PY
}
install() { # KUBECONFIG [args…]
  local kc=$1; shift
  KUBECONFIG="$kc" "$SGK_BIN" run install-sagemaker-operator --cluster "$mine" --region us-west-2 \
    --installer "$INSTALLER" --journal "$STATE/journal.jsonl" "$@"
}
no_aws_write() { ! aws iam get-role --role-name "$role" >/dev/null 2>&1 && [ ! -s "$STATE/journal.jsonl" ]; }

# Refused: the cluster entry is the other cluster's ARN (current context, and named with --context).
variant "$STATE/other-arn" "$(arn_of "$other")"
ctx=$(KUBECONFIG="$STATE/other-arn" kubectl config current-context)
for how in current named; do
  mark=$(wc -l <"$audit")
  if [ "$how" = current ]; then out=$(install "$STATE/other-arn" 2>&1); code=$?; else out=$(install "$STATE/other-arn" --context "$ctx" 2>&1); code=$?; fi
  check "another cluster's ARN ($how context): refused" '[ "$code" -ne 0 ] && [[ "$out" == *"WrongCluster"* ]] && [[ "$out" == *"is $other (us-west-2), not the EKS cluster $mine"* ]]' || printf '%s\n' "$out" | tail -4 >&2
  check "another cluster's ARN ($how context): the fix names --context" '[[ "$out" == *"--context NAME"* ]]'
  check "another cluster's ARN ($how context): nothing written (IAM, journal, API server)" 'no_aws_write && [ "$(kube_writes "$mark")" -eq 0 ]'
done
printf 'refused: %s\n' "$(grep -m1 WrongCluster <<<"$out")"

# Refused: the user's exec plugin makes tokens for the other cluster.
variant "$STATE/other-exec" "local" aws eks get-token --cluster-name "$other" --region us-west-2
mark=$(wc -l <"$audit")
out=$(install "$STATE/other-exec" 2>&1); code=$?
check "an exec plugin for another cluster: refused before any write" '[ "$code" -ne 0 ] && [[ "$out" == *"exec plugin makes tokens for $other"* ]] && no_aws_write && [ "$(kube_writes "$mark")" -eq 0 ]' || printf '%s\n' "$out" | tail -4 >&2

# Proofs: each is accepted and said (eks bind alone: it makes no request to the API server).
variant "$STATE/right-arn" "$(arn_of "$mine")"
out=$(KUBECONFIG="$STATE/right-arn" "$SGK_BIN" -c "print (eks bind $mine region: us-west-2 | get proof)" 2>&1)
check "proof: the cluster entry named by the cluster's ARN" '[[ "$out" == *"named by the cluster'"'"'s ARN"* ]]' || echo "$out" >&2
variant "$STATE/right-exec" "local" aws eks get-token --cluster-name "$mine" --region us-west-2
out=$(KUBECONFIG="$STATE/right-exec" "$SGK_BIN" -c "print (eks bind $mine region: us-west-2 | get proof)" 2>&1)
check "proof: the exec plugin makes tokens for the cluster" '[[ "$out" == *"exec plugin makes tokens for $mine"* ]]' || echo "$out" >&2
python3 - "$SGK_TEST_KUBECONFIG" "$STATE/right-endpoint" "$(endpoint_of "$mine")" <<'PY'
import sys, yaml
k = yaml.safe_load(open(sys.argv[1])); k["clusters"][0]["cluster"]["server"] = sys.argv[3]
yaml.safe_dump(k, open(sys.argv[2], "w"))
PY
out=$(KUBECONFIG="$STATE/right-endpoint" "$SGK_BIN" -c "print (eks bind $mine region: us-west-2 | get proof)" 2>&1)
check "proof: the server is the cluster's endpoint" '[[ "$out" == *"server is the cluster'"'"'s endpoint"* ]]' || echo "$out" >&2

# The install through a context that proves it (the ARN): it says so, and installs.
out=$(install "$STATE/right-arn" 2>&1); code=$?
check "an install through a proven context says why it is the cluster" '[ "$code" -eq 0 ] && [[ "$out" == *"ok      cluster: context "*" is $mine (its kubeconfig cluster entry is named by the cluster'"'"'s ARN)"* ]]' || printf '%s\n' "$out" | tail -6 >&2
check "and it installed (aws reads back the role)" 'aws iam get-role --role-name "$role" >/dev/null 2>&1'
KUBECONFIG="$STATE/right-arn" "$SGK_BIN" run uninstall-sagemaker-operator --cluster "$mine" --region us-west-2 \
  --installer "$INSTALLER" --journal "$STATE/journal.jsonl" >/dev/null 2>&1
check "the uninstall through the same context removes the role" '! aws iam get-role --role-name "$role" >/dev/null 2>&1'

# A named context that says nothing either way (the peer's own, a tunnel, a static token): used,
# with one note.
peer_ctx=$(KUBECONFIG="$SGK_TEST_KUBECONFIG" kubectl config current-context)
out=$(KUBECONFIG="$SGK_TEST_KUBECONFIG" "$SGK_BIN" -c "print (eks bind $mine region: us-west-2 context: $peer_ctx | get proof)" 2>&1)
check "a named context that proves nothing: one note, used" '[ "$(grep -c "^note: sgk could not confirm that context $peer_ctx" <<<"$out")" -eq 1 ] && [[ "$out" == *null* ]]' || echo "$out" >&2
# Not named, and no context is the cluster: the current one is not used; the cluster is reached
# in-process from DescribeCluster (bind makes no request: moto's endpoint is never contacted).
out=$(KUBECONFIG="$SGK_TEST_KUBECONFIG" "$SGK_BIN" -c "let b = eks bind $mine region: us-west-2
print \"\${b.context} | \${b.proof}\"" 2>&1)
check "no context is the cluster: reached in-process, under the cluster's ARN" '[[ "$out" == "$(arn_of "$mine") | reached in-process from DescribeCluster" ]]' || echo "$out" >&2
out=$(KUBECONFIG="$SGK_TEST_KUBECONFIG" "$SGK_BIN" run --dry-run install-sagemaker-operator --cluster "$mine" --region us-west-2 --installer "$INSTALLER" --context "$peer_ctx" 2>&1 >/dev/null)
check "--dry-run says which API server was chosen and why" '[[ "$out" == *"cluster: $mine'"'"'s API server is https://127.0.0.1:"*", context $peer_ctx: named (--context); sgk could not confirm it is the cluster"* ]]' || echo "$out" >&2

echo "cluster binding e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
