#!/usr/bin/env bash
# Benchmark (not a test): no-op rebuild of the example's closure, everything cached:
#   echo-build --recipes recipes --store S --cache-dir C build echo-hello
# Median wall time over RUNS runs (default 20) after a warm-up build. Target: < 50 ms.
# Uses hyperfine when installed (apt install hyperfine), else a loop timed with date +%s%N.
# Usage: tests/bench/noop_bench.sh   (env: ECHO_BUILD, RUNS=20, NO_HYPERFINE=1 forces the date loop)
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/lib/common.sh"
RUNS=${RUNS:-20}
[ -x "$ECHO_BUILD" ] || skip "echo-build binary $ECHO_BUILD is not built"

cmd=("$ECHO_BUILD" --recipes "$ECHO_SOURCE_DIR/recipes" --store "$T/store" --cache-dir "$T/cache" build echo-hello)
"${cmd[@]}" >/dev/null 2>"$T/err" || { cat "$T/err"; fail "the warm-up build failed"; }
"${cmd[@]}" --json 2>/dev/null | grep -q '"cached":true' || fail "the second build is not a cache hit"
echo "host: $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), user $(id -un)"
echo "command: echo-build --recipes recipes --store S --cache-dir C build echo-hello (cached), $RUNS runs"

if [ -z "${NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null 2>&1; then
  hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$T/h.json" "${cmd[*]}" >/dev/null 2>&1 ||
    hyperfine --warmup 3 --runs "$RUNS" --export-json "$T/h.json" "${cmd[*]}" >/dev/null
  /usr/bin/python3 - "$T/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("hyperfine: median %.1f ms, mean %.1f ms ± %.1f, min %.1f ms, max %.1f ms; CPU user %.1f ms + system %.1f ms"
      % (r["median"] * 1e3, r["mean"] * 1e3, r["stddev"] * 1e3, r["min"] * 1e3, r["max"] * 1e3,
         r["user"] * 1e3, r["system"] * 1e3))
PY
else
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N); "${cmd[@]}" >/dev/null 2>&1; t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
  done | sort -n >"$T/us"
  awk '{a[NR]=$1} END {m = NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
    printf "loop (date +%%s%%N): median %.1f ms, min %.1f ms, max %.1f ms\n", m/1000, a[1]/1000, a[NR]/1000}' "$T/us"
fi
