#!/usr/bin/env bash
# Layer benchmark (not a test): echo-build's write_layer vs tar|gzip -6|sha256sum, umoci insert and buildah,
# all on the same copy of a tree, in the same run. Usage:
#   tests/bench/layer_bench.sh [BUILD_DIR] [TREE]      (defaults: build-oci, /usr/lib/gcc; RUNS=3)
# Prints the best of $RUNS wall times per tool, compressed sizes and the ratios. Needs the unit binary
# BUILD_DIR/tests/echo_unit_oci (its hidden [.bench] test drives write_layer over ECHO_BENCH_DIR).
set -euo pipefail

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$src_dir/build-oci}
tree=${2:-/usr/lib/gcc}
runs=${RUNS:-3}
unit=$build/tests/echo_unit_oci
[ -x "$unit" ] || { echo "no $unit; build target echo_unit_oci first" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/layer-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/tree"
cp -a "$tree/." "$work/tree/"
sync
echo "tree: $tree copied to $work/tree ($(du -sb "$work/tree" | cut -f1) bytes, $(find "$work/tree" | wc -l) entries)"
echo "cpus: $(nproc), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A time cpu size

# Runs "$@" $runs times; records the best wall time and the CPU time (user+sys, all processes) of that run.
measure() {
  local key=$1; shift
  local t=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -o "$work/$key.time" -f '%e %U %S' bash -c "$(declare -f "$1"); work=$work unit=$unit; $(printf '%q ' "$@")" \
      >"$work/$key.out" 2>&1 || { echo "$key failed:"; cat "$work/$key.out"; return 1; }
    t+="$(awk '{printf "%.2f %.2f", $1, $2 + $3}' "$work/$key.time")"$'\n'
  done
  read -r time[$key] cpu[$key] < <(printf '%s' "$t" | sort -g | head -1)
}

ours() {
  rm -rf "$work/ours-$1"
  ECHO_BENCH_DIR=$work/tree ECHO_BENCH_COMPRESSION=$1 ECHO_BENCH_LAYOUT=$work/ours-$1 "$unit" '[.bench]'
}
tar_gzip() { (cd "$work/tree" && tar --sort=name -cf - . | gzip -6 | tee "$work/tar.gz" | sha256sum); }
umoci_insert() {
  rm -rf "$work/umoci"
  umoci init --layout "$work/umoci" && umoci new --image "$work/umoci:b" && umoci insert --image "$work/umoci:b" "$work/tree" /tree
}
buildah_commit() {
  local b=(buildah --root "$work/buildah-root" --runroot "$work/buildah-run" --storage-driver vfs)
  rm -rf "$work/buildah-out"
  local c; c=$("${b[@]}" from scratch)
  "${b[@]}" copy "$c" "$work/tree" /tree && "${b[@]}" commit --disable-compression=false "$c" "oci:$work/buildah-out:b" && "${b[@]}" rm "$c"
}
# Size of the largest blob in an OCI layout (the layer).
layer_size() { find "$1/blobs" -type f -printf '%s\n' | sort -n | tail -1; }

measure ours_gzip ours gzip;  size[ours_gzip]=$(layer_size "$work/ours-gzip")
measure ours_zstd ours zstd;  size[ours_zstd]=$(layer_size "$work/ours-zstd")
measure tar_gzip tar_gzip;    size[tar_gzip]=$(stat -c %s "$work/tar.gz")
if command -v umoci >/dev/null; then
  measure umoci umoci_insert && size[umoci]=$(layer_size "$work/umoci") || true
else echo "umoci: not installed, skipped"; fi
if command -v buildah >/dev/null; then
  measure buildah buildah_commit && size[buildah]=$(layer_size "$work/buildah-out") ||
    echo "buildah: failed here (see above), skipped"
else echo "buildah: not installed, skipped"; fi

grep -h '^layer' "$work"/ours_*.out || true
printf '%-10s %8s %8s %12s %10s %12s %11s\n' tool wall-s cpu-s bytes "vs gzip-6" "wall ratio" "cpu ratio"
for k in ours_gzip ours_zstd tar_gzip umoci buildah; do
  [ -n "${time[$k]:-}" ] || continue
  printf '%-10s %8.2f %8.2f %12s %9.1f%% %11.2fx %10.2fx\n' "$k" "${time[$k]}" "${cpu[$k]}" "${size[$k]:-?}" \
    "$(echo "100 * ${size[$k]:-0} / ${size[tar_gzip]} - 100" | bc -l)" \
    "$(echo "${time[$k]} / ${time[ours_gzip]}" | bc -l)" "$(echo "${cpu[$k]} / ${cpu[ours_gzip]}" | bc -l)"
done
echo "(ratio = tool / ours_gzip: above 1 means ours is faster)"
