#!/usr/bin/env bash
# setup.sh — idempotently install what sgk's build and tests need on a Debian
# machine: apt packages, the moto server and the aws CLI. Quiet and fast when
# everything is already present. With --build-peer, also builds (or finds
# cached) the Kubernetes peer binaries via tools/kube-peer.sh build.
# (The Swift toolchain itself is not an apt package and is not installed here.)
set -euo pipefail

PROG=$(basename "$0")
readonly PROG
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd -P)
readonly TOOLS_DIR

usage() { echo "usage: $PROG [--build-peer]"; }

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

build_peer=false
case "${1:-}" in
  "") ;;
  --build-peer) build_peer=true ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
[ "$#" -le 1 ] || { usage >&2; exit 2; }

# Build and test dependencies, plus what tools/kube-peer.sh needs to build
# and run the Kubernetes peer.
packages=(
  libedit-dev tmux openssl curl ca-certificates python3
  golang-go golang-github-modern-go-reflect2-dev rsync make etcd-server
  debian-archive-keyring
)
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

# find_spec, not import: importing moto.server takes seconds.
have_moto() {
  python3 -c 'import importlib.util as u, sys
sys.exit(0 if all(u.find_spec(m) for m in ("moto", "flask", "flask_cors")) else 1)' >/dev/null 2>&1
}
pip_wanted=()
have_moto || pip_wanted+=('moto[server]')
command -v aws >/dev/null 2>&1 || pip_wanted+=(awscli)
# kube-peer.sh bind-eks and the e2e tools read YAML and make certificates in python.
python3 -c 'import importlib.util as u, sys
sys.exit(0 if u.find_spec("yaml") and u.find_spec("cryptography") else 1)' >/dev/null 2>&1 || pip_wanted+=(pyyaml cryptography)
if [ "${#pip_wanted[@]}" -gt 0 ] && ! python3 -m pip --version >/dev/null 2>&1; then
  packages+=(python3-pip)
fi

# One dpkg-query call for all packages (fast path: no apt-get at all).
installed=" $(dpkg-query -W -f='${Package}=${db:Status-Status} ' "${packages[@]}" 2>/dev/null || true) "
missing=()
for p in "${packages[@]}"; do
  case "$installed" in
    *" $p=installed "*) ;;
    *) missing+=("$p") ;;
  esac
done

if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || die "apt-get not found; install by hand: ${missing[*]}"
  log "installing with apt: ${missing[*]}"
  as_root apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install failed for: ${missing[*]}"
fi

if [ "${#pip_wanted[@]}" -gt 0 ]; then
  log "installing with pip: ${pip_wanted[*]}"
  # Debian's python3 is "externally managed" (PEP 668); fall back to
  # --break-system-packages there, as a plain user install.
  python3 -m pip install -q "${pip_wanted[@]}" 2>/dev/null ||
    python3 -m pip install -q --user --break-system-packages "${pip_wanted[@]}" ||
    die "pip install failed for: ${pip_wanted[*]}"
  have_moto || die "moto[server] still not importable by python3 after pip install"
  command -v aws >/dev/null 2>&1 || log "note: 'aws' installed but not on PATH (try ~/.local/bin)"
fi

if $build_peer; then
  "$TOOLS_DIR/kube-peer.sh" build
fi
