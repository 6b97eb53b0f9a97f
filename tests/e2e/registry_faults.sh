#!/usr/bin/env bash
# Registry failures through tests/lib/fault_proxy.py in front of a real docker-registry: registry down,
# 401, 500 twice then success, 429/503 with Retry-After (honoured, capped), corrupted blob (nothing tagged),
# basic and bearer auth from every source (secrets never printed, even with -vv), and a push killed halfway
# then resumed without re-uploading.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need umoci skopeo python3 curl
start_registry
proxy_pids=()
start_proxy() { # start_proxy ARGS... -> sets PROXY=127.0.0.1:port, log in $T/proxy.log
  local port; port=$(free_port)
  : >"$T/proxy.log"
  python3 "$ECHO_SOURCE_DIR/tests/lib/fault_proxy.py" --port "$port" --upstream "$REGISTRY" --log "$T/proxy.log" "$@" \
    2>"$T/proxy.err" &
  local pid=$!
  proxy_pids+=("$pid")
  add_cleanup "kill $pid 2>/dev/null"
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  PROXY=127.0.0.1:$port
}
stop_proxy() { kill "${proxy_pids[-1]}" 2>/dev/null || true; wait "${proxy_pids[-1]}" 2>/dev/null || true; }
tag_absent() { # tag_absent REPO TAG: the registry has no such tag
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/$1/manifests/$2")
  [ "$code" = 404 ] || fail "tag $1:$2 exists (HTTP $code)"
}

cd "$T"
mkdir -p a b c && echo hello >a/hello.txt && head -c 3000 /dev/urandom >b/r.bin && head -c 3000 /dev/urandom >c/r.bin
umoci init --layout L >/dev/null && umoci new --image L:1.0 >/dev/null
for d in a b c; do umoci insert --image L:1.0 "$d" "/$d" >/dev/null; done
want=$(python3 -c 'import json; print(json.load(open("L/index.json"))["manifests"][0]["digest"])')

# 1. registry down: connection refused, retried, exit 7 naming the URL
down=127.0.0.1:$(free_port)
expect_fail 7 "$ECHO_BUILD" push --insecure-registry "$down" L "$down/app:1.0"
assert_contains "$T/err" "echo-build: error: pushing L to $down/app:1.0: pushing blob sha256:"
assert_contains "$T/err" "HEAD http://$down/v2/app/blobs/sha256:"
assert_contains "$T/err" "Couldn't connect to server (after 4 attempts)"

# 2. 401 everywhere: exit 7, names registry and repository, hints at credentials
start_proxy --always 401
expect_fail 7 "$ECHO_BUILD" push --insecure-registry "$PROXY" L "$PROXY/team/app:1.0"
assert_contains "$T/err" "401 Unauthorized: UNAUTHORIZED: injected failure ($PROXY denied access to repository team/app; no credentials found"
stop_proxy

# 3. 500 twice, then the registry answers: the push succeeds; the proxy saw the two 500s
start_proxy --fail-first 2
"$ECHO_BUILD" --json push --insecure-registry "$PROXY" L "$PROXY/retry:1.0" >out.json 2>err.txt || { cat err.txt; fail "push with 2x500"; }
[ "$(jget '["digest"]' <out.json)" = "$want" ] || fail "retry push: $(cat out.json)"
[ "$(grep -c ' 500 ' proxy.log)" = 2 ] || { cat proxy.log; fail "expected two injected 500s"; }
assert_contains err.txt "500 Internal Server Error (attempt 1 of 4)"
stop_proxy

# 3b. 429 + Retry-After: 2 on the first request: the client waits the server's 2 s (not its 200 ms backoff)
start_proxy --fail-first 1 --fail-status 429 --retry-after 2
t0=$(date +%s%N)
"$ECHO_BUILD" -v --json push --insecure-registry "$PROXY" L "$PROXY/ra:1.0" >out.json 2>err.txt || { cat err.txt; fail "push with 429 + Retry-After"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(jget '["digest"]' <out.json)" = "$want" ] || fail "Retry-After push: $(cat out.json)"
[ "$(grep -c ' 429 ' proxy.log)" = 1 ] || { cat proxy.log; fail "expected one injected 429"; }
assert_contains err.txt "429 Too Many Requests (attempt 1 of 4)"
assert_contains err.txt "http://$PROXY sent Retry-After: 2; retrying in 2000 ms"
[ "$ms" -ge 2000 ] || fail "push with Retry-After: 2 took only $ms ms"
echo "429 + Retry-After: 2 push took $ms ms"
stop_proxy

# 3c. 503 + Retry-After: 3600 with a 1 s cap: waits the cap, warns naming the registry URL, succeeds
start_proxy --fail-first 1 --fail-status 503 --retry-after 3600
t0=$(date +%s%N)
ECHO_REGISTRY_MAX_RETRY_AFTER=1 "$ECHO_BUILD" --json push --insecure-registry "$PROXY" L "$PROXY/ra:2.0" >out.json 2>err.txt \
  || { cat err.txt; fail "push with 503 + Retry-After over the cap"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(jget '["digest"]' <out.json)" = "$want" ] || fail "capped Retry-After push: $(cat out.json)"
assert_contains err.txt "http://$PROXY asked to wait 3600 s before retrying (Retry-After: 3600); waiting 1 s (the cap, ECHO_REGISTRY_MAX_RETRY_AFTER)"
[ "$ms" -ge 1000 ] && [ "$ms" -lt 30000 ] || fail "push with Retry-After over a 1 s cap took $ms ms"
echo "503 + Retry-After: 3600 (cap 1 s) push took $ms ms"
stop_proxy

# 4. corrupted blob: verify error (exit 9) naming the digest; no request made, no tag created
cp -a L Lbad
layer=$(python3 -c 'import json; m=json.load(open("Lbad/blobs/sha256/'"${want#sha256:}"'")); print(m["layers"][1]["digest"])')
chmod u+w "Lbad/blobs/sha256/${layer#sha256:}"
printf 'garbage' >"Lbad/blobs/sha256/${layer#sha256:}"
start_proxy
expect_fail 9 "$ECHO_BUILD" push --insecure-registry "$PROXY" Lbad "$PROXY/corrupt:1.0"
assert_contains "$T/err" "blob $layer in Lbad: digest mismatch (content is sha256:"
[ ! -s proxy.log ] || { cat proxy.log; fail "requests were made for a corrupted layout"; }
tag_absent corrupt 1.0
stop_proxy

# 5. basic auth: --username/--password-stdin, env, REGISTRY_AUTH_FILE, ~/.docker/config.json; secret never printed
PW='Pw-Basic-7f3a9c'
start_proxy --basic "alice:$PW"
echo "$PW" | "$ECHO_BUILD" -vv push --insecure-registry "$PROXY" --username alice --password-stdin L "$PROXY/basic:1" \
  >o1 2>e1 || { cat e1; fail "basic auth via stdin"; }
ECHO_REGISTRY_USERNAME=alice ECHO_REGISTRY_PASSWORD="$PW" "$ECHO_BUILD" -vv push --insecure-registry "$PROXY" L "$PROXY/basic:2" \
  >o2 2>e2 || { cat e2; fail "basic auth via env"; }
printf '{"auths":{"%s":{"auth":"%s"}}}' "$PROXY" "$(printf 'alice:%s' "$PW" | base64)" >auth.json
REGISTRY_AUTH_FILE=$T/auth.json "$ECHO_BUILD" -vv push --insecure-registry "$PROXY" L "$PROXY/basic:3" \
  >o3 2>e3 || { cat e3; fail "basic auth via REGISTRY_AUTH_FILE"; }
mkdir -p home/.docker && printf '{"auths":{"http://%s/v1/":{"username":"alice","password":"%s"}}}' "$PROXY" "$PW" >home/.docker/config.json
HOME=$T/home "$ECHO_BUILD" -vv push --insecure-registry "$PROXY" L "$PROXY/basic:4" \
  >o4 2>e4 || { cat e4; fail "basic auth via ~/.docker/config.json"; }
echo wrong | "$ECHO_BUILD" -vv push --insecure-registry "$PROXY" --username alice --password-stdin L "$PROXY/basic:5" >o5 2>e5 && fail "wrong password accepted"
assert_contains e5 "($PROXY denied access to repository basic; the credentials were rejected or lack permission)"
b64=$(printf 'alice:%s' "$PW" | base64)
for f in o1 e1 o2 e2 o3 e3 o4 e4 o5 e5; do
  ! grep -qF -- "$PW" "$f" || fail "password printed in $f"
  ! grep -qF -- "$b64" "$f" || fail "base64 credentials printed in $f"
done
for t in 1 2 3 4; do
  [ "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/basic:$t")" = "$want" ] || fail "basic:$t"
done
tag_absent basic 5
stop_proxy

# 6. bearer tokens: token endpoint with service + scope and basic creds; token never printed
PW='Pw-Bearer-19be'
start_proxy --bearer "bob:$PW" --tokens-file "$T/tokens"
ECHO_REGISTRY_USERNAME=bob ECHO_REGISTRY_PASSWORD="$PW" "$ECHO_BUILD" -vv --json push --insecure-registry "$PROXY" L "$PROXY/tok/app:1" \
  >o6 2>e6 || { cat e6; fail "bearer push"; }
ECHO_REGISTRY_USERNAME=bob ECHO_REGISTRY_PASSWORD="$PW" "$ECHO_BUILD" -vv pull --insecure-registry "$PROXY" "$PROXY/tok/app:1" P \
  >o7 2>e7 || { cat e7; fail "bearer pull"; }
[ "$(cat o7)" = "$want" ] || fail "bearer pull digest $(cat o7)"
[ "$(grep -c '^GET /token 200' proxy.log)" = 2 ] || { cat proxy.log; fail "expected one token per command (cached per scope)"; }
grep -q ' 200 Bearer$\| 201 Bearer$\| 202 Bearer$' proxy.log || fail "no request carried a bearer token"
expect_fail 7 env ECHO_REGISTRY_USERNAME=bob ECHO_REGISTRY_PASSWORD=nope "$ECHO_BUILD" -vv push --insecure-registry "$PROXY" L "$PROXY/tok/app:2"
assert_contains "$T/err" "getting a token for $PROXY/tok/app: GET http://$PROXY/token: 401 Unauthorized: UNAUTHORIZED: bad credentials"
[ -s tokens ] || fail "no token issued"
while read -r tok; do
  for f in o6 e6 o7 e7 "$T/err"; do ! grep -qF -- "$tok" "$f" || fail "token printed in $f"; done
done <tokens
for f in o6 e6 o7 e7; do ! grep -qF -- "$PW" "$f" || fail "password printed in $f"; done
stop_proxy

# 7. push killed halfway (-9) while the proxy holds the second blob upload; the rerun skips what landed
start_proxy --delay 'PUT /v2/resume/blobs/uploads/ 1 60'
"$ECHO_BUILD" --json push --insecure-registry "$PROXY" L "$PROXY/resume:1.0" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 1 100); do grep -q '^DELAY' proxy.log && break; sleep 0.1; done
grep -q '^DELAY' proxy.log || { kill -9 $victim; fail "push never reached the delayed upload"; }
kill -9 $victim; wait $victim 2>/dev/null || true
tag_absent resume 1.0
stop_proxy # the held upload is dropped with the proxy
"$ECHO_BUILD" --json push --insecure-registry "$REGISTRY" L "$REGISTRY/resume:1.0" >out.json
[ "$(jget '["blobs"]' <out.json)" = "{'uploaded': 3, 'skipped': 1, 'mounted': 0}" ] || fail "resume: $(cat out.json)"
[ "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/resume:1.0")" = "$want" ] || fail "resumed image"
echo PASS
