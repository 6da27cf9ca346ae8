#!/usr/bin/env bash
# kube-peer.sh — a local, loopback-only Kubernetes API peer for sgk tests,
# CI and the sandbox: kube-apiserver + kube-controller-manager v1.20.2
# (built from Debian bookworm's `kubernetes` source package) on etcd 3.4.
# See ../../shared/design/KUBE-PEER.md for the recipe this follows.
set -euo pipefail

readonly K8S_VERSION=v1.20.2
readonly DEB_SRC_VERSION=1.20.5+really1.20.2-1.1+deb12u1
readonly CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/sgk"
readonly K8S_CACHE="$CACHE_ROOT/k8s-$K8S_VERSION"
readonly BIN_DIR="$K8S_CACHE/bin"
readonly APISERVER="$BIN_DIR/kube-apiserver"
readonly CONTROLLER_MANAGER="$BIN_DIR/kube-controller-manager"
readonly REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly BUILD_PACKAGES=(golang-go golang-github-modern-go-reflect2-dev rsync make etcd-server openssl)
readonly READY_TIMEOUT="${KUBE_PEER_READY_TIMEOUT:-60}"

PROG=$(basename "$0")
readonly PROG

usage() {
  cat <<EOF
usage: $PROG build
       $PROG start STATE_DIR [--no-v1beta1]
       $PROG stop STATE_DIR
       $PROG ready-pod STATE_DIR NAMESPACE SELECTOR
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
  local p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || printf '%s\n' "$p"
  done
}

ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} via apt"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# The Debian mirror the machine's own apt sources use (host reused for deb-src).
debian_mirror() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" |
      grep -E '/debian/?$' | head -n1 || true)
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      uri=$(awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f" |
        grep -E '/debian/?$' | head -n1 || true)
      [ -n "$uri" ] && break
    done
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

have_binaries() { [ -x "$APISERVER" ] && [ -x "$CONTROLLER_MANAGER" ]; }

cmd_build() {
  [ "$#" -eq 0 ] || { usage >&2; exit 2; }
  if have_binaries; then
    log "cached binaries present in $BIN_DIR; nothing to build"
    return 0
  fi
  ensure_packages "${BUILD_PACKAGES[@]}"
  [ -d "$REFLECT2_SRC" ] || die "$REFLECT2_SRC missing (package golang-github-modern-go-reflect2-dev)"
  [ -r "$KEYRING" ] || die "$KEYRING missing (package debian-archive-keyring)"

  local started scratch apt_dir mirror
  started=$(date +%s)
  mkdir -p "$K8S_CACHE"
  scratch="$K8S_CACHE/build.$$"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  # shellcheck disable=SC2064  # expand $scratch now
  trap "rm -rf '$scratch'" EXIT

  # Private apt configuration: the machine's own is never touched.
  apt_dir="$scratch/apt"
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial"
  mirror=$(debian_mirror)
  log "fetching kubernetes source $DEB_SRC_VERSION from $mirror"
  cat >"$apt_dir/sources.list.d/kube-peer.sources" <<EOF
Types: deb-src
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: $KEYRING
EOF
  local apt_opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
  )
  # As root, apt would drop to _apt, which cannot write into our scratch dir.
  [ "$(id -u)" -ne 0 ] || apt_opts+=(-o "APT::Sandbox::User=root")
  apt-get "${apt_opts[@]}" -qq update ||
    die "apt-get update of the private deb-src list failed (mirror $mirror)"
  (cd "$scratch" && apt-get "${apt_opts[@]}" -qq source --download-only "kubernetes=$DEB_SRC_VERSION") ||
    die "could not download source package kubernetes=$DEB_SRC_VERSION"

  local orig
  orig=$(find "$scratch" -maxdepth 1 -name 'kubernetes_*.orig.tar.*' | head -n1)
  [ -n "$orig" ] || die "no kubernetes_*.orig.tar.* in $scratch"
  log "unpacking $(basename "$orig")"
  mkdir -p "$scratch/src"
  tar -xf "$orig" -C "$scratch/src" --strip-components=1
  local src="$scratch/src"
  [ -f "$src/Makefile" ] || die "unexpected layout of $orig (no Makefile)"

  # Vendored reflect2 v1.0.1 is unsafe with Go >= 1.18: use Debian's v1.0.2.
  local vend="$src/vendor/github.com/modern-go/reflect2"
  [ -d "$vend" ] || die "vendored reflect2 not found at $vend"
  rm -f "$vend"/*.go
  cp "$REFLECT2_SRC"/*.go "$vend"/
  rm -f "$vend"/*_test.go

  log "building kube-apiserver and kube-controller-manager (takes minutes)"
  (
    cd "$src"
    export GOFLAGS=-mod=vendor GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local
    export GOPATH="$scratch/gopath" GOCACHE="$scratch/gocache"
    export KUBE_GIT_VERSION="$K8S_VERSION" KUBE_GIT_TREE_STATE=clean
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager"
  ) || die "make failed (see output above)"

  local built
  mkdir -p "$BIN_DIR"
  for built in kube-apiserver kube-controller-manager; do
    local out
    out=$(find "$src/_output" -type f -name "$built" -perm -u+x | head -n1)
    [ -n "$out" ] || die "$built not found under $src/_output"
    cp "$out" "$BIN_DIR/$built.tmp"
    mv "$BIN_DIR/$built.tmp" "$BIN_DIR/$built"
  done
  rm -rf "$scratch"
  trap - EXIT
  log "built in $(($(date +%s) - started)) s: $BIN_DIR"
  "$APISERVER" --version >&2
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
