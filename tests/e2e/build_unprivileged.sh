#!/usr/bin/env bash
# The build, store and source end-to-end tests again as the unprivileged user cloudsdk: user namespaces map
# the sandbox's uid 0 to uid 1000; RLIMIT_NPROC holds the fork bomb without a cgroup. HOME, TMPDIR, the store
# and the cache are directories cloudsdk owns.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"

if [ "$(id -u)" != 0 ]; then
  skip "already unprivileged: build_adversarial, build_store and source_archives run as this user directly"
fi
id cloudsdk >/dev/null 2>&1 || skip "user cloudsdk does not exist"
command -v setpriv >/dev/null 2>&1 || skip "setpriv is not installed"
uid=$(id -u cloudsdk)
gid=$(id -g cloudsdk)
mkdir -p "$T/home" "$T/tmp"
chown "$uid:$gid" "$T/home" "$T/tmp"
as_user() {
  setpriv --reuid="$uid" --regid="$gid" --clear-groups env -i HOME="$T/home" PATH=/usr/local/bin:/usr/bin:/bin \
    TMPDIR="$T/tmp" LANG=C.UTF-8 ECHO_BUILD="$ECHO_BUILD" ECHO_SOURCE_DIR="$ECHO_SOURCE_DIR" "$@"
}
as_user id -u | grep -qx "$uid" || fail "could not switch to uid $uid"
as_user test -x "$ECHO_BUILD" || skip "$ECHO_BUILD is not executable by cloudsdk (a parent directory is not searchable)"
as_user test -r "$ECHO_SOURCE_DIR/tests/lib/common.sh" || skip "$ECHO_SOURCE_DIR is not readable by cloudsdk"

cd "$T/tmp"
# The example built as root and as cloudsdk: same store key, same tree (names, modes, sizes, mtimes, bytes).
tree_digest() {
  (cd "$1" && find . -printf '%p %y %m %s %T@ %l\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z |
    xargs -0r sha256sum)
}
"$ECHO_BUILD" --recipes "$ECHO_SOURCE_DIR/recipes" --store "$T/root-store" --cache-dir "$T/root-cache" build echo-hello \
  >"$T/root.out" 2>"$T/err" || { cat "$T/err"; fail "echo-hello as root failed"; }
as_user "$ECHO_BUILD" --recipes "$ECHO_SOURCE_DIR/recipes" --store "$T/home/store" --cache-dir "$T/home/cache" \
  build echo-hello >"$T/user.out" 2>"$T/err" || { cat "$T/err"; fail "echo-hello as cloudsdk failed"; }
root_out=$(sed -n 's/^echo-hello [^:]*: //p' "$T/root.out") user_out=$(sed -n 's/^echo-hello [^:]*: //p' "$T/user.out")
[ "$(basename "$(dirname "$root_out")")" = "$(basename "$(dirname "$user_out")")" ] ||
  fail "store keys differ between root and cloudsdk: $root_out vs $user_out"
diff <(tree_digest "$root_out") <(tree_digest "$user_out") || fail "echo-hello differs between root and cloudsdk"
[ "$(stat -c %u "$user_out/usr/bin/echo-hello")" = "$uid" ] || fail "cloudsdk's output is not owned by uid $uid"
echo "ok: echo-hello identical (key and tree) as root and as cloudsdk"

for t in build_adversarial build_store source_archives; do
  echo "=== $t as cloudsdk (uid $uid)"
  set +e; as_user bash "$ECHO_SOURCE_DIR/tests/e2e/$t.sh"; rc=$?; set -e
  [ "$rc" = 0 ] || fail "$t failed as cloudsdk (exit $rc)"
done
echo "PASS: build_adversarial, build_store and source_archives as cloudsdk (uid $uid)"
