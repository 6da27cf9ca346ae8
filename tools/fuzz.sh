#!/usr/bin/env bash
# fuzz.sh TARGET SECONDS [libFuzzer options…] — runs a libFuzzer target of Tests/Fuzz (Linux):
#   check    the lexer, parser and resolver (`sgk check`) on any bytes
#   codecs   the YAML and JSON codecs: parse, emit, parse again
# (Swift's own crash backtracer is turned off so that libFuzzer catches the trap and writes the input.)
# Builds Tests/Fuzz (a package of its own, with -sanitize=fuzzer) into Tests/Fuzz/.build, then
# fuzzes for SECONDS from the seed corpus Tests/Fuzz/corpus/TARGET. New inputs that reach new code
# go to a scratch corpus (FUZZ_WORK, default a temp dir, removed on exit), never into the seed
# corpus: add one there by hand if it is worth keeping. A crash, a trap, a leak of time (an
# input that takes over 10 s) or of memory (2 GB) stops the run: the input is written to
# FUZZ_ARTIFACTS (default Tests/Fuzz/artifacts/) and the exit status is non-zero. The last line
# says the executions and crashes. Loopback only: nothing here uses the network.
#
#   tools/fuzz.sh check 600          # the issue's 10 minutes
#   tools/fuzz.sh codecs 60 -max_len=65536
#   tools/fuzz.sh build              # only build both targets
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
usage() { echo "usage: tools/fuzz.sh check|codecs SECONDS [libFuzzer options…] | tools/fuzz.sh build" >&2; exit 2; }
[ "$#" -ge 1 ] || usage
target=$1
case "$target" in
  check | codecs) [ "$#" -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || usage; seconds=$2; shift 2 ;;
  build) shift ;;
  *) usage ;;
esac
[ "$(uname -s)" = Linux ] || { echo "fuzz.sh: libFuzzer builds need Linux (swift -sanitize=fuzzer)" >&2; exit 2; }

# The build's output is shown only when it fails. (-sanitize=fuzzer also reaches the package's
# build-plugin tool, SGKEmbed-tool, whose link then fails next to libFuzzer's main: the fuzz
# targets do not use it, and the build still succeeds.)
build() {
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/sgk-fuzz-build.XXXXXX")
  if swift build --package-path "$ROOT/Tests/Fuzz" -Xswiftc -sanitize=fuzzer "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
  grep -Ev '^\[[0-9]+/[0-9]+\]|^(Building|Compiling|Write|Linking|Computing|Computed|Fetching|Fetched|Creating|Working)' "$log" | tail -40 >&2
  rm -f "$log"
  return 1
}
if [ "$target" = build ]; then
  build --product fuzz-check && build --product fuzz-codecs
  exit
fi
build --product "fuzz-$target" || { echo "fuzz.sh: the build of fuzz-$target failed" >&2; exit 1; }
bin="$(swift build --package-path "$ROOT/Tests/Fuzz" -Xswiftc -sanitize=fuzzer --show-bin-path)/fuzz-$target"

work="${FUZZ_WORK:-}"
cleanup=""
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/sgk-fuzz.XXXXXX"); cleanup=$work; fi
trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT
artifacts="${FUZZ_ARTIFACTS:-$ROOT/Tests/Fuzz/artifacts}"
mkdir -p "$work/corpus" "$artifacts"
log="$work/fuzz.log"
set +e
# The scratch corpus first (new inputs go there), the seed corpus read only.
SWIFT_BACKTRACE=enable=no timeout --kill-after=30 $((seconds + 120)) "$bin" "$work/corpus" "$ROOT/Tests/Fuzz/corpus/$target" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
  -artifact_prefix="$artifacts/$target-" -print_final_stats=1 "$@" >"$log" 2>&1
code=$?
set -e
execs=$(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
crashes=$(grep -cE '^==[0-9]+== ERROR|deadly signal|Fatal error|ERROR: libFuzzer' "$log" || true)
if [ "$code" -ne 0 ]; then
  grep -E 'Fatal error|ERROR|SUMMARY|Test unit written|precondition' "$log" | head -20 >&2
  echo "fuzz.sh: $target: $execs executions in ${seconds} s, a crash (exit $code); input in $artifacts/" >&2
  exit 1
fi
echo "fuzz.sh: $target: $execs executions in ${seconds} s, 0 crashes (corpus $(ls "$work/corpus" | wc -l) new inputs)"
