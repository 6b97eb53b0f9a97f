# Shared helpers for tests/e2e/*.sh. Source it: `. "$ECHO_SOURCE_DIR/tests/lib/common.sh"`.
# Conventions: exit 0 pass, 77 skip (print why), anything else fail. Every test works in its own $T dir.
set -euo pipefail

: "${ECHO_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${ECHO_BUILD:=$ECHO_SOURCE_DIR/build/echo-build}"
export ECHO_SOURCE_DIR ECHO_BUILD

T=$(mktemp -d "${TMPDIR:-/tmp}/echo-e2e.XXXXXX")
chmod 755 "$T"
# Temp files of everything the test runs go under $T: a process the test kills on purpose (kill -9 mid-build)
# leaves its temp dirs here, removed with $T, instead of in /tmp.
mkdir -m 1777 "$T/.tmp"
export TMPDIR="$T/.tmp"
_cleanups=()
on_exit() { local rc=$?; for c in "${_cleanups[@]}"; do eval "$c" || true; done; rm -rf "$T" 2>/dev/null || { chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"; }; exit $rc; }
trap on_exit EXIT
add_cleanup() { _cleanups+=("$1"); }

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"; done; }
# jget EXPR: a value out of the JSON on stdin, by a Python subscript: jget '["digest"]'
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

# expect_fail CODE CMD...: runs CMD, requires exit code CODE, leaves its stderr in $T/err and stdout in $T/out.
expect_fail() {
  local want=$1; shift
  set +e; "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat "$T/err" >&2; fail "expected exit $want from '$*', got $rc"; }
}
# assert_contains FILE TEXT
assert_contains() { grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "'$2' not found in $1"; }; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_registry: starts Debian's docker-registry on 127.0.0.1:$REGISTRY_PORT; sets REGISTRY=127.0.0.1:PORT.
start_registry() {
  need docker-registry
  REGISTRY_PORT=$(free_port)
  mkdir -p "$T/registry/data"
  cat >"$T/registry/config.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $T/registry/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$REGISTRY_PORT
YML
  docker-registry serve "$T/registry/config.yml" >"$T/registry/log" 2>&1 &
  local pid=$!
  add_cleanup "kill $pid"
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null || { cat "$T/registry/log"; fail "docker-registry did not start"; }
  REGISTRY=127.0.0.1:$REGISTRY_PORT
  export REGISTRY REGISTRY_PORT
}

# podman_setup: a private containers.conf (runc, explicit ulimits) and storage for this test only.
podman_setup() {
  need podman runc
  mkdir -p "$T/containers"
  cat >"$T/containers/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  cat >"$T/containers/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$T/containers/storage"
runroot = "$T/containers/run"
CONF
  cat >"$T/containers/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
location = "$REGISTRY"
insecure = true
CONF
  export CONTAINERS_CONF="$T/containers/containers.conf"
  export CONTAINERS_STORAGE_CONF="$T/containers/storage.conf"
  export CONTAINERS_REGISTRIES_CONF="$T/containers/registries.conf"
}
