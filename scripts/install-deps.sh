#!/usr/bin/env bash
# Installs everything echo-build needs to build and test on Debian 12 (all from Debian's packages).
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
PKGS=(build-essential cmake ninja-build pkg-config git ca-certificates curl
  libarchive-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libcli11-dev libspdlog-dev catch2
  libyaml-dev libseccomp-dev libdeflate-dev libzstd-dev
  openssl patch xz-utils bzip2 zstd zip unzip python3 python3-jsonschema python3-yaml
  docker-registry podman runc skopeo umoci uidmap bubblewrap dpkg-dev)
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# docker-registry's package starts a system service on :5000; the tests start their own on free ports.
$SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
