#!/usr/bin/env bash
# GNU hello from its upstream release, built against our musl (itself built from musl's upstream release), on the
# musl-base contents, end to end: offline sandboxed build from the Debian-fetched distdir, signed, pushed,
# verified; `podman run` prints "Hello, world!"; the binary's ELF interpreter is our musl loader; no file of the
# image comes from the host's toolchain root (by content against host files of the same name, and by the SBOM's
# file-to-package map); the same digest from a second build in another directory with -j1. Also builds
# musl-base (loader + libc, no shell). Times go to stdout (docs/performance-images.md).
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
. "$(dirname "$0")/../lib/real_images.sh"
need python3 podman runc umoci readelf
start_registry
podman_setup

real_sources

real_checkouts a b

# 1. Cold build of hello (musl, musl-libc, hello, ca-certificates, tzdata), signed and pushed.
t=$(now)
build a 2 build hello --offline --key "$T/key.pem" -o "$T/a/out/hello" --push "$REGISTRY/hello:2.10" \
  --insecure-registry "$REGISTRY" >"$T/a/digest" 2>"$T/a/log" || { cat "$T/a/log"; fail "building hello failed"; }
echo "time: hello, cold store and cold source cache, -j2: $(since "$t") s"
cat "$T/a/log"
digest=$(tail -1 "$T/a/digest")
assert_contains "$T/a/log" "files: "
assert_contains "$T/a/log" "  hello: "
assert_contains "$T/a/log" "  musl-libc: "
! grep -q "setuid" "$T/a/log" || fail "the hello image reports setuid/setgid files"
"$ECHO_BUILD" verify "$T/a/out/hello" --key "$T/pub.pem" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "verify failed"; }

# 2. musl-base and hello sizes, from the warm store.
for img in musl-base hello; do
  t=$(now)
  build a 2 --json build "$img" --offline -o "$T/a/out/$img-warm" >"$T/a/$img.json" 2>"$T/a/$img.log" ||
    { cat "$T/a/$img.log"; fail "building $img from the warm store failed"; }
  echo "time: $img, warm store: $(since "$t") s"
  echo "size: $img: $(tail -1 "$T/a/$img.json" | jget '["files"]') files, $(tail -1 "$T/a/$img.json" | jget '["bytes"]') bytes uncompressed, $(tail -1 "$T/a/$img.json" | jget '["compressedBytes"]') bytes compressed"
done
[ "$(tail -1 "$T/a/hello.json" | jget '["digest"]')" = "$digest" ] || fail "warm rebuild of hello gave another digest"

# 3. Runs under podman, from the registry.
podman run --rm "$REGISTRY/hello:2.10" >"$T/run.out" 2>"$T/run.err" || { cat "$T/run.err"; fail "podman run failed"; }
[ "$(cat "$T/run.out")" = "Hello, world!" ] || fail "podman run printed '$(cat "$T/run.out")'"

# 4. The interpreter is our musl loader, which resolves to our libc.so inside the image.
mkdir "$T/rootfs"
umoci raw unpack --rootless --image "$T/a/out/hello:2.10" "$T/rootfs" >"$T/umoci.log" 2>&1 || { cat "$T/umoci.log"; fail "umoci unpack failed"; }
readelf -l "$T/rootfs/usr/bin/hello" >"$T/readelf.out"
assert_contains "$T/readelf.out" "[Requesting program interpreter: /lib/ld-musl-x86_64.so.1]"
[ "$(readlink "$T/rootfs/lib/ld-musl-x86_64.so.1")" = /usr/lib/musl/lib/libc.so ] ||
  fail "/lib/ld-musl-x86_64.so.1 -> $(readlink "$T/rootfs/lib/ld-musl-x86_64.so.1")"
[ -f "$T/rootfs/usr/lib/musl/lib/libc.so" ] || fail "/usr/lib/musl/lib/libc.so is missing"
readelf -d "$T/rootfs/usr/bin/hello" | grep NEEDED >"$T/needed" || true
[ "$(cat "$T/needed" | sed 's/.*\[\(.*\)\]/\1/')" = libc.so ] || fail "hello needs: $(cat "$T/needed")"
[ -z "$(find "$T/rootfs" \( -name sh -o -name bash -o -name busybox -o -name 'ld-linux*' -o -name 'libc.so.6' \) -print)" ] ||
  fail "a shell or glibc in the image: $(find "$T/rootfs" -name sh -o -name 'ld-linux*' -o -name 'libc.so.6')"
[ -z "$(find "$T/rootfs" -perm /6000 -print)" ] || fail "setuid/setgid files: $(find "$T/rootfs" -perm /6000)"

# 5. No file comes from the host's toolchain root: (a) the SBOM maps every file with content to one of our
# packages (or to the image's generated files), and its packages name upstream URLs and sha256; (b) no regular
# file of the image has the content of a host file of the same name under /usr, /lib, /etc.
python3 - "$T/a/out/hello.spdx.json" "$T/rootfs" <<'PY' || fail "provenance of the image's files"
import hashlib, json, os, sys
doc, root = json.load(open(sys.argv[1])), sys.argv[2]
pk = {p["SPDXID"]: p for p in doc["packages"] if p["SPDXID"] != "SPDXRef-Image"}
want = {
    "hello": ("https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz", "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b"),
    "musl-libc": ("https://musl.libc.org/releases/musl-1.2.3.tar.gz", "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4"),
    "ca-certificates": ("https://ftp.mozilla.org/pub/security/nss/releases/NSS_3_87_1_RTM/src/nss-3.87.1.tar.gz",
                        "f30fb0de6986e59420ce3bfea340e801222be1da144b420bcbfec1d977dab4d5"),
    "tzdata": ("https://data.iana.org/time-zones/releases/tzdata2026b.tar.gz", "114543d9f19a6bfeb5bca43686aea173d38755a3db1f2eec112647ae92c6f544"),
}
names = sorted(p["name"] for p in pk.values())
if names != sorted(want): sys.exit(f"SBOM packages {names}, want {sorted(want)}")
for p in pk.values():
    url, sha = want[p["name"]]
    if p["downloadLocation"] != url: sys.exit(f"{p['name']}: downloadLocation {p['downloadLocation']} != {url}")
    if sha not in [c["checksumValue"] for c in p.get("checksums", [])]: sys.exit(f"{p['name']}: no checksum {sha}")
owner = {r["relatedSpdxElement"]: r["spdxElementId"] for r in doc["relationships"] if r["relationshipType"] == "CONTAINS"}
sbom = {f["fileName"]: ([c["checksumValue"] for c in f["checksums"] if c["algorithm"] == "SHA256"][0], owner.get(f["SPDXID"]))
        for f in doc["files"]}
generated = {"/etc/passwd", "/etc/group", "/etc/os-release", "/etc/nsswitch.conf"}
inodes, image_files = {}, {}
for dirpath, dirs, files in os.walk(root):
    for n in files:
        p = os.path.join(dirpath, n)
        if os.path.islink(p) or not os.path.isfile(p): continue
        rel = "/" + os.path.relpath(p, root)
        image_files[rel] = hashlib.sha256(open(p, "rb").read()).hexdigest()
        inodes.setdefault(os.stat(p).st_ino, []).append(rel)
for ino, paths in inodes.items():
    listed = [x for x in paths if x in sbom]
    # The SBOM lists one name per hard-linked file (see the report); every file's content must be there.
    if not listed: sys.exit(f"not in the SBOM: {paths}")
    for x in listed:
        sha, own = sbom[x]
        if sha != image_files[x]: sys.exit(f"{x}: sha256 {image_files[x]} in the image, {sha} in the SBOM")
        if own == "SPDXRef-Image":
            if x not in generated: sys.exit(f"{x}: not from any package, and not a generated file")
        elif own not in pk: sys.exit(f"{x}: owned by {own}, not one of our packages")
by_name = {}
for path, sha in image_files.items():
    by_name.setdefault(os.path.basename(path), []).append((path, sha))
same = []
for top in ("/usr", "/lib", "/etc"):
    for dirpath, dirs, files in os.walk(top):
        for n in files:
            if n not in by_name: continue
            p = os.path.join(dirpath, n)
            if os.path.islink(p) or not os.path.isfile(p): continue
            try: h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            except OSError: continue
            same += [(path, p) for path, sha in by_name[n] if sha == h]
if same: sys.exit(f"image files identical to host files of the same name: {same[:10]}")
print(f"{len(image_files)} files: all from our packages or generated, none identical to a host file of the same name")
PY

# 6. Reproducible: other directory, store and cache, -j1, cold (musl and hello compiled again).
t=$(now)
build b 1 --json build hello --offline -o "$T/b/out/hello" >"$T/b/out.json" 2>"$T/b/log" ||
  { cat "$T/b/log"; fail "second build failed"; }
echo "time: hello, second cold build, -j1: $(since "$t") s"
[ "$(tail -1 "$T/b/out.json" | jget '["digest"]')" = "$digest" ] ||
  fail "not reproducible: $digest (dir a, -j2) vs $(tail -1 "$T/b/out.json" | jget '["digest"]') (dir b, -j1)"
echo "PASS"
