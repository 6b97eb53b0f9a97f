#!/usr/bin/env bash
# Sources through the real CLI: crafted hostile archives and a wrong sha256 are rejected (exit 4) with an
# error naming the entry / URL / digests and nothing written; good tar.gz/tar.xz/zip archives with
# strip-components build; fetch + build --offline, --distdir by file name, and an offline miss.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is not installed"

STORE=$T/store CACHE=$T/cache R=$T/recipes A=$T/archives
mkdir -p "$R/packages" "$A" "$T/outside"
eb() { "$ECHO_BUILD" --recipes "$R" --store "$STORE" --cache-dir "$CACHE" -j 1 "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# Every archive is made here by python's tarfile/zipfile.
"$PY" - "$A" "$T/outside" <<'PY'
import io, os, sys, tarfile, zipfile
out, outside = sys.argv[1], sys.argv[2]
def tar(name, entries, mode="w:gz"):
    with tarfile.open(os.path.join(out, name), mode, format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            info = tarfile.TarInfo(e["name"]); info.mtime = 0
            info.type = e.get("type", tarfile.REGTYPE); info.mode = e.get("mode", 0o644)
            info.linkname = e.get("link", ""); info.devmajor, info.devminor = e.get("dev", (0, 0))
            data = e.get("data", b"")
            if info.type == tarfile.REGTYPE:
                info.size = len(data); t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
good = [{"name": "pkg-1.0/", "type": tarfile.DIRTYPE, "mode": 0o755},
        {"name": "pkg-1.0/hello.sh", "mode": 0o755, "data": b"#!/bin/sh\necho hello from the archive\n"},
        {"name": "pkg-1.0/sub/", "type": tarfile.DIRTYPE, "mode": 0o755},
        {"name": "pkg-1.0/sub/data.txt", "data": b"data\n"},
        {"name": "pkg-1.0/sub/link", "type": tarfile.SYMTYPE, "link": "data.txt"}]
tar("good.tar.gz", good)
tar("good.tar.xz", good, "w:xz")
with zipfile.ZipFile(os.path.join(out, "good.zip"), "w") as z:
    for e in good:
        if e["name"].endswith("/"):
            continue
        if e.get("type") == tarfile.SYMTYPE:
            continue
        zi = zipfile.ZipInfo(e["name"], (1980, 1, 1, 0, 0, 0)); zi.external_attr = (0o100000 | e.get("mode", 0o644)) << 16
        z.writestr(zi, e["data"])
f = {"name": "pkg-1.0/ok.txt", "data": b"ok\n"}
tar("dotdot.tar.gz", [f, {"name": "pkg-1.0/../../../evil-dotdot", "data": b"evil\n"}])
tar("absolute.tar.gz", [f, {"name": outside + "/evil-absolute", "data": b"evil\n"}])
tar("symlink-out.tar.gz", [f, {"name": "pkg-1.0/link", "type": tarfile.SYMTYPE, "link": outside},
                           {"name": "pkg-1.0/link/evil-through-link", "data": b"evil\n"}])
tar("symlink-in.tar.gz", [f, {"name": "pkg-1.0/sub/", "type": tarfile.DIRTYPE, "mode": 0o755},
                          {"name": "pkg-1.0/a", "type": tarfile.SYMTYPE, "link": "sub"},
                          {"name": "pkg-1.0/a/x", "data": b"x\n"}])
tar("device.tar.gz", [f, {"name": "pkg-1.0/null", "type": tarfile.CHRTYPE, "dev": (1, 3), "mode": 0o666}])
tar("setuid.tar.gz", [f, {"name": "pkg-1.0/su", "mode": 0o4755, "data": b"#!/bin/sh\n"}])
tar("setgid.tar.gz", [f, {"name": "pkg-1.0/sg", "mode": 0o2755, "data": b"#!/bin/sh\n"}])
PY

# recipe NAME URL SHA [STRIP]: a package that unpacks one source and copies it into the destination.
recipe() {
  cat >"$R/packages/$1.yaml" <<Y
package:
  name: $1
  version: 1.0.0
  license: MIT
sources:
  - url: $2
    sha256: $3
    strip-components: ${4:-1}
pipeline:
  - name: install
    runs: |
      ./hello.sh > hello.out
      mkdir -p \${{targets.destdir}}/share
      cp -a . \${{targets.destdir}}/share/$1
Y
}
# store_clean NAME: no entry of package NAME and no .tmp-* leftover in the store.
store_clean() {
  ! ls -A "$STORE" 2>/dev/null | grep -q '^\.tmp-' || { ls -la "$STORE"; fail "$1: a .tmp-* directory is left in the store"; }
  ! grep -qs "\"name\": \"$1\"" "$STORE"/*/meta.json || fail "$1: the store has an entry for it"
}
no_tmp_in_cache() {
  ! find "$CACHE" -name '*.tmp-*' | grep -q . || { find "$CACHE"; fail "$1: a temporary file is left in the cache"; }
}

# 1. Hostile archives: exit 4, the error names the source and the entry, nothing written anywhere.
reject() { # NAME ARCHIVE TEXT...
  local name=$1 archive=$2; shift 2
  recipe "$name" "file://$A/$archive" "$(sha "$A/$archive")"
  expect_fail 4 eb build "$name"
  assert_contains "$T/err" "echo-build: error: preparing the sources of $name: cannot unpack file://$A/$archive: entry '"
  for text in "$@"; do assert_contains "$T/err" "$text"; done
  store_clean "$name"
  no_tmp_in_cache "$name"
  echo "ok: $archive rejected"
}
reject dotdot dotdot.tar.gz "entry 'pkg-1.0/../../../evil-dotdot': path contains '..'"
reject absolute absolute.tar.gz "entry '$T/outside/evil-absolute': absolute path"
reject symlink-out symlink-out.tar.gz "entry 'pkg-1.0/link': symlink target '$T/outside' points outside the tree"
reject symlink-in symlink-in.tar.gz "entry 'pkg-1.0/a/x': path goes through symlink 'a'"
reject device device.tar.gz "entry 'pkg-1.0/null': character device not allowed"
reject setuid setuid.tar.gz "entry 'pkg-1.0/su': setuid bit not allowed"
reject setgid setgid.tar.gz "entry 'pkg-1.0/sg': setgid bit not allowed"
[ -z "$(ls -A "$T/outside")" ] || { ls -la "$T/outside"; fail "a hostile archive wrote outside its tree"; }
find "$T" -name 'evil-*' | grep -q . && fail "an evil-* file was written: $(find "$T" -name 'evil-*')"

# 2. sha256 mismatch: exit 4 naming the URL and both digests; nothing in the cache.
good_sha=$(sha "$A/good.tar.gz")
wrong=0000000000000000000000000000000000000000000000000000000000000000
recipe mismatch "file://$A/good.tar.gz" "$wrong"
rm -rf "$CACHE"
expect_fail 4 eb build mismatch
assert_contains "$T/err" "file://$A/good.tar.gz"
assert_contains "$T/err" "sha256 mismatch: expected $wrong, got $good_sha"
store_clean mismatch
[ ! -e "$CACHE/sources/sha256/$wrong" ] && [ ! -e "$CACHE/sources/sha256/$good_sha" ] || fail "mismatch: cached"
no_tmp_in_cache mismatch
echo "ok: sha256 mismatch rejected"

# 3. Good archives with strip-components build, with modes and symlinks kept.
for fmt in tar.gz tar.xz zip; do
  name=good-${fmt/./-}
  recipe "$name" "file://$A/good.$fmt" "$(sha "$A/good.$fmt")"
  eb build "$name" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "$name did not build"; }
  root=$(sed -n "s/^$name 1.0.0-r0: //p" "$T/out")
  d=$root/share/$name
  [ "$(cat "$d/hello.out")" = "hello from the archive" ] || fail "$name: hello.sh did not run"
  [ "$(cat "$d/sub/data.txt")" = data ] || fail "$name: sub/data.txt missing (strip-components 1)"
  [ -x "$d/hello.sh" ] || fail "$name: hello.sh lost its mode"
  [ ! -e "$d/pkg-1.0" ] || fail "$name: strip-components was not applied"
  [ "$fmt" = zip ] || [ "$(readlink "$d/sub/link")" = data.txt ] || fail "$name: the symlink was not kept"
  echo "ok: $fmt with strip-components 1 builds"
done

# 4. fetch, then build --offline from the cache even though the URL is gone.
cp "$A/good.tar.gz" "$T/moving.tar.gz"
recipe offline "file://$T/moving.tar.gz" "$good_sha"
rm -rf "$CACHE"
eb fetch offline >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "fetch failed"; }
assert_contains "$T/out" "1 source files in $CACHE/sources"
[ -f "$CACHE/sources/sha256/$good_sha" ] || fail "fetch did not fill the cache"
rm "$T/moving.tar.gz"
eb build --offline offline >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "offline build from the cache failed"; }
assert_contains "$T/out" "offline 1.0.0-r0: $STORE/"
echo "ok: fetch then build --offline"

# 5. --distdir finds the file by its name; an offline miss is a clear error.
mkdir -p "$T/dist"
cp "$A/good.tar.gz" "$T/dist/pkg-1.0.tar.gz"
recipe distdir "file:///nonexistent/downloads/pkg-1.0.tar.gz" "$good_sha"
rm -rf "$CACHE"
expect_fail 4 eb build --offline distdir
assert_contains "$T/err" "echo-build: error: preparing the sources of distdir: offline: file:///nonexistent/downloads/pkg-1.0.tar.gz (sha256 $good_sha) is not in the source cache and no distdir is configured"
mkdir -p "$T/empty-dist"
expect_fail 4 eb --distdir "$T/empty-dist" build --offline distdir
assert_contains "$T/err" "offline: file:///nonexistent/downloads/pkg-1.0.tar.gz (sha256 $good_sha) is not in the source cache and not in any distdir (searched: $T/empty-dist)"
store_clean "offline miss"
"$ECHO_BUILD" --recipes "$R" --store "$STORE" --cache-dir "$CACHE" --distdir "$T/empty-dist" --distdir "$T/dist" \
  build --offline distdir >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "build with --distdir failed"; }
assert_contains "$T/out" "distdir 1.0.0-r0: $STORE/"
echo "ok: --distdir by file name; offline miss reported"

echo "PASS: hostile archives and wrong digests rejected; good archives, fetch/offline and distdirs work"
