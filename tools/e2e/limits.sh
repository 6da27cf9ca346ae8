#!/usr/bin/env bash
# End to end: the request time-outs (issue 21, "Time and memory limits"; defect 10's server that
# accepts and never answers). A loopback server accepts connections and never answers; sgk, with
# SGK_REQUEST_TIMEOUT / SGK_CONNECT_TIMEOUT set to 1 s, must stop with a clear error — the AWS
# client after its 3 attempts, the Kubernetes client at once — and a value that is not a number
# of seconds is an error before any connection. The errors are asserted, not the timing; each run
# is bounded (timeout 120) so a hang fails the test instead of holding it. The helpers' bounds
# (credential_process, exec plugins), hostile documents and long scripts are Swift tests:
# CredentialProcessBoundsTests, ExecPluginBoundsTests, YAMLCodecTests/JSONCodecTests, RobustnessTests.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
SGK_BIN="${SGK_BIN:-$ROOT/.build/debug/sgk}"
export AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN SGK_REQUEST_TIMEOUT SGK_CONNECT_TIMEOUT HTTPS_PROXY HTTP_PROXY https_proxy http_proxy
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-west-2
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $1" >&2; return 1; fi; }
STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-limits.XXXXXX")
export XDG_STATE_HOME="$STATE/xdg" AWS_CONFIG_FILE="$STATE/aws-config" AWS_SHARED_CREDENTIALS_FILE="$STATE/aws-credentials"
: >"$AWS_CONFIG_FILE"; : >"$AWS_SHARED_CREDENTIALS_FILE"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$STATE"' EXIT INT TERM

# The silent server: accepts, reads nothing, answers nothing; counts connections. Exits by itself.
python3 - "$STATE/connections" >"$STATE/port" <<'PY' &
import os, socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
threading.Timer(300, lambda: os._exit(0)).start()
held = []
while True:
    c, _ = s.accept(); held.append(c)
    with open(sys.argv[1], "w") as f: f.write(str(len(held)))
PY
server=$!
for _ in $(seq 1 100); do [ -s "$STATE/port" ] && break; sleep 0.1; done
port=$(cat "$STATE/port")
connections() { cat "$STATE/connections" 2>/dev/null || echo 0; }
kubeconfig() { # SCHEME
  cat >"$STATE/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$1://127.0.0.1:$port", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
YAML
}
run() { timeout 120 "$SGK_BIN" -c "$1" 2>&1; }

out=$(AWS_ENDPOINT_URL="http://127.0.0.1:$port" SGK_REQUEST_TIMEOUT=1 run 'role get nosuch'); code=$?
check "AWS, a server that never answers: stopped after 3 attempts, saying so" \
  '[ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [[ "$out" == *"after 3 attempt(s): the server did not answer in time"* ]] && [[ "$out" == *"AWS_ENDPOINT_URL"* ]]' || printf '%s\n' "$out" >&2
check "AWS: the 3 attempts reached the server" '[ "$(connections)" -ge 3 ]'

kubeconfig http
out=$(KUBECONFIG="$STATE/kubeconfig" SGK_REQUEST_TIMEOUT=1 run 'kubectl get namespaces'); code=$?
check "Kubernetes, a server that never answers: stopped, saying so" \
  '[ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [[ "$out" == *"did not answer in time"* ]]' || printf '%s\n' "$out" >&2

kubeconfig https
out=$(KUBECONFIG="$STATE/kubeconfig" SGK_CONNECT_TIMEOUT=1 run 'kubectl get namespaces'); code=$?
check "Kubernetes, a TLS handshake that never ends: stopped by SGK_CONNECT_TIMEOUT, saying so" \
  '[ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [[ "$out" == *"TLS handshake timed out"* ]]' || printf '%s\n' "$out" >&2

before=$(connections)
out=$(AWS_ENDPOINT_URL="http://127.0.0.1:$port" SGK_REQUEST_TIMEOUT=abc run 'role get nosuch'); code=$?
check "SGK_REQUEST_TIMEOUT=abc: an error naming the setting, before any connection" \
  '[ "$code" -ne 0 ] && [[ "$out" == *"SGK_REQUEST_TIMEOUT"* ]] && [ "$(connections)" -eq "$before" ]' || printf '%s\n' "$out" >&2
out=$(KUBECONFIG="$STATE/kubeconfig" SGK_CONNECT_TIMEOUT=-1 run 'kubectl get namespaces'); code=$?
check "SGK_CONNECT_TIMEOUT=-1: an error naming the setting, before any connection" \
  '[ "$code" -ne 0 ] && [[ "$out" == *"SGK_CONNECT_TIMEOUT must be a number of seconds greater than 0"* ]] && [ "$(connections)" -eq "$before" ]' || printf '%s\n' "$out" >&2

echo "limits e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
