#!/usr/bin/env bash
# OpenSSL 3.0.22 from its upstream release, built against our musl (itself built from musl's upstream release):
# offline sandboxed build of the `openssl` package from the Debian-fetched distdir; the installed
# usr/bin/openssl's ELF interpreter is our musl loader and its libraries are ours (libssl.so.3,
# libcrypto.so.3, libc.so); run through our loader (invoked directly, the host has no /lib/ld-musl-*), it
# prints "OpenSSL 3.0.22 ...", computes the same SHA-256 as the host's sha256sum, and its ECDSA signatures
# and the host openssl's verify each other. The build time goes to stdout (docs/images.md).
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
. "$(dirname "$0")/../lib/real_images.sh"
need python3 readelf sha256sum openssl
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

real_sources
real_checkouts a

t=$(now)
build a 2 build openssl --offline --json >"$T/out.json" 2>"$T/log" || { cat "$T/log" "$T/out.json"; fail "building openssl failed"; }
echo "time: openssl (with musl), cold store and cold source cache, -j2: $(since "$t") s"
out=$(tail -1 "$T/out.json" | jget '["output"]')
[ "$(tail -1 "$T/out.json" | jget '["package"]')" = openssl ] || fail "last JSON line is not the openssl result: $(tail -1 "$T/out.json")"
[ "$(tail -1 "$T/out.json" | jget '["version"]')" = 3.0.22-r0 ] || fail "openssl version: $(tail -1 "$T/out.json")"
# The runtime dependency musl-libc (libc.so, which is also the loader) is in the same store.
libc=$(grep '"package": *"musl-libc"' "$T/out.json" | grep '"key"' | head -1 | jget '["key"]')
[ -n "$libc" ] || fail "no musl-libc build event in: $(cat "$T/out.json")"
root=$out
lroot=$T/a/store/$libc/root
# /lib/ld-musl-x86_64.so.1 is an absolute link to /usr/lib/musl/lib/libc.so; the host has neither.
[ "$(readlink "$lroot/lib/ld-musl-x86_64.so.1")" = /usr/lib/musl/lib/libc.so ] || fail "musl-libc's loader link: $(ls -l "$lroot/lib")"
loader=$lroot/usr/lib/musl/lib/libc.so
[ -f "$loader" ] || fail "no libc.so at $loader"
for f in usr/bin/openssl usr/lib/libssl.so.3 usr/lib/libcrypto.so.3 usr/share/licenses/openssl/LICENSE.txt; do
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
echo "PASS"
