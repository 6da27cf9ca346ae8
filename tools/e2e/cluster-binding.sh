#!/usr/bin/env bash
# End to end: the cluster binding, with two API servers (peers A and B) and two moto clusters
# (`mine`, bound to A, and `other`, bound to B, each by a context named by its ARN as aws eks
# update-kubeconfig writes). The Kubernetes side must be the EKS cluster the AWS side is set up
# for: a context that is another cluster is refused before any write — counted at both API
# servers' audit logs and at moto's recorder —; each proof is accepted and said; without
# --context the install finds its own cluster's context; a named context that proves nothing is
# used with a note; and with no context that is the cluster, the cluster is reached in-process.
. "$(dirname "$0")/common.bash"
I="$FIX/installer.yaml"
start_peers
"$ROOT/tools/kube-peer.sh" start "$E2E_STATE/kube2" >>"$E2E_STATE/peers.log" 2>&1 ||
  { cat "$E2E_STATE/peers.log" >&2; echo "cannot start the second kube peer" >&2; exit 1; }
trap '"$ROOT/tools/kube-peer.sh" stop "$E2E_STATE/kube2" >/dev/null 2>&1; stop_peers' EXIT INT TERM

mine=bind-a; other=bind-b
arn_of() { aws eks describe-cluster --name "$1" --query cluster.arn --output text; }
endpoint_of() { aws eks describe-cluster --name "$1" --query cluster.endpoint --output text; }
for c in "$mine" "$other"; do
  aws eks create-cluster --name "$c" --role-arn arn:aws:iam::123456789012:role/eks --resources-vpc-config subnetIds=subnet-1 >/dev/null
done
MINE=$(arn_of "$mine"); OTHER=$(arn_of "$other")
# The two clusters' kubeconfig, as aws eks update-kubeconfig writes it for each.
K="$E2E_STATE/two.kubeconfig"
add() { # ARN PEER_STATE
  kubectl --kubeconfig "$K" config set-cluster "$1" --server="$(cat "$2/server")" --certificate-authority="$2/ca.crt" --embed-certs >/dev/null
  kubectl --kubeconfig "$K" config set-credentials "$1" --token="$(cat "$2/token")" >/dev/null
  kubectl --kubeconfig "$K" config set-context "$1" --cluster "$1" --user "$1" >/dev/null
}
add "$MINE" "$E2E_STATE/kube"
add "$OTHER" "$E2E_STATE/kube2"
kubectl --kubeconfig "$K" config use-context "$OTHER" >/dev/null
# Only the other cluster's context.
K_OTHER="$E2E_STATE/other-only.kubeconfig"
KUBECONFIG="$K" kubectl config view --raw --minify --context "$OTHER" >"$K_OTHER"

role="sagemaker-k8s-operator-$mine"
role_exists() { aws iam get-role --role-name "$1" >/dev/null 2>&1; }
J="$E2E_STATE/journal.jsonl"
install() { # KUBECONFIG [args…]
  local kc=$1; shift
  KUBECONFIG="$kc" "$SGK_BIN" run install-sagemaker-operator --cluster "$mine" --region us-west-2 --installer "$I" --journal "$J" "$@" 2>&1
}
B_AUDIT="$E2E_STATE/kube2/audit.log"
b_mark() { B_MARK=$(wc -l <"$B_AUDIT" 2>/dev/null || echo 0); }
b_writes() {
  tail -n +"$((B_MARK + 1))" "$B_AUDIT" 2>/dev/null | python3 -c '
import sys, json
print(sum(1 for l in sys.stdin if (e := json.loads(l)).get("userAgent", "").startswith("sgk") and e.get("verb") not in ("get", "list", "watch")))'
}
nothing_written() { [ "$(moto_writes)" -eq 0 ] && [ "$(kube_writes)" -eq 0 ] && [ "$(b_writes)" -eq 0 ] && [ ! -s "$J" ]; }

# ---- refused, nothing written anywhere
mark; b_mark
out=$(install "$K" --context "$OTHER"); code=$?
check "a context whose cluster entry is the other cluster's ARN: refused, nothing written (moto $(moto_writes), A $(kube_writes), B $(b_writes))" \
  '[ "$code" -ne 0 ] && [[ "$out" == *"WrongCluster: context $OTHER is $other (us-west-2), not the EKS cluster $mine (us-west-2): its kubeconfig cluster entry is $OTHER; nothing was written"* ]] && nothing_written' || printf '%s\n' "$out" | tail -4 >&2
printf 'refused (named context): %s\n' "$(grep -m1 WrongCluster <<<"$out")"
check "  its fix names --context and eks kubeconfig" '[[ "$out" == *"pass the context of $mine (--context NAME; \`sgk eks kubeconfig $mine region: us-west-2 write: true\` adds one"* ]]'

mark; b_mark
out=$(install "$K_OTHER"); code=$?
check "a current context on the other cluster, no --context: refused, nothing written (moto $(moto_writes), A $(kube_writes), B $(b_writes))" \
  '[ "$code" -ne 0 ] && [[ "$out" == *"WrongCluster: the current context $OTHER is $other (us-west-2)"* ]] && nothing_written' || printf '%s\n' "$out" | tail -4 >&2
printf 'refused (current context): %s\n' "$(grep -m1 WrongCluster <<<"$out")"

# An exec plugin that makes tokens for the other cluster (the server is A's: only the plugin says).
KE="$E2E_STATE/exec-other.kubeconfig"
cp "$K_OTHER" "$KE"
kubectl --kubeconfig "$KE" config set-cluster exec-ctx --server="$(cat "$E2E_STATE/kube/server")" --certificate-authority="$E2E_STATE/kube/ca.crt" --embed-certs >/dev/null
kubectl --kubeconfig "$KE" config set-credentials exec-user --exec-api-version=client.authentication.k8s.io/v1beta1 --exec-command=aws \
  --exec-arg=eks --exec-arg=get-token --exec-arg=--cluster-name --exec-arg="$other" --exec-arg=--region --exec-arg=us-west-2 >/dev/null
kubectl --kubeconfig "$KE" config set-context exec-ctx --cluster exec-ctx --user exec-user >/dev/null
mark; b_mark
out=$(install "$KE" --context exec-ctx); code=$?
check "an exec plugin naming the other cluster: refused, nothing written (moto $(moto_writes), A $(kube_writes), B $(b_writes))" \
  '[ "$code" -ne 0 ] && [[ "$out" == *"WrongCluster: context exec-ctx is $other (us-west-2), not the EKS cluster $mine (us-west-2): its user'"'"'s exec plugin makes tokens for $other; nothing was written"* ]] && nothing_written' || printf '%s\n' "$out" | tail -4 >&2
printf 'refused (exec plugin): %s\n' "$(grep -m1 WrongCluster <<<"$out")"

# ---- the right cluster: found without --context although the current context is the other's
mark; b_mark
out=$(install "$K"); code=$?
check "no --context, current context on the other cluster: the install finds its cluster's context, says why, writes only to A" \
  '[ "$code" -eq 0 ] && [[ "$out" == *"ok      cluster: context $MINE is $mine (its kubeconfig cluster entry is named by the cluster'"'"'s ARN)"* ]] && [ "$(kube_writes)" -gt 0 ] && [ "$(b_writes)" -eq 0 ]' || printf '%s\n' "$out" | tail -6 >&2
check "  A holds the annotated service account, B nothing of it" '[ -n "$(kubectl --kubeconfig "$K" --context "$MINE" -n sagemaker-k8s-operator-system get sa sagemaker-k8s-operator-default -o name 2>/dev/null)" ] && ! kubectl --kubeconfig "$K" --context "$OTHER" get ns sagemaker-k8s-operator-system >/dev/null 2>&1'
out=$(KUBECONFIG="$K" "$SGK_BIN" run uninstall-sagemaker-operator --cluster "$mine" --region us-west-2 --installer "$I" --journal "$J" 2>&1); code=$?
check "  the uninstall finds it the same way and removes the role" '[ "$code" -eq 0 ] && ! role_exists "$role"' || printf '%s\n' "$out" | tail -4 >&2

# ---- each proof (eks bind makes no request to the API server)
proof() { KUBECONFIG="$1" "$SGK_BIN" -c "print (eks bind $mine region: us-west-2${2:+ context: $2} | get proof)" 2>&1; }
out=$(proof "$K" "$MINE")
check "proof: the cluster entry named by the cluster's ARN" '[[ "$out" == "its kubeconfig cluster entry is named by the cluster'"'"'s ARN" ]]' || echo "$out" >&2
KX="$E2E_STATE/exec-mine.kubeconfig"
cp "$KE" "$KX"
kubectl --kubeconfig "$KX" config set-credentials exec-user --exec-api-version=client.authentication.k8s.io/v1beta1 --exec-command=aws \
  --exec-arg=eks --exec-arg=get-token --exec-arg=--cluster-name --exec-arg="$mine" --exec-arg=--region --exec-arg=us-west-2 >/dev/null
out=$(proof "$KX" exec-ctx)
check "proof: the user's exec plugin makes tokens for the cluster" '[[ "$out" == "its user'"'"'s exec plugin makes tokens for $mine" ]]' || echo "$out" >&2
KP="$E2E_STATE/endpoint.kubeconfig"
cp "$KE" "$KP"
kubectl --kubeconfig "$KP" config set-cluster exec-ctx --server="$(endpoint_of "$mine")" >/dev/null
kubectl --kubeconfig "$KP" config set-context exec-ctx --cluster exec-ctx --user "$OTHER" >/dev/null
out=$(proof "$KP" exec-ctx)
check "proof: the server is the cluster's endpoint" '[[ "$out" == "its server is the cluster'"'"'s endpoint" ]]' || echo "$out" >&2

# ---- a named context that proves nothing (a tunnel, a static token): used, with one note
peer_ctx=$(KUBECONFIG="$E2E_STATE/kube/kubeconfig" kubectl config current-context)
out=$(proof "$E2E_STATE/kube/kubeconfig" "$peer_ctx")
check "a named context that proves nothing: one note, used" '[ "$(grep -c "^note: sgk could not confirm that context $peer_ctx" <<<"$out")" -eq 1 ] && [[ "$out" == *null* ]]' || echo "$out" >&2
out=$(KUBECONFIG="$E2E_STATE/kube/kubeconfig" "$SGK_BIN" run --dry-run install-sagemaker-operator --cluster "$mine" --region us-west-2 --installer "$I" --context "$peer_ctx" 2>&1 >/dev/null)
check "--dry-run says which API server was chosen and why" '[[ "$out" == *"cluster: $mine'"'"'s API server is $(cat "$E2E_STATE/kube/server"), context $peer_ctx: named (--context); sgk could not confirm it is the cluster"* ]]' || echo "$out" >&2

# ---- no context is the cluster, none named: not the current one; reached in-process
out=$(KUBECONFIG="$E2E_STATE/kube/kubeconfig" "$SGK_BIN" -c "let b = eks bind $mine region: us-west-2
print \"\${b.context} | \${b.proof}\"" 2>&1)
check "no context is the cluster: reached in-process, under the cluster's ARN (bind makes no request)" '[[ "$out" == "$MINE | reached in-process from DescribeCluster" ]]' || echo "$out" >&2

finish "cluster binding"
