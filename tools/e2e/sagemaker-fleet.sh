#!/usr/bin/env bash
# End to end, on its own moto and three kube-apiservers — three EKS clusters in three regions
# (moto gives the clusters of one region one OIDC issuer), each bound to its own API server by
# a context named by its ARN, as `aws eks update-kubeconfig` writes one:
#   0. --dry-run prints every cluster's plan (its lines start with the cluster), writes nothing;
#   1. the fleet install with the third cluster's credentials wrong: the two good clusters end
#      installed (their objects, their own roles), the broken one is reported in the table with
#      its error, and the exit code is 1;
#   2. after the credentials are fixed, a re-run completes the third and writes nothing to the
#      other two (counted in the audit logs of their API servers); a third run writes nothing;
#   4. the fleet uninstall removes what each cluster's install made, on each cluster.
. "$(dirname "$0")/common.bash"
EXTRA=$(mktemp -d "${TMPDIR:-/tmp}/sgk-e2e-fleet.XXXXXX")
stop_extra() { for n in 2 3; do "$ROOT/tools/kube-peer.sh" stop "$EXTRA/kube$n" >/dev/null 2>&1; done; rm -rf "$EXTRA"; }
# The second and third API servers start while the first peers do (each takes a while).
(for n in 2 3; do "$ROOT/tools/kube-peer.sh" start "$EXTRA/kube$n" >"$EXTRA/kube$n.log" 2>&1; echo $? >"$EXTRA/kube$n.rc"; done) &
start_peers
trap 'stop_extra; stop_peers' EXIT INT TERM
wait
for n in 2 3; do
  [ "$(cat "$EXTRA/kube$n.rc" 2>/dev/null)" = 0 ] && kubectl --kubeconfig "$EXTRA/kube$n/kubeconfig" get --raw /readyz >/dev/null 2>&1 ||
    { tail -20 "$EXTRA/kube$n.log" >&2; echo "cannot start kube peer $n" >&2; exit 1; }
done

I="$FIX/installer.yaml"
NS=sagemaker-k8s-operator-system
SA=sagemaker-k8s-operator-default
K="$E2E_STATE/fleet.kubeconfig"
dirs=("$E2E_STATE/kube" "$EXTRA/kube2" "$EXTRA/kube3")
regions=(us-west-2 us-east-1 eu-west-1)
for i in 1 2 3; do
  d=${dirs[$((i - 1))]}
  kubectl --kubeconfig "$K" config set-cluster "c$i" --server="$(cat "$d/server")" --certificate-authority="$d/ca.crt" --embed-certs >/dev/null
  kubectl --kubeconfig "$K" config set-credentials "u$i" --token="$(cat "$d/token")" >/dev/null
  kubectl --kubeconfig "$K" config set-context "peer-$i" --cluster "c$i" --user "u$i" >/dev/null
  kubectl --kubeconfig "$K" config use-context "peer-$i" >/dev/null
  KUBECONFIG="$K" make_cluster "fleet-$i" "${regions[$((i - 1))]}" || { echo "cannot make cluster fleet-$i" >&2; exit 1; }
done
kubectl --kubeconfig "$K" config use-context peer-1 >/dev/null
export KUBECONFIG="$K"
k() { kubectl --context "peer-$1" "${@:2}"; }
arn() { echo "arn:aws:iam::123456789012:role/sagemaker-k8s-operator-$1"; }
FLEET="$E2E_STATE/fleet.yaml"
cat >"$FLEET" <<YAML
- {cluster: fleet-1, region: us-west-2}
- {cluster: fleet-2, region: us-east-1}
- {cluster: fleet-3, region: eu-west-1}
YAML
# Writes seen by one API server since `mark_all` (its audit log, user agent sgk).
writes_at() { # N
  local log=${dirs[$(($1 - 1))]}/audit.log from=${MARKS[$(($1 - 1))]}
  tail -n +"$((from + 1))" "$log" 2>/dev/null | python3 -c '
import sys, json
print(sum(1 for l in sys.stdin if json.loads(l).get("userAgent", "").startswith("sgk") and json.loads(l).get("verb") not in ("get", "list", "watch")))'
}
mark_all() { MARKS=(); for d in "${dirs[@]}"; do MARKS+=("$(wc -l <"$d/audit.log" 2>/dev/null || echo 0)"); done; mark; }
fleet() { "$SGK_BIN" run install-sagemaker-operator-fleet --fleet "$FLEET" --installer "$I" "$@" 2>&1; }
row() { grep -E "^$1 " <<<"$2" | tr -s ' '; }   # the table's row of a cluster

# ---- 0. --dry-run: every cluster's plan, and nothing written
mark_all
out=$(fleet --dry-run); code=$?
echo "$out" >"$E2E_STATE/dry.txt"
check "--dry-run plans on every cluster (exit $code)" \
  '[ "$code" -eq 0 ] && for n in 1 2 3; do grep -q "^\[fleet-$n\] + create role sagemaker-k8s-operator-fleet-$n" <<<"$out" && grep -q "^\[fleet-$n\] + create Namespace $NS" <<<"$out" || exit 1; done'
check "--dry-run: every row planned" '[ "$(grep -cE "^fleet-[123] .* planned " <<<"$out")" -eq 3 ]'
# (Kubernetes plans are the API server's own dry runs: requests, not writes — so read back.)
check "--dry-run wrote nothing (moto $(moto_writes); no Namespace or CRD on the peers)" \
  '[ "$(moto_writes)" -eq 0 ] && for n in 1 2 3; do ! k $n get ns $NS >/dev/null 2>&1 && [ "$(k $n get crd -o name | grep -c sagemaker)" -eq 0 ] || exit 1; done'

# ---- 1. the third cluster's credentials are wrong
kubectl config set-credentials u3 --token=not-the-token >/dev/null
mark_all
t0=$(date +%s.%N)
out=$(fleet); code=$?
t1=$(date +%s.%N)
echo "$out" >"$E2E_STATE/run1.txt"
check "the fleet install exits 1 when a cluster fails (exit $code)" '[ "$code" -eq 1 ]'
check "the table: the good clusters ok, with their objects created" \
  '[[ "$(row fleet-1 "$out")" == "fleet-1 us-west-2 ok 18 0 "* ]] && [[ "$(row fleet-2 "$out")" == "fleet-2 us-east-1 ok 18 0 "* ]]'
check "the table: the broken cluster failed, and its error is shown" \
  '[[ "$(row fleet-3 "$out")" == "fleet-3 eu-west-1 failed - - "* ]] && grep -q "^fleet-3: .*Unauthorized" <<<"$out"'
check "the run says which clusters failed" 'grep -q "1 of 3 clusters failed: fleet-3" <<<"$out"'
check "output lines start with their cluster" 'grep -q "^\[fleet-1\] ok      cluster: context" <<<"$out" && grep -q "^\[fleet-2\] " <<<"$out" && grep -q "^\[fleet-3\] " <<<"$out"'
for n in 1 2; do
  check "fleet-$n: its service account names its own role" '[ "$(k $n -n $NS get sa $SA -o jsonpath="{.metadata.annotations.eks\.amazonaws\.com/role-arn}")" = "$(arn fleet-$n)" ]'
  check "fleet-$n: 8 sagemaker CRDs" '[ "$(k $n get crd -o name | grep -c sagemaker)" -eq 8 ]'
  check "fleet-$n: aws reads back its role" '[ "$(aws iam get-role --role-name sagemaker-k8s-operator-fleet-$n --query Role.Arn --output text)" = "$(arn fleet-$n)" ]'
done
check "fleet-3: nothing written to its API server" '[ "$(writes_at 3)" -eq 0 ]'
echo "run 1 (two installs, one failure): $(python3 -c "print(round($t1 - $t0, 1))")s"

# ---- 2. fixed: the re-run completes the third and leaves the others alone
kubectl config set-credentials u3 --token="$(cat "$EXTRA/kube3/token")" >/dev/null
mark_all
out=$(fleet); code=$?
echo "$out" >"$E2E_STATE/run2.txt"
check "after the fix the fleet install succeeds (exit $code)" '[ "$code" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2
check "the re-run: fleet-1 and fleet-2 unchanged, fleet-3 created" \
  '[[ "$(row fleet-1 "$out")" == "fleet-1 us-west-2 ok 0 18 "* ]] && [[ "$(row fleet-2 "$out")" == "fleet-2 us-east-1 ok 0 18 "* ]] && [[ "$(row fleet-3 "$out")" == "fleet-3 eu-west-1 ok 18 0 "* ]]'
check "the re-run wrote nothing to fleet-1 and fleet-2 ($(writes_at 1), $(writes_at 2)) and to fleet-3 ($(writes_at 3))" \
  '[ "$(writes_at 1)" -eq 0 ] && [ "$(writes_at 2)" -eq 0 ] && [ "$(writes_at 3)" -gt 0 ]'
check "fleet-3: installed with its own role" '[ "$(k 3 -n $NS get sa $SA -o jsonpath="{.metadata.annotations.eks\.amazonaws\.com/role-arn}")" = "$(arn fleet-3)" ]'
mark_all
out=$(fleet); code=$?
check "a third run writes nothing anywhere (moto $(moto_writes), peers $(writes_at 1) $(writes_at 2) $(writes_at 3))" \
  '[ "$code" -eq 0 ] && [ "$(moto_writes)" -eq 0 ] && [ "$(writes_at 1)" -eq 0 ] && [ "$(writes_at 2)" -eq 0 ] && [ "$(writes_at 3)" -eq 0 ]'

# ---- 4. the fleet uninstall
out=$("$SGK_BIN" run uninstall-sagemaker-operator-fleet --fleet "$FLEET" --installer "$I" 2>&1); code=$?
echo "$out" >"$E2E_STATE/uninstall.txt"
check "the fleet uninstall succeeds (exit $code)" '[ "$code" -eq 0 ]'
[ "$code" -eq 0 ] || echo "$out" >&2
for n in 1 2 3; do
  check "fleet-$n: uninstalled (CRDs, Namespace, role)" \
    '[ "$(k $n get crd -o name | grep -c sagemaker)" -eq 0 ] && [ "$(k $n get ns $NS -o jsonpath={.status.phase} 2>/dev/null)" != Active ] && ! aws iam get-role --role-name sagemaker-k8s-operator-fleet-$n >/dev/null 2>&1'
done
check "no OIDC provider is left" '[ "$(aws iam list-open-id-connect-providers --query "length(OpenIDConnectProviderList)" --output text)" -eq 0 ]'
[ -n "${FLEET_E2E_KEEP:-}" ] && cp "$E2E_STATE"/run1.txt "$E2E_STATE"/run2.txt "$E2E_STATE"/dry.txt "$E2E_STATE"/uninstall.txt "$FLEET_E2E_KEEP"/
finish "sagemaker fleet"
