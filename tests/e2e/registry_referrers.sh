#!/usr/bin/env bash
# OCI 1.1 referrers against Debian's docker-registry 2.8 (no referrers API, so no OCI-Subject: the
# sha256-<hex> tag schema applies): `build --key --push` of the example image lists exactly the in-toto and
# SPDX referrers in the tag index, each referrer's subject is the image, pushing again adds no duplicates,
# `verify REF` checks each referrer, and an index that lists a referrer signed by another key fails verify
# (exit 9) naming that referrer. skopeo reads the referrer manifest.
. "$(dirname "$0")/../lib/common.sh"
need python3 curl openssl
EB=$ECHO_BUILD
start_registry
API=http://$REGISTRY/v2/echo/referrers
REF=$REGISTRY/echo/referrers:1.0.0
IDX='Accept: application/vnd.oci.image.index.v1+json'
MAN='Accept: application/vnd.oci.image.manifest.v1+json'

mkdir -p "$T/checkout"
cp -r "$ECHO_SOURCE_DIR/recipes" "$T/checkout/"
"$EB" keygen --out-key "$T/k.key" --out-pub "$T/k.pub" >/dev/null
"$EB" keygen --out-key "$T/o.key" --out-pub "$T/o.pub" >/dev/null
(cd "$T/checkout" && "$EB" --store "$T/store" --cache-dir "$T/cache" build example -o "$T/signed" \
  --key "$T/k.key" --push "$REF" --insecure-registry "$REGISTRY" --json >"$T/push.json")
d=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["pushed"]["digest"])' "$T/push.json")
hex=${d#sha256:}
echo "image $d"
# --json names the referrers it pushed and the tag schema index it wrote.
python3 - "$T/push.json" "$hex" <<'PY' || fail "push --json referrers: $(tail -1 "$T/push.json")"
import json, sys
p = json.loads(open(sys.argv[1]).read().splitlines()[-1])["pushed"]
refs = p["referrers"]
assert sorted(r["artifactType"] for r in refs) == ["application/spdx+json", "application/vnd.in-toto+json"], refs
assert all(r["digest"].startswith("sha256:") and r["ociSubject"] is False for r in refs), refs
assert p["referrersTag"] == "sha256-" + sys.argv[2], p
PY

# The registry has no referrers API (so the tag schema is what made the referrers discoverable).
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$IDX" "$API/referrers/$d")
[ "$code" != 200 ] || fail "docker-registry answered the referrers API; this test expects 2.8 without it"

check_index() { # check_index FILE: exactly the two referrers, subjects = image
  python3 - "$1" "$API" "$d" <<'PY'
import json, sys, urllib.request
idx = json.load(open(sys.argv[1])); api, d = sys.argv[2], sys.argv[3]
assert idx["mediaType"] == "application/vnd.oci.image.index.v1+json", idx
types = sorted(m["artifactType"] for m in idx["manifests"])
assert types == ["application/spdx+json", "application/vnd.in-toto+json"], types
assert len({m["digest"] for m in idx["manifests"]}) == 2, idx
for m in idx["manifests"]:
    req = urllib.request.Request(f"{api}/manifests/{m['digest']}", headers={"Accept": m["mediaType"]})
    body = json.loads(urllib.request.urlopen(req).read())
    assert body["subject"]["digest"] == d, (body["subject"], d)
    assert body["artifactType"] == m["artifactType"]
    assert body["config"]["mediaType"] == "application/vnd.oci.empty.v1+json" and body["config"]["size"] == 2
    assert m["annotations"]["org.opencontainers.image.created"] == body["annotations"]["org.opencontainers.image.created"]
    layer = body["layers"][0]["mediaType"]
    want = "application/vnd.dsse.envelope.v1+json" if m["artifactType"] == "application/vnd.in-toto+json" else "application/spdx+json"
    assert layer == want, (layer, want)
print(" ".join(m["digest"] + "=" + m["artifactType"] for m in idx["manifests"]))
PY
}
curl -fs -H "$IDX" "$API/manifests/sha256-$hex" >"$T/index1.json" || fail "no referrers tag sha256-$hex"
check_index "$T/index1.json" || fail "referrers index is wrong: $(cat "$T/index1.json")"
intoto=$(python3 -c 'import json,sys; print([m["digest"] for m in json.load(open(sys.argv[1]))["manifests"] if m["artifactType"]=="application/vnd.in-toto+json"][0])' "$T/index1.json")

# Pushing again (same layout) does not duplicate entries.
"$EB" push "$T/signed" "$REF" --insecure-registry "$REGISTRY" >/dev/null 2>"$T/push2.log" || { cat "$T/push2.log"; fail "second push failed"; }
curl -fs -H "$IDX" "$API/manifests/sha256-$hex" >"$T/index2.json"
cmp -s "$T/index1.json" "$T/index2.json" || fail "second push changed the referrers index: $(cat "$T/index2.json")"

# verify REF discovers the referrers through the tag schema and checks each.
"$EB" verify "$REF" --key "$T/k.pub" --insecure-registry "$REGISTRY" >"$T/verify.txt" || { cat "$T/verify.txt"; fail "verify REF failed"; }
cat "$T/verify.txt"
assert_contains "$T/verify.txt" "ok   referrer $intoto (application/vnd.in-toto+json): signature and subject"
assert_contains "$T/verify.txt" "(application/spdx+json): covered by the signed SBOM statement"

# skopeo reads the referrer manifest (an OCI artifact).
if command -v skopeo >/dev/null; then
  if skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/echo/referrers@$intoto" >"$T/raw.json" 2>"$T/skopeo.err"; then
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["subject"]["digest"]==sys.argv[2]' "$T/raw.json" "$d" \
      || fail "skopeo --raw returned another manifest"
  else
    echo "NOTE: skopeo inspect --raw refused the referrer artifact: $(cat "$T/skopeo.err")"
  fi
else
  echo "NOTE: skopeo not installed; skipping the skopeo check"
fi

# Tampering: the tag index now lists only a referrer whose DSSE envelope is signed by ANOTHER key.
python3 - "$API" "$d" "$T" <<'PY' >"$T/bad-digest"
import base64, hashlib, json, subprocess, sys, urllib.request
api, d, t = sys.argv[1], sys.argv[2], sys.argv[3]
def put(url, data, ctype):
    req = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": ctype})
    return urllib.request.urlopen(req)
def blob(data):
    dg = "sha256:" + hashlib.sha256(data).hexdigest()
    r = urllib.request.urlopen(urllib.request.Request(f"{api}/blobs/uploads/", data=b"", method="POST"))
    loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = api.split("/v2/")[0] + loc
    put(loc + ("&" if "?" in loc else "?") + "digest=" + dg, data, "application/octet-stream")
    return {"digest": dg, "size": len(data)}
stmt = json.dumps({"_type": "https://in-toto.io/Statement/v1",
                   "subject": [{"name": "x", "digest": {"sha256": d[7:]}}],
                   "predicateType": "https://slsa.dev/provenance/v1",
                   "predicate": {"buildDefinition": {"buildType": "x", "externalParameters": {}},
                                 "runDetails": {"builder": {"id": "x"}}}}).encode()
ptype = b"application/vnd.in-toto+json"
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(stmt), stmt)
open(f"{t}/pae.bin", "wb").write(pae)
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", f"{t}/o.key", f"{t}/pae.bin"], check=True, capture_output=True).stdout
env = json.dumps({"payload": base64.b64encode(stmt).decode(), "payloadType": ptype.decode(),
                  "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]}).encode()
empty = blob(b"{}"); layer = blob(env)
req = urllib.request.Request(f"{api}/manifests/{d}", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
img = urllib.request.urlopen(req).read()
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.in-toto+json",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
                "layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json", **layer}],
                "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": len(img)}}).encode()
md = "sha256:" + hashlib.sha256(m).hexdigest()
put(f"{api}/manifests/{md}", m, "application/vnd.oci.image.manifest.v1+json")
idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                  "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(m),
                                 "artifactType": "application/vnd.in-toto+json"}]}).encode()
put(f"{api}/manifests/sha256-{d[7:]}", idx, "application/vnd.oci.image.index.v1+json")
print(md)
PY
bad=$(cat "$T/bad-digest")
expect_fail 9 "$EB" verify "$REF" --key "$T/k.pub" --insecure-registry "$REGISTRY"
assert_contains "$T/out" "FAIL referrer $bad (application/vnd.in-toto+json): no DSSE envelope layer verifies with the key"
assert_contains "$T/err" "verification failed: referrer $bad"
echo "PASS: referrers tag schema on docker-registry 2.8; verify checks referrers and rejects a foreign-key one"
