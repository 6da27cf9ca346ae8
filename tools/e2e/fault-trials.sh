#!/usr/bin/env bash
# End to end: the install and the uninstall under injected faults (issue 21, "Fault injection").
# tools/fault-proxy.py stands in front of moto and, TLS-terminating with a certificate for
# 127.0.0.1 signed by the kube peer's CA, in front of the kube-apiserver; it answers a seeded
# fraction of the requests with throttling, a 5xx, a 429 with Retry-After, or a reset connection
# (before the request is carried out, or after: its answer lost). Each trial, on its own seed:
#   - at 10 % the install completes in one run; at 25 % it completes, or fails with a clear error
#     (no trap) and a plain re-run (same faults) converges;
#   - the final state equals a fault-free install's (the role, its trust and policies, the OIDC
#     provider in moto; the installer's objects in the cluster, normalised), and nothing is created
#     twice (each IAM create reaches moto once; the journal records each create once);
#   - the uninstall under the same faults completes in one run at 10 % (at 25 %: or converges on a
#     re-run) and leaves what existed before the install, nothing more.
# TRIALS=N runs N trials at each rate (default 3; the issue's count is 10); RATES="0.25" others.
. "$(dirname "$0")/common.bash"
TRIALS="${TRIALS:-3}"
start_peers
I="$FIX/installer.yaml"
KUBE="$E2E_STATE/kube"
DIRECT_KUBECONFIG="$KUBECONFIG" DIRECT_AWS="$AWS_ENDPOINT_URL"
cluster=faults
make_cluster "$cluster" >/dev/null || { echo "cannot create the cluster" >&2; exit 1; }
arn=$(aws eks describe-cluster --name "$cluster" --query cluster.arn --output text)
JOURNAL="$E2E_STATE/journal.jsonl"

# The proxy's certificate: 127.0.0.1 only, signed by the peer's CA (sgk checks the name strictly).
(
  cd "$E2E_STATE" || exit 1
  printf '%s\n' "subjectAltName=IP:127.0.0.1" "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature,keyEncipherment" >proxy.ext
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout proxy.key -out proxy.csr -subj "/CN=fault-proxy" 2>/dev/null &&
    openssl x509 -req -in proxy.csr -CA "$KUBE/ca.crt" -CAkey "$KUBE/ca.key" -CAcreateserial -CAserial proxy.srl \
      -days 1 -sha256 -extfile proxy.ext -out proxy.crt 2>/dev/null
) || { echo "openssl could not make the proxy's certificate" >&2; exit 1; }

proxy_pids=()
stop_proxies() { local p; for p in "${proxy_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; proxy_pids=(); }
trap 'stop_proxies; stop_peers' EXIT INT TERM
# start_proxies RATE SEED: both proxies; sgk is pointed at them (AWS_ENDPOINT_URL, PROXY_KUBECONFIG).
start_proxies() {
  local rate=$1 seed=$2 port
  : >"$E2E_STATE/faults.log"
  # The last trial's port files go first: read before a new proxy writes its own, they name a
  # port that the system may since have given to the other new proxy (seen: AWS requests sent to
  # the TLS proxy, each answered by a closed connection).
  rm -f "$E2E_STATE/aws-proxy.port" "$E2E_STATE/kube-proxy.port"
  python3 "$ROOT/tools/fault-proxy.py" --upstream "$DIRECT_AWS" --rate "$rate" --seed "aws-$seed" \
    --log "$E2E_STATE/faults.log" --lifetime 900 >"$E2E_STATE/aws-proxy.port" 2>/dev/null &
  proxy_pids+=($!)
  python3 "$ROOT/tools/fault-proxy.py" --upstream "$(cat "$KUBE/server")" --upstream-ca "$KUBE/ca.crt" \
    --tls-cert "$E2E_STATE/proxy.crt" --tls-key "$E2E_STATE/proxy.key" --rate "$rate" --seed "kube-$seed" \
    --log "$E2E_STATE/faults.log" --lifetime 900 >"$E2E_STATE/kube-proxy.port" 2>/dev/null &
  proxy_pids+=($!)
  for _ in $(seq 1 300); do [ -s "$E2E_STATE/aws-proxy.port" ] && [ -s "$E2E_STATE/kube-proxy.port" ] && break; sleep 0.1; done
  [ -s "$E2E_STATE/aws-proxy.port" ] && [ -s "$E2E_STATE/kube-proxy.port" ] || { echo "the fault proxies did not start" >&2; exit 1; }
  port=$(cat "$E2E_STATE/kube-proxy.port")
  sed "s|server: https://127.0.0.1:[0-9]*|server: https://127.0.0.1:$port|" "$DIRECT_KUBECONFIG" >"$E2E_STATE/proxy-kubeconfig"
  PROXY_AWS="http://127.0.0.1:$(cat "$E2E_STATE/aws-proxy.port")"
}
sgk_run() { # SCRIPT [args]: through the proxies, bounded
  AWS_ENDPOINT_URL="$PROXY_AWS" KUBECONFIG="$E2E_STATE/proxy-kubeconfig" timeout 600 \
    "$SGK_BIN" run "$1" --cluster "$cluster" --region us-west-2 --installer "$I" --journal "$JOURNAL" --context "$arn" "${@:2}" 2>&1
}

. "$ROOT/tools/e2e/state.bash"
# Each IAM create that reached moto since `mark` (a create sent twice reaches it twice).
creates_twice() {
  moto_writes >/dev/null
  grep -E '^Create' "$E2E_STATE/moto-writes.txt" | sort | uniq -d
}
journal_twice() { # creates journaled twice since line $1
  tail -n +"$(($1 + 1))" "$JOURNAL" 2>/dev/null | python3 -c '
import json, sys, collections
c = collections.Counter()
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("status") == "done" and e.get("action") == "create": c[(e.get("kind"), e.get("name"))] += 1
for k, n in c.items():
    if n > 1: print(k, n)'
}
clear_error() { # OUTPUT CODE: a failure that says what failed, not a trap
  [ "$2" -ne 0 ] && [ "$2" -lt 128 ] && grep -qE 'error' <<<"$1" && ! grep -qE 'Fatal error|Illegal instruction|Segmentation|Trace/breakpoint' <<<"$1"
}

before=$(snapshot)
# A fault-free install, its state the reference; then a fault-free uninstall.
start_proxies 0 clean
out=$(sgk_run install-sagemaker-operator); code=$?
check "a fault-free install through the proxies succeeds" '[ "$code" -eq 0 ]' || { printf '%s\n' "$out" | tail -5 >&2; exit 1; }
reference=$(snapshot)
check "the reference state has the role, the provider and the 18 objects" '[ "$(grep -c "^role " <<<"$reference")" -eq 1 ] && [ "$(grep -c "^provider " <<<"$reference")" -eq 1 ] && [ "$(grep -c "^{" <<<"$reference")" -eq 18 ]'
out=$(sgk_run uninstall-sagemaker-operator); code=$?
check "a fault-free uninstall through the proxies succeeds and leaves what was there before" '[ "$code" -eq 0 ] && [ "$(snapshot)" = "$before" ]' || printf '%s\n' "$out" | tail -5 >&2
stop_proxies

declare -A one=() conv=() uone=() uconv=() faulted=()
for rate in ${RATES:-0.10 0.25}; do
  one[$rate]=0; conv[$rate]=0; uone[$rate]=0; uconv[$rate]=0; faulted[$rate]=0
  for i in $(seq 1 "$TRIALS"); do
    t="$rate#$i"
    start_proxies "$rate" "$rate-$i"
    mark; jmark=$(wc -l <"$JOURNAL" 2>/dev/null || echo 0)
    out=$(sgk_run install-sagemaker-operator); code=$?
    iruns=1; uruns=1
    if [ "$code" -eq 0 ]; then
      one[$rate]=$((one[$rate] + 1))
    else
      check "$t: the failed install says why, clearly (exit $code)" 'clear_error "$out" "$code"' || printf '%s\n' "$out" | tail -5 >&2
      echo "$t: the install failed (exit $code): $(grep -m1 'error' <<<"$out")"
      [ "$rate" = 0.10 ] && { echo "FAILED: $t: the install did not complete in one run at 10 %:" >&2; printf '%s\n' "$out" | grep -E 'error' | head -3 >&2; fail=$((fail + 1)); }
      out=$(sgk_run install-sagemaker-operator); code=$?; iruns=2
      check "$t: a re-run converges" '[ "$code" -eq 0 ]' && conv[$rate]=$((conv[$rate] + 1)) || printf '%s\n' "$out" | tail -5 >&2
    fi
    state=$(snapshot)
    check "$t: the state equals a fault-free install's" '[ "$state" = "$reference" ]' || diff <(echo "$reference") <(echo "$state") | cut -c1-300 | head -6 >&2
    twice=$(creates_twice)
    check "$t: no IAM create reached moto twice" '[ -z "$twice" ]' || echo "$twice" >&2
    jt=$(journal_twice "$jmark")
    check "$t: the journal records each create once" '[ -z "$jt" ]' || echo "$jt" >&2
    n=$(wc -l <"$E2E_STATE/faults.log")

    out=$(sgk_run uninstall-sagemaker-operator); code=$?
    if [ "$code" -eq 0 ]; then
      uone[$rate]=$((uone[$rate] + 1))
    else
      check "$t: the failed uninstall says why, clearly (exit $code)" 'clear_error "$out" "$code"' || printf '%s\n' "$out" | tail -5 >&2
      [ "$rate" = 0.10 ] && { echo "FAILED: $t: the uninstall did not complete in one run at 10 %:" >&2; printf '%s\n' "$out" | grep -E 'error' | head -3 >&2; fail=$((fail + 1)); }
      out=$(sgk_run uninstall-sagemaker-operator); code=$?; uruns=2
      check "$t: a re-run of the uninstall converges" '[ "$code" -eq 0 ]' && uconv[$rate]=$((uconv[$rate] + 1)) || printf '%s\n' "$out" | tail -5 >&2
    fi
    state=$(snapshot)
    check "$t: the uninstall leaves what existed before, nothing more" '[ "$state" = "$before" ]' || diff <(echo "$before") <(echo "$state") | cut -c1-300 | head -6 >&2
    m=$(wc -l <"$E2E_STATE/faults.log")
    faulted[$rate]=$((faulted[$rate] + m))
    kinds=$(awk '{print $2}' "$E2E_STATE/faults.log" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
    echo "fault trial $t: install in $iruns run(s) ($n faults), uninstall in $uruns run(s) ($((m - n)) faults): ${kinds%, }"
    stop_proxies
  done
  echo "faults at ${rate}: install in one run ${one[$rate]}/$TRIALS (+${conv[$rate]} on a re-run), uninstall in one run ${uone[$rate]}/$TRIALS (+${uconv[$rate]} on a re-run); ${faulted[$rate]} faults injected"
done
finish "fault trials"
