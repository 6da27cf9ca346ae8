#!/usr/bin/env bash
# End to end: fidelity to the real kubectl on real manifests (issue 21, "Fidelity"). Each manifest
# of ../shared/fixtures/fidelity/ (11, see its SOURCES.md) is applied by sgk on one kube-apiserver
# and by `kubectl apply --server-side` on its twin, and then:
#   - every object of the manifest is read back from both and compared, normalised (what the server
#     and its controllers set on their own is left out: tools/e2e/fidelity.py normalise);
#   - a second apply by sgk makes no write (counted in the peer's audit log, user agent sgk);
#   - `kubectl delete -f` by sgk and by kubectl leave nothing of the manifest on either peer;
#   - a document whose type the 1.20 server does not serve (calico's policy/v1
#     PodDisruptionBudget) fails both clients, each naming it, on apply and on delete, and both
#     apply and delete the rest.
# kubectl is given the manifest without `x-kubernetes-validations` (CEL, 1.25+), which the 1.20
# server refuses and which sgk leaves out for it, said in a warning (checked here too).
# It starts its own two peers (loopback) and stops them. FIDELITY_ONLY=REGEX runs the matching files only (e.g. 06|10).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
FIDELITY="${FIDELITY_DIR:-$ROOT/../shared/fixtures/fidelity}"
SGK_BIN="${SGK_BIN:-$ROOT/.build/debug/sgk}"
HELP="$ROOT/tools/e2e/fidelity.py"
export AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
export KUBE_PEER_READY_TIMEOUT="${KUBE_PEER_READY_TIMEOUT:-180}"
unset KUBECONFIG SGK_JOURNAL
pass=0; fail=0; good=0; total=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); ok=0; echo "FAILED: $1" >&2; return 1; fi; }

[ -d "$FIDELITY" ] || { echo "fidelity: no manifests at $FIDELITY" >&2; exit 1; }
STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-fidelity.XXXXXX")
cleanup() {
  "$ROOT/tools/kube-peer.sh" stop "$STATE/sgk" >/dev/null 2>&1 || true
  "$ROOT/tools/kube-peer.sh" stop "$STATE/kubectl" >/dev/null 2>&1 || true
  rm -rf "$STATE"
}
trap cleanup EXIT INT TERM
for peer in sgk kubectl; do
  "$ROOT/tools/kube-peer.sh" start "$STATE/$peer" >>"$STATE/peers.log" 2>&1 ||
    { cat "$STATE/peers.log" >&2; echo "fidelity: cannot start the kube peer" >&2; exit 1; }
done
export XDG_STATE_HOME="$STATE/xdg"
A="$STATE/sgk/kubeconfig" B="$STATE/kubectl/kubeconfig"
sgk() { KUBECONFIG="$A" timeout 300 "$SGK_BIN" "$@"; }
ka() { kubectl --kubeconfig "$A" --request-timeout=60s "$@"; }
kb() { kubectl --kubeconfig "$B" --request-timeout=60s "$@"; }
writes() { # sgk's writes in peer A's audit log after line $1
  tail -n +"$(($1 + 1))" "$STATE/sgk/audit.log" | python3 -c '
import sys, json, os
n = 0
for line in sys.stdin:
    e = json.loads(line)
    skip = set(os.environ.get("SKIP", "").split())
    if e.get("userAgent", "").startswith("sgk") and e.get("verb") not in ("get", "list", "watch") and e.get("objectRef", {}).get("name") not in skip:
        n += 1; print(e.get("verb"), e.get("requestURI"), file=sys.stderr)
print(n)'
}
# both "SGK COMMAND" "KUBECTL COMMAND": runs the two at once (eval'd, so they see $file, $d, …);
# their stdout, stderr and exit status in $d/a.* and $d/b.*.
both() {
  (eval "$1" >"$d/a.out" 2>"$d/a.err"; echo $? >"$d/a.code") &
  (eval "$2" >"$d/b.out" 2>"$d/b.err"; echo $? >"$d/b.code") &
  wait
}
# The objects of the manifest each peer holds, normalised, one line each.
objects() { # kubeconfig stubs [-n NS]
  local kc=$1 stubs=$2; shift 2
  kubectl --kubeconfig "$kc" get -f "$stubs" "$@" -o json --ignore-not-found >"$STATE/got.json" 2>"$STATE/got.err" || cat "$STATE/got.err" >&2
  python3 "$HELP" normalise "$STATE/got.json"
}

for file in "$FIDELITY"/[0-9]*.yaml; do
  base=$(basename "$file" .yaml)
  [ -n "${FIDELITY_ONLY:-}" ] && ! [[ "$base" =~ $FIDELITY_ONLY ]] && continue
  total=$((total + 1)); ok=1; t0=$SECONDS
  d="$STATE/$base"; mkdir -p "$d"
  nsflag=(); pre=""
  case "$base" in
    # As the manifests' docs say: argo-cd's install.yaml names no namespace, applied with -n
    # argocd; ACK's CRDs and RBAC expect the namespace ack-system (kustomize's config/default
    # would create it).
    05-argo-cd) nsflag=(-n argocd); pre=argocd ;;
    08-ack-sagemaker) pre=ack-system ;;
  esac
  if [ -n "$pre" ]; then ka create namespace "$pre" >/dev/null; kb create namespace "$pre" >/dev/null; fi
  python3 "$HELP" kubectl-manifest "$file" "$d/kubectl.yaml"

  # The two clients at once, each on its own peer.
  both "sgk kubectl apply -f \"\$file\" \"\${nsflag[@]}\" -o name" \
    "kb apply --server-side -f \"\$d/kubectl.yaml\" \"\${nsflag[@]}\""
  out=$(cat "$d/a.out"); err=$(cat "$d/a.err"); code=$(cat "$d/a.code")
  kout=$(cat "$d/b.out" "$d/b.err"); kcode=$(cat "$d/b.code")
  # The types the server serves once the manifest's CRDs are in; the other documents fail.
  kb api-resources --no-headers >"$d/served" 2>/dev/null
  missing=$(python3 "$HELP" stubs "$file" "$d/served" "$d/stubs.json")
  objects "$A" "$d/stubs.json" "${nsflag[@]}" >"$d/sgk.objects"; cp "$STATE/got.json" "$d/sgk.json"
  objects "$B" "$d/stubs.json" "${nsflag[@]}" >"$d/kubectl.objects"; cp "$STATE/got.json" "$d/kubectl.json"
  # Documents of a served type that the server failed for kubectl (the 1.20 peer breaks the
  # connection on a server-side apply of metrics-server's APIService): sgk must fail on each too.
  failed=$(python3 "$HELP" absent "$d/stubs.json" "$d/kubectl.json")
  nstub=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$d/stubs.json")
  napplied=$((nstub - $(grep -c . <<<"$failed")))
  if [ -z "$missing$failed" ]; then
    check "$base: sgk applies it" '[ "$code" -eq 0 ]' || printf '%s\n' "$err" | tail -5 >&2
    check "$base: kubectl applies it" '[ "$kcode" -eq 0 ]' || printf '%s\n' "$kout" | grep -i error | head -5 >&2
  else
    check "$base: sgk fails, as kubectl does, on what the server cannot take" '[ "$code" -ne 0 ] && [ "$kcode" -ne 0 ]'
    while read -r what ver; do
      [ -n "$what" ] || continue
      name=${what#*/}; kind=${what%%/*}
      check "$base: both name the document the server cannot map ($kind $name, $ver)" \
        '[[ "$err" == *"$kind"*"$name"* && "$err" == *"$ver"* && "$kout" == *"$name"* && "$kout" == *"\"$kind\" in version \"$ver\""* ]]' ||
        printf 'sgk: %s\nkubectl: %s\n' "$err" "$kout" | grep -v '^ ' | head -6 >&2
    done <<<"$missing"
    while read -r kind name; do
      [ -n "$kind" ] || continue
      check "$base: sgk names the object the server failed for both ($kind $name)" '[[ "$err" == *"$kind $name"* ]]' || printf '%s\n' "$err" | head -3 >&2
      echo "fidelity: $base: the server fails $kind $name for both clients; kubectl said: $(grep -m1 -iE 'error|unable' <<<"$kout")"
    done <<<"$failed"
  fi
  if grep -q x-kubernetes-validations "$file"; then
    check "$base: sgk says which CRDs' x-kubernetes-validations the 1.20 server cannot take" \
      '[[ "$err" == *"x-kubernetes-validations rule(s) are left out"* ]]'
  fi
  nsgk=$(printf '%s\n' "$out" | grep -cE ' (created|configured|unchanged)')
  check "$base: sgk prints each applied object ($napplied)" '[ "$nsgk" -eq "$napplied" ]' || printf '%s\n' "$out" | head -3 >&2

  n=$(wc -l <"$d/sgk.objects")
  check "$base: sgk's $n objects equal kubectl's, normalised" '[ "$n" -eq "$napplied" ] && cmp -s "$d/sgk.objects" "$d/kubectl.objects"' ||
    diff <(cut -c1-300 "$d/kubectl.objects") <(cut -c1-300 "$d/sgk.objects") | head -8 >&2

  from=$(wc -l <"$STATE/sgk/audit.log")
  again=$(sgk kubectl apply -f "$file" "${nsflag[@]}" -o name 2>/dev/null)
  sleep 1   # the audit log is written when a request is answered
  # Writes, but not the retried ones of an object the server fails every time.
  w=$(SKIP="$(cut -d' ' -f2 <<<"$failed")" writes "$from" 2>"$d/rewrites")
  check "$base: a second apply by sgk makes no write ($w)" '[ "$w" -eq 0 ]' || head -5 "$d/rewrites" >&2
  check "$base: and says every object unchanged" '[ "$(grep -c " unchanged$" <<<"$again")" -eq "$napplied" ]' || printf '%s\n' "$again" | grep -v ' unchanged$' | head -3 >&2

  both "sgk kubectl delete -f \"\$file\" \"\${nsflag[@]}\" --timeout=120s -o name" \
    "kb delete -f \"\$d/kubectl.yaml\" \"\${nsflag[@]}\" --timeout=120s"
  dout=$(cat "$d/a.out" "$d/a.err"); dcode=$(cat "$d/a.code")
  kdout=$(cat "$d/b.out" "$d/b.err"); kdcode=$(cat "$d/b.code")
  if [ -z "$missing$failed" ]; then
    check "$base: sgk deletes it" '[ "$dcode" -eq 0 ]' || printf '%s\n' "$dout" | tail -3 >&2
    check "$base: kubectl deletes it" '[ "$kdcode" -eq 0 ]' || printf '%s\n' "$kdout" | tail -3 >&2
  else
    # What was not applied cannot be deleted: both say so (a type not served, or NotFound).
    check "$base: delete fails in both for what is not there, naming it" \
      '[ "$dcode" -ne 0 ] && [ "$kdcode" -ne 0 ] && { [ -z "$missing" ] || [[ "$dout" == *"$ver"* && "$kdout" == *"$ver"* ]]; }' || printf 'sgk: %s\nkubectl: %s\n' "$dout" "$kdout" | tail -4 >&2
  fi
  left=$(ka get -f "$d/stubs.json" "${nsflag[@]}" -o name --ignore-not-found 2>&1)
  kleft=$(kb get -f "$d/stubs.json" "${nsflag[@]}" -o name --ignore-not-found 2>&1)
  check "$base: sgk's delete leaves nothing of the manifest" '[ -z "$left" ]' || printf '%s\n' "$left" | head -5 >&2
  check "$base: kubectl's delete leaves nothing of the manifest" '[ -z "$kleft" ]' || printf '%s\n' "$kleft" | head -5 >&2
  if [ -n "$pre" ]; then ka delete namespace "$pre" --wait=false >/dev/null; kb delete namespace "$pre" --wait=false >/dev/null; fi
  [ "$ok" -eq 1 ] && good=$((good + 1))
  echo "fidelity: $base: $([ "$ok" -eq 1 ] && echo equal || echo DIFFERS) ($napplied objects${missing:+; not served: $(tr '\n' ' ' <<<"$missing")}${failed:+; failed by the server for both: $(tr '\n' ' ' <<<"$failed")}; $((SECONDS - t0)) s)"
done

echo "fidelity: $good/$total manifests"
echo "fidelity e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
