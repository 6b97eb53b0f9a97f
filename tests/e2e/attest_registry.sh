#!/usr/bin/env bash
# Signed layout -> real docker-registry (skopeo --preserve-digests) -> checks on what the registry serves:
# the .sig tag fetched over HTTP verifies with openssl against the digest the registry reports for the image
# tag; the image and its sha256-<hex>.sig/.att tags pulled back into a fresh layout pass `echo-build verify`
# (the flow of `verify REF`), and fail once the .sig is swapped for another image's or the tag is moved to
# an unsigned image.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need skopeo umoci python3 openssl curl
start_registry
cd "$T"
REPO=$REGISTRY/example
API=http://$REGISTRY/v2/example

"$ECHO_BUILD" keygen --out-key k.key --out-pub k.pub >/dev/null
umoci init --layout img
mkimage() { # mkimage TAG TEXT -> digest
  umoci new --image "img:$1"
  echo "$2" >"file-$1"
  umoci insert --image "img:$1" "file-$1" /hello.txt >/dev/null
  python3 -c 'import json,sys; print([m["digest"] for m in json.load(open("img/index.json"))["manifests"] if m.get("annotations",{}).get("org.opencontainers.image.ref.name")==sys.argv[1]][0])' "$1"
}
statement() {
  python3 -c 'import json,sys; print(json.dumps({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":sys.argv[2],"digest":{"sha256":sys.argv[1][7:]}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://echo-build.dev/buildtypes/image/v1","externalParameters":{"image":sys.argv[2]}},"runDetails":{"builder":{"id":"https://echo-build.dev/builders/local"}}}}))' "$1" "$REPO"
}
d1=$(mkimage 1.0 one)
d2=$(mkimage 2.0 two)
d3=$(mkimage 3.0 three) # never signed
statement "$d1" >p1.json
statement "$d2" >p2.json
echo '{"spdxVersion":"SPDX-2.3"}' >sbom.json
"$ECHO_BUILD" sign img --ref 1.0 --key k.key --provenance p1.json --sbom sbom.json >/dev/null
"$ECHO_BUILD" sign img --ref 2.0 --key k.key --provenance p2.json >/dev/null

push() { skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:img:$1" "docker://$REPO:$2"; }
push 1.0 1.0
for s in sig att sbom; do push "sha256-${d1#sha256:}.$s" "sha256-${d1#sha256:}.$s"; done

# 1. What the registry serves verifies with openssl alone.
accept='Accept: application/vnd.oci.image.manifest.v1+json'
served=$(curl -fsI -H "$accept" "$API/manifests/1.0" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
[ "$served" = "$d1" ] || fail "registry serves $served for :1.0, expected $d1"
curl -fs -H "$accept" "$API/manifests/sha256-${d1#sha256:}.sig" >sig-manifest.json
python3 - "$API" <<'PY'
import base64, json, sys, urllib.request
api = sys.argv[1]
layer = json.load(open("sig-manifest.json"))["layers"][0]
assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json", layer["mediaType"]
payload = urllib.request.urlopen(f"{api}/blobs/{layer['digest']}").read()
open("payload.json", "wb").write(payload)
open("sig.der", "wb").write(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
p = json.loads(payload)
open("signed-digest", "w").write(p["critical"]["image"]["docker-manifest-digest"])
open("signed-ref", "w").write(p["critical"]["identity"]["docker-reference"])
PY
openssl dgst -sha256 -verify k.pub -signature sig.der payload.json | grep -qx 'Verified OK' || fail "openssl rejects the .sig from the registry"
[ "$(cat signed-digest)" = "$d1" ] || fail "signed digest $(cat signed-digest) != $d1"
[ "$(cat signed-ref)" = "$REPO" ] || fail "signed docker-reference $(cat signed-ref) != $REPO"

# 2. Pull back image + attachments into a fresh layout and verify it with echo-build.
pullback() { # pullback DIR: image :1.0 and whatever sha256-<d1>.* tags the registry has
  rm -rf "$1"
  skopeo copy -q --preserve-digests --src-tls-verify=false "docker://$REPO:1.0" "oci:$1:1.0"
  for s in sig att sbom; do
    skopeo copy -q --preserve-digests --src-tls-verify=false "docker://$REPO:sha256-${d1#sha256:}.$s" \
      "oci:$1:sha256-${d1#sha256:}.$s"
  done
}
pullback back
"$ECHO_BUILD" verify back --ref 1.0 --key k.pub --builder-id https://echo-build.dev/builders/local --param "image=$REPO" >out \
  || { cat out; fail "echo-build verify rejects the layout pulled back from the registry"; }
assert_contains out "ok   signature over manifest $d1"
assert_contains out "ok   provenance subject $d1"

# 3. .sig replaced (at the registry) by image 2's valid signature.
push "sha256-${d2#sha256:}.sig" "sha256-${d1#sha256:}.sig"
pullback back2
expect_fail 9 "$ECHO_BUILD" verify back2 --ref 1.0 --key k.pub
assert_contains "$T/err" "verification failed: signature over manifest $d1: the signed payload names $d2, not this image"

# 4. The tag moved to an unsigned image: the .sig/.att tags of d1 do not cover it.
push "sha256-${d1#sha256:}.sig" "sha256-${d1#sha256:}.sig"
push 3.0 1.0
rm -rf back3
skopeo copy -q --preserve-digests --src-tls-verify=false "docker://$REPO:1.0" "oci:back3:1.0"
expect_fail 9 "$ECHO_BUILD" verify back3 --ref 1.0 --key k.pub
assert_contains "$T/err" "verification failed: signature over manifest $d3: no sha256-${d3#sha256:}.sig in the layout (image is not signed)"
echo "PASS"
