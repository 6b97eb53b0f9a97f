#!/usr/bin/env bash
# OpenSSL 3.0.22 from its upstream release, built against our musl (itself built from musl's upstream release),
# and the `openssl` image (musl-base contents + openssl), end to end:
# 1. offline sandboxed build of the image from the Debian-fetched distdir, signed, pushed, verified;
# 2. the package: usr/bin/openssl's ELF interpreter is our musl loader and its libraries are ours (libssl.so.3,
#    libcrypto.so.3, libc.so); run through our loader on the host it prints "OpenSSL 3.0.22 ...", computes the
#    same SHA-256 as sha256sum, and its ECDSA signatures and the host openssl's verify each other;
# 3. the image under podman: `openssl version` by default, dgst of stdin, `verify` against the image's CA bundle,
#    `req` with the image's /etc/ssl/openssl.cnf makes a certificate the host openssl reads;
# 4. only runtime files in the image (no headers, static libraries, pkg-config files, libssl.so/libcrypto.so
#    links, c_rehash or shell), the report and the SBOM;
# 5. the same digest from a second build in another directory with -j1.
# Build times go to stdout (docs/performance-images.md).
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
. "$(dirname "$0")/../lib/real_images.sh"
need python3 readelf sha256sum openssl podman runc umoci
start_registry
podman_setup

real_sources
real_checkouts a b

# 1. The image (musl, musl-libc, openssl, ca-certificates, tzdata), cold, signed and pushed.
t=$(now)
build a 2 --json build image:openssl --offline --key "$T/key.pem" -o "$T/a/out/openssl" \
  --push "$REGISTRY/openssl:3.0.22" --insecure-registry "$REGISTRY" >"$T/out.json" 2>"$T/log" ||
  { cat "$T/log" "$T/out.json"; fail "building the openssl image failed"; }
echo "time: openssl image (openssl, musl, ...), cold store and cold source cache, -j2: $(since "$t") s"
digest=$(tail -1 "$T/out.json" | jget '["digest"]')
echo "size: openssl image: $(tail -1 "$T/out.json" | jget '["files"]') files, $(tail -1 "$T/out.json" | jget '["bytes"]') bytes uncompressed, $(tail -1 "$T/out.json" | jget '["compressedBytes"]') bytes compressed"
"$ECHO_BUILD" verify "$T/a/out/openssl" --key "$T/pub.pem" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "verify failed"; }

# 2. The openssl package's output in the store.
okey=$(grep '"package": *"openssl"' "$T/out.json" | grep '"key"' | head -1 | jget '["key"]')
[ -n "$okey" ] || fail "no openssl build event in: $(cat "$T/out.json")"
out=$T/a/store/$okey/root
# The runtime dependency musl-libc (libc.so, which is also the loader) is in the same store.
libc=$(grep '"package": *"musl-libc"' "$T/out.json" | grep '"key"' | head -1 | jget '["key"]')
[ -n "$libc" ] || fail "no musl-libc build event in: $(cat "$T/out.json")"
root=$out
lroot=$T/a/store/$libc/root
# /lib/ld-musl-x86_64.so.1 is an absolute link to /usr/lib/musl/lib/libc.so; the host has neither.
[ "$(readlink "$lroot/lib/ld-musl-x86_64.so.1")" = /usr/lib/musl/lib/libc.so ] || fail "musl-libc's loader link: $(ls -l "$lroot/lib")"
loader=$lroot/usr/lib/musl/lib/libc.so
[ -f "$loader" ] || fail "no libc.so at $loader"
for f in usr/bin/openssl usr/lib/libssl.so.3 usr/lib/libcrypto.so.3 usr/share/licenses/openssl/LICENSE.txt \
  etc/ssl/openssl.cnf usr/include/openssl/ssl.h usr/lib/libcrypto.a; do
  [ -f "$root/$f" ] || fail "$f missing from the openssl output $root"
done
[ ! -e "$root/usr/bin/c_rehash" ] || fail "usr/bin/c_rehash (a perl script) is installed"

readelf -l "$root/usr/bin/openssl" >"$T/readelf.out"
assert_contains "$T/readelf.out" "[Requesting program interpreter: /lib/ld-musl-x86_64.so.1]"
readelf -d "$root/usr/bin/openssl" | grep NEEDED | sed 's/.*\[\(.*\)\]/\1/' | sort | tr '\n' ' ' >"$T/needed"
[ "$(cat "$T/needed")" = "libc.so libcrypto.so.3 libssl.so.3 " ] || fail "openssl needs: $(cat "$T/needed")"
readelf -d "$root/usr/lib/libcrypto.so.3" | grep NEEDED | sed 's/.*\[\(.*\)\]/\1/' | tr '\n' ' ' >"$T/needed"
[ "$(cat "$T/needed")" = "libc.so " ] || fail "libcrypto.so.3 needs: $(cat "$T/needed")"

# Run it through our loader, invoked directly: libc.so from musl-libc (the runtime package images get).
run() { "$loader" --library-path "$root/usr/lib:$lroot/usr/lib/musl/lib" "$root/usr/bin/openssl" "$@"; }
run version >"$T/version.out" 2>&1 || { cat "$T/version.out"; fail "openssl version failed under the musl loader"; }
cat "$T/version.out"
grep -Eq '^OpenSSL 3\.0\.22 [0-9]+ [A-Z][a-z]+ 20[0-9]{2} \(Library: OpenSSL 3\.0\.22 ' "$T/version.out" ||
  fail "openssl version printed: $(cat "$T/version.out")"
run version -d >"$T/dir.out" 2>&1
[ "$(cat "$T/dir.out")" = 'OPENSSLDIR: "/etc/ssl"' ] || fail "openssl version -d: $(cat "$T/dir.out")"
head -c 100000 /dev/urandom >"$T/data"
got=$(run dgst -sha256 -r "$T/data" | cut -d' ' -f1)
[ "$got" = "$(sha256sum <"$T/data" | cut -d' ' -f1)" ] || fail "openssl dgst -sha256 gave $got"
# A signature made by our openssl verifies with the host's (glibc) openssl, and the reverse.
run genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>"$T/err" || { cat "$T/err"; fail "genpkey failed"; }
run pkey -in "$T/ec.pem" -pubout -out "$T/ec.pub" 2>"$T/err" || { cat "$T/err"; fail "pkey -pubout failed"; }
run dgst -sha256 -sign "$T/ec.pem" -out "$T/sig" "$T/data" 2>"$T/err" || { cat "$T/err"; fail "dgst -sign failed"; }
openssl dgst -sha256 -verify "$T/ec.pub" -signature "$T/sig" "$T/data" >"$T/verify.out" 2>&1 ||
  { cat "$T/verify.out"; fail "the host openssl rejects our openssl's signature"; }
openssl dgst -sha256 -sign "$T/ec.pem" -out "$T/sig2" "$T/data"
run dgst -sha256 -verify "$T/ec.pub" -signature "$T/sig2" "$T/data" >"$T/verify.out" 2>&1 ||
  { cat "$T/verify.out"; fail "our openssl rejects the host openssl's signature"; }
assert_contains "$T/verify.out" "Verified OK"

# 3. The image under podman, from the registry, as nonroot.
img=$REGISTRY/openssl:3.0.22
podman run --rm "$img" >"$T/run.out" 2>"$T/run.err" || { cat "$T/run.err"; fail "podman run (default command) failed"; }
grep -Eq '^OpenSSL 3\.0\.22 ' "$T/run.out" || fail "podman run $img printed: $(cat "$T/run.out")"
got=$(podman run --rm -i "$img" dgst -sha256 -r <"$T/data" 2>"$T/run.err" | cut -d' ' -f1)
[ "$got" = "$(sha256sum <"$T/data" | cut -d' ' -f1)" ] || { cat "$T/run.err"; fail "dgst -sha256 in the image gave '$got'"; }
# No -CAfile: the trust store is the image's bundle (SSL_CERT_FILE); its first certificate is a root in it.
podman run --rm "$img" verify /etc/ssl/certs/ca-certificates.crt >"$T/run.out" 2>"$T/run.err" ||
  { cat "$T/run.out" "$T/run.err"; fail "openssl verify against the image's CA bundle failed"; }
assert_contains "$T/run.out" "/etc/ssl/certs/ca-certificates.crt: OK"
# `req` needs /etc/ssl/openssl.cnf; the certificate comes out on stdout and the host openssl reads it.
podman run --rm "$img" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /tmp/key.pem \
  -subj /CN=echo-build-test -days 1 >"$T/cert.pem" 2>"$T/run.err" || { cat "$T/run.err"; fail "openssl req in the image failed"; }
openssl x509 -in "$T/cert.pem" -noout -subject >"$T/subject" 2>&1 || { cat "$T/subject"; fail "the host openssl cannot read the certificate"; }
assert_contains "$T/subject" "CN = echo-build-test"
podman run --rm --entrypoint /bin/sh "$img" -c true >/dev/null 2>&1 && fail "the openssl image has /bin/sh"

# 4. Only runtime files: the report, the unpacked image, the SBOM.
python3 - "$T/out.json" <<'PY' || fail "build report"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
r = s["removed"]
if r.get("dev-symlinks") != 2 or not r.get("headers") or r.get("static") != 2 or not r.get("pkgconfig"):
    sys.exit(f"removed: {r}")
if s["setuidFiles"]: sys.exit(f"setuid files: {s['setuidFiles']}")
if set(s["filesPerPackage"]) != {"", "ca-certificates", "musl-libc", "openssl", "tzdata"}: sys.exit(f"{s['filesPerPackage']}")
PY
mkdir "$T/rootfs"
umoci raw unpack --rootless --image "$T/a/out/openssl:3.0.22" "$T/rootfs" >"$T/umoci.log" 2>&1 || { cat "$T/umoci.log"; fail "umoci unpack failed"; }
for f in usr/bin/openssl usr/lib/libssl.so.3 usr/lib/libcrypto.so.3 usr/lib/ossl-modules/legacy.so etc/ssl/openssl.cnf \
  etc/ssl/certs/ca-certificates.crt usr/lib/musl/lib/libc.so usr/share/zoneinfo/Europe/Berlin; do
  [ -f "$T/rootfs/$f" ] || fail "/$f missing from the image"
done
for f in usr/include usr/lib/libssl.a usr/lib/libcrypto.a usr/lib/pkgconfig usr/lib/libssl.so usr/lib/libcrypto.so \
  usr/bin/c_rehash bin/sh usr/bin/perl; do
  [ ! -e "$T/rootfs/$f" ] && [ ! -L "$T/rootfs/$f" ] || fail "/$f is in the image"
done
[ -z "$(find "$T/rootfs" -perm /6000 -print)" ] || fail "setuid/setgid files: $(find "$T/rootfs" -perm /6000)"
python3 - "$T/a/out/openssl.spdx.json" <<'PY' || fail "the SBOM's openssl package"
import json, sys
doc = json.load(open(sys.argv[1]))
o = [p for p in doc["packages"] if p["name"] == "openssl" and p["SPDXID"].startswith("SPDXRef-Package-")]
if len(o) != 1: sys.exit(f"openssl packages in the SBOM: {o}")
if o[0]["downloadLocation"] != "https://www.openssl.org/source/openssl-3.0.22.tar.gz": sys.exit(o[0]["downloadLocation"])
sha = "67ebca7e50d17383028045486653492195b83db95f8558709701bb47b5c1ef81"
if sha not in [c["checksumValue"] for c in o[0].get("checksums", [])]: sys.exit(f"checksums {o[0].get('checksums')}")
PY

# 5. Reproducible: other directory, store and cache, -j1, cold (musl and openssl compiled again).
t=$(now)
build b 1 --json build image:openssl --offline -o "$T/b/out/openssl" >"$T/b/out.json" 2>"$T/b/log" ||
  { cat "$T/b/log"; fail "second build failed"; }
echo "time: openssl image, second cold build, -j1: $(since "$t") s"
[ "$(tail -1 "$T/b/out.json" | jget '["digest"]')" = "$digest" ] ||
  fail "not reproducible: $digest (dir a, -j2) vs $(tail -1 "$T/b/out.json" | jget '["digest"]') (dir b, -j1)"
echo "PASS"
