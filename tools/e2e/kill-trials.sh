#!/usr/bin/env bash
# End to end: kill -9 at random times (issue 21, "kill -9"). Each trial, on its own seed, starts
# the install and kills it (SIGKILL) after a random delay within a fault-free install's duration
# (not only after write N: mid-request, mid-journal-entry, mid-wait), re-runs it, which must
# converge to the state of a fault-free install; then starts the uninstall and kills it the same
# way, re-runs it, and checks that nothing is left but what existed before.
# KILL_TRIALS=N runs N trials (default 5; the issue's count is 10). KILL_SEED changes the delays.
. "$(dirname "$0")/common.bash"
TRIALS="${KILL_TRIALS:-5}" SEED="${KILL_SEED:-21}"
start_peers
I="$FIX/installer.yaml"
cluster=kills
make_cluster "$cluster" >/dev/null || { echo "cannot create the cluster" >&2; exit 1; }
arn=$(aws eks describe-cluster --name "$cluster" --query cluster.arn --output text)
JOURNAL="$E2E_STATE/journal.jsonl"
. "$ROOT/tools/e2e/state.bash"
cmd() { echo "$SGK_BIN" run "$1" --cluster "$cluster" --region us-west-2 --installer "$I" --journal "$JOURNAL" --context "$arn"; }
sgk_run() { timeout 600 $(cmd "$1") 2>&1; }
# killed SCRIPT DELAY: starts SCRIPT, kills it with SIGKILL after DELAY seconds (if still running).
killed() {
  local pid
  $(cmd "$1") >"$E2E_STATE/killed.out" 2>&1 &
  pid=$!
  sleep "$2"
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; echo killed
  else wait "$pid" 2>/dev/null; echo finished; fi
}
delay() { python3 -c 'import random, sys; r = random.Random(sys.argv[1]); print("%.2f" % r.uniform(0.05, float(sys.argv[2])))' "$1" "$2"; }

before=$(snapshot)
t0=$(date +%s.%N)
out=$(sgk_run install-sagemaker-operator); code=$?
t1=$(date +%s.%N)
check "a fault-free install succeeds" '[ "$code" -eq 0 ]' || { printf '%s\n' "$out" | tail -5 >&2; exit 1; }
reference=$(snapshot)
t2=$(date +%s.%N)
out=$(sgk_run uninstall-sagemaker-operator); code=$?
t3=$(date +%s.%N)
check "a fault-free uninstall succeeds and leaves what was there before" '[ "$code" -eq 0 ] && [ "$(snapshot)" = "$before" ]' || printf '%s\n' "$out" | tail -5 >&2
ti=$(python3 -c "print($t1 - $t0)"); tu=$(python3 -c "print($t3 - $t2)")
echo "kill trials: a fault-free install takes ${ti%.*} s, an uninstall ${tu%.*} s"

converged=0 cleaned=0 hits=0
for i in $(seq 1 "$TRIALS"); do
  # Each trial starts from nothing: the previous uninstall's Namespace fully gone, not only
  # terminating (the API server refuses new content in a terminating namespace, and its admission
  # may see a just-deleted one for a moment).
  kubectl wait namespace/sagemaker-k8s-operator-system --for=delete --timeout=120s >/dev/null 2>&1 || true
  sleep 2
  d=$(delay "$SEED-install-$i" "$ti")
  mark
  how=$(killed install-sagemaker-operator "$d")
  iw=$(( $(moto_writes) + $(kube_writes) ))
  [ "$how" = killed ] && hits=$((hits + 1))
  out=$(sgk_run install-sagemaker-operator); code=$?
  state=$(snapshot)
  check "trial $i: install $how at ${d}s; the re-run converges to a fault-free install's state" '[ "$code" -eq 0 ] && [ "$state" = "$reference" ]' &&
    converged=$((converged + 1)) || { printf '%s\n' "$out" | tail -5; diff <(echo "$reference") <(echo "$state") | cut -c1-300 | head -6; } >&2

  d2=$(delay "$SEED-uninstall-$i" "$tu")
  mark
  how2=$(killed uninstall-sagemaker-operator "$d2")
  uw=$(( $(moto_writes) + $(kube_writes) ))
  [ "$how2" = killed ] && hits=$((hits + 1))
  out=$(sgk_run uninstall-sagemaker-operator); code=$?
  state=$(snapshot)
  check "trial $i: uninstall $how2 at ${d2}s; the re-run leaves nothing but what existed before" '[ "$code" -eq 0 ] && [ "$state" = "$before" ]' &&
    cleaned=$((cleaned + 1)) || { printf '%s\n' "$out" | tail -5; diff <(echo "$before") <(echo "$state") | cut -c1-300 | head -6; } >&2
  echo "kill trial $i: install $how at ${d}s (after $iw writes), uninstall $how2 at ${d2}s (after $uw writes)"
done
echo "kill trials: $converged/$TRIALS installs converged after kill -9, $cleaned/$TRIALS uninstalls left nothing ($hits of $((2 * TRIALS)) runs were killed mid-way)"
finish "kill trials"
