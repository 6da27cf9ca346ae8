#!/usr/bin/env bash
# sandbox.sh — the main job on a machine with no cloud: installs what is
# missing, builds sgk, starts moto (AWS) and a real kube-apiserver on loopback,
# creates an EKS cluster in moto, runs the bundled SageMaker operator install
# against them, makes the operator pod Ready (the peer has no kubelet), runs
# the install a second time (it must change nothing), and stops what it started.
# With --ack, the same for the ACK SageMaker controller (the operator's supported successor):
# sgk run install-ack-controller from the controller's config/ tree (--config DIR, else the
# fixture beside the checkout), its pod made Ready, verify-ack-controller, a second install.
#
#   tools/sandbox.sh [--installer FILE|URL] [--dry-run] [--explain]
#   tools/sandbox.sh --ack [--config DIR] [--identity irsa|pod-identity] [--dry-run] [--explain]
#   tools/sandbox.sh up      # start the peers and keep them (prints the env to use)
#   tools/sandbox.sh down    # stop peers started with `up`
#
# The installer comes from --installer or $SGK_INSTALLER; otherwise from the
# fixtures beside the checkout when present; otherwise the upstream URL.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
say() { printf '\033[1msandbox:\033[0m %s\n' "$*" >&2; }
[ -t 2 ] && [ -z "${NO_COLOR:-}" ] || say() { printf 'sandbox: %s\n' "$*" >&2; }

KEEP_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/sgk/sandbox"
mode=run
extra=()
installer="${SGK_INSTALLER:-}"
ack=false
config=""
identity=irsa
while [ $# -gt 0 ]; do
  case "$1" in
    up) mode=up ;;
    down) mode=down ;;
    --installer) installer="$2"; shift ;;
    --installer=*) installer="${1#--installer=}" ;;
    --dry-run|--explain) extra+=("$1") ;;
    --ack) ack=true ;;
    --config) config="$2"; shift ;;
    --config=*) config="${1#--config=}" ;;
    --identity) identity="$2"; shift ;;
    --identity=*) identity="${1#--identity=}" ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "sandbox.sh: unknown argument '$1'" >&2; exit 64 ;;
  esac
  shift
done

export AWS_EC2_METADATA_DISABLED=true
export KUBE_PEER_READY_TIMEOUT="${KUBE_PEER_READY_TIMEOUT:-180}"

if [ "$mode" = down ]; then
  tools/moto.sh stop "$KEEP_DIR/moto" >/dev/null 2>&1 || true
  tools/kube-peer.sh stop "$KEEP_DIR/kube" >/dev/null 2>&1 || true
  say "stopped the sandbox peers in $KEEP_DIR"
  exit 0
fi

tools/setup.sh --build-peer
say "building sgk …"
swift build 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]|^Building|^Build complete' || true
SGK="$ROOT/.build/debug/sgk"
[ -x "$SGK" ] || { say "the build failed"; exit 1; }

if [ "$mode" = up ]; then STATE="$KEEP_DIR"; mkdir -p "$STATE"; else STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-sandbox.XXXXXX"); fi
stub_pid=""
stop_all() {
  [ -z "$stub_pid" ] || kill "$stub_pid" 2>/dev/null || true
  tools/moto.sh stop "$STATE/moto" >/dev/null 2>&1 || true
  tools/kube-peer.sh stop "$STATE/kube" >/dev/null 2>&1 || true
  rm -rf "$STATE"
}
[ "$mode" = run ] && trap stop_all EXIT INT TERM

# The sandbox's writes are journaled in the sandbox, not in the user's journal.
export SGK_JOURNAL="$STATE/journal.jsonl"
say "starting moto (AWS) and a kube-apiserver v1.20 on 127.0.0.1 …"
tools/moto.sh start "$STATE/moto" >/dev/null
tools/kube-peer.sh start "$STATE/kube" >/dev/null
# shellcheck disable=SC1091
. "$STATE/moto/moto.env"
# shellcheck disable=SC1091
. "$STATE/kube/env"

CLUSTER=sandbox
say "creating the EKS cluster '$CLUSTER' in moto …"
# A second `up` finds the cluster there (moto kept running).
aws eks describe-cluster --name "$CLUSTER" >/dev/null 2>&1 ||
  aws eks create-cluster --name "$CLUSTER" --role-arn arn:aws:iam::123456789012:role/eks-cluster \
    --resources-vpc-config subnetIds=subnet-00000001 >/dev/null
# moto's endpoint is fake: the binding is stated as aws eks update-kubeconfig would write it, a
# context named by the cluster's ARN whose server is the local API server.
tools/kube-peer.sh bind-eks "$KUBECONFIG" "$(aws eks describe-cluster --name "$CLUSTER" --query cluster.arn --output text)"

if [ "$mode" = up ]; then
  say "the sandbox is up. To use it from a shell:"
  echo ". $STATE/moto/moto.env; . $STATE/kube/env; export SGK_JOURNAL=$STATE/journal.jsonl PATH=$ROOT/.build/debug:\$PATH"
  echo "sgk    # then: let c = eks describe-cluster $CLUSTER"
  say "stop it with: tools/sandbox.sh down"
  exit 0
fi

if $ack; then
  if [ -z "$config" ] && [ -d "$ROOT/../shared/fixtures/ack-sagemaker-controller/config" ]; then
    config="$ROOT/../shared/fixtures/ack-sagemaker-controller/config"
  fi
  [ -n "$config" ] || { say "--ack needs the controller's config/ tree: git clone --depth 1 --branch v1.9.1 https://github.com/aws-controllers-k8s/sagemaker-controller, then --config sagemaker-controller/config"; exit 64; }
  args=(--cluster "$CLUSTER" --region "$AWS_REGION" --config "$config")
  [ "$identity" = irsa ] || args+=(--identity "$identity")
  if [ "$identity" = pod-identity ]; then
    # moto answers no Pod Identity operation: the loopback EKS stub (test-only) does, with the
    # eks-pod-identity-agent add-on ACTIVE; IAM and STS stay on moto.
    mkdir -p "$STATE/eks-stub"
    python3 tools/e2e/eks-api-stub.py "$STATE/eks-stub" "$AWS_ENDPOINT_URL" --ttl 3600 >/dev/null 2>&1 &
    stub_pid=$!
    for _ in $(seq 300); do [ -s "$STATE/eks-stub/url" ] && break; sleep 0.1; done
    [ -s "$STATE/eks-stub/url" ] || { say "the EKS stub did not start"; exit 1; }
    export AWS_ENDPOINT_URL_EKS; AWS_ENDPOINT_URL_EKS=$(cat "$STATE/eks-stub/url")
    curl -fsS -X PUT "$AWS_ENDPOINT_URL_EKS/stub/addons/$CLUSTER/eks-pod-identity-agent?status=ACTIVE" >/dev/null
  fi
  say "installing the ACK SageMaker controller: sgk run install-ack-controller ${args[*]} ${extra[*]:-}"
  start=$(date +%s.%N)
  "$SGK" run install-ack-controller "${args[@]}" "${extra[@]}"
  end=$(date +%s.%N)
  say "install took $(python3 -c "print(round($end - $start, 2))") s"
  if [ "${#extra[@]}" -eq 0 ]; then
    say "the local API server has no kubelet: marking the controller pod Ready by patching its status …"
    tools/kube-peer.sh ready-pod "$STATE/kube" ack-system app.kubernetes.io/name=ack-sagemaker-controller >/dev/null
    say "verifying every link: sgk run verify-ack-controller ${args[*]} --wait 60s"
    "$SGK" run verify-ack-controller "${args[@]}" --wait 60s
    say "running the install again (it must change nothing) …"
    "$SGK" run install-ack-controller "${args[@]}"
  fi
  say "done; stopping the peers"
  exit 0
fi

if [ -z "$installer" ] && [ -f "$ROOT/../shared/fixtures/sagemaker-operator/installer.yaml" ]; then
  installer="$ROOT/../shared/fixtures/sagemaker-operator/installer.yaml"
fi
args=(--cluster "$CLUSTER" --region "$AWS_REGION")
[ -n "$installer" ] && args+=(--installer "$installer")

say "installing the SageMaker operator: sgk run install-sagemaker-operator ${args[*]} ${extra[*]:-}"
start=$(date +%s.%N)
"$SGK" run install-sagemaker-operator "${args[@]}" "${extra[@]}"
end=$(date +%s.%N)
say "install took $(python3 -c "print(round($end - $start, 2))") s"

if [ "${#extra[@]}" -eq 0 ]; then
  say "the local API server has no kubelet: marking the operator pod Ready by patching its status (as KUBE-PEER.md describes) …"
  tools/kube-peer.sh ready-pod "$STATE/kube" sagemaker-k8s-operator-system control-plane=controller-manager >/dev/null
  say "verifying every link: sgk run verify-sagemaker-operator ${args[*]:0:4} --wait 60s"
  "$SGK" run verify-sagemaker-operator "${args[@]:0:4}" --wait 60s
  say "running the install again (it must change nothing) …"
  "$SGK" run install-sagemaker-operator "${args[@]}"
fi
say "done; stopping the peers"
