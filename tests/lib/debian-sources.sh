#!/bin/bash
# debian-sources.sh DISTDIR [PACKAGE_RECIPE_DIR]
#
# Fills DISTDIR with the upstream release files our real recipes (recipes/packages/{musl,hello,tzdata,
# ca-certificates,busybox,openssl,zlib}.yaml) need, taken from Debian bookworm's source packages: Debian ships
# most upstream release tarballs byte for byte as NAME_VERSION.orig.tar.*. Each file is stored under its upstream name
# (musl-1.2.3.tar.gz, ...), which is how `echo-build --distdir` finds it.
#
# Steps: enable deb-src for the suites of the existing Debian deb entries (root only, once), run
# `apt-get source --download-only PKG=VERSION`, then check every orig file against the sha256 the recipe
# names for that file. A mismatch is a hard failure: the recipe's sha256 is upstream's (or, for zlib, that of
# the Debian file the recipe names by its Debian URL), and a file
# that differs (repacked by Debian, or a new upload) is never used and never "fixed" by editing the recipe.
#
# Files already present in DISTDIR with the right sha256 are kept, so a cache directory reused across runs
# (tests use ${ECHO_TEST_CACHE:-/var/tmp/echo-build-test-cache}/distdir) costs nothing after the first.
#
# Exit status: 0 all files present and verified; 1 a sha256 mismatch or a usage error;
# 77 the files cannot be fetched here (no apt, no deb-src and not root, version gone from the archive...).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
distdir=${1:?usage: debian-sources.sh DISTDIR [PACKAGE_RECIPE_DIR]}
recipes=${2:-$here/../../recipes/packages}

# Debian source package=version, the orig file it carries, the upstream release file name our recipe uses.
files=(
  "musl=1.2.3-1             musl_1.2.3.orig.tar.gz    musl-1.2.3.tar.gz"
  "hello=2.10-3             hello_2.10.orig.tar.gz    hello-2.10.tar.gz"
  "tzdata=2026b-0+deb12u1   tzdata_2026b.orig.tar.gz  tzdata2026b.tar.gz"
  "nss=2:3.87.1-1+deb12u2   nss_3.87.1.orig.tar.gz    nss-3.87.1.tar.gz"
  "busybox=1:1.35.0-4+deb12u1 busybox_1.35.0.orig.tar.bz2 busybox-1.35.0.tar.bz2"
  "openssl=3.0.22-1~deb12u2 openssl_3.0.22.orig.tar.gz  openssl-3.0.22.tar.gz"
  # Debian repacks zlib (1.2.13.dfsg): recipes/packages/zlib.yaml pins Debian's file by its own URL and
  # sha256 (and says so), so it keeps Debian's name.
  "zlib=1:1.2.13.dfsg-1     zlib_1.2.13.dfsg.orig.tar.bz2 zlib_1.2.13.dfsg.orig.tar.bz2"
)

unavailable() { echo "debian-sources: cannot fetch sources here: $*" >&2; exit 77; }
die() { echo "debian-sources: $*" >&2; exit 1; }

# The sha256 a recipe names for the source whose URL ends in /NAME.
recipe_sha256() {
  awk -v name="$1" '
    /^[[:space:]]*-?[[:space:]]*url:/ { n = split($NF, p, "/"); want = (p[n] == name); next }
    want && /^[[:space:]]*sha256:/ { print $2; exit }
    /^[[:space:]]*-[[:space:]]/ { want = 0 }' "$recipes"/*.yaml
}

have_deb_src() { apt-get indextargets --format '$(IDENTIFIER)' 2>/dev/null | grep -qx Sources; }

enable_deb_src() {
  have_deb_src && return 0
  [ "$(id -u)" = 0 ] || unavailable "no deb-src entry is configured and only root can add one"
  local out=/etc/apt/sources.list.d/echo-build-deb-src.sources tmp
  tmp=$(mktemp "$out.XXXXXX")
  {
    # deb822 files: copy each Debian "Types: deb" stanza as deb-src (same URIs, suites, components, key).
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -e "$f" ] && [ "$f" != "$out" ] || continue
      awk 'BEGIN { RS = ""; ORS = "\n\n" }
           /(^|\n)Types:[ \t]*deb[ \t]*(\n|$)/ && /debian/ && !/(^|\n)Enabled:[ \t]*no/ {
             sub(/Types:[ \t]*deb[ \t]*/, "Types: deb-src"); print }' "$f"
    done
  } >"$tmp"
  # one-line format: "deb [opts] URI suite comps" -> "deb-src ..."
  local lists=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -e "$f" ] && lists+=("$f"); done
  if [ ${#lists[@]} -gt 0 ]; then
    grep -h '^deb[[:space:]].*debian' "${lists[@]}" 2>/dev/null | sed 's/^deb\([[:space:]]\)/deb-src\1/' \
      >"$tmp.list" || true
    [ -s "$tmp.list" ] && mv "$tmp.list" /etc/apt/sources.list.d/echo-build-deb-src.list || rm -f "$tmp.list"
  fi
  if [ -s "$tmp" ]; then chmod 644 "$tmp"; mv "$tmp" "$out"; else rm -f "$tmp"; fi
  apt-get update -qq >/dev/null 2>&1 || unavailable "apt-get update failed"
  have_deb_src || unavailable "no Debian deb entry to derive a deb-src entry from"
}

command -v apt-get >/dev/null || unavailable "apt-get is not installed"
mkdir -p "$distdir"
exec 9>"$distdir/.lock"
flock 9  # one fetcher per distdir at a time (tests may run in parallel)

missing=()
for line in "${files[@]}"; do
  read -r _ _ upstream <<<"$line"
  want=$(recipe_sha256 "$upstream")
  [ -n "$want" ] || die "no recipe in $recipes names a source called $upstream"
  if [ -f "$distdir/$upstream" ] && [ "$(sha256sum <"$distdir/$upstream" | cut -d' ' -f1)" = "$want" ]; then
    continue
  fi
  missing+=("$line")
done
[ ${#missing[@]} -eq 0 ] && { echo "debian-sources: $distdir: all ${#files[@]} files present and verified"; exit 0; }

enable_deb_src
work=$(mktemp -d "$distdir/.apt.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt's _apt user writes here when it can
for line in "${missing[@]}"; do
  read -r pkgver orig upstream <<<"$line"
  want=$(recipe_sha256 "$upstream")
  # apt-get may fail on a file we do not need (a debian.tar.xz the mirror lacks); only the orig file counts.
  (cd "$work" && apt-get source --download-only -qq "$pkgver" >"$work/log" 2>&1) ||
    [ -f "$work/$orig" ] || { cat "$work/log" >&2; unavailable "apt-get source $pkgver failed"; }
  [ -f "$work/$orig" ] || { cat "$work/log" >&2; unavailable "apt-get source $pkgver did not deliver $orig"; }
  got=$(sha256sum <"$work/$orig" | cut -d' ' -f1)
  [ "$got" = "$want" ] ||
    die "$orig from Debian ($pkgver) has sha256 $got, but the recipe names $want for upstream's $upstream: not the upstream file; refusing to use it"
  mv "$work/$orig" "$distdir/$upstream.tmp" && mv "$distdir/$upstream.tmp" "$distdir/$upstream"
  echo "debian-sources: $upstream <- $orig ($pkgver), sha256 $got"
done
