#!/usr/bin/env bash
# `echo-build shell`: an interactive shell in the sandbox a package's steps get, with its sources unpacked.
. "$(dirname "$0")/../lib/common.sh"
EB=$ECHO_BUILD
cp -r "$ECHO_SOURCE_DIR/recipes" "$T/recipes"
printf 'ls /build; hostname; id -u; echo dest=$(ls -A /dest | wc -l); touch /usr/x 2>&1 | grep -c Read-only; exit 7\n' \
  | "$EB" --recipes "$T/recipes" --store "$T/store" --cache-dir "$T/cache" shell echo-hello >"$T/out" 2>"$T/err" && rc=0 || rc=$?
[ "$rc" = 6 ] || { cat "$T/err"; fail "shell: expected exit 6 for a shell that exits 7, got $rc"; }
assert_contains "$T/err" "shell exited with status 7"
for want in Makefile echo-hello.c echo-build "0" "dest=0" "1"; do grep -qx -- "$want" "$T/out" || { cat "$T/out"; fail "shell output lacks '$want'"; }; done
# The shell's work directory is thrown away: nothing of it lands in the store.
[ -z "$(ls -A "$T/store" 2>/dev/null | grep -v '^\.tmp' || true)" ] || fail "the shell left a store entry"
echo PASS
