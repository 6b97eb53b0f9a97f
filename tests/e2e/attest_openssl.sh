#!/usr/bin/env bash
# keygen/sign/verify through the CLI, checked independently: openssl reads the keys and verifies our DSSE
# signature over PAE bytes this script builds itself, and the .sig signature over the payload blob.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need openssl python3 umoci
cd "$T"

# --- keys ---------------------------------------------------------------------------------------------
"$ECHO_BUILD" keygen --out-key cosign.key --out-pub cosign.pub >/dev/null
[ "$(stat -c %a cosign.key)" = 600 ] || fail "private key mode is $(stat -c %a cosign.key), not 600"
openssl pkey -in cosign.key -noout || fail "openssl cannot read our private key"
openssl ec -pubin -in cosign.pub -noout 2>/dev/null || fail "openssl cannot read our public key"
expect_fail 2 "$ECHO_BUILD" keygen --out-key cosign.key --out-pub other.pub
assert_contains "$T/err" "echo-build: error: cosign.key already exists; not overwriting a key"

export KEYPASS='s3cret pass'
"$ECHO_BUILD" keygen --out-key enc.key --out-pub enc.pub --passphrase-env KEYPASS >/dev/null
[ "$(stat -c %a enc.key)" = 600 ] || fail "encrypted key mode is not 600"
head -1 enc.key | grep -q 'BEGIN ENCRYPTED PRIVATE KEY' || fail "enc.key is not encrypted PKCS#8"
openssl pkey -in enc.key -passin env:KEYPASS -noout || fail "openssl cannot read our encrypted key"
if openssl pkey -in enc.key -passin pass:wrong -noout 2>/dev/null; then fail "openssl read the key with a wrong passphrase"; fi

# --passphrase-prompt reads twice from the terminal (a pty from script(1)), echo off.
if command -v script >/dev/null; then
  (sleep 0.5; printf 'tty pass\n'; sleep 0.3; printf 'tty pass\n') |
    script -qec "$ECHO_BUILD keygen --out-key tty.key --out-pub tty.pub --passphrase-prompt" /dev/null >tty.out
  if grep -q 'tty pass' tty.out; then fail "the passphrase was echoed"; fi
  openssl pkey -in tty.key -passin 'pass:tty pass' -noout || fail "prompted passphrase does not open the key"
else
  echo "note: script(1) missing, --passphrase-prompt not tested"
fi

# --- a small real image (umoci) -----------------------------------------------------------------------
umoci init --layout img
umoci new --image img:1.0
echo hello >hello.txt
umoci insert --image img:1.0 hello.txt /hello.txt >/dev/null
digest=$(python3 -c 'import json,sys; print(json.load(open("img/index.json"))["manifests"][0]["digest"])')
hex=${digest#sha256:}

statement() { # statement DIGEST -> provenance JSON on stdout
  python3 - "$1" <<'PY'
import json, sys
print(json.dumps({"_type": "https://in-toto.io/Statement/v1",
  "subject": [{"name": "127.0.0.1:5000/example", "digest": {"sha256": sys.argv[1][7:]}}],
  "predicateType": "https://slsa.dev/provenance/v1",
  "predicate": {"buildDefinition": {"buildType": "https://echo-build.dev/buildtypes/image/v1",
      "externalParameters": {"recipe": "images/example.yaml", "platform": "linux/amd64"},
      "resolvedDependencies": [{"uri": "https://zlib.net/zlib-1.3.1.tar.gz", "digest": {"sha256": "ab" * 32}}]},
    "runDetails": {"builder": {"id": "https://echo-build.dev/builders/local"}}}}))
PY
}
statement "$digest" >prov.json
echo '{"spdxVersion":"SPDX-2.3"}' >sbom.json

# Wrong passphrase on sign: named, kind signature (exit 8), no key material printed.
KEYPASS=wrong expect_fail 8 "$ECHO_BUILD" sign img --key enc.key --passphrase-env KEYPASS --provenance prov.json
assert_contains "$T/err" "echo-build: error: key file enc.key: cannot decrypt the private key (wrong passphrase?)"
if grep -q 'BEGIN' "$T/err"; then fail "key material in the error output"; fi

"$ECHO_BUILD" sign img --key enc.key --passphrase-env KEYPASS --provenance prov.json --sbom sbom.json >out
assert_contains out "signed 127.0.0.1:5000/example@$digest"

# --- independent checks with openssl --------------------------------------------------------------
python3 - img "$hex" <<'PY'
import base64, json, sys
layout, hexd = sys.argv[1], sys.argv[2]
idx = json.load(open(f"{layout}/index.json"))
def manifest(tag):
    for m in idx["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return json.load(open(f"{layout}/blobs/sha256/{m['digest'][7:]}"))
    sys.exit(f"no {tag}")
def blob(d): return open(f"{layout}/blobs/sha256/{d[7:]}", "rb").read()
att = manifest(f"sha256-{hexd}.att")["layers"][0]
env = json.loads(blob(att["digest"]))
body = base64.b64decode(env["payload"])
ptype = env["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(body), body)
open("pae.bin", "wb").write(pae)
open("dsse.der", "wb").write(base64.b64decode(env["signatures"][0]["sig"]))
sig = manifest(f"sha256-{hexd}.sig")["layers"][0]
open("payload.json", "wb").write(blob(sig["digest"]))
open("sig.der", "wb").write(base64.b64decode(sig["annotations"]["dev.cosignproject.cosign/signature"]))
assert json.loads(blob(sig["digest"]))["critical"]["image"]["docker-manifest-digest"] == "sha256:" + hexd
assert open(f"{layout}.intoto.jsonl", "rb").read() == blob(att["digest"]) + b"\n"
PY
openssl dgst -sha256 -verify enc.pub -signature dsse.der pae.bin | grep -qx 'Verified OK' || fail "openssl rejects our DSSE signature"
openssl dgst -sha256 -verify enc.pub -signature sig.der payload.json | grep -qx 'Verified OK' || fail "openssl rejects our .sig signature"
if openssl dgst -sha256 -verify cosign.pub -signature sig.der payload.json >/dev/null 2>&1; then fail "openssl accepted the wrong key"; fi

# --- echo-build verify ----------------------------------------------------------------------------
"$ECHO_BUILD" verify img --key enc.pub --builder-id https://echo-build.dev/builders/local \
  --source https://zlib.net/zlib-1.3.1.tar.gz --param platform=linux/amd64 >out
assert_contains out "ok   signature over manifest $digest"
assert_contains out "ok   param platform=linux/amd64"
"$ECHO_BUILD" --json verify img --key enc.pub >out.json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and all(c["ok"] for c in d["checks"])' out.json \
  || fail "--json output does not say ok"

# Key from an environment variable (CI secret); re-signing replaces the attachments.
COSIGN_KEY=$(cat cosign.key) "$ECHO_BUILD" sign img --key-env COSIGN_KEY --provenance prov.json >/dev/null
"$ECHO_BUILD" verify img --key cosign.pub >/dev/null || fail "verify after signing with --key-env"
expect_fail 9 "$ECHO_BUILD" verify img --key enc.pub --json
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); assert not d["ok"]; assert [c["name"] for c in d["checks"] if not c["ok"]][0].startswith("signature over manifest")' "$T/out" \
  || fail "--json after the subcommand: bad report"
"$ECHO_BUILD" sign img --key enc.key --passphrase-env KEYPASS --provenance prov.json --sbom sbom.json >/dev/null

expect_fail 9 "$ECHO_BUILD" verify img --key cosign.pub
assert_contains "$T/out" "FAIL signature over manifest $digest: no signature in sha256-$hex.sig verifies with the key"
assert_contains "$T/err" "echo-build: error: verification failed: signature over manifest $digest: no signature in sha256-$hex.sig verifies with the key"

expect_fail 9 "$ECHO_BUILD" verify img --key enc.pub --param platform=linux/arm64
assert_contains "$T/err" 'verification failed: param platform=linux/arm64: externalParameters.platform is "linux/amd64"'

# A flipped byte in the layer.
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][0]["digest"][7:])' "img/blobs/sha256/$hex")
chmod u+w "img/blobs/sha256/$layer"
printf '\x00' | dd of="img/blobs/sha256/$layer" bs=1 seek=20 conv=notrunc status=none
expect_fail 9 "$ECHO_BUILD" verify img --key enc.pub
assert_contains "$T/err" "verification failed: layer sha256:$layer: digest mismatch (content is sha256:"

# --json from keygen: the key id is the sha256 of the public key's DER, as openssl computes it.
"$ECHO_BUILD" --json keygen --out-key j.key --out-pub j.pub >j.json
want=$(openssl pkey -pubin -in j.pub -outform DER | sha256sum | cut -d' ' -f1)
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j=={"keyId":sys.argv[2],"privateKey":"j.key","publicKey":"j.pub"}, j' j.json "$want" \
  || fail "keygen --json: $(cat j.json), expected keyId $want"
echo "PASS"
