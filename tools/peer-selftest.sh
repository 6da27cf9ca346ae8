#!/usr/bin/env bash
# peer-selftest.sh — end-to-end check of the local peers: starts a default and
# a --no-v1beta1 Kubernetes peer plus moto, exercises them with kubectl and
# aws, then stops everything and checks that no started process is left.
set -euo pipefail

PROG=$(basename "$0")
readonly PROG
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd -P)
readonly TOOLS_DIR
INSTALLER=${1:-${SGK_INSTALLER_YAML:-/work/shared/fixtures/sagemaker-operator/installer.yaml}}
readonly INSTALLER
readonly NS=sagemaker-k8s-operator-system

usage() { echo "usage: $PROG [INSTALLER_YAML]   (default: \$SGK_INSTALLER_YAML or $INSTALLER)"; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
fail() { printf '%s: FAIL: %s\n' "$PROG" "$*" >&2; exit 1; }
ok() { printf '%s: ok: %s\n' "$PROG" "$*" >&2; }

[ -r "$INSTALLER" ] || { usage >&2; fail "installer YAML $INSTALLER not readable"; }
for c in kubectl aws curl python3; do
  command -v "$c" >/dev/null || fail "$c not on PATH (run tools/setup.sh)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sgk-peer-selftest.XXXXXX")
readonly WORK
A=$WORK/peer-default
B=$WORK/peer-no-v1beta1
M=$WORK/moto

cleanup() {
  "$TOOLS_DIR/moto.sh" stop "$M" >/dev/null 2>&1 || true
  "$TOOLS_DIR/kube-peer.sh" stop "$A" >/dev/null 2>&1 || true
  "$TOOLS_DIR/kube-peer.sh" stop "$B" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

t0=$SECONDS
"$TOOLS_DIR/kube-peer.sh" start "$A"
"$TOOLS_DIR/kube-peer.sh" start "$B" --no-v1beta1
ok "two peers running at once ($(cat "$A/server"), $(cat "$B/server")) in $((SECONDS - t0)) s"

ka=(kubectl --kubeconfig "$A/kubeconfig")
kb=(kubectl --kubeconfig "$B/kubeconfig")

# --- default peer: the v1beta1 installer applies.
out=$("${ka[@]}" apply -f "$INSTALLER" 2>&1) || { printf '%s\n' "$out" >&2; fail "kubectl apply on the default peer"; }
n=$(grep -cE ' (created|configured|unchanged)$' <<<"$out" || true)
[ "$n" -eq 18 ] || { printf '%s\n' "$out" >&2; fail "expected 18 objects applied, got $n"; }
ncrd=$("${ka[@]}" get crd -o name | grep -c 'sagemaker.aws.amazon.com' || true)
[ "$ncrd" -eq 8 ] || fail "expected 8 sagemaker CRDs, got $ncrd"
ok "client-side apply: 18 objects, 8 CRDs"

# Server-side apply: 1.20 rejects the Service (ports omit the 'protocol' key).
if out=$("${ka[@]}" apply --server-side --force-conflicts -f "$INSTALLER" 2>&1); then
  ok "server-side apply of the unmodified installer succeeded (expected the Service 'protocol' failure)"
else
  grep -q "omits key field \"protocol\"" <<<"$out" || { printf '%s\n' "$out" >&2; fail "server-side apply failed unexpectedly"; }
  ok "server-side apply of the unmodified installer fails on the Service ports' missing 'protocol', as documented"
fi
python3 - "$INSTALLER" "$WORK/installer-protocol.yaml" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
# Fill in the list-map key default the 1.20 server-side apply needs.
fixed = re.sub(r"(\n  ports:\n  - name: https\n    port: 8443\n)", r"\1    protocol: TCP\n", text)
open(sys.argv[2], "w").write(fixed)
EOF
out=$("${ka[@]}" apply --server-side --force-conflicts -f "$WORK/installer-protocol.yaml" 2>&1) ||
  { printf '%s\n' "$out" >&2; fail "server-side apply with protocol: TCP filled in"; }
n=$(grep -c 'serverside-applied$' <<<"$out" || true)
[ "$n" -eq 18 ] || fail "expected 18 objects server-side applied, got $n"
ok "server-side apply with 'protocol: TCP' filled in: 18 objects"

phase=$("${ka[@]}" get pods -n "$NS" -l control-plane=controller-manager -o jsonpath='{.items[*].status.phase}')
log "operator pod phase before ready-pod: ${phase:-<no pod yet>}"
"$TOOLS_DIR/kube-peer.sh" ready-pod "$A" "$NS" control-plane=controller-manager
"${ka[@]}" wait --for=condition=Available deploy --all -n "$NS" --timeout=60s >/dev/null ||
  fail "Deployment did not become Available after ready-pod"
ok "ready-pod made the operator Deployment Available"

"${ka[@]}" --kubeconfig "$A/kubeconfig-cert" get ns "$NS" -o name >/dev/null || fail "kubeconfig-cert"
ok "kubeconfig-cert (client certificate user) works"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$A/ca.crt" "$(cat "$A/server")/api")
[ "$code" = 401 ] || fail "anonymous request returned $code, expected 401"
ok "anonymous requests are rejected (401)"

# --- --no-v1beta1 peer: the installer's v1beta1 CRDs are rejected.
if out=$("${kb[@]}" apply -f "$INSTALLER" 2>&1); then
  fail "apply on the --no-v1beta1 peer succeeded; expected the v1beta1 CRDs to be rejected"
fi
nrej=$(grep -c 'no matches for kind "CustomResourceDefinition" in version "apiextensions.k8s.io/v1beta1"' <<<"$out" || true)
[ "$nrej" -eq 8 ] || { printf '%s\n' "$out" >&2; fail "expected 8 rejected v1beta1 CRDs, got $nrej"; }
ncrd=$("${kb[@]}" get crd -o name | grep -c 'sagemaker.aws.amazon.com' || true)
[ "$ncrd" -eq 0 ] || fail "--no-v1beta1 peer has $ncrd sagemaker CRDs"
ok "--no-v1beta1 peer rejects the installer's 8 v1beta1 CRDs"

# --- moto.
"$TOOLS_DIR/moto.sh" start "$M"
(
  # shellcheck disable=SC1091
  . "$M/moto.env"
  aws iam list-roles --output json >/dev/null
  aws iam create-role --role-name sgk-selftest \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
  roles=$(aws --endpoint-url "$AWS_ENDPOINT_URL" iam list-roles --query 'Roles[].RoleName' --output text)
  [ "$roles" = sgk-selftest ] || fail "list-roles via --endpoint-url: '$roles'"
  aws iam get-policy --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess >/dev/null ||
    fail "managed policy AmazonSageMakerFullAccess unknown"
  status=$(aws eks create-cluster --name sgk-selftest \
    --role-arn arn:aws:iam::123456789012:role/sgk-selftest \
    --resources-vpc-config subnetIds=subnet-1,subnet-2 --query cluster.status --output text)
  [ -n "$status" ] || fail "eks create-cluster"
  [ "$(aws eks list-clusters --query 'clusters[0]' --output text)" = sgk-selftest ] || fail "eks list-clusters"
  grep -q '"POST /clusters HTTP/1.1" 200' "$M/moto.log" || fail "EKS request did not reach moto"
)
ok "moto: iam list-roles/create-role/get-policy, eks create-cluster/list-clusters (AWS_ENDPOINT_URL honoured)"
"$TOOLS_DIR/moto.sh" reset "$M"
(
  # shellcheck disable=SC1091
  . "$M/moto.env"
  [ "$(aws eks list-clusters --query 'length(clusters)' --output text)" = 0 ] || fail "reset kept clusters"
)
ok "moto reset"

# --- stop everything and check by PID.
pids=$(cat "$A/pids" "$B/pids" | awk '{print $2}'; cat "$M/moto.pid")
"$TOOLS_DIR/moto.sh" stop "$M"
"$TOOLS_DIR/kube-peer.sh" stop "$A"
"$TOOLS_DIR/kube-peer.sh" stop "$B"
"$TOOLS_DIR/kube-peer.sh" stop "$B" # twice is fine
left=""
for p in $pids; do
  if [ -e "/proc/$p" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$p/stat" 2>/dev/null; then
    left="$left $p"
  fi
done
[ -z "$left" ] || fail "processes still running:$left"
ok "all started processes are gone ($(echo "$pids" | wc -w) PIDs)"
ok "selftest passed in $((SECONDS - t0)) s"
