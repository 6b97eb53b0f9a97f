#!/usr/bin/env bash
# docs/recipe.schema.json accepts every shipped recipe (as an editor's YAML loader types it, and with every
# scalar as text, as our parser reads it) and rejects an unknown key, a short sha256 and a bad dependency.
set -euo pipefail
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"

python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml (PyYAML) is not installed (Debian package python3-yaml)"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"

SCHEMA="$ECHO_SOURCE_DIR/docs/recipe.schema.json"
[ -f "$SCHEMA" ] || fail "$SCHEMA is missing"

cat >"$T/check.py" <<'PY'
import json, sys, yaml, jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
mode = sys.argv[2]  # "accept" or "reject"
status = 0
for path in sys.argv[3:]:
    text = open(path, encoding="utf-8").read()
    # typed: what yaml-language-server sees (numbers, booleans); text: every scalar a string, as our parser reads it
    for loader_name, loader in (("typed", yaml.SafeLoader), ("text", yaml.BaseLoader)):
        doc = json.loads(json.dumps(yaml.load(text, Loader=loader), default=str))
        errors = list(validator.iter_errors(doc))
        if mode == "accept" and errors:
            status = 1
            for e in errors:
                print(f"{path} ({loader_name}): rejected: {e.message} at /{'/'.join(map(str, e.absolute_path))}")
        if mode == "reject" and not errors:
            status = 1
            print(f"{path} ({loader_name}): accepted, but the schema must reject it")
print(f"{mode}: {len(sys.argv) - 3} files checked")
sys.exit(status)
PY

mapfile -t recipes < <(find "$ECHO_SOURCE_DIR/recipes" -name '*.yaml' -o -name '*.yml' | sort)
[ "${#recipes[@]}" -ge 2 ] || fail "no recipes found under $ECHO_SOURCE_DIR/recipes"
python3 "$T/check.py" "$SCHEMA" accept "${recipes[@]}" || fail "the schema rejects a shipped recipe"

# Each of these is also rejected by our parser.
mkdir -p "$T/bad"
good_pkg='package:
  name: demo
  version: 1.0
  license: MIT
sources:
  - url: https://example.invalid/demo-1.0.tar.gz
    sha256: 7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4
pipeline:
  - runs: make'
printf '%s\n' "$good_pkg" >"$T/good.yaml"
python3 "$T/check.py" "$SCHEMA" accept "$T/good.yaml" || fail "the schema rejects a valid package recipe"

printf '%s\n' "$good_pkg" | sed 's/^sources:/source:/' >"$T/bad/unknown-key.yaml"
printf '%s\n' "$good_pkg" | sed 's/sha256: 7d5b0b6062/sha256: 7d5b/' >"$T/bad/short-sha256.yaml"
printf '%s\n' "$good_pkg" | sed 's/  license: MIT/  license: MIT\n  licence: MIT/' >"$T/bad/unknown-package-key.yaml"
printf '%s\n' "$good_pkg" 'dependencies:' '  build:' '    - musl >> 1.2' >"$T/bad/bad-constraint.yaml"
printf '%s\n' "$good_pkg" | sed 's/^pipeline:/pipeline: []/; /- runs: make/d' >"$T/bad/empty-pipeline.yaml"
cat >"$T/bad/bad-layering.yaml" <<'Y'
image:
  name: demo
contents:
  packages: [demo]
layering:
  strategy: layered
Y
cat >"$T/bad/image-unknown-key.yaml" <<'Y'
image:
  name: demo
contents:
  packages: [demo]
entrypiont:
  command: /bin/demo
Y
for f in "$T"/bad/*.yaml; do
  python3 "$T/check.py" "$SCHEMA" reject "$f" || fail "the schema accepts $(basename "$f")"
done

# The parser agrees on the rejected files (same verdict as the schema).
if [ -n "${ECHO_BUILD:-}" ] && [ -x "$ECHO_BUILD" ]; then
  for f in "$T"/bad/*.yaml; do expect_fail 3 "$ECHO_BUILD" lint "$f"; done
  expect_fail 3 "$ECHO_BUILD" lint "$T/bad/unknown-key.yaml"
  assert_contains "$T/err" "unknown key 'source' in package recipe (did you mean 'sources'?)"
  expect_fail 3 "$ECHO_BUILD" lint "$T/bad/short-sha256.yaml"
  assert_contains "$T/err" "sha256 must be 64 hexadecimal digits, got '7d5b"
  "$ECHO_BUILD" lint "$T/good.yaml" >"$T/out" 2>&1 || { cat "$T/out"; fail "echo-build lint rejects good.yaml"; }
fi
echo "PASS: schema accepts ${#recipes[@]} shipped recipes and rejects $(ls "$T"/bad | wc -l) bad ones"
