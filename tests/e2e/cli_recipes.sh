#!/usr/bin/env bash
# Issue 2 through the real CLI: plan/graph/lock/lint output and exit codes, --locked, --recipes overrides,
# and that lint reports every error with file:line:col.
. "$(dirname "$0")/../lib/common.sh"
EB=$ECHO_BUILD
cd "$T"
cp -r "$ECHO_SOURCE_DIR/recipes" "$T/recipes"

"$EB" plan recipes/images/example.yaml >"$T/plan.txt"
assert_contains "$T/plan.txt" "packages in the image: echo-hello@1.0.0-r0"
"$EB" --json plan example >"$T/plan.json"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["runtimeClosure"]==["echo-hello"], j' "$T/plan.json"
"$EB" graph example --format dot >"$T/graph.dot"
assert_contains "$T/graph.dot" '"image:example" -> "echo-hello";'

# --locked without a lockfile: recipe error (3) naming the lockfile.
expect_fail 3 "$EB" --locked plan example
assert_contains "$T/err" "--locked: echo.lock does not exist; run 'echo-build lock' to update it"
"$EB" lock >/dev/null
"$EB" --locked plan example >/dev/null
"$EB" lock --check >/dev/null
# A CRLF checkout of the same recipes is not stale.
sed -i 's/$/\r/' recipes/packages/echo-hello.yaml
"$EB" --locked plan example >/dev/null || fail "CRLF line endings made the lockfile stale"
# An edited recipe is.
printf '# edited\n' >>recipes/packages/echo-hello.yaml
expect_fail 3 "$EB" --locked plan example
assert_contains "$T/err" "is stale: recipe 'echo-hello' (recipes/packages/echo-hello.yaml) changed"
expect_fail 3 "$EB" lock --check

# --recipes: a later directory overrides an earlier one, with a warning naming both files.
mkdir -p "$T/overlay"
sed 's/Greeting program/Overridden greeting program/' "$ECHO_SOURCE_DIR/recipes/packages/echo-hello.yaml" >"$T/overlay/echo-hello.yaml"
cp -r "$ECHO_SOURCE_DIR/recipes/packages/echo-hello" "$T/overlay/"
"$EB" --recipes recipes --recipes overlay plan example >/dev/null 2>"$T/warn.txt"
assert_contains "$T/warn.txt" "overlay/echo-hello.yaml overrides recipes/packages/echo-hello.yaml"

# lint: every error, with positions, exit 3.
mkdir -p "$T/bad"
printf 'package:\n  name: a\n  version: 1.0\n  licence: MIT\npipeline:\n  - runs: make -j${{build.job}}\n' >"$T/bad/a.yaml"
printf 'image:\n  name: i\ncontents:\n  packages: [nope]\n' >"$T/bad/i.yaml"
: >"$T/bad/empty.yaml"
expect_fail 3 "$EB" lint "$T/bad"
assert_contains "$T/err" "$T/bad/a.yaml:4:3: unknown key 'licence' in 'package' (did you mean 'license'?)"
assert_contains "$T/err" "$T/bad/a.yaml:6:18: unknown variable 'build.job' (did you mean 'build.jobs'?)"
assert_contains "$T/err" "$T/bad/empty.yaml:1:1: empty recipe"
assert_contains "$T/err" "$T/bad/i.yaml:4:14: image package on 'nope': no package recipe has that name"
assert_contains "$T/err" "5 errors found"
"$EB" lint recipes >/dev/null 2>"$T/lint.err" || fail "shipped recipes do not lint"
# Every shipped package names its CPE (or says it has none): no identity warning.
[ ! -s "$T/lint.err" ] || fail "shipped recipes lint with warnings: $(cat "$T/lint.err")"
# A package without package.cpe: a warning naming the file and the default CPE, not an error.
mkdir -p "$T/nocpe"
printf 'package:\n  name: w\n  version: 2.1\n  license: MIT\npipeline:\n  - runs: "true"\n' >"$T/nocpe/w.yaml"
"$EB" lint "$T/nocpe" >"$T/out" 2>"$T/err" || fail "a missing package.cpe failed lint"
assert_contains "$T/err" "$T/nocpe/w.yaml: package 'w' has no package.cpe; the SBOM will say cpe:2.3:a:w:w:2.1:*:*:*:*:*:*:*"
assert_contains "$T/out" "ok: 1 recipes, 0 advisory files, no errors, 1 warnings"
"$EB" --json lint "$T/nocpe" 2>/dev/null | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["ok"] and len(j["warnings"])==1, j'
# package.cpe is checked: 13 components, part a/o/h, version * or the package's own.
sed -i '4a\  cpe: cpe:2.3:a:w:w:9.9:*:*:*:*:*:*:*' "$T/nocpe/w.yaml"
expect_fail 3 "$EB" lint "$T/nocpe"
assert_contains "$T/err" "$T/nocpe/w.yaml:5:8: invalid package.cpe 'cpe:2.3:a:w:w:9.9:*:*:*:*:*:*:*': CPE version '9.9' is not the package version '2.1'"

# Usage errors exit 2; --help works on every subcommand.
expect_fail 2 "$EB" plan
expect_fail 2 "$EB" no-such-command
for c in plan graph lock lint fetch build shell push pull keygen sign verify; do
  "$EB" "$c" --help >/dev/null || fail "$c --help failed"
done
expect_fail 2 "$EB" plan no-such-image
assert_contains "$T/err" "no image or package recipe named 'no-such-image' in recipes"
# hello is an image and a package: a bare name is the image; package:/image: choose.
"$EB" plan hello >"$T/p.txt" && head -1 "$T/p.txt" | grep -qx "image hello (recipes/images/hello.yaml)" ||
  fail "plan hello is not the image: $(head -1 "$T/p.txt")"
"$EB" plan image:hello >"$T/p.txt" && head -1 "$T/p.txt" | grep -qx "image hello (recipes/images/hello.yaml)" ||
  fail "plan image:hello is not the image: $(head -1 "$T/p.txt")"
"$EB" --json plan package:hello >"$T/p.json"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert not j.get("image") and j["runtimeClosure"]==["hello","musl-libc"], j' "$T/p.json" ||
  fail "plan package:hello: $(cat "$T/p.json")"
expect_fail 2 "$EB" plan image:zlib
assert_contains "$T/err" "no image recipe named 'zlib' in recipes"
expect_fail 2 "$EB" plan package:static
assert_contains "$T/err" "no package recipe named 'static' in recipes"
# The lockfile committed with the shipped recipes is current.
(cd "$ECHO_SOURCE_DIR" && "$EB" lock --check >/dev/null) || fail "echo.lock in the repository is stale: run 'echo-build lock'"
echo PASS
