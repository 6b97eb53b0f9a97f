# Shared setup of the tests that build the real images from upstream sources (tests/e2e/real_*.sh).
# Source after common.sh.

# real_sources: Debian's copies of the upstream release files, checked against the recipes' sha256, in
# $cache/distdir (kept across runs). Skips when Debian's sources cannot be fetched here.
real_sources() {
  cache=${ECHO_TEST_CACHE:-/var/tmp/echo-build-test-cache}
  local rc
  set +e; bash "$ECHO_SOURCE_DIR/tests/lib/debian-sources.sh" "$cache/distdir" "$ECHO_SOURCE_DIR/recipes/packages"; rc=$?; set -e
  [ $rc = 77 ] && skip "the upstream release files cannot be fetched from Debian here (see above)"
  [ $rc = 0 ] || fail "tests/lib/debian-sources.sh failed (exit $rc): a source does not match its recipe"
}

# real_checkouts DIR...: copies of the recipes in different directories (paths must not leak into the image),
# and a signing key pair in $T/key.pem / $T/pub.pem.
real_checkouts() {
  for d in "$@"; do mkdir -p "$T/$d" && cp -r "$ECHO_SOURCE_DIR/recipes" "$T/$d/recipes"; done
  "$ECHO_BUILD" keygen --out-key "$T/key.pem" --out-pub "$T/pub.pem" >/dev/null
}

# build DIR JOBS ARGS...: echo-build with DIR's recipes, store and cache, offline sources from the distdir.
build() {
  local d=$1 j=$2; shift 2
  "$ECHO_BUILD" --recipes "$T/$d/recipes/packages" --recipes "$T/$d/recipes/images" --store "$T/$d/store" \
    --cache-dir "$T/$d/cache" --distdir "$cache/distdir" -j "$j" "$@"
}

now() { date +%s.%N; }
# since T0: seconds elapsed since T0 (from now), one decimal.
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
