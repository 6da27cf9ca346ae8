#!/usr/bin/env bash
# End to end, on its own moto and kube-apiserver: what the journal says sgk created.
#   1. ownership does not depend on how the server is spelled: objects created
#      through https://127.0.0.1:PORT are sgk's through https://localhost:PORT (the
#      same cluster: entries carry the cluster's id, its kube-system namespace's
#      UID); an entry of an older journal (no id) still compares by URL; the
#      SageMaker uninstall through the other spelling removes the Namespace;
#   2. two installs at once on one journal: the second waits for the first
#      ("waiting for the install started at … (pid N)"), both succeed, and each
#      create is journaled once; the uninstall then leaves nothing.
. "$(dirname "$0")/common.bash"
start_peers
I="$FIX/installer.yaml"
NS=sagemaker-k8s-operator-system
ROLE=sagemaker-k8s-operator-one
make_cluster one || { echo "cannot make the moto cluster" >&2; exit 1; }
SERVER=$(cat "$E2E_STATE/kube/server")
BY_NAME="https://localhost:${SERVER##*:}"
# The same cluster, its server spelled by name (the peer's certificate names localhost too).
kubectl config set-cluster by-name --server="$BY_NAME" --certificate-authority="$E2E_STATE/kube/ca.crt" --embed-certs >/dev/null
kubectl config set-credentials by-name --token="$(cat "$E2E_STATE/kube/token")" >/dev/null
kubectl config set-context by-name --cluster by-name --user by-name >/dev/null
UID_KS=$(kubectl get namespace kube-system -o jsonpath='{.metadata.uid}')
sgk() { "$SGK_BIN" "$@"; }
run() { "$SGK_BIN" run "$@" 2>&1; }
# The creates a journal says finished, counted; each resource journaled as created more than once
# is named on stderr.
creates() {
  python3 - "$1" <<'PY'
import json, sys, collections
seen = collections.Counter()
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("status") == "done" and e.get("action") == "create":
        seen[(e["kind"], e["name"], e.get("clusterID") or e.get("cluster"))] += 1
print(sum(seen.values()))
for k, n in seen.items():
    if n > 1: print(n, *k[:2], file=sys.stderr)
PY
}
gone() { ! kubectl get namespace "$1" -o name >/dev/null 2>&1 || [ "$(kubectl get namespace "$1" -o jsonpath='{.status.phase}')" = Terminating ]; }

# ---- 1. one cluster, two spellings
out=$(sgk -c 'kubectl apply {apiVersion: "v1", kind: "Namespace", metadata: {name: "spelled"}} -o name' 2>&1)
check "a Namespace applied through $SERVER" '[ "$out" = "namespace/spelled created" ]' || echo "$out" >&2
check "its entry names the cluster's id and the URL as spelled" \
  '[ "$(sgk -c "print (journal entries kind: Namespace name: spelled | each { \"\${it.clusterID} \${it.cluster}\" } | join \",\")")" = "$UID_KS $SERVER" ]'
check "journal created: true through $BY_NAME" '[ "$(sgk journal created Namespace spelled context: by-name)" = true ]'
check "journal created: true through $SERVER" '[ "$(sgk journal created Namespace spelled)" = true ]'
check "journal created --cluster takes the cluster's id" '[ "$(sgk journal created Namespace spelled cluster: "$UID_KS")" = true ]'
check "journal created --cluster: another id is another cluster" '[ "$(sgk journal created Namespace spelled cluster: 00000000-0000-0000-0000-000000000000)" = false ]'
out=$(sgk -c 'kubectl delete namespace spelled --context by-name --wait=false' 2>&1)
check "deleted through $BY_NAME: no longer sgk's through $SERVER" '[ "$(sgk journal created Namespace spelled)" = false ]' || echo "$out" >&2
# An older journal's entry (no cluster id) compares by URL, as before.
OLD="$E2E_STATE/old-journal.jsonl"
printf '{"time":"2026-01-01T00:00:00Z","action":"create","kind":"Namespace","name":"old","cluster":"%s"}\n' "$SERVER" >"$OLD"
check "an entry without a cluster id: true through the URL it names" '[ "$(SGK_JOURNAL="$OLD" sgk journal created Namespace old)" = true ]'
check "an entry without a cluster id: false through another spelling" '[ "$(SGK_JOURNAL="$OLD" sgk journal created Namespace old context: by-name)" = false ]'

out=$(run install-sagemaker-operator --cluster one --region us-west-2 --installer "$I"); code=$?
check "install through $SERVER (exit $code)" '[ "$code" -eq 0 ]' || echo "$out" >&2
out=$(run uninstall-sagemaker-operator --cluster one --region us-west-2 --installer "$I" --context by-name); code=$?
check "uninstall through $BY_NAME (exit $code)" '[ "$code" -eq 0 ]' || echo "$out" >&2
check "the uninstall removes the Namespace the install created (not kept)" '[[ "$out" != *"kept:    Namespace"* ]] && gone "$NS"' || echo "$out" >&2
check "the uninstall removes the role" '! aws iam get-role --role-name "$ROLE" >/dev/null 2>&1'
kubectl wait --for=delete namespace/"$NS" --timeout=120s >/dev/null 2>&1

# ---- 2. two installs at once, one journal
J="$E2E_STATE/shared.jsonl"
mark
SGK_JOURNAL="$J" timeout 300 "$SGK_BIN" run install-sagemaker-operator --cluster one --region us-west-2 --installer "$I" >"$E2E_STATE/a.out" 2>&1 &
a=$!
SGK_JOURNAL="$J" timeout 300 "$SGK_BIN" run install-sagemaker-operator --cluster one --region us-west-2 --installer "$I" >"$E2E_STATE/b.out" 2>&1 &
b=$!
wait "$a"; ca=$?
wait "$b"; cb=$?
check "both installs succeed (exit $ca, $cb)" '[ "$ca" -eq 0 ] && [ "$cb" -eq 0 ]' || cat "$E2E_STATE/a.out" "$E2E_STATE/b.out" >&2
check "one waited for the other, and said for whom" \
  'cat "$E2E_STATE/a.out" "$E2E_STATE/b.out" | grep -Eq "^waiting for the install started at [0-9T:-]+Z \(pid [0-9]+\) … \(it writes the same journal, $J\)$"' || cat "$E2E_STATE/a.out" "$E2E_STATE/b.out" >&2
n=$(creates "$J" 2>"$E2E_STATE/twice.err")
# 18 Kubernetes objects, the OIDC provider, the role, its policy attachment.
check "each create journaled once: 21 creates ($n)" '[ "$n" -eq 21 ] && [ ! -s "$E2E_STATE/twice.err" ]' || cat "$E2E_STATE/twice.err" >&2
check "the lock file beside the journal names a run" 'grep -Eq "^\{\"pid\":[0-9]+,\"started\":\"[0-9T:-]+Z\"\}$" "$J.lock"' || cat "$J.lock" >&2
out=$(SGK_JOURNAL="$J" "$SGK_BIN" run uninstall-sagemaker-operator --cluster one --region us-west-2 --installer "$I" 2>&1); code=$?
check "the uninstall (exit $code) leaves nothing: no role, no Namespace" \
  '[ "$code" -eq 0 ] && ! aws iam get-role --role-name "$ROLE" >/dev/null 2>&1 && [[ "$out" != *"kept:    Namespace"* ]] && gone "$NS"' || echo "$out" >&2

finish journal-ownership
