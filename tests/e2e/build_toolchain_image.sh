#!/usr/bin/env bash
# The toolchain root as an OCI image (--toolchain-root oci:LAYOUT[:TAG] and recipe options.toolchain-root):
# steps run inside the image's tree (a marker file only the image has), a rebuild is a cache hit and reuses the
# unpacked tree, another layer (with a whiteout) changes the store key, and a missing layout is a clear error.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need ldd tar gzip python3

STORE=$T/store CACHE=$T/cache R=$T/recipes L=$T/layout
mkdir -p "$R/packages"
eb() { "$ECHO_BUILD" --recipes "$R" --store "$STORE" --cache-dir "$CACHE" "$@"; }
# mk_image LAYOUT TAG ROOTFS...: an OCI image layout whose image TAG has one gzip tar layer per ROOTFS dir, in order.
# (Written here rather than with `umoci insert`: umoci 0.4.7 on Debian 12 writes truncated layers.)
mk_image() {
  local layout=$1 tag=$2; shift 2
  local layers=() n=0
  for d in "$@"; do n=$((n + 1)); tar -C "$d" --numeric-owner --owner=0 --group=0 -cf - . | gzip -n >"$T/layer$n.tar.gz"; layers+=("$T/layer$n.tar.gz"); done
  python3 - "$layout" "$tag" "${layers[@]}" <<'PY'
import gzip, hashlib, json, os, sys
layout, tag, layers = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(f"{layout}/blobs/sha256", exist_ok=True)
def blob(data, mt):
    h = hashlib.sha256(data).hexdigest()
    open(f"{layout}/blobs/sha256/{h}", "wb").write(data)
    return {"mediaType": mt, "digest": "sha256:" + h, "size": len(data)}
descs, diff_ids = [], []
for f in layers:
    data = open(f, "rb").read()
    descs.append(blob(data, "application/vnd.oci.image.layer.v1.tar+gzip"))
    diff_ids.append("sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest())
config = blob(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode(),
              "application/vnd.oci.image.config.v1+json")
man = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": config, "layers": descs}).encode(), "application/vnd.oci.image.manifest.v1+json")
open(f"{layout}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
if os.path.exists(f"{layout}/index.json"):
    idx = json.load(open(f"{layout}/index.json"))
key = "org.opencontainers.image.ref.name"
idx["manifests"] = [m for m in idx["manifests"] if m.get("annotations", {}).get(key) != tag]
idx["manifests"].append(dict(man, annotations={key: tag}))
json.dump(idx, open(f"{layout}/index.json", "w"))
PY
}
json_field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' "$1" "$2"; }

# A tiny rootfs: dash as /bin/sh, cat, mkdir, rm and their libraries (copied from the host by `ldd`), plus markers.
ROOTFS=$T/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/usr/share"
for tool in sh cat mkdir rm; do
  src=$(readlink -f "$(command -v $tool)")
  cp "$src" "$ROOTFS/bin/$tool"
  for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
    cp --parents -L "$lib" "$ROOTFS"
  done
done
echo "marker-from-image-1" >"$ROOTFS/usr/share/echo-marker"
echo "doomed" >"$ROOTFS/usr/share/doomed"
mk_image "$L" t "$ROOTFS" || fail "cannot make the image"
[ -e /usr/share/echo-marker ] && skip "the host has /usr/share/echo-marker: the test cannot tell the roots apart"

cat >"$R/packages/inimage.yaml" <<'Y'
package:
  name: inimage
  version: 1.0.0
  license: MIT
pipeline:
  - name: install
    runs: |
      mkdir -p ${{targets.destdir}}/share
      cat /usr/share/echo-marker >${{targets.destdir}}/share/out.txt
      if [ -e /usr/share/doomed ]; then echo doomed-present; else echo doomed-absent; fi >>${{targets.destdir}}/share/out.txt
Y

# 1. Builds inside the image's root.
eb --json build --toolchain-root "oci:$L:t" inimage >"$T/b1.json" 2>"$T/err" || { cat "$T/err"; fail "build with oci:$L:t failed"; }
k1=$(json_field "$T/b1.json" key) out1=$(json_field "$T/b1.json" output)
[ "$(json_field "$T/b1.json" cached)" = False ] || fail "the first build was a cache hit"
[ "$(cat "$out1/share/out.txt")" = "$(printf 'marker-from-image-1\ndoomed-present')" ] ||
  fail "the step did not run in the image's root: $(cat "$out1/share/out.txt")"
ls "$CACHE/toolchains" | grep -qE '^[0-9a-f]{64}$' || { ls -la "$CACHE/toolchains"; fail "no unpacked image in $CACHE/toolchains"; }
! ls -A "$CACHE/toolchains" | grep -q '^\.' || { ls -la "$CACHE/toolchains"; fail "a staging dir is left in $CACHE/toolchains"; }
echo "ok: the step ran in the image's root ($k1)"

# 2. A rebuild is a cache hit, and reuses the unpacked tree (same inode).
ino1=$(stat -c %i "$CACHE"/toolchains/*/usr/share/echo-marker)
eb --json build --toolchain-root "oci:$L:t" inimage >"$T/b2.json" 2>"$T/err" || { cat "$T/err"; fail "rebuild failed"; }
[ "$(json_field "$T/b2.json" cached)" = True ] && [ "$(json_field "$T/b2.json" key)" = "$k1" ] ||
  { cat "$T/b2.json"; fail "the rebuild was not a cache hit with the same key"; }
[ "$(stat -c %i "$CACHE"/toolchains/*/usr/share/echo-marker)" = "$ino1" ] || fail "the image was unpacked again"
echo "ok: a rebuild is a cache hit and reuses the unpacked image"

# 3. Another layer (a new marker and a whiteout) gives a new manifest, a new key and a new output.
mkdir -p "$T/layer2/usr/share"
echo "marker-from-image-2" >"$T/layer2/usr/share/echo-marker"
: >"$T/layer2/usr/share/.wh.doomed"
mk_image "$L" t "$ROOTFS" "$T/layer2" || fail "cannot make the second image"
eb --json build --toolchain-root "oci:$L:t" inimage >"$T/b3.json" 2>"$T/err" || { cat "$T/err"; fail "build with the new image failed"; }
k3=$(json_field "$T/b3.json" key) out3=$(json_field "$T/b3.json" output)
[ "$k3" != "$k1" ] && [ "$(json_field "$T/b3.json" cached)" = False ] || fail "a changed image did not change the key"
[ "$(cat "$out3/share/out.txt")" = "$(printf 'marker-from-image-2\ndoomed-absent')" ] ||
  fail "layers or whiteout not applied: $(cat "$out3/share/out.txt")"
[ "$(ls "$CACHE/toolchains" | wc -l)" = 2 ] || fail "expected two unpacked images"
echo "ok: another layer changes the key; later layers and whiteouts apply ($k3)"

# 4. The image named in the recipe (options.toolchain-root, relative to the recipe's dir) is used.
cp -r "$L" "$R/packages/tc-layout"
sed -i 's/^  license: MIT$/  license: MIT\noptions:\n  toolchain-root: oci:tc-layout:t/' "$R/packages/inimage.yaml"
grep -q 'toolchain-root: oci:tc-layout:t' "$R/packages/inimage.yaml" || fail "could not edit the recipe"
eb --json build inimage >"$T/b4.json" 2>"$T/err" || { cat "$T/err"; fail "build with options.toolchain-root failed"; }
[ "$(cat "$(json_field "$T/b4.json" output)/share/out.txt")" = "$(printf 'marker-from-image-2\ndoomed-absent')" ] ||
  fail "options.toolchain-root oci: was not used"
echo "ok: options.toolchain-root: oci:DIR:TAG in a recipe"

# 5. A missing layout or tag is a clear error naming it.
expect_fail 2 eb build --toolchain-root oci:/nonexistent inimage
assert_contains "$T/err" "echo-build: error: toolchain root oci:/nonexistent: /nonexistent is not a directory"
expect_fail 2 eb build --toolchain-root "oci:$L:nosuchtag" inimage
assert_contains "$T/err" "toolchain root oci:$L:nosuchtag: no image tagged 'nosuchtag' (tags: t)"
echo "ok: a missing layout or tag is refused with its name"

# 6. The provenance of an image built against the image toolchain names it: uri oci:LAYOUT@sha256:<manifest>,
#    digest {"sha256": <manifest hex>}, kind oci-image.
mkdir -p "$R/images"
cat >"$R/images/tcimg.yaml" <<'Y'
image:
  name: tcimg
  version: 1.0.0
contents:
  packages:
    - inimage
Y
"$ECHO_BUILD" keygen --out-key "$T/k.key" --out-pub "$T/k.pub" >/dev/null
eb build --toolchain-root "oci:$L:t" --key "$T/k.key" tcimg -o "$T/img" >"$T/out" 2>"$T/err" ||
  { cat "$T/err"; fail "image build with the image toolchain failed"; }
python3 - "$T/img.intoto.jsonl" "$L" <<'PY' || fail "the provenance does not record the image toolchain"
import base64, json, sys
env = json.loads(open(sys.argv[1]).read().splitlines()[0])
st = json.loads(base64.b64decode(env["payload"]))
if st.get("predicateType") != "https://slsa.dev/provenance/v1":  # the first line may be another statement
    for line in open(sys.argv[1]).read().splitlines()[1:]:
        st = json.loads(base64.b64decode(json.loads(line)["payload"]))
        if st.get("predicateType") == "https://slsa.dev/provenance/v1": break
idx = json.load(open(sys.argv[2] + "/index.json"))
man = [m for m in idx["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == "t"][0]["digest"]
tc = [d for d in st["predicate"]["buildDefinition"]["resolvedDependencies"] if d["name"] == "toolchain"][0]
want = {"name": "toolchain", "uri": "oci:" + sys.argv[2] + "@" + man, "digest": {"sha256": man[7:]},
        "annotations": {"kind": "oci-image"}}
assert tc == want, (tc, want)
assert st["predicate"]["buildDefinition"]["internalParameters"]["toolchain"] == "oci-image"
# inimage's recipe names its own toolchain root (step 4): recorded per package.
own = [d for d in st["predicate"]["buildDefinition"]["resolvedDependencies"] if d["name"] == "toolchain/inimage"]
assert len(own) == 1, own
assert own[0]["uri"].endswith("/packages/tc-layout@" + man) and own[0]["uri"].startswith("oci:/"), own
assert own[0]["digest"] == {"sha256": man[7:]}, own
assert own[0]["annotations"] == {"kind": "oci-image", "package": "inimage"}, own
print("ok: the provenance records the toolchain as", tc["uri"])
PY
