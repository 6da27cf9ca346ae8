# Sourced by the SageMaker end-to-end tests in tools/e2e/ (not a test itself:
# tools/test.sh runs tools/e2e/*.sh only). Each test starts its own moto and
# kube-apiserver in a temp dir — it deletes cluster-wide objects (CRDs) and
# counts writes at the peers, so it must not share them — and stops only those.
#
#   . "$(dirname "$0")/common.bash"
#   start_peers [--no-v1beta1]
#   check "what" 'condition'
#   mark; …; [ "$(moto_writes)" -eq 0 ]; [ "$(kube_writes)" -eq 0 ]
#   finish "name"
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
FIX="$ROOT/../shared/fixtures/sagemaker-operator"
SGK_BIN="${SGK_BIN:-$ROOT/.build/debug/sgk}"
export AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
export KUBE_PEER_READY_TIMEOUT="${KUBE_PEER_READY_TIMEOUT:-180}" MOTO_READY_TIMEOUT="${MOTO_READY_TIMEOUT:-90}"
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $1" >&2; return 1; fi; }
E2E_STATE=""

stop_peers() {
  [ -n "$E2E_STATE" ] || return 0
  "$ROOT/tools/moto.sh" stop "$E2E_STATE/moto" >/dev/null 2>&1 || true
  "$ROOT/tools/kube-peer.sh" stop "$E2E_STATE/kube" >/dev/null 2>&1 || true
  rm -rf "$E2E_STATE"
}

# Starts moto and a kube-apiserver (args: kube-peer.sh start options) on loopback,
# points aws, kubectl and sgk at them, and gives sgk its own journal.
start_peers() {
  E2E_STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-e2e.XXXXXX")
  trap stop_peers EXIT INT TERM
  # tools/moto.sh retries a start that does not answer (up to 3 attempts).
  "$ROOT/tools/moto.sh" start "$E2E_STATE/moto" >"$E2E_STATE/peers.log" 2>&1 || { cat "$E2E_STATE/peers.log" >&2; echo "cannot start moto" >&2; exit 1; }
  "$ROOT/tools/kube-peer.sh" start "$E2E_STATE/kube" "$@" >>"$E2E_STATE/peers.log" 2>&1 || { cat "$E2E_STATE/peers.log" >&2; echo "cannot start the kube peer" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$E2E_STATE/moto/moto.env"
  # shellcheck disable=SC1091
  . "$E2E_STATE/kube/env"
  export XDG_STATE_HOME="$E2E_STATE/xdg"
  unset SGK_JOURNAL SGK_INSTALLER
  curl -fsS -X POST "$(cat "$E2E_STATE/moto/moto.url")/moto-api/recorder/start-recording" >/dev/null
}

# Creates an EKS cluster in moto and binds it to the kube peer of $KUBECONFIG's first file (a
# context named by its ARN, as aws eks update-kubeconfig writes one), so that the installs find
# their cluster's context as on a real cluster.
make_cluster() { # NAME [REGION]
  local arn
  arn=$(aws eks create-cluster --name "$1" --region "${2:-us-west-2}" --role-arn "arn:aws:iam::123456789012:role/eks" \
    --resources-vpc-config subnetIds=subnet-1 --query cluster.arn --output text) || return 1
  "$ROOT/tools/kube-peer.sh" bind-eks "${KUBECONFIG%%:*}" "$arn"
}

# Write requests seen by the peers since the last `mark`: moto's recording
# (IAM/STS actions other than Get*/List*, EKS requests other than GET) and the
# kube-apiserver's audit log (it logs only writes) for the user agent "sgk".
mark() {
  MOTO_MARK=$(wc -l <"$E2E_STATE/moto/moto-recording.jsonl" 2>/dev/null || echo 0)
  KUBE_MARK=$(wc -l <"$E2E_STATE/kube/audit.log" 2>/dev/null || echo 0)
}
moto_writes() {
  tail -n +"$((MOTO_MARK + 1))" "$E2E_STATE/moto/moto-recording.jsonl" 2>/dev/null | python3 -c '
import sys, json, base64, urllib.parse
n = 0
for line in sys.stdin:
    e = json.loads(line)
    body = e.get("body") or ""
    if e.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    action = urllib.parse.parse_qs(body).get("Action", [""])[0]
    if action:
        if not action.startswith(("Get", "List")):
            n += 1
            print(action, file=sys.stderr)
    elif e.get("method") != "GET" and "/moto-api/" not in e.get("url", ""):
        n += 1
        print(e.get("method"), e.get("url"), file=sys.stderr)
print(n)' 2>"$E2E_STATE/moto-writes.txt"
}
kube_writes() {
  tail -n +"$((KUBE_MARK + 1))" "$E2E_STATE/kube/audit.log" 2>/dev/null | python3 -c '
import sys, json
n = 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("userAgent", "").startswith("sgk") and e.get("verb") not in ("get", "list", "watch"):
        n += 1
        print(e.get("verb"), e.get("requestURI"), file=sys.stderr)
print(n)' 2>"$E2E_STATE/kube-writes.txt"
}

# The resources sgk wrote since the last `mark`, in the order the kube-apiserver received them:
# one line each, "crd", "namespace", "cluster" (other cluster-scoped) or "namespaced".
kube_write_order() {
  tail -n +"$((KUBE_MARK + 1))" "$E2E_STATE/kube/audit.log" 2>/dev/null | python3 -c '
import sys, json
rows = []
for line in sys.stdin:
    e = json.loads(line)
    if not e.get("userAgent", "").startswith("sgk") or e.get("verb") in ("get", "list", "watch"):
        continue
    r = e.get("objectRef", {})
    if r.get("resource") == "customresourcedefinitions": kind = "crd"
    elif r.get("resource") == "namespaces" and not r.get("subresource"): kind = "namespace"
    elif r.get("namespace"): kind = "namespaced"
    else: kind = "cluster"
    rows.append((e.get("requestReceivedTimestamp", ""), kind))
for _, kind in sorted(rows): print(kind)'
}

# Starts the loopback EKS stub (tools/e2e/eks-api-stub.py: Pod Identity and add-ons, which moto
# does not answer; clusters forwarded to moto) in $E2E_STATE/stub, with its options (--addons,
# --page-cap, --ttl), and points sgk and aws at it: STUB, STUB_PID, AWS_ENDPOINT_URL_EKS,
# stub_writes (its write requests), addon CLUSTER ADDON STATUS|absent (seeds an add-on).
start_eks_stub() {
  mkdir -p "$E2E_STATE/stub"
  python3 "$ROOT/tools/e2e/eks-api-stub.py" "$E2E_STATE/stub" "$(cat "$E2E_STATE/moto/moto.url")" "$@" >"$E2E_STATE/stub.log" 2>&1 &
  STUB_PID=$!
  for _ in $(seq 100); do [ -s "$E2E_STATE/stub/url" ] && break; sleep 0.1; done
  STUB=$(cat "$E2E_STATE/stub/url") || { cat "$E2E_STATE/stub.log" >&2; echo "the EKS stub did not start" >&2; exit 1; }
  export AWS_ENDPOINT_URL_EKS="$STUB"
}
stub_writes() { grep -v '^GET ' "$E2E_STATE/stub/requests" 2>/dev/null | grep -cv ' /stub/'; }
addon() {
  if [ "$3" = absent ]; then curl -fsS -X DELETE "$STUB/stub/addons/$1/$2" >/dev/null
  else curl -fsS -X PUT "$STUB/stub/addons/$1/$2?status=$3" >/dev/null; fi
}

finish() {
  echo "$1 e2e: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
