#!/usr/bin/env bash
# zlib 1.2.13 built against our musl (recipes/packages/zlib.yaml: Debian's repacked release file, pinned by its
# own URL and sha256), end to end: zlib's own tests run in the sandbox during the build; a program of ours
# (tests/fixtures/zpipe) is compiled by a second recipe with our musl-gcc against the zlib package, which
# the sandbox overlays at /usr/include and /usr/lib; an image with musl-libc, zlib and zpipe is signed, pushed,
# verified and run under podman, where its output round-trips with Python's zlib in both directions; the image
# carries libz.so.1 but none of zlib's headers, static library, pkg-config file or libz.so link; the SBOM names
# zlib's source URL and sha256; a second build in another directory with -j1 gives the same digest.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
. "$(dirname "$0")/../lib/real_images.sh"
need python3 podman runc umoci readelf
start_registry
podman_setup

real_sources
real_checkouts a b

# The test's own recipes: a package building zpipe against zlib, and an image around it.
for d in a b; do
  mkdir -p "$T/$d/recipes/packages/zpipe"
  cp "$ECHO_SOURCE_DIR/tests/fixtures/zpipe/zpipe.c" "$T/$d/recipes/packages/zpipe/"
  cat >"$T/$d/recipes/packages/zpipe.yaml" <<'YAML'
package:
  name: zpipe
  version: 1.0
  description: zlib round trip through stdin/stdout (echo-build test program)
  license: Apache-2.0
sources:
  - path: zpipe
dependencies:
  build:
    - musl = 1.2.3
    - zlib = 1.2.13
  runtime:
    - musl-libc = 1.2.3
    - zlib = 1.2.13
pipeline:
  - name: build
    runs: |
      # musl-gcc sees only musl's headers: zlib's two headers (from the zlib package, at /usr/include in the
      # sandbox) go into a directory of their own; libz.so is the zlib package's, at /usr/lib.
      mkdir -p .zinc && ln -s /usr/include/zlib.h /usr/include/zconf.h .zinc/
      /usr/lib/musl/bin/musl-gcc -O2 -Wall -Werror -I.zinc -o zpipe zpipe.c -L/usr/lib -lz
      readelf -d zpipe | grep NEEDED
      ./zpipe -v
  - name: install
    runs: install -Dm755 zpipe ${{targets.destdir}}/usr/bin/zpipe
YAML
  cat >"$T/$d/recipes/images/zpipe.yaml" <<'YAML'
image:
  name: zpipe
  version: "1.0"
  source-date-epoch: 1767225600
contents:
  packages:
    - musl-libc = 1.2.3
    - zlib = 1.2.13
    - zpipe = 1.0
accounts:
  run-as: nonroot
  users:
    - username: nonroot
      uid: 65532
      gid: 65532
  groups:
    - groupname: nonroot
      gid: 65532
entrypoint:
  command: /usr/bin/zpipe
YAML
done

# 1. Cold build (musl, musl-libc, zlib with its tests, zpipe), signed and pushed.
t=$(now)
build a 2 --json build zpipe --offline --key "$T/key.pem" -o "$T/a/out/zpipe" --push "$REGISTRY/zpipe:1.0" \
  --insecure-registry "$REGISTRY" >"$T/a/out.json" 2>"$T/a/log" || { cat "$T/a/log" "$T/a/out.json"; fail "building zpipe failed"; }
echo "time: zlib + zpipe image (with musl), cold store and cold source cache, -j2: $(since "$t") s"
digest=$(tail -1 "$T/a/out.json" | jget '["digest"]')
zkey=$(grep '"package": *"zlib"' "$T/a/out.json" | grep '"key"' | head -1 | jget '["key"]')
[ -n "$zkey" ] || fail "no zlib build event in: $(cat "$T/a/out.json")"
# zlib's `make test` ran in the sandbox (static, shared through our musl loader, and 64-bit offsets).
for t in "zlib test OK" "zlib shared test OK" "zlib 64-bit test OK"; do
  assert_contains "$T/a/store/$zkey/build.log" "*** $t ***"
done
zroot=$T/a/store/$zkey/root
for f in usr/lib/libz.so.1.2.13 usr/include/zlib.h usr/lib/libz.a usr/lib/pkgconfig/zlib.pc; do
  [ -e "$zroot/$f" ] || fail "$f missing from the zlib package output $zroot"
done
readelf -d "$zroot/usr/lib/libz.so.1.2.13" | grep NEEDED | sed 's/.*\[\(.*\)\]/\1/' | tr '\n' ' ' >"$T/needed"
[ "$(cat "$T/needed")" = "libc.so " ] || fail "libz.so.1.2.13 needs: $(cat "$T/needed")"
"$ECHO_BUILD" verify "$T/a/out/zpipe" --key "$T/pub.pem" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "verify failed"; }

# 2. Runs under podman from the registry: the loaded library is zlib 1.2.13, and data round-trips with
# Python's zlib (the host's zlib) both ways.
img=$REGISTRY/zpipe:1.0
podman run --rm "$img" -v >"$T/v.out" 2>"$T/run.err" || { cat "$T/run.err"; fail "podman run zpipe -v failed"; }
[ "$(cat "$T/v.out")" = "$(printf 'zlib 1.2.13 (header 1.2.13)\ncrc32 %s' "$(python3 -c 'import zlib; print("%08x" % zlib.crc32(b"echo-build"))')")" ] ||
  fail "zpipe -v printed: $(cat "$T/v.out")"
python3 -c 'import random,sys; r=random.Random(7); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(200000)) + b"echo-build " * 50000)' >"$T/data"
podman run --rm -i "$img" <"$T/data" >"$T/data.z" 2>"$T/run.err" || { cat "$T/run.err"; fail "podman run zpipe (compress) failed"; }
python3 -c 'import sys,zlib; sys.exit(zlib.decompress(open(sys.argv[1],"rb").read()) != open(sys.argv[2],"rb").read())' "$T/data.z" "$T/data" ||
  fail "Python's zlib does not decompress zpipe's output to the input"
python3 -c 'import sys,zlib; sys.stdout.buffer.write(zlib.compress(open(sys.argv[1],"rb").read(), 6))' "$T/data" >"$T/data.pz"
podman run --rm -i "$img" -d <"$T/data.pz" >"$T/data.back" 2>"$T/run.err" || { cat "$T/run.err"; fail "podman run zpipe -d failed"; }
cmp -s "$T/data.back" "$T/data" || fail "zpipe -d does not give back what Python's zlib compressed"
head -c 1000 "$T/data.pz" | podman run --rm -i "$img" -d >/dev/null 2>"$T/run.err" && fail "zpipe -d accepted truncated input"
assert_contains "$T/run.err" "zpipe: truncated input"

# 3. The image: libz.so.1 and our zpipe, linked to our loader; nothing for building against zlib.
mkdir "$T/rootfs"
umoci raw unpack --rootless --image "$T/a/out/zpipe:1.0" "$T/rootfs" >"$T/umoci.log" 2>&1 || { cat "$T/umoci.log"; fail "umoci unpack failed"; }
[ "$(readlink "$T/rootfs/usr/lib/libz.so.1")" = libz.so.1.2.13 ] || fail "usr/lib/libz.so.1 -> $(readlink "$T/rootfs/usr/lib/libz.so.1")"
[ -f "$T/rootfs/usr/lib/libz.so.1.2.13" ] || fail "usr/lib/libz.so.1.2.13 missing from the image"
for f in usr/include usr/lib/libz.a usr/lib/pkgconfig usr/lib/libz.so usr/share/man; do
  [ ! -e "$T/rootfs/$f" ] && [ ! -L "$T/rootfs/$f" ] || fail "/$f is in the image (a development file)"
done
readelf -l "$T/rootfs/usr/bin/zpipe" >"$T/readelf.out"
assert_contains "$T/readelf.out" "[Requesting program interpreter: /lib/ld-musl-x86_64.so.1]"
readelf -d "$T/rootfs/usr/bin/zpipe" | grep NEEDED | sed 's/.*\[\(.*\)\]/\1/' | sort | tr '\n' ' ' >"$T/needed"
[ "$(cat "$T/needed")" = "libc.so libz.so.1 " ] || fail "zpipe needs: $(cat "$T/needed")"
# The build report: libz.so dropped as a development link, nothing setuid, every package's files counted.
python3 - "$T/a/out.json" <<'PY' || fail "build report"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
if s["removed"].get("dev-symlinks") != 1: sys.exit(f"removed: {s['removed']}")
for k in ("headers", "static", "pkgconfig"):
    if not s["removed"].get(k): sys.exit(f"nothing removed as {k}: {s['removed']}")
if s["setuidFiles"]: sys.exit(f"setuid files: {s['setuidFiles']}")
fp = s["filesPerPackage"]
if set(fp) != {"", "musl-libc", "zlib", "zpipe"} or fp["zpipe"] != 1 or sum(fp.values()) != s["files"]:
    sys.exit(f"filesPerPackage {fp}, files {s['files']}")
PY
python3 - "$T/a/out/zpipe.spdx.json" <<'PY' || fail "the SBOM's zlib package"
import json, sys
doc = json.load(open(sys.argv[1]))
z = [p for p in doc["packages"] if p["name"] == "zlib" and p["SPDXID"].startswith("SPDXRef-Package-")]
if len(z) != 1: sys.exit(f"zlib packages in the SBOM: {z}")
url = "https://deb.debian.org/debian/pool/main/z/zlib/zlib_1.2.13.dfsg.orig.tar.bz2"
if z[0]["downloadLocation"] != url: sys.exit(f"zlib downloadLocation {z[0]['downloadLocation']}")
sha = "71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"
if sha not in [c["checksumValue"] for c in z[0].get("checksums", [])]: sys.exit(f"zlib checksums {z[0].get('checksums')}")
if z[0].get("versionInfo", "").split("-")[0] != "1.2.13": sys.exit(f"zlib versionInfo {z[0].get('versionInfo')}")
PY

# 4. Reproducible: other directory, store and cache, -j1, cold.
t=$(now)
build b 1 --json build zpipe --offline -o "$T/b/out/zpipe" --key "$T/key.pem" --repository "$REGISTRY/zpipe" \
  >"$T/b/out.json" 2>"$T/b/log" || { cat "$T/b/log"; fail "second build failed"; }
echo "time: zlib + zpipe image, second cold build, -j1: $(since "$t") s"
[ "$(tail -1 "$T/b/out.json" | jget '["digest"]')" = "$digest" ] ||
  fail "not reproducible: $digest (dir a, -j2) vs $(tail -1 "$T/b/out.json" | jget '["digest"]') (dir b, -j1)"
# The SBOM too (its dates are the image's SOURCE_DATE_EPOCH, not the time of the build).
cmp "$T/a/out/zpipe.spdx.json" "$T/b/out/zpipe.spdx.json" ||
  fail "the SBOMs of two builds differ: $(diff "$T/a/out/zpipe.spdx.json" "$T/b/out/zpipe.spdx.json" | head -5)"
grep -q '"created": *"2026-01-01T00:00:00Z"' "$T/a/out/zpipe.spdx.json" || fail "SBOM creationInfo.created is not the image's SOURCE_DATE_EPOCH"
echo "PASS"
