#!/usr/bin/env bash
# The real `static` base image from upstream release files (NSS's certdata.txt, IANA tzdata), end to end:
# sources from Debian's source packages via tests/lib/debian-sources.sh into a distdir reused across runs
# (${ECHO_TEST_CACHE:-/var/tmp/echo-build-test-cache}/distdir), an offline sandboxed build, signing, push to a
# local docker-registry, `echo-build verify`, and our own static test program run under podman FROM the pushed
# image: it reads the CA bundle and prints Europe/Berlin's UTC offsets from our zoneinfo. Reproducibility: a
# second build from a copy of the recipes in another directory, with another store and cache, -j1 instead of
# -j2, must give the same manifest digest. Times go to stdout (docs/performance-images.md).
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
. "$(dirname "$0")/../lib/real_images.sh"
need python3 cc podman runc umoci
start_registry
podman_setup

# 1. Sources: Debian's copies of the upstream release files, checked against the recipes' sha256.
t=$(now)
real_sources
echo "time: sources ready in $(since "$t") s"

# 1b. The helper refuses a file whose sha256 is not the recipe's (here: a recipe copy naming another sha256 for
# tzdata); nothing is stored under the upstream name.
mkdir -p "$T/bad/recipes" "$T/bad/dist"
cp "$ECHO_SOURCE_DIR"/recipes/packages/*.yaml "$T/bad/recipes/"
sed -i 's/114543d9f19a6bfeb5bca43686aea173d38755a3db1f2eec112647ae92c6f544/1111111111111111111111111111111111111111111111111111111111111111/' "$T/bad/recipes/tzdata.yaml"
for f in musl-1.2.3.tar.gz hello-2.10.tar.gz nss-3.87.1.tar.gz; do cp "$cache/distdir/$f" "$T/bad/dist/"; done
expect_fail 1 bash "$ECHO_SOURCE_DIR/tests/lib/debian-sources.sh" "$T/bad/dist" "$T/bad/recipes"
assert_contains "$T/err" "debian-sources: tzdata_2026b.orig.tar.gz from Debian (tzdata=2026b-0+deb12u1) has sha256 114543d9f19a6bfeb5bca43686aea173d38755a3db1f2eec112647ae92c6f544, but the recipe names 1111111111111111111111111111111111111111111111111111111111111111 for upstream's tzdata2026b.tar.gz: not the upstream file; refusing to use it"
[ ! -e "$T/bad/dist/tzdata2026b.tar.gz" ] || fail "the helper stored a file that does not match the recipe"
rm -rf "$T/bad"

# Two copies of the recipes in different directories: paths must not leak into the image.
real_checkouts a b

# 2. Cold build (empty store and source cache), signed and pushed.
t=$(now)
build a 2 build static --offline --key "$T/key.pem" -o "$T/a/out/static" --push "$REGISTRY/static:1.0" \
  --insecure-registry "$REGISTRY" >"$T/a/digest" 2>"$T/a/log" || { cat "$T/a/log"; fail "building static failed"; }
echo "time: static, cold store and cold source cache, -j2: $(since "$t") s"
cat "$T/a/log"
digest=$(tail -1 "$T/a/digest")
case $digest in sha256:????????????????????????????????????????????????????????????????) ;; *) fail "no digest: $digest" ;; esac

# 3. Build report: size and file count, nothing setuid/setgid.
assert_contains "$T/a/log" "files: "
assert_contains "$T/a/log" "compressed layers: "
assert_contains "$T/a/log" "  ca-certificates: "
assert_contains "$T/a/log" "  tzdata: "
! grep -q "setuid" "$T/a/log" || fail "the static image reports setuid/setgid files"

# 4. Warm store: nothing rebuilt, same digest.
t=$(now)
build a 2 --json build static --offline -o "$T/a/out/static2" >"$T/a/warm.json" 2>"$T/a/warm.log" ||
  { cat "$T/a/warm.log"; fail "warm rebuild failed"; }
echo "time: static, warm store: $(since "$t") s"
[ "$(tail -1 "$T/a/warm.json" | jget '["digest"]')" = "$digest" ] || fail "warm rebuild gave another digest: $(cat "$T/a/warm.json")"
files=$(tail -1 "$T/a/warm.json" | jget '["files"]'); bytes=$(tail -1 "$T/a/warm.json" | jget '["bytes"]')
cbytes=$(tail -1 "$T/a/warm.json" | jget '["compressedBytes"]')
echo "size: static: $files files, $bytes bytes uncompressed, $cbytes bytes compressed"
[ "$cbytes" -lt 1048576 ] || fail "static is $cbytes bytes compressed; the target is under 1 MiB"

# 5. Reproducible: other directory, other store and cache, -j1.
t=$(now)
build b 1 --json build static --offline -o "$T/b/out/static" >"$T/b/out.json" 2>"$T/b/log" ||
  { cat "$T/b/log"; fail "second build failed"; }
echo "time: static, second cold build, -j1: $(since "$t") s"
[ "$(tail -1 "$T/b/out.json" | jget '["digest"]')" = "$digest" ] ||
  fail "not reproducible: $digest (dir a, -j2) vs $(tail -1 "$T/b/out.json" | jget '["digest"]') (dir b, -j1)"

# 6. Signature and attestations verify; the SBOM names each package's upstream URL and sha256.
"$ECHO_BUILD" verify "$T/a/out/static" --key "$T/pub.pem" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "verify failed"; }
python3 - "$T/a/out/static.spdx.json" <<'PY' || fail "SBOM check failed"
import json, sys
doc = json.load(open(sys.argv[1]))
pk = {p["name"]: p for p in doc["packages"] if p["SPDXID"] != "SPDXRef-Image"}
want = {
    "ca-certificates": ("https://ftp.mozilla.org/pub/security/nss/releases/NSS_3_87_1_RTM/src/nss-3.87.1.tar.gz",
                        "f30fb0de6986e59420ce3bfea340e801222be1da144b420bcbfec1d977dab4d5"),
    "tzdata": ("https://data.iana.org/time-zones/releases/tzdata2026b.tar.gz",
               "114543d9f19a6bfeb5bca43686aea173d38755a3db1f2eec112647ae92c6f544"),
}
for name, (url, sha) in want.items():
    p = pk.get(name) or sys.exit(f"SBOM lacks package {name}: {sorted(pk)}")
    if p["downloadLocation"] != url: sys.exit(f"{name}: downloadLocation {p['downloadLocation']} != {url}")
    sums = [c["checksumValue"] for c in p.get("checksums", [])]
    if sha not in sums: sys.exit(f"{name}: checksums {sums} lack {sha}")
if sorted(pk) != sorted(want): sys.exit(f"packages in the static image: {sorted(pk)}, want {sorted(want)}")
PY

# 7. Contents: no shell, no libc, nothing setuid; the usual paths are there.
mkdir "$T/rootfs"
umoci raw unpack --rootless --image "$T/a/out/static:1.0" "$T/rootfs" >"$T/umoci.log" 2>&1 || { cat "$T/umoci.log"; fail "umoci unpack failed"; }
for f in etc/ssl/certs/ca-certificates.crt etc/ssl/cert.pem usr/share/zoneinfo/Europe/Berlin etc/passwd etc/group \
         etc/nsswitch.conf etc/os-release; do
  [ -e "$T/rootfs/$f" ] || fail "/$f is missing from the image"
done
[ -z "$(find "$T/rootfs" \( -name sh -o -name bash -o -name busybox -o -name 'ld-*.so*' -o -name 'libc.so*' -o -name 'libc-*' \) -print)" ] ||
  fail "the static image has a shell or a libc: $(find "$T/rootfs" -name sh -o -name 'libc*')"
[ -z "$(find "$T/rootfs" -perm /6000 -print)" ] || fail "setuid/setgid files: $(find "$T/rootfs" -perm /6000)"
grep -qx 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' "$T/rootfs/etc/passwd" || fail "passwd: $(cat "$T/rootfs/etc/passwd")"
grep -q '^root:x:0:0:' "$T/rootfs/etc/passwd" || fail "no root in passwd"
[ "$(stat -c %a "$T/rootfs/tmp")" = 1777 ] || fail "/tmp is $(stat -c %a "$T/rootfs/tmp")"

# 8. Our static test program in a Dockerfile FROM the pushed image, under podman.
mkdir "$T/ctx"
cc -static -O2 -o "$T/ctx/certs_tz" "$ECHO_SOURCE_DIR/tests/fixtures/certs_tz.c"
cat >"$T/ctx/Dockerfile" <<DOCKERFILE
FROM $REGISTRY/static:1.0
COPY certs_tz /usr/local/bin/certs_tz
ENTRYPOINT ["/usr/local/bin/certs_tz"]
DOCKERFILE
t=$(now)
podman build -q -t localhost/certs-tz:test "$T/ctx" >"$T/podman-build.out" 2>&1 || { cat "$T/podman-build.out"; fail "podman build failed"; }
podman run --rm localhost/certs-tz:test >"$T/run.out" 2>"$T/run.err" || { cat "$T/run.err"; fail "podman run failed"; }
echo "time: podman build + run: $(since "$t") s"
cat "$T/run.out"
n=$(sed -n 's/^certs \([0-9]*\)$/\1/p' "$T/run.out")
[ -n "$n" ] && [ "$n" -gt 100 ] || fail "the CA bundle has ${n:-no} certificates (want > 100)"
assert_contains "$T/run.out" "Europe/Berlin 2024-07-01T12:00:00Z +0200"
assert_contains "$T/run.out" "Europe/Berlin 2024-01-01T12:00:00Z +0100"
[ "$(podman image inspect --format '{{.Config.User}}' localhost/certs-tz:test)" = 65532:65532 ] ||
  fail "the image does not run as nonroot 65532"
echo "PASS"
