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
       $PROG start STATE_DIR [--no-v1beta1] [--token-webhook URL] [--issuer URL]
       $PROG stop STATE_DIR
       $PROG ready-pod STATE_DIR NAMESPACE SELECTOR
       $PROG bind-eks KUBECONFIG CLUSTER_ARN
       $PROG pod-state STATE_DIR NAMESPACE SELECTOR STATE [--container NAME] [--message TEXT]

pod-state SIMULATES a pod state: the peer has no kubelet and no scheduler, so no container
ever runs or fails here. It writes what a kubelet or scheduler would (the pod's status through
the status subresource, and core/v1 Events about the pod, created through the API) so that
diagnoses can be tested. Nothing was pulled, run or killed. STATE is one of:
  image-pull      container waiting ImagePullBackOff; a Failed event with the registry's message
                  (--message replaces it)
  crash-loop      container waiting CrashLoopBackOff, lastState.terminated exit code 1 (Error)
  oom             container waiting CrashLoopBackOff, lastState.terminated OOMKilled (exit 137)
  config-error    container waiting CreateContainerConfigError (--message: configmap "…" not found)
  unschedulable   phase Pending, PodScheduled=False (Unschedulable) and a FailedScheduling event
  stale-role      the pods Running/Ready, and the ServiceAccount's eks.amazonaws.com/role-arn
                  removed and set again (same value) so that it was set after the pods started;
                  a MutatingWebhookConfiguration pod-identity-webhook that matches nothing stands
                  for EKS's (the peer injects no AWS_ROLE_ARN: every pod lacks it)
A pod with no node is bound (pods/binding) to kube-peer-simulated-node, which does not
exist, so the pod log API fails for it as it does when no kubelet answers (except for
unschedulable). The container is the pod's first unless --container names one; the other containers are
simulated Running and ready. Earlier simulated events about the pod are deleted first.
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
  # Serialize concurrent builds (several worktrees share the cache).
  mkdir -p "$K8S_CACHE"
  exec 9>"$K8S_CACHE/.build.lock"
  if ! flock -n 9; then
    log "another build is running; waiting for it (lock $K8S_CACHE/.build.lock)"
    flock 9
  fi
  if have_binaries; then
    exec 9>&-
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
    cp "$out" "$BIN_DIR/$built.tmp.$$"
    mv "$BIN_DIR/$built.tmp.$$" "$BIN_DIR/$built"
  done
  rm -rf "$scratch"
  trap - EXIT
  exec 9>&- # release the build lock (not to be inherited by peers started next)
  log "built in $(($(date +%s) - started)) s: $BIN_DIR"
  "$APISERVER" --version >&2
}

# ---------------------------------------------------------------- helpers

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd -P); }

# Print N distinct free TCP ports on 127.0.0.1 (all bound at once, then freed).
free_ports() {
  python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$1"
}

# Alive and not a zombie (an exited child not yet reaped by its new parent).
pid_alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# True if PID is alive and its executable's base name is NAME (guards against
# PID reuse: we only ever signal processes we started).
pid_is() {
  local pid=$1 name=$2 argv0
  pid_alive "$pid" || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0
  argv0=$({ tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | head -n1)
  [ "$(basename "$argv0")" = "$name" ]
}

record_pid() { printf '%s %s\n' "$2" "$3" >>"$1/pids"; }

b64() { base64 -w0 <"$1"; }

# ------------------------------------------------------------------ certs

make_certs() {
  local d=$1
  if [ -s "$d/ca.crt" ] && [ -s "$d/ca.key" ] && [ -s "$d/apiserver.crt" ] &&
    [ -s "$d/sa.key" ] && [ -s "$d/sa.pub" ] && [ -s "$d/admin.crt" ]; then
    return 0
  fi
  log "creating throwaway CA and certificates in $d"
  (
    umask 077
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -keyout ca.key -out ca.crt -subj "/CN=sgk-test-ca" 2>/dev/null
    printf '%s\n' \
      "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost" >apiserver.ext
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout apiserver.key \
      -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    printf '%s\n' \
      "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >client.ext
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout admin.key \
      -out admin.csr -subj "/O=system:masters/CN=sgk-admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile client.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f apiserver.csr admin.csr ca.srl
    chmod 644 ca.crt apiserver.crt admin.crt sa.pub
  ) || die "openssl failed while creating certificates in $d"
}

write_kubeconfigs() {
  local d=$1 server=$2 token=$3
  (
    umask 077
    cat >"$d/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sgk-test
  cluster:
    server: $server
    certificate-authority-data: $(b64 "$d/ca.crt")
users:
- name: sgk-admin
  user:
    token: $token
contexts:
- name: sgk-test
  context:
    cluster: sgk-test
    user: sgk-admin
    namespace: default
current-context: sgk-test
EOF
    cat >"$d/kubeconfig-cert" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sgk-test
  cluster:
    server: $server
    certificate-authority-data: $(b64 "$d/ca.crt")
users:
- name: sgk-admin-cert
  user:
    client-certificate-data: $(b64 "$d/admin.crt")
    client-key-data: $(b64 "$d/admin.key")
contexts:
- name: sgk-test
  context:
    cluster: sgk-test
    user: sgk-admin-cert
    namespace: default
current-context: sgk-test
EOF
  )
  printf '%s\n' "$server" >"$d/server"
  printf 'export KUBECONFIG=%q\n' "$d/kubeconfig" >"$d/env"
  [ -s "$d/kubeconfig" ] && [ -s "$d/kubeconfig-cert" ] && [ -s "$d/server" ] && [ -s "$d/env" ]
}

readyz() {
  local d=$1
  curl -fsS --max-time 3 --cacert "$d/ca.crt" \
    -H "Authorization: Bearer $(cat "$d/token")" "$(cat "$d/server")/readyz" >/dev/null 2>&1
}

# Are all recorded processes of STATE_DIR alive?
all_recorded_alive() {
  local d=$1 name pid n=0
  [ -s "$d/pids" ] || return 1
  while read -r name pid; do
    pid_is "$pid" "$name" || return 1
    n=$((n + 1))
  done <"$d/pids"
  [ "$n" -eq 3 ]
}

# ------------------------------------------------------------------ start

# Start etcd, kube-apiserver and kube-controller-manager on fresh free ports
# and wait for /readyz. Returns 0 when ready, 3 when a chosen port was taken
# meanwhile, 4 when the kube-apiserver stalled before its first log line (the
# caller starts again), 1 on any other failure; stops what it started.
launch_peer() {
  local state=$1 token=$2 runtime_config=$3
  # Called as `launch_peer ... || rc=$?`, so errexit is off in here: every
  # step that can fail is checked explicitly.
  local etcd_client="" etcd_peer="" api_port="" ports
  ports=$(free_ports 3) || { log "error: could not pick free ports"; return 1; }
  read -r etcd_client etcd_peer api_port <<<"$ports"
  [ -n "$api_port" ] || { log "error: could not pick free ports"; return 1; }
  local server="https://127.0.0.1:$api_port"

  local data_base=/dev/shm
  [ -d "$data_base" ] && [ -w "$data_base" ] || data_base=$state
  local etcd_data
  etcd_data=$(mktemp -d "$data_base/sgk-etcd.XXXXXXXX") ||
    { log "error: cannot create an etcd data dir in $data_base"; return 1; }
  if ! { printf '%s\n' "$etcd_data" >"$state/etcd-data-dir" && : >"$state/pids"; }; then
    log "error: cannot write to $state"
    return 1
  fi
  local i marker
  marker=$(printf '%s' "$state" | cksum | cut -d' ' -f1)

  log "starting etcd on 127.0.0.1:$etcd_client (data $etcd_data)"
  nohup etcd --name "sgk-$marker" --data-dir "$etcd_data" \
    --listen-client-urls "http://127.0.0.1:$etcd_client" \
    --advertise-client-urls "http://127.0.0.1:$etcd_client" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "sgk-$marker=http://127.0.0.1:$etcd_peer" \
    --initial-cluster-state new --log-level warn \
    </dev/null >"$state/etcd.log" 2>&1 &
  record_pid "$state" etcd $!

  for ((i = 0; i < 100; i++)); do
    curl -fsS --max-time 2 "http://127.0.0.1:$etcd_client/health" >/dev/null 2>&1 && break
    pid_alive "$(awk '$1=="etcd"{print $2}' "$state/pids")" || break
    sleep 0.2
  done
  if ! curl -fsS --max-time 2 "http://127.0.0.1:$etcd_client/health" >/dev/null 2>&1; then
    cmd_stop "$state"
    if grep -q 'address already in use' "$state/etcd.log"; then
      log "etcd: a chosen port was taken meanwhile"
      return 3
    fi
    tail -n 20 "$state/etcd.log" >&2 || true
    log "error: etcd did not become healthy (log: $state/etcd.log)"
    return 1
  fi

  log "starting kube-apiserver on $server${runtime_config:+ (--runtime-config=$runtime_config)}"
  local api_args=(
    --etcd-servers="http://127.0.0.1:$etcd_client"
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1
    --secure-port="$api_port" --insecure-port=0
    --tls-cert-file="$state/apiserver.crt" --tls-private-key-file="$state/apiserver.key"
    --client-ca-file="$state/ca.crt"
    --token-auth-file="$state/tokens.csv"
    --authorization-mode=RBAC --anonymous-auth=false
    --service-account-issuer="$(cat "$state/issuer" 2>/dev/null || echo https://kubernetes.default.svc)"
    --service-account-key-file="$state/sa.pub"
    --service-account-signing-key-file="$state/sa.key"
    --service-cluster-ip-range=10.0.0.0/24
    --disable-admission-plugins=ServiceAccount
    --allow-privileged=true --endpoint-reconciler-type=none
    --cert-dir="$state/apiserver-certs"
  )
  [ -z "$runtime_config" ] || api_args+=(--runtime-config="$runtime_config")
  # Bearer tokens the token file does not know are asked of a TokenReview webhook (as EKS asks
  # its authenticator about k8s-aws-v1. tokens).
  if [ -s "$state/token-webhook.kubeconfig" ]; then
    api_args+=(--authentication-token-webhook-config-file="$state/token-webhook.kubeconfig"
               --authentication-token-webhook-version=v1 --authentication-token-webhook-cache-ttl=0s)
  fi
  # Audit log of every write (reads are not logged), one JSON line per request
  # once answered: tests count a client's writes (its userAgent) at the server.
  if printf '%s\n' \
    "apiVersion: audit.k8s.io/v1" \
    "kind: Policy" \
    "omitStages: [RequestReceived]" \
    "rules:" \
    "- level: None" \
    "  verbs: [get, list, watch]" \
    "- level: Metadata" >"$state/audit-policy.yaml"; then
    api_args+=(--audit-policy-file="$state/audit-policy.yaml" --audit-log-path="$state/audit.log"
      --audit-log-maxsize=200 --audit-log-maxbackup=1)
  fi
  nohup "$APISERVER" "${api_args[@]}" </dev/null >"$state/kube-apiserver.log" 2>&1 &
  record_pid "$state" kube-apiserver $!

  if ! write_kubeconfigs "$state" "$server" "$token"; then
    cmd_stop "$state"
    log "error: cannot write kubeconfigs in $state"
    return 1
  fi

  log "starting kube-controller-manager"
  nohup "$CONTROLLER_MANAGER" --kubeconfig="$state/kubeconfig-cert" \
    --leader-elect=false --secure-port=0 --port=0 \
    --service-account-private-key-file="$state/sa.key" \
    --root-ca-file="$state/ca.crt" \
    --controllers='*,-nodeipam,-nodelifecycle,-attachdetach,-persistentvolume-binder,-csrsigning,-cloud-node-lifecycle,-service,-route' \
    </dev/null >"$state/kube-controller-manager.log" 2>&1 &
  record_pid "$state" kube-controller-manager $!

  local deadline=$((SECONDS + READY_TIMEOUT)) stalled=$((SECONDS + 30)) ok=false
  while [ "$SECONDS" -lt "$deadline" ]; do
    if readyz "$state"; then ok=true; break; fi
    local alive=true
    all_recorded_alive "$state" || alive=false
    # Seen once: a kube-apiserver that never wrote a line and never became ready. It logs
    # within a second of a normal start, so 30 s of silence (or the controller-manager giving
    # up on it first) is a stalled start: begin again.
    if { ! $alive || [ "$SECONDS" -ge "$stalled" ]; } && [ ! -s "$state/kube-apiserver.log" ]; then
      cmd_stop "$state"
      log "kube-apiserver wrote nothing$($alive && echo " in 30 s"): a stalled start"
      return 4
    fi
    $alive || break
    sleep 0.25
  done
  if ! $ok || ! all_recorded_alive "$state"; then
    if grep -q 'address already in use' "$state/kube-apiserver.log"; then
      cmd_stop "$state"
      log "kube-apiserver: port $api_port was taken meanwhile"
      return 3
    fi
    {
      printf '%s: error: peer in %s did not become ready within %ss\n' "$PROG" "$state" "$READY_TIMEOUT"
      local name pid
      while read -r name pid; do
        pid_is "$pid" "$name" || printf '%s: %s (pid %s) has exited\n' "$PROG" "$name" "$pid"
      done <"$state/pids"
      printf -- '--- errors in %s/kube-apiserver.log\n' "$state"
      grep -E '^[EF][0-9]{4} ' "$state/kube-apiserver.log" 2>/dev/null | tail -n 10 || true
      printf -- '--- tail of %s/kube-apiserver.log\n' "$state"
      tail -n 30 "$state/kube-apiserver.log" 2>/dev/null || true
      printf -- '--- tail of %s/kube-controller-manager.log\n' "$state"
      tail -n 10 "$state/kube-controller-manager.log" 2>/dev/null || true
    } >&2
    cmd_stop "$state"
    return 1
  fi
}

cmd_start() {
  local state="" no_v1beta1=false webhook="" issuer="" arg
  while [ "$#" -gt 0 ]; do
    arg=$1; shift
    case "$arg" in
      --no-v1beta1) no_v1beta1=true ;;
      --token-webhook) [ "$#" -gt 0 ] || die "--token-webhook needs a URL"; webhook=$1; shift ;;
      --issuer) [ "$#" -gt 0 ] || die "--issuer needs a URL"; issuer=$1; shift ;;
      -*) usage >&2; die "unknown option $arg" ;;
      *) [ -z "$state" ] || { usage >&2; exit 2; }; state=$arg ;;
    esac
  done
  [ -n "$state" ] || { usage >&2; exit 2; }
  state=$(abs_dir "$state")
  mkdir -p "$state"
  if [ -n "$webhook" ]; then
    case "$webhook" in http://127.* | https://127.* | http://localhost* | https://localhost*) ;;
      *) die "--token-webhook must be a loopback URL, not $webhook" ;; esac
    printf '%s\n' "apiVersion: v1" "kind: Config" \
      "clusters: [{name: webhook, cluster: {server: \"$webhook\"}}]" \
      "users: [{name: kube-apiserver, user: {}}]" \
      "contexts: [{name: webhook, context: {cluster: webhook, user: kube-apiserver}}]" \
      "current-context: webhook" >"$state/token-webhook.kubeconfig"
  else
    rm -f "$state/token-webhook.kubeconfig"
  fi

  # The issuer of the service account tokens it mints (an EKS cluster's is its OIDC issuer URL;
  # only written into tokens, never contacted).
  case "$issuer" in "" | https://*) ;; *) die "--issuer must be an https:// URL, not $issuer" ;; esac
  printf '%s\n' "${issuer:-https://kubernetes.default.svc}" >"$state/issuer"

  if all_recorded_alive "$state" && [ -s "$state/server" ] && readyz "$state"; then
    log "peer already running in $state ($(cat "$state/server"))"
    return 0
  fi
  if [ -s "$state/pids" ]; then
    log "stale peer state in $state: stopping leftovers first"
    cmd_stop "$state"
  fi

  have_binaries || cmd_build
  ensure_packages etcd-server openssl curl
  command -v etcd >/dev/null || die "etcd not on PATH (package etcd-server)"

  local t0 runtime_config="" attempt rc
  t0=$(date +%s.%N)
  if $no_v1beta1; then
    runtime_config="apiextensions.k8s.io/v1beta1=false"
    printf 'no-v1beta1\n' >"$state/mode"
  else
    printf 'default\n' >"$state/mode"
  fi
  make_certs "$state"
  [ -s "$state/token" ] || (umask 077 && openssl rand -hex 24 >"$state/token")
  local token
  token=$(cat "$state/token")
  (umask 077 && printf '%s,admin,admin-uid,"system:masters"\n' "$token" >"$state/tokens.csv")

  for attempt in 1 2 3; do
    rc=0
    launch_peer "$state" "$token" "$runtime_config" || rc=$?
    [ "$rc" -eq 3 ] || [ "$rc" -eq 4 ] || break
    [ "$attempt" -lt 3 ] || break
    log "starting again on other ports (attempt $((attempt + 1)) of 3)"
  done
  [ "$rc" -eq 0 ] || die "could not start the peer in $state (logs: $state/*.log)"
  log "ready in $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s: $(cat "$state/server")"
  log "use: source $state/env   (or kubectl --kubeconfig $state/kubeconfig)"
}

# ------------------------------------------------------------------- stop

cmd_stop() {
  [ "$#" -eq 1 ] || { usage >&2; exit 2; }
  local state=$1
  [ -d "$state" ] || { log "no state dir $state; nothing to stop"; return 0; }
  state=$(cd "$state" && pwd -P)

  local name pid live=() names=()
  if [ -s "$state/pids" ]; then
    # Stop in reverse start order: controller-manager, apiserver, etcd.
    while read -r name pid; do
      if pid_is "$pid" "$name"; then
        live=("$pid" "${live[@]}")
        names=("$name" "${names[@]}")
      fi
    done <"$state/pids"
  fi
  local i
  for i in "${!live[@]}"; do
    kill -TERM "${live[$i]}" 2>/dev/null || true
  done
  local waited=0
  while [ "$waited" -lt 100 ]; do
    local any=false
    for i in "${!live[@]}"; do
      pid_is "${live[$i]}" "${names[$i]}" && any=true
    done
    $any || break
    sleep 0.1
    waited=$((waited + 1))
  done
  for i in "${!live[@]}"; do
    if pid_is "${live[$i]}" "${names[$i]}"; then
      log "${names[$i]} (pid ${live[$i]}) ignored TERM; sending KILL"
      kill -KILL "${live[$i]}" 2>/dev/null || true
    fi
  done
  [ "${#live[@]}" -eq 0 ] || log "stopped ${names[*]} in $state"
  rm -f "$state/pids"

  if [ -s "$state/etcd-data-dir" ]; then
    local data
    data=$(cat "$state/etcd-data-dir")
    case "$data" in
      /dev/shm/sgk-etcd.* | "$state"/sgk-etcd.*) rm -rf "$data" ;;
      *) log "not removing unexpected etcd data dir '$data'" ;;
    esac
    rm -f "$state/etcd-data-dir"
  fi
}

# -------------------------------------------------------------- ready-pod

# The pods of SELECTOR in NS, one `pod/NAME` a line, once there are any: the Deployment ->
# ReplicaSet -> Pod chain takes a moment (30 s at most).
wait_for_pods() { # STATE NS SELECTOR
  local pods=() deadline=$((SECONDS + 30))
  while :; do
    mapfile -t pods < <(kubectl --kubeconfig "$1/kubeconfig" -n "$2" get pods -l "$3" -o name 2>/dev/null)
    [ "${#pods[@]}" -eq 0 ] || break
    [ "$SECONDS" -lt "$deadline" ] || die "no pods matching '$3' in namespace $2 after 30 s"
    sleep 0.5
  done
  printf '%s\n' "${pods[@]}"
}

cmd_ready_pod() {
  [ "$#" -eq 3 ] || { usage >&2; exit 2; }
  local state=$1 ns=$2 selector=$3
  [ -s "$state/kubeconfig" ] || die "no kubeconfig in $state (is the peer started?)"
  command -v kubectl >/dev/null || die "kubectl not on PATH (run tools/setup.sh)"
  local kc=(kubectl --kubeconfig "$state/kubeconfig" -n "$ns")

  local pods=()
  mapfile -t pods < <(wait_for_pods "$state" "$ns" "$selector") || exit 1
  [ "${#pods[@]}" -gt 0 ] || exit 1

  local pod patch
  for pod in "${pods[@]}"; do
    patch=$("${kc[@]}" get "$pod" -o json | python3 -c '
import json, sys, datetime
pod = json.load(sys.stdin)
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
def cstatus(c):
    return {"name": c["name"], "image": c.get("image", ""),
            "imageID": "docker-pullable://" + c.get("image", ""),
            "containerID": "containerd://sgk-peer-" + c["name"],
            "ready": True, "started": True, "restartCount": 0,
            "state": {"running": {"startedAt": now}}}
spec = pod.get("spec", {})
status = {
    "phase": "Running",
    "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
    "podIPs": [{"ip": "127.0.0.1"}],
    "startTime": now,
    "conditions": [
        {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
        for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
    "containerStatuses": [cstatus(c) for c in spec.get("containers", [])],
}
if spec.get("initContainers"):
    ics = []
    for c in spec["initContainers"]:
        s = cstatus(c); s["ready"] = True; s["started"] = False
        s["state"] = {"terminated": {"exitCode": 0, "reason": "Completed",
                                     "startedAt": now, "finishedAt": now}}
        ics.append(s)
    status["initContainerStatuses"] = ics
print(json.dumps({"status": status}))
') || die "could not read $pod"
    "${kc[@]}" patch "$pod" --subresource=status --type=merge -p "$patch" >/dev/null ||
      die "patching status of $pod failed"
    log "marked $pod Running/Ready in namespace $ns"
  done
}

# -------------------------------------------------------------- bind-eks

# Binds an EKS cluster (a moto cluster's ARN) to the peer, as `aws eks update-kubeconfig` binds a
# real one: a cluster entry and a context named by the ARN, with the server, CA and user of the
# kubeconfig's current context. The current context is left as it is. sgk's cluster binding
# (`eks bind`) then finds this context by the ARN: the tests and the sandbox state the binding
# explicitly, since moto's endpoints are fake.
cmd_bind_eks() {
  [ "$#" -eq 2 ] || { usage >&2; exit 2; }
  local kubeconfig=$1 arn=$2
  [ -s "$kubeconfig" ] || die "no kubeconfig at $kubeconfig"
  python3 - "$kubeconfig" "$arn" <<'PY' || die "could not add the context $arn to $kubeconfig"
import os, sys, yaml
path, arn = sys.argv[1:]
k = yaml.safe_load(open(path))
cur = next(c for c in k["contexts"] if c["name"] == k["current-context"])["context"]
cluster = next(c for c in k["clusters"] if c["name"] == cur["cluster"])["cluster"]
k["clusters"] = [c for c in k["clusters"] if c["name"] != arn] + [{"name": arn, "cluster": dict(cluster)}]
k["contexts"] = [c for c in k["contexts"] if c["name"] != arn] + [{"name": arn, "context": {"cluster": arn, "user": cur["user"]}}]
tmp = path + ".tmp"
with open(tmp, "w") as f:
    yaml.safe_dump(k, f, sort_keys=False)
os.chmod(tmp, os.stat(path).st_mode & 0o777)
os.replace(tmp, path)
PY
}

# -------------------------------------------------------------- pod-state (simulated)

cmd_pod_state() {
  [ "$#" -ge 4 ] || { usage >&2; exit 2; }
  local state=$1 ns=$2 selector=$3 what=$4
  shift 4
  local container="" message=""
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --container) container=${2:?--container NAME}; shift 2 ;;
      --message) message=${2:?--message TEXT}; shift 2 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
  case "$what" in
    image-pull | crash-loop | oom | config-error | unschedulable | stale-role) ;;
    *) die "unknown state '$what' (image-pull, crash-loop, oom, config-error, unschedulable, stale-role)" ;;
  esac
  [ -s "$state/kubeconfig" ] || die "no kubeconfig in $state (is the peer started?)"
  command -v kubectl >/dev/null || die "kubectl not on PATH (run tools/setup.sh)"
  local kc=(kubectl --kubeconfig "$state/kubeconfig" -n "$ns")

  if [ "$what" = stale-role ]; then
    cmd_ready_pod "$state" "$ns" "$selector"
    local sa pod
    pod=$("${kc[@]}" get pods -l "$selector" -o name | head -n1)
    sa=$("${kc[@]}" get "$pod" -o jsonpath='{.spec.serviceAccountName}')
    local role
    role=$("${kc[@]}" get serviceaccount "$sa" -o jsonpath='{.metadata.annotations.eks\.amazonaws\.com/role-arn}')
    [ -n "$role" ] || die "service account $ns/$sa has no eks.amazonaws.com/role-arn to set again"
    # EKS's pod identity webhook, as a name only: its one rule matches no object (objectSelector),
    # so the API server never calls it. Diagnoses look for it to know AWS_ROLE_ARN gets injected.
    "${kc[@]}" apply -f - >/dev/null <<'YAML' || die "creating the simulated pod-identity-webhook failed"
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: pod-identity-webhook
  annotations:
    sgk.dev/simulated: "kube-peer.sh pod-state stale-role: a stand-in for EKS's webhook; it matches no object and is never called"
webhooks:
- name: iam-for-pods.amazonaws.com
  admissionReviewVersions: ["v1"]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig:
    url: https://127.0.0.1:9/simulated-never-called
  objectSelector:
    matchLabels:
      sgk.dev/simulated-never: "true"
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
YAML
    sleep 1.1  # managedFields times are in seconds: the new one must be later than the pods'
    "${kc[@]}" annotate serviceaccount "$sa" eks.amazonaws.com/role-arn- --field-manager kube-peer-simulated >/dev/null ||
      die "removing the annotation of $ns/$sa failed"
    "${kc[@]}" annotate serviceaccount "$sa" "eks.amazonaws.com/role-arn=$role" --field-manager kube-peer-simulated >/dev/null ||
      die "annotating $ns/$sa failed"
    log "SIMULATED: service account $ns/$sa annotated again ($role), after its pods started"
    return 0
  fi

  local pods=()
  mapfile -t pods < <(wait_for_pods "$state" "$ns" "$selector") || exit 1
  [ "${#pods[@]}" -gt 0 ] || exit 1

  local pod out patch events
  for pod in "${pods[@]}"; do
    "${kc[@]}" delete events -l "sgk.dev/simulated-for=${pod#pod/}" >/dev/null 2>&1 || true
    out=$("${kc[@]}" get "$pod" -o json | STATE="$what" CONTAINER="$container" MESSAGE="$message" python3 -c '
import json, os, sys, datetime
pod = json.load(sys.stdin)
what, want, message = os.environ["STATE"], os.environ["CONTAINER"], os.environ["MESSAGE"]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
spec, meta = pod.get("spec", {}), pod["metadata"]
containers = spec.get("containers", [])
names = [c["name"] for c in containers]
if want and want not in names:
    sys.exit("no container %s in pod %s (it has %s)" % (want, meta["name"], ", ".join(names)))
target = want or names[0]
events = []
def event(reason, msg, component, field=None):
    obj = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
           "apiVersion": "v1", "resourceVersion": meta.get("resourceVersion", "")}
    if field: obj["fieldPath"] = field
    events.append({"apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": meta["name"] + ".simulated-", "namespace": meta["namespace"],
                     "labels": {"sgk.dev/simulated-for": meta["name"]},
                     "annotations": {"sgk.dev/simulated": "kube-peer.sh pod-state " + what + ": no kubelet or scheduler said this"}},
        "involvedObject": obj, "reason": reason, "message": msg, "type": "Warning",
        "source": {"component": component}, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        "reportingComponent": component, "reportingInstance": "kube-peer-simulated"})
def running(c):
    return {"name": c["name"], "image": c.get("image", ""), "imageID": "docker-pullable://" + c.get("image", ""),
            "containerID": "containerd://sgk-peer-" + c["name"], "ready": True, "started": True,
            "restartCount": 0, "state": {"running": {"startedAt": now}}}
def waiting(c, reason, msg, last=None, restarts=0):
    s = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "started": False,
         "restartCount": restarts, "state": {"waiting": {"reason": reason, "message": msg}}}
    if last: s["lastState"] = {"terminated": dict(last, startedAt=now, finishedAt=now,
                                                   containerID="containerd://sgk-peer-" + c["name"])}
    return s
cond = lambda t, st, reason=None, msg=None: {k: v for k, v in {"type": t, "status": st, "reason": reason, "message": msg,
    "lastProbeTime": None, "lastTransitionTime": now}.items() if v is not None or k == "lastProbeTime"}
if what == "unschedulable":
    msg = message or "0/3 nodes are available: 3 Insufficient memory."
    status = {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable", msg)],
              "containerStatuses": None, "hostIP": None, "podIP": None, "podIPs": None, "startTime": None}
    event("FailedScheduling", msg, "default-scheduler")
else:
    statuses = []
    for c in containers:
        if c["name"] != target:
            statuses.append(running(c)); continue
        field = "spec.containers{%s}" % c["name"]
        img = c.get("image", "")
        if what == "image-pull":
            q = json.dumps(img)  # the image in double quotes, as the kubelet writes it
            registry = message or ("failed to pull and unpack image %s: failed to resolve reference %s: %s: not found" % (q, q, img))
            statuses.append(waiting(c, "ImagePullBackOff", "Back-off pulling image %s" % q))
            event("Failed", "Failed to pull image %s: rpc error: code = NotFound desc = %s" % (q, registry), "kubelet", field)
            event("Failed", "Error: ImagePullBackOff", "kubelet", field)
        elif what == "crash-loop":
            statuses.append(waiting(c, "CrashLoopBackOff", "back-off 5m0s restarting failed container=%s pod=%s" % (c["name"], meta["name"]),
                                    {"exitCode": 1, "reason": "Error"}, restarts=6))
            event("BackOff", "Back-off restarting failed container", "kubelet", field)
        elif what == "oom":
            statuses.append(waiting(c, "CrashLoopBackOff", "back-off 2m40s restarting failed container=%s pod=%s" % (c["name"], meta["name"]),
                                    {"exitCode": 137, "reason": "OOMKilled"}, restarts=4))
            event("BackOff", "Back-off restarting failed container", "kubelet", field)
        elif what == "config-error":
            msg = message or "configmap %s not found" % json.dumps("sagemaker-operator-config")
            statuses.append(waiting(c, "CreateContainerConfigError", msg))
            event("Failed", "Error: " + msg, "kubelet", field)
    status = {"phase": "Pending" if what in ("image-pull", "config-error") else "Running",
              "hostIP": "127.0.0.1", "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}], "startTime": now,
              "conditions": [cond("PodScheduled", "True"), cond("Initialized", "True"),
                             cond("ContainersReady", "False", "ContainersNotReady", "containers with unready status: [%s]" % target),
                             cond("Ready", "False", "ContainersNotReady", "containers with unready status: [%s]" % target)],
              "containerStatuses": statuses}
print(json.dumps({"patch": {"status": status}, "events": events}))
') || die "could not simulate $what on $pod"
    if [ "$what" != unschedulable ] && [ -z "$("${kc[@]}" get "$pod" -o jsonpath='{.spec.nodeName}')" ]; then
      # Bound to a node that does not exist (as the scheduler binds, through pods/binding): the
      # pod log API then asks for that node and fails, as it does when no kubelet answers.
      printf '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"%s"},"target":{"apiVersion":"v1","kind":"Node","name":"kube-peer-simulated-node"}}' "${pod#pod/}" |
        "${kc[@]}" create --raw "/api/v1/namespaces/$ns/pods/${pod#pod/}/binding" -f - >/dev/null || die "binding $pod failed"
    fi
    patch=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["patch"]))')
    events=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.dumps({"apiVersion":"v1","kind":"List","items":json.load(sys.stdin)["events"]}))')
    "${kc[@]}" patch "$pod" --subresource=status --type=merge -p "$patch" >/dev/null ||
      die "patching status of $pod failed"
    printf '%s' "$events" | "${kc[@]}" create -f - >/dev/null || die "creating the events of $pod failed"
    log "SIMULATED: $pod in namespace $ns is now '$what' (status patched, events created; no kubelet ran anything)"
  done
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  bind-eks) shift; cmd_bind_eks "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  ready-pod) shift; cmd_ready_pod "$@" ;;
  pod-state) shift; cmd_pod_state "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
