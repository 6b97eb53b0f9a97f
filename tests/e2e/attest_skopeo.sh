#!/usr/bin/env bash
# Our .sig signatures are accepted by a real sigstore verifier: skopeo (containers/image) with a
# sigstoreSigned policy pulls the signed image from a real docker-registry, and refuses it once the
# signature names another digest or the tag points at an unsigned image.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need skopeo umoci python3
start_registry
cd "$T"
REPO=$REGISTRY/example

"$ECHO_BUILD" keygen --out-key k.key --out-pub k.pub >/dev/null

umoci init --layout img
mkimage() { # mkimage TAG TEXT -> digest of a one-file image tagged TAG in img
  umoci new --image "img:$1"
  echo "$2" >"file-$1"
  umoci insert --image "img:$1" "file-$1" /hello.txt >/dev/null
  python3 - "$1" <<'PY'
import json, sys
for m in json.load(open("img/index.json"))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[1]:
        print(m["digest"])
PY
}
statement() { # statement DIGEST
  python3 -c 'import json,sys; print(json.dumps({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":sys.argv[2],"digest":{"sha256":sys.argv[1][7:]}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://echo-build.dev/buildtypes/image/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://echo-build.dev/builders/local"}}}}))' "$1" "$REPO"
}
d1=$(mkimage 1.0 one)
d2=$(mkimage 2.0 two)
d3=$(mkimage 3.0 three) # never signed
statement "$d1" >p1.json
statement "$d2" >p2.json
"$ECHO_BUILD" sign img --ref 1.0 --key k.key --provenance p1.json >/dev/null
"$ECHO_BUILD" sign img --ref 2.0 --key k.key --provenance p2.json >/dev/null
"$ECHO_BUILD" verify img --ref 1.0 --key k.pub >/dev/null || fail "our own verify rejects the layout"

push() { skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:img:$1" "docker://$REPO:$2"; }
push 1.0 1.0
push "sha256-${d1#sha256:}.sig" "sha256-${d1#sha256:}.sig"
push "sha256-${d1#sha256:}.att" "sha256-${d1#sha256:}.att"

cat >policy.json <<JSON
{"default":[{"type":"reject"}],"transports":{"docker":{"$REPO":[{"type":"sigstoreSigned","keyPath":"$T/k.pub","signedIdentity":{"type":"matchRepository"}}]}}}
JSON
mkdir -p regd
cat >regd/default.yaml <<YAML
docker:
  $REGISTRY:
    use-sigstore-attachments: true
YAML
pull() { skopeo copy -q --policy policy.json --registries.d regd --src-tls-verify=false "docker://$REPO:1.0" "oci:out:x"; }

set +e
pull 2>err.txt
rc=$?
set -e
if [ $rc -ne 0 ] && grep -q 'sigstore disabled' err.txt; then
  # Debian 12's containers/image (skopeo 1.9.3, podman 4.3.1) is patched to refuse sigstoreSigned policies.
  # attest_registry.sh checks the same signatures in the registry with openssl and echo-build verify.
  skip "this skopeo build cannot verify sigstoreSigned policies ($(tr -d '\n' <err.txt | sed 's/.*msg=//'))"
fi
[ $rc -eq 0 ] || { cat err.txt; fail "skopeo rejects our signature"; }
got=$(skopeo inspect --raw --tls-verify=false "docker://$REPO:1.0" | sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$d1" ] || fail "registry serves $got, not $d1"

# The signature layer is verified for real: a wrong key fails.
"$ECHO_BUILD" keygen --out-key o.key --out-pub o.pub >/dev/null
sed "s#$T/k.pub#$T/o.pub#" policy.json >policy-other.json
set +e
skopeo copy -q --policy policy-other.json --registries.d regd --src-tls-verify=false "docker://$REPO:1.0" oci:out2:x 2>err.txt
rc=$?
set -e
[ $rc -ne 0 ] || fail "skopeo accepted the image with the wrong public key"
grep -qi 'signature' err.txt || { cat err.txt; fail "unexpected error with the wrong key"; }

# Replace .sig of image 1 with the (valid) signature of image 2: must be rejected.
push "sha256-${d2#sha256:}.sig" "sha256-${d1#sha256:}.sig"
set +e
pull 2>err.txt
rc=$?
set -e
[ $rc -ne 0 ] || fail "skopeo accepted a signature of another digest"
grep -qi 'digest' err.txt || { cat err.txt; fail "unexpected error for a signature of another digest"; }
cat err.txt

# Restore, then point the tag at an unsigned image: must be rejected.
push "sha256-${d1#sha256:}.sig" "sha256-${d1#sha256:}.sig"
pull || fail "restored signature not accepted"
push 3.0 1.0
set +e
pull 2>err.txt
rc=$?
set -e
[ $rc -ne 0 ] || fail "skopeo accepted an unsigned image ($d3)"
cat err.txt
echo "PASS"
