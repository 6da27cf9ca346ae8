#!/usr/bin/env bash
# bench.sh — builds sgk in release mode and runs the side-by-side benchmarks
# (bench/run.py): start-up against kubectl, interpreter work against python3
# and tclsh, and — with the local peers, started and stopped here — 50 role
# reads against 50 aws CLI processes, the installer apply and a generated
# 1,000-object apply against kubectl, and the whole SageMaker install against
# the documented aws+kubectl procedure (bench/documented-procedure.sh).
# Extra arguments go to bench/run.py (e.g. --only installer,thousand,sagemaker).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
export AWS_EC2_METADATA_DISABLED=true KUBE_PEER_READY_TIMEOUT="${KUBE_PEER_READY_TIMEOUT:-180}"
tools/setup.sh --build-peer
command -v tclsh >/dev/null || { apt-get install -y -qq tcl >/dev/null 2>&1 || true; }
# A static Swift runtime: start-up ~10 ms instead of ~30 (docs/PERFORMANCE.md).
build_log=$(mktemp)
if ! swift build -c release --static-swift-stdlib --product sgk >"$build_log" 2>&1; then
  grep -Ev '^\[[0-9]+/[0-9]+\]' "$build_log" >&2; rm -f "$build_log"
  echo "bench.sh: the release build failed" >&2; exit 1
fi
rm -f "$build_log"
STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-bench.XXXXXX")
trap 'tools/moto.sh stop "$STATE/moto" >/dev/null 2>&1; tools/kube-peer.sh stop "$STATE/kube" >/dev/null 2>&1; rm -rf "$STATE"' EXIT INT TERM
# The runs' journal is the benchmark's own, not the user's (~/.local/state/sgk/journal).
export SGK_JOURNAL="$STATE/journal.jsonl"
tools/moto.sh start "$STATE/moto" >/dev/null
tools/kube-peer.sh start "$STATE/kube" >/dev/null
python3 bench/run.py "$ROOT/.build/release/sgk" --peers "$STATE" "$@"
