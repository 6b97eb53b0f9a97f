#!/usr/bin/env python3
"""Generates a synthetic recipe set for the resolver benchmark: N package recipes with realistic fan-in
(a few foundational packages many depend on: dependencies are drawn with a power-law bias toward low indices)
and fan-out (0-6 build deps, 0-4 runtime deps), plus one image recipe that pulls in the top 2% of packages.
Deterministic for a given N (fixed seed)."""
import os, random, sys

n = int(sys.argv[1]); out = sys.argv[2]
rnd = random.Random(42)
os.makedirs(os.path.join(out, "packages"), exist_ok=True)
os.makedirs(os.path.join(out, "images"), exist_ok=True)
SHA = "0" * 64

def pick(i, k):
    # Dependencies only point at lower indices (no cycles); bias toward popular low-index packages.
    if i == 0: return []
    return sorted({int(i * rnd.random() ** 3) for _ in range(k)})

for i in range(n):
    build = pick(i, rnd.randint(0, 6)); runtime = pick(i, rnd.randint(0, 4))
    lines = [f"package:\n  name: pkg{i}\n  version: {1 + i % 7}.{i % 13}.{i % 5}\n  license: MIT\n"
             f"  description: synthetic package {i}\n"]
    lines.append(f"sources:\n  - url: https://example.org/src/pkg{i}-1.0.tar.gz\n    sha256: {SHA}\n    strip-components: 1\n")
    if build or runtime:
        lines.append("dependencies:\n")
        if build: lines.append("  build:\n" + "".join(f"    - pkg{d} >= 1.0\n" for d in build))
        if runtime: lines.append("  runtime:\n" + "".join(f"    - pkg{d}\n" for d in runtime))
    lines.append("pipeline:\n  - name: build\n    runs: ./configure --prefix=/usr && make -j${{build.jobs}}\n"
                 "  - name: install\n    runs: make install DESTDIR=${{targets.destdir}}\n")
    with open(os.path.join(out, "packages", f"pkg{i}.yaml"), "w") as f: f.write("".join(lines))
top = sorted(rnd.sample(range(n // 2, n), max(1, n // 50)))
with open(os.path.join(out, "images", "big.yaml"), "w") as f:
    f.write("image:\n  name: big\ncontents:\n  packages:\n" + "".join(f"    - pkg{t}\n" for t in top))
