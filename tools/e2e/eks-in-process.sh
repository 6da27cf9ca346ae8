#!/usr/bin/env bash
# End to end: an EKS cluster reached in-process, as a user with no kubeconfig reaches it. sgk
# finds no context that is the cluster, so it connects from DescribeCluster (endpoint and CA —
# here a loopback stub answers DescribeCluster with the local API server's) with an EKS token it
# signs itself; the API server accepts the token the way EKS does (a TokenReview webhook that
# checks the presigned GetCallerIdentity's signature for this cluster and runs it against moto),
# and refuses a token signed for another cluster. Starts and stops its own moto, stub and peer.
. "$(dirname "$0")/common.bash"
I="$FIX/installer.yaml"

E2E_STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-e2e.XXXXXX")
stub_pid=""
cleanup() { [ -z "$stub_pid" ] || kill "$stub_pid" 2>/dev/null; stop_peers; }
trap cleanup EXIT INT TERM
"$ROOT/tools/moto.sh" start "$E2E_STATE/moto" >"$E2E_STATE/peers.log" 2>&1 || { cat "$E2E_STATE/peers.log" >&2; exit 1; }
# shellcheck disable=SC1091
. "$E2E_STATE/moto/moto.env"
mkdir -p "$E2E_STATE/stub"
python3 "$ROOT/tools/e2e/eks-stub.py" "$E2E_STATE/stub" inproc "$E2E_STATE/kube" "$(cat "$E2E_STATE/moto/moto.url")" \
  >"$E2E_STATE/stub/out" 2>&1 &
stub_pid=$!
for _ in $(seq 1 100); do [ -s "$E2E_STATE/stub/port" ] && break; sleep 0.1; done
stub="http://127.0.0.1:$(cat "$E2E_STATE/stub/port")"
"$ROOT/tools/kube-peer.sh" start "$E2E_STATE/kube" --token-webhook "$stub/tokenreview" >>"$E2E_STATE/peers.log" 2>&1 ||
  { cat "$E2E_STATE/peers.log" >&2; echo "cannot start the kube peer" >&2; exit 1; }
PEER="$E2E_STATE/kube/kubeconfig"
export XDG_STATE_HOME="$E2E_STATE/xdg" AWS_ENDPOINT_URL_EKS="$stub"
unset SGK_JOURNAL SGK_INSTALLER
# No kubeconfig at all for sgk: the cluster can only be reached from DescribeCluster.
export KUBECONFIG="$E2E_STATE/no-kubeconfig"
J="$E2E_STATE/journal.jsonl"
sgk_run() { "$SGK_BIN" run "$@" --cluster inproc --region us-west-2 --installer "$I" --journal "$J" 2>&1; }
arn="arn:aws:eks:us-west-2:123456789012:cluster/inproc"

out=$(sgk_run --dry-run install-sagemaker-operator); code=$?
check "dry run: says the API server was chosen from DescribeCluster, and why" '[ "$code" -eq 0 ] && [[ "$out" == *"cluster: inproc'"'"'s API server is $(cat "$E2E_STATE/kube/server"), context $arn: no kubeconfig context is the cluster (no kubeconfig)"* ]]' || printf '%s\n' "$out" | head -5 >&2

out=$(sgk_run install-sagemaker-operator); code=$?
check "the install reaches the cluster in-process and succeeds" '[ "$code" -eq 0 ] && [[ "$out" == *"ok      cluster: context $arn is inproc (reached in-process from DescribeCluster)"* ]]' || printf '%s\n' "$out" | tail -8 >&2
check "the API server accepted sgk's EKS token through the webhook" 'grep -q "^accepted arn:aws:" "$E2E_STATE/stub/reviews"'
role_arn=$(aws iam get-role --role-name sagemaker-k8s-operator-inproc --query Role.Arn --output text 2>/dev/null)
ann=$(kubectl --kubeconfig "$PEER" -n sagemaker-k8s-operator-system get sa sagemaker-k8s-operator-default -o jsonpath='{.metadata.annotations.eks\.amazonaws\.com/role-arn}')
check "kubectl reads back the annotation with the role aws reads back" '[ -n "$role_arn" ] && [ "$ann" = "$role_arn" ]'
check "no kubeconfig was written" '[ ! -e "$KUBECONFIG" ]'

# The token EKS-style: one for this cluster is accepted, one signed for another cluster refused.
good=$("$SGK_BIN" -c 'print (eks token inproc region: us-west-2 | get status.token)')
other=$("$SGK_BIN" -c 'print (eks token another-cluster region: us-west-2 | get status.token)')
check "the real kubectl with sgk's token for this cluster is let in" 'kubectl --kubeconfig "$PEER" --token "$good" get namespace default -o name >/dev/null 2>&1'
kout=$(kubectl --kubeconfig "$PEER" --token "$other" get namespace default 2>&1)
check "a token signed for another cluster is refused (401)" '[[ "$kout" == *Unauthorized* || "$kout" == *"provide credentials"* ]] && grep -q "refused: the signature is not for cluster inproc" "$E2E_STATE/stub/reviews"' || echo "$kout" >&2

out=$(sgk_run install-sagemaker-operator); code=$?
check "a second in-process install changes nothing" '[ "$code" -eq 0 ] && [[ "$out" == *"objects: 0 created, 0 configured, 18 unchanged"* ]]' || printf '%s\n' "$out" | tail -4 >&2
out=$(sgk_run uninstall-sagemaker-operator); code=$?
check "the uninstall reaches it the same way and removes the role" '[ "$code" -eq 0 ] && ! aws iam get-role --role-name sagemaker-k8s-operator-inproc >/dev/null 2>&1' || printf '%s\n' "$out" | tail -6 >&2
check "and the operator's namespace" '! kubectl --kubeconfig "$PEER" get namespace sagemaker-k8s-operator-system >/dev/null 2>&1 || [ "$(kubectl --kubeconfig "$PEER" get namespace sagemaker-k8s-operator-system -o jsonpath={.status.phase})" = Terminating ]'

finish "EKS in-process"
