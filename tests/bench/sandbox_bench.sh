#!/usr/bin/env bash
# Benchmark (not a test): start+exit of /bin/true in echo-build's namespace sandbox vs bubblewrap vs podman,
# measured in the same run. Usage: tests/bench/sandbox_bench.sh  (env: ECHO_BINARY_DIR, RUNS=200, PODMAN_RUNS=50)
# Ours is timed in-process (as the build uses it) by the unit binary's hidden [.bench] case; bwrap and podman are
# timed by a python3 loop around subprocess.run, whose own spawn cost is reported as "spawn baseline".
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/lib/common.sh"

RUNS=${RUNS:-200}
PODMAN_RUNS=${PODMAN_RUNS:-50}
bin="${ECHO_BINARY_DIR:-$ECHO_SOURCE_DIR/build}/tests/echo_unit_sandbox"
[ -x "$bin" ] || skip "sandbox unit binary $bin is not built (cmake --build <dir> --target echo_unit_sandbox)"
need bwrap /usr/bin/python3 cc

median_of() { # median_of RUNS CMD...: median wall ms of CMD over RUNS runs (plus one warm-up)
  /usr/bin/python3 - "$@" <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ms = []
for _ in range(runs):
    t0 = time.perf_counter_ns()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ms.append((time.perf_counter_ns() - t0) / 1e6)
print(f"{statistics.median(ms):.3f}")
PY
}

echo "host: $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), user $(id -un)"
ours=$(ECHO_BENCH_RUNS=$RUNS "$bin" '[.bench]' | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
[ -n "$ours" ] || fail "the [.bench] driver printed no median"
baseline=$(median_of "$RUNS" /bin/true)
bwrap_ms=$(median_of "$RUNS" bwrap --unshare-all --ro-bind /usr /usr --ro-bind /bin /bin --ro-bind /lib /lib \
  --ro-bind /lib64 /lib64 --proc /proc --dev /dev true)

podman_ms=""
if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
  REGISTRY=127.0.0.1:1 podman_setup
  mkdir -p "$T/rootfs"
  printf 'int main(void) { return 0; }\n' >"$T/true.c"
  cc -static -O2 -o "$T/rootfs/true" "$T/true.c"
  tar -C "$T/rootfs" --owner=0 --group=0 -cf "$T/true.tar" .
  podman import -q "$T/true.tar" localhost/echo-bench-true:latest >/dev/null
  podman_ms=$(median_of "$PODMAN_RUNS" podman run --rm --network none localhost/echo-bench-true:latest /true)
  add_cleanup "podman rmi -f localhost/echo-bench-true:latest >/dev/null 2>&1"
fi

ratio() { /usr/bin/python3 -c "print(f'{$1 / $2:.1f}x')"; }
printf '%-34s %10s %8s\n' "runner (start + exit of true)" "median ms" "vs ours"
printf '%-34s %10s %8s\n' "echo-build namespace sandbox" "$ours" "1.0x"
printf '%-34s %10s %8s\n' "bwrap --unshare-all ..." "$bwrap_ms" "$(ratio "$bwrap_ms" "$ours")"
[ -n "$podman_ms" ] && printf '%-34s %10s %8s\n' "podman run --rm (runc, vfs)" "$podman_ms" "$(ratio "$podman_ms" "$ours")"
printf '%-34s %10s %8s\n' "spawn baseline (python -> true)" "$baseline" ""
echo "runs: ours/bwrap $RUNS, podman $PODMAN_RUNS"
