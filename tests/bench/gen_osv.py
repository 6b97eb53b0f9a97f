#!/usr/bin/env python3
"""Generates a synthetic OSV database for the `echo-build scan` benchmark: N records (default 200000), one per
<id>.json, into a directory or (--zip) into a zip of the same files as osv.dev exports them. Python 3 stdlib
only; deterministic for a given N, --seed and --per-target (the output is byte-identical between runs).

Shapes follow the OSV schema 1.6: 1-3 affected[] entries, ECOSYSTEM / SEMVER / GIT ranges with 1-4 events,
some versions[] lists, aliases, severity vectors, references, database_specific.source, ~1% withdrawn.
Packages are spread over ~20000 names in several ecosystems (echo-build with pkg:generic purls, PyPI, npm, Go,
Debian:12). The real fixture records of tests/fixtures/osv/ are NOT included.

Known result. Random records never name echo-build's packages. Only "planted" records do: --per-target
(default 50) records for each of musl 1.2.3, zlib 1.2.13, busybox 1.35.0, openssl 3.0.22, built from templates
whose outcome for that version is fixed by construction (fixed == version, last_affected == version,
introduced == version, tilde and -rN and epoch orderings, numeric-vs-lexical traps such as 1.2.10 > 1.2.3,
unsorted multi-pair events, versions[] hits, SEMVER pre-releases, decoys in other ecosystems or with
look-alike names, withdrawn records, mutual-alias pairs). The expected scan result is printed as JSON on
stdout (and written to --expected FILE): per package the matching non-withdrawn record ids, the number of
findings after alias de-duplication, and the withdrawn records that would otherwise match.

Usage: gen_osv.py OUT [-n N] [--zip] [--seed S] [--per-target K] [--indent I] [--expected FILE]
  OUT is a directory (created; must be empty or absent) or, with --zip, the zip file to write."""
import argparse, json, os, random, sys, time, zipfile

# echo-build's packages and the versions its images ship (recipes/packages/*.yaml).
TARGETS = {"musl": "1.2.3", "zlib": "1.2.13", "busybox": "1.35.0", "openssl": "3.0.22"}
# Versions below / above each target, hand-picked (sorted ascending). "trap" ones compare the other way
# round when compared as strings. *_sem lists hold only valid SemVer 2.0.0 versions.
TABLES = {
    "musl": dict(lo=["0.9.13", "1.1.24", "1.2.2"], hi=["1.2.4", "1.3.0", "2.0.0"],
                 lo_trap="1.1.9", hi_trap="1.2.10",
                 lo_sem=["0.9.15", "1.1.24", "1.2.2"], hi_sem=["1.2.4", "1.2.5", "2.0.0"]),
    "zlib": dict(lo=["1.1.4", "1.2.11", "1.2.12"], hi=["1.2.13.1", "1.3", "1.3.1"],
                 lo_trap="1.2.9", hi_trap="1.10.0",
                 lo_sem=["1.1.4", "1.2.11", "1.2.12"], hi_sem=["1.2.14", "1.3.0", "1.3.1"]),
    "busybox": dict(lo=["1.30.1", "1.34.1", "1.35.0~rc1"], hi=["1.35.0.1", "1.36.0", "1.37.0"],
                    lo_trap="1.9.2", hi_trap="1.100.0",
                    lo_sem=["1.30.1", "1.34.1", "1.34.2"], hi_sem=["1.35.1", "1.36.0", "1.37.0"]),
    "openssl": dict(lo=["1.1.1w", "3.0.0", "3.0.21"], hi=["3.0.23", "3.1.0", "3.5.4"],
                    lo_trap="3.0.9", hi_trap="3.0.100",
                    lo_sem=["3.0.0", "3.0.15", "3.0.21"], hi_sem=["3.0.23", "3.1.0", "3.5.4"]),
}
# Random records use only synth-libNNNNN names, so they never name one of echo-build's packages (musl,
# musl-libc, zlib, busybox, openssl, ca-certificates, tzdata, hello, echo-hello) or a planted decoy name.
DECOY_SUFFIX = {"musl": "musl-tools", "zlib": "zlib-ng", "busybox": "busybox-extras", "openssl": "openssl-fips"}

GHSA_ALPHABET = "23456789cfghjmpqrvwx"
CVSS_PARTS = (("AV", "NALP"), ("AC", "LH"), ("PR", "NLH"), ("UI", "NR"), ("S", "UC"), ("C", "HLN"), ("I", "HLN"),
              ("A", "HLN"))
WORDS = ("buffer overflow heap stack use-after-free out-of-bounds read write integer overflow denial of service "
         "crafted input parser decoder header field length check null pointer dereference memory leak "
         "infinite loop path traversal injection signature verification bypass race condition").split()


def gen(args):
    rnd = random.Random(args.seed)
    n = args.n
    records = []  # (id, dict)
    expected = {}

    # ---- package name pool: ~20000 names over several ecosystems --------------------------------------------
    pool = []
    for i in range(19990):
        eco = rnd.choices(("echo-build", "PyPI", "npm", "Go", "Debian:12"), (70, 10, 10, 5, 5))[0]
        name = f"synth-lib{i:05d}"
        pool.append((eco, name))

    def purl_of(eco, name):
        return {"echo-build": f"pkg:generic/{name}", "PyPI": f"pkg:pypi/{name}", "npm": f"pkg:npm/{name}",
                "Go": f"pkg:golang/example.invalid/{name}", "Debian:12": f"pkg:deb/debian/{name}"}[eco]

    def package(eco, name):
        return {"ecosystem": eco, "name": name if eco != "Go" else f"example.invalid/{name}",
                "purl": purl_of(eco, name)}

    # ---- random pieces ---------------------------------------------------------------------------------------
    def semver():
        v = f"{rnd.randint(0, 12)}.{rnd.randint(0, 30)}.{rnd.randint(0, 40)}"
        r = rnd.random()
        if r < 0.08:
            v += rnd.choice(("-alpha", "-beta.2", "-rc.1", "-0.3.7"))
        elif r < 0.10:
            v += "+build." + str(rnd.randint(1, 99))
        return v

    def ecover(eco):
        base = f"{rnd.randint(0, 12)}.{rnd.randint(0, 30)}"
        if rnd.random() < 0.8:
            base += f".{rnd.randint(0, 40)}"
        r = rnd.random()
        if eco == "Debian:12":
            return (f"{rnd.randint(1, 2)}:" if r < 0.2 else "") + base + f"-{rnd.randint(1, 9)}" + (
                f"+deb12u{rnd.randint(1, 5)}" if rnd.random() < 0.3 else "")
        if r < 0.05:
            return base + f"~rc{rnd.randint(1, 4)}"
        if r < 0.10:
            return base + f"-r{rnd.randint(0, 9)}"
        if r < 0.13:
            return f"{rnd.randint(1, 3)}:" + base
        if r < 0.15:
            return f"20{rnd.randint(10, 26)}{rnd.choice('abcdefg')}"
        return base

    def sortkey(v):  # only to lay random events out in a plausible order; no semantics rely on it
        out = []
        for part in v.replace("-", ".").replace("~", ".").replace("+", ".").replace(":", ".").split("."):
            out.append((0, int(part), "") if part.isdigit() else (1, 0, part))
        return out

    def commit():
        return "%040x" % rnd.getrandbits(160)

    def events_random(kind, eco):
        k = rnd.choices((1, 2, 3, 4), (10, 65, 10, 15))[0]
        if kind == "GIT":
            vs = [commit() for _ in range(k)]
        else:
            vs = sorted({(semver() if kind == "SEMVER" else ecover(eco)) for _ in range(k)}, key=sortkey)
            while len(vs) < k:
                vs.append(vs[-1] + ".1")
        # one closing kind per range: the schema forbids fixed and last_affected in the same range
        closing = "last_affected" if rnd.random() < 0.12 else "fixed"
        if kind == "GIT" and rnd.random() < 0.1:
            closing = "limit"
        ev = []
        for i, v in enumerate(vs):
            if i % 2 == 0:
                ev.append({"introduced": "0" if i == 0 and rnd.random() < 0.45 else v})
            else:
                ev.append({closing: v})
        return ev

    def affected_random(eco, name):
        a = {"package": package(eco, name)}
        kinds = {"echo-build": ("ECOSYSTEM", "SEMVER", "GIT"), "PyPI": ("ECOSYSTEM",), "npm": ("SEMVER",),
                 "Go": ("SEMVER",), "Debian:12": ("ECOSYSTEM",)}[eco]
        ranges = []
        for _ in range(rnd.choices((0, 1, 2), (5, 83, 12))[0]):
            kind = rnd.choices(kinds, (60, 35, 5)[:len(kinds)])[0] if len(kinds) > 1 else kinds[0]
            r = {"type": kind, "events": events_random(kind, eco)}
            if kind == "GIT":
                r["repo"] = f"https://git.example.invalid/{name}.git"
            ranges.append(r)
        if ranges:
            a["ranges"] = ranges
        if not ranges or rnd.random() < 0.2:
            a["versions"] = sorted({(semver() if eco in ("npm", "Go") else ecover(eco))
                                    for _ in range(rnd.randint(1, 8))}, key=sortkey)
        if eco == "Debian:12" and rnd.random() < 0.5:
            a["ecosystem_specific"] = {"urgency": rnd.choice(("low", "medium", "high", "unimportant"))}
        return a

    def cvss():
        return "CVSS:3.1/" + "/".join(f"{k}:{rnd.choice(v)}" for k, v in CVSS_PARTS)

    def text(lo, hi):
        return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(lo, hi)))

    alias_counter = [0]

    def fresh_alias():  # unique across the database: only planted alias pairs share ids
        alias_counter[0] += 1
        c = alias_counter[0]
        if rnd.random() < 0.5:
            return f"CVE-9999-{c:07d}"
        x = (c * 7777777777777) % 20 ** 12  # a bijection on [0, 20^12): distinct counters, distinct ids
        digits = "".join(GHSA_ALPHABET[(x // 20 ** k) % 20] for k in range(12))
        return f"x_SYNTH-GHSA-{digits[0:4]}-{digits[4:8]}-{digits[8:12]}"

    def record(rid, affected, withdrawn=False, aliases=None, summary=None):
        year = rnd.randint(2015, 2026)
        pub = f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:" \
              f"{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}Z"
        r = {"schema_version": "1.6.0", "id": rid, "modified": "2026-12-01T00:00:00Z", "published": pub}
        if withdrawn:
            r["withdrawn"] = "2026-11-15T00:00:00Z"
        if aliases is None:
            aliases = [fresh_alias() for _ in range(rnd.choices((0, 1, 2), (40, 50, 10))[0])]
        if aliases:
            r["aliases"] = aliases
        r["summary"] = summary or text(4, 10)
        r["details"] = text(20, 70)
        if rnd.random() < 0.7:
            r["severity"] = [{"type": "CVSS_V3", "score": cvss()}]
        r["affected"] = affected
        r["references"] = [{"type": rnd.choice(("ADVISORY", "WEB", "FIX", "REPORT", "PACKAGE")),
                            "url": f"https://example.invalid/{rid.lower()}/{j}"} for j in range(rnd.randint(1, 3))]
        r["database_specific"] = {"source": f"https://example.invalid/synthetic/{rid}.json"}
        return r

    # ---- planted records for echo-build's packages -------------------------------------------------------------
    def P(name):
        return {"ecosystem": "echo-build", "name": name, "purl": f"pkg:generic/{name}"}

    def eco(*ev):
        return {"type": "ECOSYSTEM", "events": [dict([e]) for e in ev]}

    def sem(*ev):
        return {"type": "SEMVER", "events": [dict([e]) for e in ev]}

    def templates(t, v):
        T = TABLES[t]
        lo, hi, ls, hs = T["lo"], T["hi"], T["lo_sem"], T["hi_sem"]
        L, H = rnd.choice(lo), rnd.choice(hi)
        # (label, affected list, matches v?)
        yield "fixed-above", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", H))]}], True
        yield "fixed-equal", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", v))]}], False
        yield "between", [{"package": P(t), "ranges": [eco(("introduced", L), ("fixed", H))]}], True
        yield "introduced-above", [{"package": P(t), "ranges": [eco(("introduced", H))]}], False
        yield "introduced-equal", [{"package": P(t), "ranges": [eco(("introduced", v))]}], True
        yield "last-affected-equal", [{"package": P(t), "ranges": [eco(("introduced", L), ("last_affected", v))]}], True
        yield "last-affected-below", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("last_affected", L))]}], False
        # several introduced/fixed pairs in one range, written out of order (evaluation must sort them):
        # 0..lo[0] and hi[1]..hi[2] leave v in the gap; 0..lo[1] and hi[0]..hi[1] likewise; 0..lo[0] and
        # lo[1]..hi[0] contain v
        yield "gap", [{"package": P(t), "ranges": [eco(("introduced", hi[1]), ("fixed", lo[0]),
                                                        ("introduced", "0"), ("fixed", hi[2]))]}], False
        yield "gap-near", [{"package": P(t), "ranges": [eco(("fixed", hi[1]), ("introduced", hi[0]),
                                                             ("fixed", lo[1]), ("introduced", "0"))]}], False
        yield "pairs-hit", [{"package": P(t), "ranges": [eco(("fixed", hi[0]), ("introduced", lo[1]),
                                                              ("fixed", lo[0]), ("introduced", "0"))]}], True
        yield "semver-fixed-above", [{"package": P(t), "ranges": [sem(("introduced", "0"), ("fixed", rnd.choice(hs)))]}], True
        yield "semver-fixed-equal", [{"package": P(t), "ranges": [sem(("introduced", rnd.choice(ls)), ("fixed", v))]}], False
        yield "semver-last-affected-equal", [{"package": P(t), "ranges": [sem(("introduced", "0"), ("last_affected", v))]}], True
        yield "semver-prerelease-fixed", [{"package": P(t), "ranges": [sem(("introduced", "0"), ("fixed", v + "-rc.1"))]}], False
        yield "semver-prerelease-introduced", [{"package": P(t), "ranges": [sem(("introduced", v + "-alpha"))]}], True
        yield "versions-hit", [{"package": P(t), "versions": [L, v, H]}], True
        yield "versions-miss", [{"package": P(t), "versions": [L, H]}], False
        yield "versions-hit-range-miss", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", L))],
                                           "versions": [v]}], True
        yield "lexical-trap-hit", [{"package": P(t), "ranges": [eco(("introduced", T["lo_trap"]), ("fixed", T["hi_trap"]))]}], True
        yield "lexical-trap-miss", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", T["lo_trap"]))]}], False
        yield "tilde-fixed", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", v + "~rc1"))]}], False
        yield "tilde-introduced", [{"package": P(t), "ranges": [eco(("introduced", v + "~rc1"))]}], True
        yield "release-fixed", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", v + "-r1"))]}], True
        yield "release-introduced", [{"package": P(t), "ranges": [eco(("introduced", v + "-r1"))]}], False
        yield "epoch-fixed", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", "1:0.1"))]}], True
        yield "epoch-introduced", [{"package": P(t), "ranges": [eco(("introduced", "1:0"))]}], False
        yield "git-plus-ecosystem", [{"package": P(t), "ranges": [
            {"type": "GIT", "repo": f"https://git.example.invalid/{t}.git",
             "events": [{"introduced": commit()}, {"fixed": commit()}]},
            eco(("introduced", "0"), ("fixed", H))]}], True
        yield "other-ecosystem-decoy", [{"package": {"ecosystem": "npm", "name": t, "purl": f"pkg:npm/{t}"},
                                         "ranges": [sem(("introduced", "0"))]}], False
        yield "lookalike-name-decoy", [{"package": P(DECOY_SUFFIX[t]), "ranges": [eco(("introduced", "0"))]}], False
        yield "decoy-plus-miss", [{"package": {"ecosystem": "PyPI", "name": t, "purl": f"pkg:pypi/{t}"},
                                   "ranges": [eco(("introduced", "0"))]},
                                  {"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", v))]}], False
        yield "two-entries-one-hit", [{"package": P(t), "ranges": [eco(("introduced", "0"), ("fixed", L))]},
                                      {"package": P(t), "ranges": [eco(("introduced", L), ("fixed", H))]}], True

    planted_recs = []  # [package, template, affected, matches?, withdrawn?, "pair" or None]
    for t, v in TARGETS.items():
        items = list(templates(t, v))
        # fill up to --per-target with fresh instances of the simple shapes (random boundaries each time)
        simple = ("fixed-above", "fixed-equal", "between", "introduced-above", "last-affected-equal",
                  "semver-fixed-above", "versions-hit", "versions-miss", "tilde-fixed", "lexical-trap-hit")
        while len(items) < args.per_target - 4:
            want = rnd.choice(simple)
            items.append(next(x for x in templates(t, v) if x[0] == want))
        for label, aff, m in items:
            planted_recs.append([t, label, aff, m, False, None])
        # withdrawn: one that would match, one that would not
        planted_recs.append([t, "withdrawn-would-match", [{"package": P(t), "ranges": [eco(("introduced", "0"))]}],
                             True, True, None])
        planted_recs.append([t, "withdrawn-no-match", [{"package": P(t), "ranges": [eco(("introduced", "0"),
                                                                                         ("fixed", v))]}],
                             False, True, None])
        # a mutual alias pair, both matching: two records, one finding
        planted_recs.append([t, "alias-pair-a", [{"package": P(t), "ranges": [eco(("introduced", "0"))]}],
                             True, False, "pair"])
        planted_recs.append([t, "alias-pair-b", [{"package": P(t), "ranges": [sem(("introduced", "0"))]}],
                             True, False, "pair"])

    # ---- ids: random and planted records interleaved, sequential synthetic ids -----------------------------
    n_random = max(0, n - len(planted_recs))
    slots = ["R"] * n_random + ["P"] * len(planted_recs)
    rnd.shuffle(slots)
    prefixes = ("x_SYNTH", "x_SYNTH-GHSA", "x_SYNTH-PYSEC", "x_SYNTH-DEB")  # "x_": the schema's private-id prefix
    ids = [f"{rnd.choice(prefixes)}-{idx + 1:07d}" for idx in range(len(slots))]
    # planted record -> its id; the two records of each alias pair name each other
    planted_at = {}
    pi = 0
    for idx, kind in enumerate(slots):
        if kind == "P":
            planted_at[idx] = planted_recs[pi]
            pi += 1
    pair_ids = {}
    for idx, p in planted_at.items():
        if p[5] == "pair":
            pair_ids.setdefault(p[0], []).append(ids[idx])
    for t, v in TARGETS.items():
        expected[t] = {"version": v, "matching_records": [], "withdrawn_would_match": [],
                       "alias_pairs": [sorted(pair_ids[t])], "planted_records": 0}

    def stream():  # records are built one at a time, in id order, and not kept
        for idx, kind in enumerate(slots):
            rid = ids[idx]
            if kind == "R":
                k = rnd.choices((1, 2, 3), (80, 15, 5))[0]
                aff = [affected_random(e, nm) for e, nm in (rnd.choice(pool) for _ in range(k))]
                yield rid, record(rid, aff, withdrawn=rnd.random() < 0.0102)
                continue
            t, label, aff, m, wd, pair = planted_at[idx]
            aliases = None
            if pair == "pair":
                a, b = pair_ids[t]
                aliases = [b if rid == a else a]
            r = record(rid, aff, withdrawn=wd, aliases=aliases,
                       summary=f"synthetic {t} record ({label}; {'matches' if m else 'does not match'} {t} "
                               f"{TARGETS[t]}{', withdrawn' if wd else ''})")
            r["database_specific"]["synthetic_template"] = label
            e = expected[t]
            e["planted_records"] += 1
            if m and not wd:
                e["matching_records"].append(rid)
            if m and wd:
                e["withdrawn_would_match"].append(rid)
            yield rid, r
        for e in expected.values():
            e["findings_after_alias_dedup"] = len(e["matching_records"]) - len(e["alias_pairs"])

    return stream(), expected


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("--zip", action="store_true")
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--per-target", type=int, default=50)
    ap.add_argument("--indent", type=int, default=2, help="JSON indent (osv.dev files are indented; -1 = compact)")
    ap.add_argument("--expected", help="also write the expected result JSON here")
    args = ap.parse_args()
    if args.per_target < 35:
        ap.error("--per-target must be at least 35 (31 templates once, 2 withdrawn and 2 alias-pair records)")

    t0 = time.monotonic()
    recs, expected = gen(args)  # a generator: records are built while they are written
    ind = None if args.indent < 0 else args.indent
    seps = (",", ":") if ind is None else (",", ": ")
    nbytes = nrec = nwd = 0
    if args.zip:
        if os.path.exists(args.out):
            sys.exit(f"{args.out}: exists")
        with zipfile.ZipFile(args.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            for rid, r in recs:
                data = (json.dumps(r, indent=ind, separators=seps) + "\n").encode()
                nbytes += len(data)
                nrec += 1
                nwd += "withdrawn" in r
                zi = zipfile.ZipInfo(rid + ".json", date_time=(2026, 12, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = 0o644 << 16
                z.writestr(zi, data)
    else:
        os.makedirs(args.out, exist_ok=True)
        if os.listdir(args.out):
            sys.exit(f"{args.out}: not empty")
        for rid, r in recs:
            data = (json.dumps(r, indent=ind, separators=seps) + "\n").encode()
            nbytes += len(data)
            nrec += 1
            nwd += "withdrawn" in r
            with open(os.path.join(args.out, rid + ".json"), "wb") as f:
                f.write(data)
    t2 = time.monotonic()
    summary = {
        "records": nrec,
        "withdrawn": nwd,
        "json_bytes": nbytes,
        "seconds": round(t2 - t0, 2),
        "scan_of": {t: v for t, v in TARGETS.items()},
        "expected": {t: {"version": e["version"],
                         "matching_records": len(e["matching_records"]),
                         "findings_after_alias_dedup": e["findings_after_alias_dedup"],
                         "withdrawn_would_match": len(e["withdrawn_would_match"]),
                         "planted_records": e["planted_records"]} for t, e in expected.items()},
        "expected_total": {"matching_records": sum(len(e["matching_records"]) for e in expected.values()),
                           "findings_after_alias_dedup": sum(e["findings_after_alias_dedup"]
                                                             for e in expected.values())},
    }
    if args.expected:
        with open(args.expected, "w") as f:
            json.dump({"summary": summary, "detail": expected}, f, indent=2)
            f.write("\n")
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
