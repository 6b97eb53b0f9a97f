#!/usr/bin/env bash
# push/pull against Debian's real docker-registry, checked with skopeo (and podman when it can run):
# push, skip on re-push, extra tags, chunked upload, cross-repo mount, cosign attachment ordering,
# pull (by tag and by digest) with an identical digest, plain http refused without --insecure-registry.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need umoci skopeo python3 curl
start_registry
EB=("$ECHO_BUILD" --insecure-registry "$REGISTRY")
push() { "$ECHO_BUILD" --json push --insecure-registry "$REGISTRY" "$@"; }
pull() { "$ECHO_BUILD" --json pull --insecure-registry "$REGISTRY" "$@"; }

# A small layout: two layers (one random, so chunked uploads really split), tagged 1.0.
cd "$T"
mkdir -p a b && echo hello >a/hello.txt && head -c 5000 /dev/urandom >b/rand.bin
umoci init --layout L >/dev/null
umoci new --image L:1.0 >/dev/null
umoci insert --image L:1.0 a /a >/dev/null
umoci insert --image L:1.0 b /b >/dev/null
want=$(python3 -c 'import json; print(json.load(open("L/index.json"))["manifests"][0]["digest"])')

# A hand-made cosign .sig attachment for that digest (entry in the same layout).
python3 - "$want" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
def blob(b):
    h = hashlib.sha256(b).hexdigest()
    open(f"L/blobs/sha256/{h}", "wb").write(b)
    return {"digest": "sha256:" + h, "size": len(b)}
payload = json.dumps({"critical": {"identity": {"docker-reference": "x"}, "image": {"docker-manifest-digest": d},
                      "type": "cosign container image signature"}, "optional": None}).encode()
cfg = blob(b"{}")
lay = blob(payload)
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
     "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", **lay,
                 "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ=="}}]}
mb = json.dumps(m).encode()
md = blob(mb)
idx = json.load(open("L/index.json"))
idx["manifests"].append({"mediaType": m["mediaType"], **md,
    "annotations": {"org.opencontainers.image.ref.name": "sha256-" + d[7:] + ".sig"}})
open("L/index.json", "w").write(json.dumps(idx))
PY
sigtag="sha256-${want#sha256:}.sig"

# 1. plain http without --insecure-registry: exit 7 with a hint
expect_fail 7 "$ECHO_BUILD" push L "$REGISTRY/app:1.0"
assert_contains "$T/err" "allow it with --insecure-registry $REGISTRY"

# 2. first push: everything uploaded, digest = the layout's, tags + the attachment
push L "$REGISTRY/app:1.0" --tag stable --tag v1 >out1.json
[ "$(jget '["digest"]' <out1.json)" = "$want" ] || fail "pushed digest differs: $(cat out1.json)"
[ "$(jget '["tags"]' <out1.json)" = "['1.0', 'stable', 'v1']" ] || fail "tags: $(cat out1.json)"
[ "$(jget '["attachments"]' <out1.json)" = "['$sigtag']" ] || fail "attachments: $(cat out1.json)"
[ "$(jget '["blobs"]["uploaded"]' <out1.json)" = 5 ] || fail "uploaded count: $(cat out1.json)" # cfg,2 layers,sig cfg,sig layer
for tag in 1.0 stable v1; do
  got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/app:$tag")
  [ "$got" = "$want" ] || fail "skopeo sees $got for app:$tag, want $want"
done
skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/app:$sigtag" | grep -q simplesigning || fail "no .sig manifest"
# the image manifest was stored before its attachment (registry data: revision link mtimes are racy; use the log order
# of our own -v output instead)
"$ECHO_BUILD" -v push --insecure-registry "$REGISTRY" L "$REGISTRY/app:1.0" 2>order.log >/dev/null
img_line=$(grep -n "manifest $want -> 1.0" order.log | head -1 | cut -d: -f1)
sig_line=$(grep -n -- "-> $sigtag" order.log | head -1 | cut -d: -f1)
[ -n "$img_line" ] && [ -n "$sig_line" ] && [ "$img_line" -lt "$sig_line" ] || { cat order.log; fail "attachment not after image"; }

# 3. skopeo copies it back into an OCI layout with the same digest
skopeo copy --src-tls-verify=false "docker://$REGISTRY/app:1.0" "oci:$T/S:x" >/dev/null
[ "$(python3 -c 'import json; print(json.load(open("S/index.json"))["manifests"][0]["digest"])')" = "$want" ] || fail "skopeo copy digest differs"

# 4. second push skips every blob
push L "$REGISTRY/app:1.0" >out2.json
[ "$(jget '["blobs"]' <out2.json)" = "{'uploaded': 0, 'skipped': 5, 'mounted': 0}" ] || fail "re-push: $(cat out2.json)"

# 5. cross-repository mount into a second repository
push L "$REGISTRY/other/app:1.0" --mount-from app >out3.json
[ "$(jget '["blobs"]["mounted"]' <out3.json)" = 5 ] || fail "mount: $(cat out3.json)"
[ "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/other/app:1.0")" = "$want" ] || fail "mounted image"

# 6. chunked upload (PATCH with Content-Range) into a fresh repository; skopeo reads it back whole
push L "$REGISTRY/chunked:1.0" --chunk-size 1000 >out4.json
[ "$(jget '["blobs"]["uploaded"]' <out4.json)" = 5 ] || fail "chunked: $(cat out4.json)"
skopeo copy --src-tls-verify=false "docker://$REGISTRY/chunked:1.0" "oci:$T/C:x" >/dev/null || fail "chunked image unreadable"

# 7. pull by tag: same digest, blobs verified, attachment stored under its tag name
pull "$REGISTRY/app:1.0" P >out5.json
[ "$(jget '["digest"]' <out5.json)" = "$want" ] || fail "pull digest: $(cat out5.json)"
python3 - "$want" "$sigtag" <<'PY' || fail "pulled layout wrong: $(cat P/index.json)"
import json, sys, hashlib, os
idx = json.load(open("P/index.json"))
names = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"] for m in idx["manifests"]}
assert names["1.0"] == sys.argv[1], names
assert sys.argv[2] in names, names
for f in os.listdir("P/blobs/sha256"):
    assert hashlib.sha256(open("P/blobs/sha256/" + f, "rb").read()).hexdigest() == f, f
PY
umoci unpack --image P:1.0 bundle >/dev/null && [ "$(cat bundle/rootfs/a/hello.txt)" = hello ] || fail "umoci cannot unpack the pulled layout"

# 8. pull by digest into another layout, then push that layout: same digest again
pull "$REGISTRY/app@$want" P2 >out6.json
[ "$(jget '["digest"]' <out6.json)" = "$want" ] || fail "pull by digest: $(cat out6.json)"
push P2 "$REGISTRY/again:2" >out7.json
[ "$(jget '["digest"]' <out7.json)" = "$want" ] || fail "re-push of pulled layout: $(cat out7.json)"

# 9. a missing tag is a registry error (exit 7) naming the reference
expect_fail 7 "$ECHO_BUILD" pull --insecure-registry "$REGISTRY" "$REGISTRY/app:nope" P3
assert_contains "$T/err" "manifest unknown: $REGISTRY/app:nope does not exist"

# 10. an image index (amd64 + arm64): push sends both manifests then the index; pull takes linux/amd64
#     and keeps the index as an unnamed entry
cp -a L M
umoci new --image M:arm >/dev/null
python3 - "$want" <<'PY'
import hashlib, json, sys
idx = json.load(open("M/index.json"))
by_name = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
def plat(m, arch):
    return {"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
            "platform": {"architecture": arch, "os": "linux"}}
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [plat(by_name["arm"], "arm64"), plat(by_name["1.0"], "amd64")]}
b = json.dumps(index).encode()
h = hashlib.sha256(b).hexdigest()
open(f"M/blobs/sha256/{h}", "wb").write(b)
idx["manifests"].append({"mediaType": index["mediaType"], "digest": "sha256:" + h, "size": len(b),
                         "annotations": {"org.opencontainers.image.ref.name": "multi"}})
open("M/index.json", "w").write(json.dumps(idx))
print("sha256:" + h, file=open("index.digest", "w"))
PY
idx_digest=$(cat index.digest)
push M "$REGISTRY/multi:multi" >out8.json
[ "$(jget '["digest"]' <out8.json)" = "$idx_digest" ] || fail "index push: $(cat out8.json)"
skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/multi:multi" | grep -q '"arm64"' || fail "index not in registry"
pull "$REGISTRY/multi:multi" PM >out9.json
[ "$(jget '["digest"]' <out9.json)" = "$want" ] || fail "index pull should give the amd64 manifest: $(cat out9.json)"
python3 - "$want" "$idx_digest" <<'PY' || fail "pulled index layout: $(cat PM/index.json)"
import json, sys, os
idx = json.load(open("PM/index.json"))
named = {m.get("annotations", {}).get("org.opencontainers.image.ref.name"): m["digest"] for m in idx["manifests"]}
assert named["multi"] == sys.argv[1], named
assert named[None] == sys.argv[2], named
assert os.path.exists("PM/blobs/sha256/" + sys.argv[2][7:])
PY

# 11. Docker v2 schema 2 manifests pull too, byte for byte (skopeo converts on copy)
skopeo copy --dest-tls-verify=false --format v2s2 "oci:$T/L:1.0" "docker://$REGISTRY/dockerfmt:1" >/dev/null
dwant=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/dockerfmt:1")
pull "$REGISTRY/dockerfmt:1" PD >out10.json
[ "$(jget '["digest"]' <out10.json)" = "$dwant" ] || fail "docker v2 pull: $(cat out10.json)"
grep -q 'application/vnd.docker.distribution.manifest.v2+json' PD/index.json || fail "docker media type lost: $(cat PD/index.json)"

# 12. podman pulls what we pushed
if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
  podman_setup
  podman pull -q "$REGISTRY/app:1.0" >podman.out 2>podman.err || { cat podman.err; fail "podman pull failed"; }
  podman image inspect --format '{{.Digest}}' "$REGISTRY/app:1.0" | grep -qx "$want" || fail "podman digest differs"
else
  echo "note: podman/runc not installed; podman pull not checked"
fi
echo PASS
