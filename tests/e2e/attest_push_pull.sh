#!/usr/bin/env bash
# The whole chain with echo-build's own registry commands: sign a layout, `echo-build push` (image, then its
# .sig/.att/.sbom tags) to a real docker-registry, check the served .sig with openssl, `echo-build pull` into a
# fresh layout and `echo-build verify` it; a signature swapped at the registry is caught after a pull.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need umoci python3 openssl curl skopeo
"$ECHO_BUILD" push --help >/dev/null 2>&1 || skip "this echo-build has no push command"
start_registry
cd "$T"
REPO=$REGISTRY/signed
export ECHO_INSECURE_REGISTRIES=$REGISTRY

"$ECHO_BUILD" keygen --out-key k.key --out-pub k.pub >/dev/null
umoci init --layout img
umoci new --image img:1.0
echo one >one.txt
umoci insert --image img:1.0 one.txt /one.txt >/dev/null
d1=$(python3 -c 'import json; print(json.load(open("img/index.json"))["manifests"][0]["digest"])')
python3 -c 'import json,sys; print(json.dumps({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":sys.argv[2],"digest":{"sha256":sys.argv[1][7:]}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://echo-build.dev/buildtypes/image/v1","externalParameters":{"platform":"linux/amd64"}},"runDetails":{"builder":{"id":"https://echo-build.dev/builders/local"}}}}))' "$d1" "$REPO" >prov.json
echo '{"spdxVersion":"SPDX-2.3","name":"x"}' >sbom.json
"$ECHO_BUILD" sign img --key k.key --provenance prov.json --sbom sbom.json >/dev/null

"$ECHO_BUILD" -q push img "$REPO:1.0" >push.out || { cat push.out; fail "echo-build push failed"; }
for s in sig att sbom; do
  curl -fs -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/signed/manifests/sha256-${d1#sha256:}.$s" || fail "registry has no sha256-<hex>.$s after push"
done
curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/signed/manifests/sha256-${d1#sha256:}.sig" >sig.json
python3 - "http://$REGISTRY/v2/signed" <<'PY'
import base64, json, sys, urllib.request
layer = json.load(open("sig.json"))["layers"][0]
open("payload.json", "wb").write(urllib.request.urlopen(f"{sys.argv[1]}/blobs/{layer['digest']}").read())
open("sig.der", "wb").write(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
PY
openssl dgst -sha256 -verify k.pub -signature sig.der payload.json | grep -qx 'Verified OK' || fail "openssl rejects the pushed .sig"

"$ECHO_BUILD" -q pull "$REPO:1.0" back >/dev/null || fail "echo-build pull failed"
"$ECHO_BUILD" verify back --key k.pub --builder-id https://echo-build.dev/builders/local --param platform=linux/amd64 >out \
  || { cat out; fail "verify rejects the pulled layout"; }
assert_contains out "ok   signature over manifest $d1"
assert_contains out "ok   sbom signature"

# Swap the .sig at the registry for a valid signature of another image (skopeo, independent of our push).
umoci new --image img:2.0
echo two >two.txt
umoci insert --image img:2.0 two.txt /two.txt >/dev/null
d2=$(python3 -c 'import json; print([m["digest"] for m in json.load(open("img/index.json"))["manifests"] if m.get("annotations",{}).get("org.opencontainers.image.ref.name")=="2.0"][0])')
sed "s/${d1#sha256:}/${d2#sha256:}/" prov.json >prov2.json
"$ECHO_BUILD" sign img --ref 2.0 --key k.key --provenance prov2.json >/dev/null
skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:img:sha256-${d2#sha256:}.sig" "docker://$REPO:sha256-${d1#sha256:}.sig"
"$ECHO_BUILD" -q pull "$REPO:1.0" back2 >/dev/null || fail "echo-build pull failed"
expect_fail 9 "$ECHO_BUILD" verify back2 --key k.pub
assert_contains "$T/err" "verification failed: signature over manifest $d1: the signed payload names $d2, not this image"
echo "PASS"
