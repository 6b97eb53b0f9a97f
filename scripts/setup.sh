#!/usr/bin/env bash
# README command 1: set everything up on a fresh Debian 12 machine and run the main job:
# build the example image from source in the sandbox, sign it (provenance + SBOM), and verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target echo-build
EB=build/echo-build
KEYDIR=${ECHO_KEY_DIR:-$HOME/.config/echo-build}
mkdir -p "$KEYDIR"
if [ ! -f "$KEYDIR/cosign.key" ]; then
  "$EB" keygen --out-key "$KEYDIR/cosign.key" --out-pub "$KEYDIR/cosign.pub"
fi
"$EB" build example --key "$KEYDIR/cosign.key" --output out/example
"$EB" verify out/example --key "$KEYDIR/cosign.pub"
echo "done: signed image in out/example (public key $KEYDIR/cosign.pub)"
