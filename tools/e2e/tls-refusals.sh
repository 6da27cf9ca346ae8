#!/usr/bin/env bash
# End to end: the TLS refusals. sgk must refuse, before any write, an API server whose
# certificate does not name the host it was reached by (IP-only SANs reached by name, another
# name, a Common Name only), one signed by another CA, an expired client certificate and a
# wrong token (401) — each with a clear message naming the fix — and the real kubectl must
# refuse the same servers. tls-server-name and insecure-skip-tls-verify still connect.
# Uses the suite's moto and kube-apiserver (started by tools/test.sh) and, for the certificate
# cases, a stand-in https server (tools/e2e/tls-server.py) that counts the requests it is sent.
set -uo pipefail
: "${SGK_BIN:?run from tools/test.sh}" "${SGK_TEST_KUBECONFIG:?}" "${SGK_TEST_KUBE_STATE:?}" "${SGK_TEST_AWS_ENDPOINT:?}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
INSTALLER="$ROOT/../shared/fixtures/sagemaker-operator/installer.yaml"
export AWS_ENDPOINT_URL="$SGK_TEST_AWS_ENDPOINT" AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $1" >&2; return 1; fi; }
STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-tls.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$STATE"; }
trap cleanup EXIT INT TERM

cluster="tls-$$"
aws eks create-cluster --name "$cluster" --role-arn arn:aws:iam::123456789012:role/eks \
  --resources-vpc-config subnetIds=subnet-1 >/dev/null
role="sagemaker-k8s-operator-$cluster"

# kubeconfig DIR SERVER [extra cluster lines] [user lines] — the CA of DIR/ca.crt; a token user
# unless user lines are given.
kubeconfig() {
  local d=$1 server=$2 extra=${3:-} user=${4:-"    token: not-a-real-token"}
  cat >"$d/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$d/ca.crt")
$extra
users:
- name: u
  user:
$user
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
YAML
}

# serve CASE: starts the stand-in server for CASE in its own dir, $d. (Not in a command
# substitution: the server would hold its pipe open, and it must stay in this shell's pids.)
serve() {
  d="$STATE/$1"
  mkdir -p "$d"
  python3 "$ROOT/tools/e2e/tls-server.py" "$d" "$1" >"$d/server.out" 2>"$d/server.log" &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$d/port" ] && break; sleep 0.1; done
  [ -s "$d/port" ] || { cat "$d/server.log" >&2; echo "the stand-in server did not start" >&2; exit 1; }
}

requests() { [ -f "$1/requests" ] && wc -l <"$1/requests" || echo 0; }
install() { KUBECONFIG="$1" "$SGK_BIN" run install-sagemaker-operator --cluster "$cluster" --region us-west-2 \
  --installer "$INSTALLER" --journal "$STATE/journal.jsonl" --context ctx; }
no_role() { ! aws iam get-role --role-name "$role" >/dev/null 2>&1; }

# A certificate case: the install is refused with WANT in its message, nothing is sent to the
# server, no IAM write is made, and kubectl refuses the same server with KUBECTL in its error.
refused() { # CASE HOST WANT KUBECTL
  local case=$1 want=$3 kwant=$4 out code kout
  serve "$case"
  kubeconfig "$d" "https://$2:$(cat "$d/port")"
  out=$(install "$d/kubeconfig" 2>&1); code=$?
  kout=$(kubectl --kubeconfig "$d/kubeconfig" get namespace default 2>&1)
  check "$case: the install fails" '[ "$code" -ne 0 ]'
  check "$case: the message says why ($want)" '[[ "$out" == *"$want"* ]]' || printf '%s\n' "$out" | tail -5 >&2
  check "$case: the message names the fix" '[[ "$out" == *"fix:"* || "$out" == *"hint:"* ]]'
  check "$case: not one request reached the server" '[ "$(requests "$d")" -eq 0 ]'
  check "$case: no IAM write (no role)" 'no_role'
  check "$case: kubectl refuses it too ($kwant)" '[[ "$kout" == *"$kwant"* ]]' || printf 'kubectl: %s\n' "$kout" >&2
  printf '%s: %s\n' "$case" "$(printf '%s\n' "$out" | grep -m1 -E 'error|FAILED' )"
}

refused ip-only localhost "x509: certificate is not valid for any names, but wanted to match localhost" \
  "certificate is not valid for any names, but wanted to match localhost"
refused other-name localhost "x509: certificate is valid for api.elsewhere.example, not localhost" \
  "certificate is valid for api.elsewhere.example, not localhost"
refused cn-only localhost "x509: certificate relies on legacy Common Name field, use SANs instead" \
  "legacy Common Name field"
refused other-ca localhost "not trusted" "certificate signed by unknown authority"

# tls-server-name: the certificate names kubernetes.default.svc, reached by IP.
serve server-name
kubeconfig "$d" "https://127.0.0.1:$(cat "$d/port")" "    tls-server-name: kubernetes.default.svc"
out=$(KUBECONFIG="$d/kubeconfig" "$SGK_BIN" -c 'kubectl get namespace default -o name' 2>&1); code=$?
check "tls-server-name: connects and verifies against that name" '[ "$code" -eq 0 ] && [ "$(requests "$d")" -ge 1 ]' || printf '%s\n' "$out" >&2
kubeconfig "$d" "https://127.0.0.1:$(cat "$d/port")" "    tls-server-name: kubernetes"
out=$(KUBECONFIG="$d/kubeconfig" "$SGK_BIN" -c 'kubectl get namespace default -o name' 2>&1); code=$?
check "tls-server-name that the certificate lacks: refused" '[ "$code" -ne 0 ] && [[ "$out" == *"not kubernetes"* ]]'

# insecure-skip-tls-verify: the one way out, and it is warned about.
serve ip-only
cat >"$d/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://localhost:$(cat "$d/port")", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
YAML
out=$(KUBECONFIG="$d/kubeconfig" "$SGK_BIN" -c 'kubectl get namespace default -o name' 2>&1); code=$?
check "insecure-skip-tls-verify connects, with a warning" '[ "$code" -eq 0 ] && [[ "$out" == *"insecure-skip-tls-verify"* ]]'

# The real API server: an expired client certificate, and a wrong token (401).
peer="$SGK_TEST_KUBE_STATE"
server=$(cat "$peer/server")
d="$STATE/expired"; mkdir -p "$d"; cp "$peer/ca.crt" "$d/ca.crt"
python3 - "$peer/ca.crt" "$peer/ca.key" "$d" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
ca = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
ca_key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
                                 x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2)).not_valid_after(now - datetime.timedelta(days=1))
        .sign(ca_key, hashes.SHA256()))
open(sys.argv[3] + "/client.crt", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[3] + "/client.key", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
kubeconfig "$d" "$server" "" "    client-certificate-data: $(base64 -w0 "$d/client.crt")
    client-key-data: $(base64 -w0 "$d/client.key")"
out=$(install "$d/kubeconfig" 2>&1); code=$?
kout=$(kubectl --kubeconfig "$d/kubeconfig" get namespace default 2>&1)
check "expired client certificate: refused before any write, saying so" '[ "$code" -ne 0 ] && [[ "$out" == *"client certificate expired on"* ]] && [[ "$out" == *"renew it"* ]] && no_role'
check "expired client certificate: kubectl is refused too (401)" '[[ "$kout" == *"provide credentials"* || "$kout" == *"Unauthorized"* ]]' || printf 'kubectl: %s\n' "$kout" >&2
printf 'expired client certificate: %s\n' "$(printf '%s\n' "$out" | grep -m1 -E 'error')"

kubeconfig "$d" "$server"
out=$(install "$d/kubeconfig" 2>&1); code=$?
check "wrong token (401): refused before any write, naming the user to check" '[ "$code" -ne 0 ] && [[ "$out" == *"Unauthorized"* ]] && [[ "$out" == *"check the kubeconfig user"* ]] && no_role'
printf 'wrong token: %s\n' "$(printf '%s\n' "$out" | grep -m1 -E 'error')"

echo "TLS refusals e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
