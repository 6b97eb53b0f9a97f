#!/usr/bin/env bash
# Resolver benchmark (issue 2): load + parse + resolve + plan of synthetic recipe sets of 1k, 10k, 50k packages.
# Usage: tests/bench/resolve_bench.sh [path/to/echo-build]   (figures go into docs/performance.md by hand)
set -euo pipefail
EB=${1:-build/echo-build}
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
for n in 1000 10000 50000; do
  python3 "$(dirname "$0")/gen_recipes.py" "$n" "$D/r$n"
  "$EB" --recipes "$D/r$n" plan big >/dev/null  # warm the page cache
  best=""; times=()
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N); "$EB" --recipes "$D/r$n" plan big >"$D/plan.txt"; e=$(date +%s%N)
    times+=($(( (e - s) / 1000000 )))
  done
  med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  echo "$n recipes: median ${med} ms over 5 runs ($(tail -1 "$D/plan.txt"))"
done
