#!/usr/bin/env bash
# Issue 4 acceptance with real parts: the example image builds reproducibly (two checkouts in different
# directories, different stores, -j1 vs -j2, at different times), is signed and pushed to a real docker-registry,
# skopeo inspects it, umoci unpacks it (checking diff_ids), `echo-build verify REF` passes, and a Dockerfile
# FROM it builds and runs under podman.
. "$(dirname "$0")/../lib/common.sh"
need skopeo umoci python3
EB=$ECHO_BUILD

for side in a b; do
  mkdir -p "$T/$side/checkout"
  cp -r "$ECHO_SOURCE_DIR/recipes" "$T/$side/checkout/"
done
"$EB" keygen --out-key "$T/cosign.key" --out-pub "$T/cosign.pub" >/dev/null

(cd "$T/a/checkout" && "$EB" --store "$T/a/store" --cache-dir "$T/a/cache" -j1 build example -o "$T/a/out" --json >"$T/a/build.json")
sleep 1.1 # a different wall-clock second must not matter
(cd "$T/b/checkout" && "$EB" --store "$T/b/store" --cache-dir "$T/b/cache" -j2 build example -o "$T/b/out" --json >"$T/b/build.json")
da=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["digest"])' "$T/a/build.json")
db=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["digest"])' "$T/b/build.json")
[ "$da" = "$db" ] || fail "not reproducible: $da vs $db"
echo "reproducible: $da"

# Layout checks with real clients.
skopeo inspect "oci:$T/a/out:latest" >"$T/inspect-oci.json"
python3 - "$T/inspect-oci.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["Architecture"] == "amd64" and j["Os"] == "linux", j
PY
(cd "$T" && umoci unpack --rootless --image "$T/a/out:latest" "$T/bundle" >/dev/null) || fail "umoci unpack failed"
[ -x "$T/bundle/rootfs/usr/bin/echo-hello" ] || fail "echo-hello missing from the unpacked rootfs"
[ ! -e "$T/bundle/rootfs/bin/sh" ] || fail "the image has a shell"
[ ! -e "$T/bundle/rootfs/usr/share/doc" ] || fail "docs were not dropped"
python3 - "$T/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["process"]["user"]["uid"] == 65532, c["process"]["user"]
assert c["process"]["args"] == ["/usr/bin/echo-hello"], c["process"]["args"]
PY
grep -q '^nonroot:x:65532:65532:' "$T/bundle/rootfs/etc/passwd" || fail "no nonroot user in /etc/passwd"
[ "$(stat -c %a "$T/bundle/rootfs/tmp")" = 1777 ] || fail "/tmp is not 1777"

# Sign and push in one go, then check with skopeo and our verify against the registry.
start_registry
(cd "$T/a/checkout" && "$EB" --store "$T/a/store" --cache-dir "$T/a/cache" build example -o "$T/signed" \
  --key "$T/cosign.key" --push "$REGISTRY/echo/example:1.0.0" --tag latest --insecure-registry "$REGISTRY" --json \
  >"$T/push.json")
dp=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["pushed"]["digest"])' "$T/push.json")
[ "$dp" = "$da" ] || fail "signing changed the image digest: $dp vs $da"
skopeo inspect --tls-verify=false "docker://$REGISTRY/echo/example:1.0.0" >"$T/inspect.json"
python3 - "$T/inspect.json" "$da" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["Digest"] == sys.argv[2], (j["Digest"], sys.argv[2])
assert j["Architecture"] == "amd64"
PY
skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/echo/example:sha256-${da#sha256:}.sig" | grep -q simplesigning \
  || fail "no cosign .sig tag in the registry"
"$EB" verify "$REGISTRY/echo/example:1.0.0" --key "$T/cosign.pub" --insecure-registry "$REGISTRY" >"$T/verify.txt" \
  || { cat "$T/verify.txt"; fail "verify REF failed"; }
assert_contains "$T/verify.txt" "ok   signature over manifest $da"
# A wrong key fails with the named check.
"$EB" keygen --out-key "$T/other.key" --out-pub "$T/other.pub" >/dev/null
expect_fail 9 "$EB" verify "$REGISTRY/echo/example:1.0.0" --key "$T/other.pub" --insecure-registry "$REGISTRY"
assert_contains "$T/out" "FAIL signature over manifest"

# A Dockerfile FROM our image builds and runs under podman.
if ! command -v podman >/dev/null; then skip "podman missing (registry/skopeo/umoci checks passed)"; fi
podman_setup
mkdir -p "$T/ctx"
echo "added by a Dockerfile" >"$T/ctx/note.txt"
cat >"$T/ctx/Dockerfile" <<DOCKER
FROM $REGISTRY/echo/example:1.0.0
COPY note.txt /home/nonroot/note.txt
CMD ["podman"]
DOCKER
podman build --quiet -t localhost/echo-derived:test "$T/ctx" >"$T/podman-build.log" 2>&1 \
  || { cat "$T/podman-build.log"; fail "podman build FROM our image failed"; }
podman run --rm localhost/echo-derived:test >"$T/run.txt" 2>&1 || { cat "$T/run.txt"; fail "podman run failed"; }
assert_contains "$T/run.txt" "Hello, podman! (echo-hello 1.0.0, uid 65532)"
podman run --rm --entrypoint /usr/bin/echo-hello localhost/echo-derived:test --check-tmp >"$T/run2.txt" 2>&1 \
  || { cat "$T/run2.txt"; fail "podman run --check-tmp failed"; }
assert_contains "$T/run2.txt" "/tmp is writable"
echo "PASS: reproducible $da, pushed, verified, FROM works under podman"
