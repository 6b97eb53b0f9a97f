#!/usr/bin/env bash
# The whole sandbox unit suite (real namespaces, adversarial steps) again as the unprivileged user cloudsdk:
# user namespaces map the sandbox's uid 0 to uid 1000, RLIMIT_NPROC holds the fork bomb without a cgroup.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"

bin="${ECHO_BINARY_DIR:-$ECHO_SOURCE_DIR/build}/tests/echo_unit_sandbox"
[ -x "$bin" ] || skip "sandbox unit binary $bin is not built"

if [ "$(id -u)" != 0 ]; then
  # Already unprivileged: run it as we are.
  exec "$bin"
fi
id cloudsdk >/dev/null 2>&1 || skip "user cloudsdk does not exist"
uid=$(id -u cloudsdk)
gid=$(id -g cloudsdk)
home=$(getent passwd cloudsdk | cut -d: -f6)

if command -v setpriv >/dev/null 2>&1; then
  as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups env -i HOME="$home" PATH=/usr/bin:/bin \
    TMPDIR="$T/tmp" "$@"; }
elif command -v runuser >/dev/null 2>&1; then
  as_user() { runuser -u cloudsdk -- env -i HOME="$home" PATH=/usr/bin:/bin TMPDIR="$T/tmp" "$@"; }
else
  skip "neither setpriv nor runuser is installed"
fi
mkdir -p "$T/tmp"
chown "$uid:$gid" "$T/tmp"
as_user test -x "$bin" || skip "$bin is not executable by cloudsdk (a parent directory is not world-searchable)"
as_user id -u | grep -qx "$uid" || fail "could not switch to uid $uid"

cd "$T/tmp"
as_user "$bin" || fail "sandbox unit tests failed as cloudsdk (uid $uid)"
echo "PASS: sandbox unit suite as cloudsdk (uid $uid)"
