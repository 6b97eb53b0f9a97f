#!/usr/bin/env bash
# The `debug` image: musl-base plus BusyBox built from its upstream release against our musl. Offline sandboxed
# build from the Debian-fetched distdir, signed, pushed, verified; under podman its shell runs, as nonroot,
# and sees the CA bundle and zoneinfo; BusyBox's interpreter is our musl loader; nothing is setuid/setgid
# (BusyBox's suid support is configured out); a second cold build from a copy of the recipes in another
# directory, with -j1, gives the same digest. Times go to stdout (docs/performance-images.md).
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
. "$(dirname "$0")/../lib/real_images.sh"
need python3 podman runc umoci readelf
start_registry
podman_setup

real_sources
real_checkouts a b

t=$(now)
build a 2 build debug --offline --key "$T/key.pem" -o "$T/out/debug" --push "$REGISTRY/debug:1.0" \
  --insecure-registry "$REGISTRY" >"$T/digest" 2>"$T/log" || { cat "$T/log"; fail "building debug failed"; }
echo "time: debug, cold store and cold source cache, -j2: $(since "$t") s"
grep -v '^\[' "$T/log"
assert_contains "$T/log" "  busybox: "
! grep -q "setuid" "$T/log" || fail "the debug image reports setuid/setgid files"
"$ECHO_BUILD" verify "$T/out/debug" --key "$T/pub.pem" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "verify failed"; }
python3 - "$T/out/debug.spdx.json" <<'PY' || fail "SBOM check failed"
import json, sys
doc = json.load(open(sys.argv[1]))
pk = {p["name"]: p for p in doc["packages"] if p["SPDXID"] != "SPDXRef-Image"}
p = pk.get("busybox") or sys.exit(f"no busybox in the SBOM: {sorted(pk)}")
if p["downloadLocation"] != "https://busybox.net/downloads/busybox-1.35.0.tar.bz2": sys.exit(p["downloadLocation"])
if "faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694" not in [c["checksumValue"] for c in p["checksums"]]:
    sys.exit("busybox checksum missing")
PY

mkdir "$T/rootfs"
umoci raw unpack --rootless --image "$T/out/debug:1.0" "$T/rootfs" >"$T/umoci.log" 2>&1 || { cat "$T/umoci.log"; fail "umoci unpack failed"; }
readelf -l "$T/rootfs/bin/busybox" >"$T/readelf.out"
assert_contains "$T/readelf.out" "[Requesting program interpreter: /lib/ld-musl-x86_64.so.1]"
[ "$(readlink "$T/rootfs/bin/sh")" = ../bin/busybox ] || fail "/bin/sh -> $(readlink "$T/rootfs/bin/sh")"
[ -z "$(find "$T/rootfs" -perm /6000 -print)" ] || fail "setuid/setgid files: $(find "$T/rootfs" -perm /6000)"

podman run --rm "$REGISTRY/debug:1.0" -c \
  'id -u; echo $((6*7)); grep -c "BEGIN CERTIFICATE" /etc/ssl/certs/ca-certificates.crt; TZ=Europe/Berlin date -d @1719835200 +%z; ls /usr/share/zoneinfo/Europe/Berlin' \
  >"$T/run.out" 2>"$T/run.err" || { cat "$T/run.err"; fail "podman run failed"; }
cat "$T/run.out"
[ "$(sed -n 1p "$T/run.out")" = 65532 ] || fail "runs as uid $(sed -n 1p "$T/run.out"), want 65532"
[ "$(sed -n 2p "$T/run.out")" = 42 ] || fail "the shell computed $(sed -n 2p "$T/run.out")"
[ "$(sed -n 3p "$T/run.out")" -gt 100 ] || fail "$(sed -n 3p "$T/run.out") certificates"
[ "$(sed -n 4p "$T/run.out")" = +0200 ] || fail "Europe/Berlin in July: $(sed -n 4p "$T/run.out")"
[ "$(sed -n 5p "$T/run.out")" = /usr/share/zoneinfo/Europe/Berlin ] || fail "zoneinfo: $(sed -n 5p "$T/run.out")"

# Reproducible: other directory, store and cache, -j1, cold (musl and busybox compiled again).
t=$(now)
build b 1 build debug --offline -o "$T/b/out/debug" >"$T/b/digest" 2>"$T/b/log" || { cat "$T/b/log"; fail "second build failed"; }
echo "time: debug, second cold build, -j1: $(since "$t") s"
[ "$(tail -1 "$T/b/digest")" = "$(tail -1 "$T/digest")" ] ||
  fail "not reproducible: $(tail -1 "$T/digest") (dir a, -j2) vs $(tail -1 "$T/b/digest") (dir b, -j1)"
echo "PASS"
