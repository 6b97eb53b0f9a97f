#!/usr/bin/env bash
# The content-addressed store through the real CLI: cache hits, what changes a key, bit-identical outputs
# from two checkouts (-j1/-j2), kill -9 and Ctrl-C at several points, two concurrent builds.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need cc make setsid sha256sum

STORE=$T/store CACHE=$T/cache R=$T/recipes
mkdir -p "$R/packages/src"
eb() { "$ECHO_BUILD" --recipes "$R" --store "$STORE" --cache-dir "$CACHE" "$@"; }
# key_of JSON-FILE: the key of the final summary line of `build --json`.
json_field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' "$1" "$2"; }
no_tmp() { ! ls -A "$STORE" | grep -q '^\.tmp-' || { ls -la "$STORE"; fail "$1: a .tmp-* directory is left in the store"; }; }
# tree_digest DIR: names, types, modes, sizes, mtimes, link targets and contents of a tree.
tree_digest() {
  (cd "$1" && find . -printf '%p %y %m %s %T@ %l\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z |
    xargs -0r sha256sum)
}

# 1. No-op rebuild is a cache hit; recipe text, a local source file and a patch each change the key.
printf 'hello v1\n' >"$R/packages/src/msg.txt"
cat >"$R/packages/fix.patch" <<'P'
--- a/msg.txt
+++ b/msg.txt
@@ -1 +1,2 @@
 hello v1
+patched
P
cat >"$R/packages/keyed.yaml" <<'Y'
package:
  name: keyed
  version: 1.0.0
  license: MIT
sources:
  - path: src
patches:
  - fix.patch
pipeline:
  - name: install
    runs: |
      mkdir -p ${{targets.destdir}}/share
      cp msg.txt ${{targets.destdir}}/share/msg.txt
Y
eb --json build keyed >"$T/b1.json" 2>"$T/err" || { cat "$T/err"; fail "first build failed"; }
k1=$(json_field "$T/b1.json" key) out1=$(json_field "$T/b1.json" output)
[ "$(json_field "$T/b1.json" cached)" = False ] || fail "the first build was a cache hit"
[ "$(cat "$out1/share/msg.txt")" = "$(printf 'hello v1\npatched')" ] || fail "wrong output: $(cat "$out1/share/msg.txt")"
eb --json build keyed >"$T/b2.json" 2>"$T/err" || { cat "$T/err"; fail "no-op build failed"; }
grep -q '"event":"cached".*"package":"keyed"' "$T/b2.json" || { cat "$T/b2.json"; fail "no cached event"; }
grep -q '"event":"start"' "$T/b2.json" && fail "the no-op build started a build"
[ "$(json_field "$T/b2.json" cached)" = True ] && [ "$(json_field "$T/b2.json" key)" = "$k1" ] &&
  [ "$(json_field "$T/b2.json" output)" = "$out1" ] || { cat "$T/b2.json"; fail "no-op rebuild: different result"; }
echo "ok: no-op rebuild is a cache hit ($k1)"

rebuilt() { # WHAT EXPECTED-MSG: the build has a new key, is not cached, and has the expected output
  eb --json build keyed >"$T/b.json" 2>"$T/err" || { cat "$T/err"; fail "$1: build failed"; }
  local k; k=$(json_field "$T/b.json" key)
  [ "$k" != "$prev" ] || fail "$1 did not change the key"
  [ "$(json_field "$T/b.json" cached)" = False ] || fail "$1: cache hit after the change"
  [ "$(cat "$(json_field "$T/b.json" output)/share/msg.txt")" = "$(printf "$2")" ] || fail "$1: wrong output"
  prev=$k
  echo "ok: $1 changes the key"
}
prev=$k1
sed -i 's/cp msg.txt/cp -p msg.txt/' "$R/packages/keyed.yaml"
rebuilt "the recipe text" 'hello v1\npatched'
printf 'hello v2\n' >"$R/packages/src/msg.txt"
sed -i 's/^ hello v1/ hello v2/' "$R/packages/fix.patch"
rebuilt "a local source file (and its patch)" 'hello v2\npatched'
sed -i 's/^+patched/+patched again/' "$R/packages/fix.patch"
rebuilt "the patch" 'hello v2\npatched again'
k_before=$prev
eb --json build keyed >"$T/b.json" 2>/dev/null
[ "$(json_field "$T/b.json" key)" = "$k_before" ] && [ "$(json_field "$T/b.json" cached)" = True ] ||
  fail "an unchanged recipe after rebuilds is not a cache hit"

# A relative --store and --cache-dir work (the sandbox binds need absolute paths) and report absolute outputs.
(cd "$T" && "$ECHO_BUILD" --recipes recipes --store rel-store --cache-dir rel-cache --json build keyed) \
  >"$T/rel.json" 2>"$T/err" || { cat "$T/err"; fail "a build with a relative --store failed"; }
[ "$(json_field "$T/rel.json" output)" = "$T/rel-store/$prev/root" ] || fail "relative store: $(cat "$T/rel.json")"
echo "ok: relative --store/--cache-dir"

# A failing step that leaves read-only directories and an unreadable file behind: the store is still clean.
cat >"$R/packages/readonly.yaml" <<'Y'
package:
  name: readonly
  version: 1.0.0
  license: MIT
pipeline:
  - name: leave-readonly
    runs: |
      mkdir -p ro/sub ${{targets.destdir}}/ro/sub
      touch ro/sub/f ${{targets.destdir}}/ro/sub/f
      chmod 0 ro/sub/f ${{targets.destdir}}/ro/sub/f
      chmod 0555 ro/sub ro ${{targets.destdir}}/ro/sub ${{targets.destdir}}/ro
      echo "left read-only trees"; exit 1
Y
expect_fail 6 eb build readonly
assert_contains "$T/err" "left read-only trees"
no_tmp "a failed step with read-only trees"
echo "ok: a failed step with read-only trees leaves the store clean"

# 2. The example from two checkouts in different directories, -j1 and -j2, different stores: identical.
for c in a b; do mkdir -p "$T/$c/deeper"; cp -a "$ECHO_SOURCE_DIR/recipes" "$T/$c/$([ $c = b ] && echo deeper/)"; done
"$ECHO_BUILD" --recipes "$T/a/recipes" --store "$T/sa" --cache-dir "$T/ca" -j 1 --json build echo-hello \
  >"$T/ha.json" 2>"$T/err" || { cat "$T/err"; fail "echo-hello (a, -j1) failed"; }
(cd "$T/b" && "$ECHO_BUILD" --recipes deeper/recipes --store "$T/sb" --cache-dir "$T/cb" -j 2 --json \
  build echo-hello) >"$T/hb.json" 2>"$T/err" || { cat "$T/err"; fail "echo-hello (b, -j2) failed"; }
ka=$(json_field "$T/ha.json" key) kb=$(json_field "$T/hb.json" key)
[ "$ka" = "$kb" ] || fail "store keys differ between checkouts: $ka vs $kb"
tree_digest "$(json_field "$T/ha.json" output)" >"$T/ta"
tree_digest "$(json_field "$T/hb.json" output)" >"$T/tb"
grep -q ' f ' "$T/ta" || fail "echo-hello's output has no files"
# Every mtime is SOURCE_DATE_EPOCH (default 315532800), not the build time.
awk '$2 ~ /^[dfl]$/ && $5 != "315532800.0000000000" {bad=1; print} END {exit bad}' "$T/ta" ||
  fail "echo-hello's output has mtimes other than SOURCE_DATE_EPOCH"
diff "$T/ta" "$T/tb" || fail "echo-hello's output trees differ between the two checkouts"
echo "ok: echo-hello bit-identical from two checkouts (-j1/-j2), key $ka, $(grep -c ' f ' "$T/ta") files"

# 3. kill -9 at several points, then the next build is correct.
cat >"$R/packages/slow.yaml" <<Y
package:
  name: slow
  version: 1.0.0
  license: MIT
sources:
  - path: big
pipeline:
  - name: prepare
    runs: echo prepared > /build/prepared
  - name: slow
    runs: |
      # Long enough that the last kill (2.0 s) lands in it even on a loaded CI machine.
      sleep 4.5$$
      mkdir -p \${{targets.destdir}}/share
      cat prepared > \${{targets.destdir}}/share/slow.txt
      sha256sum big.bin >> \${{targets.destdir}}/share/slow.txt
Y
mkdir -p "$R/packages/big"
head -c 64000000 /dev/zero >"$R/packages/big/big.bin" # a copy long enough to be killed during
expected=$(printf 'prepared\n%s  big.bin' "$(sha256sum <"$R/packages/big/big.bin" | cut -d' ' -f1)")
marker="sleep 4.5$$"
check_slow() { # WHAT: builds slow again and checks the result and the store
  eb --json build slow >"$T/s.json" 2>"$T/err" || { cat "$T/err"; fail "$1: the next build failed"; }
  [ "$(json_field "$T/s.json" cached)" = False ] || fail "$1: a killed build left something taken as a result"
  [ "$(cat "$(json_field "$T/s.json" output)/share/slow.txt")" = "$expected" ] || fail "$1: wrong result"
  no_tmp "$1"
  rm -rf "${STORE:?}/$(json_field "$T/s.json" key)"
}
for delay in 0.05 0.3 1.0 2.0; do
  setsid "$ECHO_BUILD" --recipes "$R" --store "$STORE" --cache-dir "$CACHE" build slow >"$T/bg.log" 2>&1 &
  pid=$!
  sleep "$delay"
  phase="before the temporary entry"
  ls -A "$STORE" | grep -q '^\.tmp-' && phase="while preparing sources"
  pgrep -fx "$marker" >/dev/null && phase="during the slow step"
  kill -9 -- "-$pid" 2>/dev/null || { rc=0; wait "$pid" || rc=$?; echo "echo-build exit $rc:"; cat "$T/bg.log"; fail "echo-build ended before the kill at ${delay}s"; }
  wait "$pid" 2>/dev/null || true
  sleep 0.2
  pgrep -fx "$marker" >/dev/null && fail "kill -9 at ${delay}s: the step's sleep survived"
  for e in $(ls "$STORE"); do [ -f "$STORE/$e/meta.json" ] || fail "kill -9 at ${delay}s: incomplete entry $e"; done
  leftovers=$(ls -A "$STORE" | grep -c '^\.tmp-' || true)
  check_slow "kill -9 of the process group at ${delay}s ($leftovers .tmp left, cleaned)"
  echo "ok: kill -9 of the process group at ${delay}s ($phase), then a correct rebuild"
done
# kill -9 of echo-build alone (not its group): the sandbox dies with it (PDEATHSIG).
"$ECHO_BUILD" --recipes "$R" --store "$STORE" --cache-dir "$CACHE" build slow >/dev/null 2>&1 &
pid=$!
for _ in $(seq 300); do pgrep -fx "$marker" >/dev/null && break; sleep 0.05; done
pgrep -fx "$marker" >/dev/null || fail "the slow step did not start"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
sleep 0.3
pgrep -fx "$marker" >/dev/null && fail "kill -9 of echo-build alone: the step's sleep survived"
check_slow "kill -9 of echo-build alone"
echo "ok: kill -9 of echo-build alone, no orphan, then a correct rebuild"

# 4. Ctrl-C (SIGINT) during a step: the sandbox is gone, exit non-zero, the store clean.
"$ECHO_BUILD" --recipes "$R" --store "$STORE" --cache-dir "$CACHE" build slow >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 300); do pgrep -fx "$marker" >/dev/null && break; sleep 0.05; done
pgrep -fx "$marker" >/dev/null || fail "the slow step did not start"
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" != 0 ] || fail "SIGINT: echo-build exited 0"
pgrep -fx "$marker" >/dev/null && fail "SIGINT: the step's sleep survived"
assert_contains "$T/err" "step 'slow'"
assert_contains "$T/err" "was interrupted"
[ -z "$(ls -A "$STORE" | grep -v '^\.tmp-' | while read -r e; do grep -l '"name": "slow"' "$STORE/$e/meta.json"; done)" ] ||
  fail "SIGINT: slow is in the store"
no_tmp "SIGINT"
echo "ok: SIGINT during a step: exit $rc, no leftover process, store clean"

# 5. Two echo-build processes building the same package into the same store at once both succeed.
eb --json build slow >"$T/p1.json" 2>"$T/e1" &
p1=$!
eb --json build slow >"$T/p2.json" 2>"$T/e2" &
p2=$!
wait "$p1" || { cat "$T/e1"; fail "concurrent build 1 failed"; }
wait "$p2" || { cat "$T/e2"; fail "concurrent build 2 failed"; }
[ "$(json_field "$T/p1.json" output)" = "$(json_field "$T/p2.json" output)" ] || fail "concurrent builds: different outputs"
[ "$(cat "$(json_field "$T/p1.json" output)/share/slow.txt")" = "$expected" ] || fail "concurrent builds: wrong result"
no_tmp "concurrent builds"
echo "ok: two concurrent builds of the same package both succeed"

echo "PASS: store keys, cache hits, reproducibility, kill -9, SIGINT and concurrency"
