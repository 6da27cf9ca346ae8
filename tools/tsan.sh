#!/usr/bin/env bash
# tsan.sh — `parallel for` under the thread sanitizer. Builds sgk with --sanitize=thread in its
# own scratch path (.build-tsan, ignored by git) and runs tools/tsan/parallel.sgk under it: bodies
# calling functions, modules and blocks, catching and re-raising, printing, nesting, failing.
# With --e2e it then runs the fleet install end to end on that binary (moto and three kube
# peers: HTTP clients, the journal, the cluster binding, all from concurrent bodies).
# Any report from ThreadSanitizer fails the run.
#
# Not part of tools/test.sh: a sanitized build is a second full build of sgk and its dependencies
# (see the note in tools/README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
export AWS_EC2_METADATA_DISABLED=true
log() { printf 'tsan.sh: %s\n' "$*" >&2; }

log "building sgk with the thread sanitizer (.build-tsan) …"
start=$(date +%s)
swift build --sanitize=thread --scratch-path "$ROOT/.build-tsan" --product sgk 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || { log "build failed"; exit 1; }
log "built in $(( $(date +%s) - start ))s"
BIN=$(swift build --sanitize=thread --scratch-path "$ROOT/.build-tsan" --product sgk --show-bin-path)/sgk

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
status=0
"$BIN" run tools/tsan/parallel.sgk >"$out" 2>"$err" || status=$?
if grep -q "ThreadSanitizer" "$err" || [ "$status" -ne 0 ] || ! grep -q "^tsan: ok$" "$out"; then
  cat "$err" >&2; tail -5 "$out" >&2
  log "FAILED: tools/tsan/parallel.sgk (exit $status)"
  exit 1
fi
log "tools/tsan/parallel.sgk: no data race ($(grep -c '^round ' "$out") body lines)"

if [ "${1:-}" = "--e2e" ]; then
  log "the fleet install end to end on the sanitized binary …"
  SGK_BIN="$BIN" TSAN_OPTIONS="$TSAN_OPTIONS log_path=$ROOT/.build-tsan/tsan-e2e" "$ROOT/tools/e2e/sagemaker-fleet.sh"
  if ls "$ROOT"/.build-tsan/tsan-e2e.* >/dev/null 2>&1; then
    cat "$ROOT"/.build-tsan/tsan-e2e.* >&2
    log "FAILED: ThreadSanitizer reports in the fleet e2e"
    exit 1
  fi
  log "fleet e2e: no data race"
fi
