#!/usr/bin/env python3
"""A small HTTP proxy in front of a registry on 127.0.0.1, injecting faults for e2e tests.

  fault_proxy.py --port P --upstream 127.0.0.1:5000 [--log FILE] [faults...]

Faults (combinable; checked in this order):
  --basic USER:PASS       require HTTP Basic auth (401 + WWW-Authenticate: Basic otherwise)
  --bearer USER:PASS      token auth: /token?service=&scope= (Basic USER:PASS required there) hands out a
                          token; /v2/ requests need "Bearer <token>" (401 challenge with realm/service/scope);
                          --tokens-file FILE records the issued tokens
  --always STATUS         answer every /v2/ request with STATUS and a distribution-spec error body
  --fail-first N          answer the first N /v2/ requests with --fail-status (default 500), then pass
  --retry-after VALUE     send "Retry-After: VALUE" with those --fail-first answers
  --delay "METHOD REGEX SKIP SECONDS"
                          requests matching METHOD and the path REGEX, after the first SKIP of them, wait
                          SECONDS before being forwarded (to kill a client in the middle of a push)
The log has one line per request: "METHOD PATH STATUS AUTHSCHEME" (never the credentials themselves).
"""
import argparse
import base64
import http.client
import http.server
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log")
    ap.add_argument("--basic")
    ap.add_argument("--bearer")
    ap.add_argument("--always", type=int)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=500)
    ap.add_argument("--retry-after")
    ap.add_argument("--delay")
    ap.add_argument("--tokens-file", help="append every issued token here (so tests can grep for leaks)")
    args = ap.parse_args()

    lock = threading.Lock()
    state = {"failed": 0, "delay_seen": 0, "tokens": set()}
    delay = None
    if args.delay:
        m, rx, skip, secs = args.delay.split(" ")
        delay = (m, re.compile(rx), int(skip), float(secs))

    def log(line):
        if args.log:
            with lock, open(args.log, "a") as f:
                f.write(line + "\n")

    def error_body(code, message):
        return json.dumps({"errors": [{"code": code, "message": message}]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, headers, body):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def auth_scheme(self):
            return (self.headers.get("Authorization") or "-").split(" ")[0]

        def handle_one(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urllib.parse.urlsplit(self.path).path
            status = self.decide(path, body)
            if path != "/":  # "/" is the tests' readiness probe
                log(f"{self.command} {path} {status} {self.auth_scheme()}")

        def decide(self, path, body):
            host = self.headers.get("Host", f"127.0.0.1:{args.port}")
            if args.bearer and path == "/token":
                want = "Basic " + base64.b64encode(args.bearer.encode()).decode()
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                if self.headers.get("Authorization") != want:
                    self.reply(401, [("Content-Type", "application/json")], error_body("UNAUTHORIZED", "bad credentials"))
                    return 401
                if q.get("service") != ["fault-proxy"] or not q.get("scope"):
                    self.reply(400, [], b'{"error":"service and scope required"}')
                    return 400
                tok = "tok-" + secrets.token_hex(8)
                with lock:
                    state["tokens"].add(tok)
                    if args.tokens_file:
                        with open(args.tokens_file, "a") as f:
                            f.write(tok + "\n")
                self.reply(200, [("Content-Type", "application/json")], json.dumps({"token": tok, "expires_in": 300}).encode())
                return 200
            if args.basic:
                want = "Basic " + base64.b64encode(args.basic.encode()).decode()
                if self.headers.get("Authorization") != want:
                    self.reply(401, [("WWW-Authenticate", 'Basic realm="fault-proxy"'), ("Content-Type", "application/json")],
                               error_body("UNAUTHORIZED", "authentication required"))
                    return 401
            if args.bearer:
                auth = self.headers.get("Authorization") or ""
                with lock:
                    ok = auth.startswith("Bearer ") and auth[7:] in state["tokens"]
                if not ok:
                    m = re.match(r"^/v2/(.+)/(blobs|manifests|tags)/", path)
                    scope = f'repository:{m.group(1)}:pull,push' if m else ""
                    chal = f'Bearer realm="http://{host}/token",service="fault-proxy"' + (f',scope="{scope}"' if scope else "")
                    self.reply(401, [("WWW-Authenticate", chal), ("Content-Type", "application/json")],
                               error_body("UNAUTHORIZED", "authentication required"))
                    return 401
            if not path.startswith("/v2/"):
                return self.forward(body)
            if args.always:
                hdrs = [("Content-Type", "application/json")]
                if args.always == 401:
                    hdrs.append(("WWW-Authenticate", 'Basic realm="fault-proxy"'))
                code = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NAME_UNKNOWN"}.get(args.always, "UNAVAILABLE")
                self.reply(args.always, hdrs, error_body(code, "injected failure"))
                return args.always
            with lock:
                fail = state["failed"] < args.fail_first
                if fail:
                    state["failed"] += 1
            if fail:
                hdrs = [("Content-Type", "application/json")]
                if args.retry_after is not None:
                    hdrs.append(("Retry-After", args.retry_after))
                code = "TOOMANYREQUESTS" if args.fail_status == 429 else "UNAVAILABLE"
                self.reply(args.fail_status, hdrs, error_body(code, "injected failure"))
                return args.fail_status
            if delay and self.command == delay[0] and delay[1].search(path):
                with lock:
                    state["delay_seen"] += 1
                    n = state["delay_seen"]
                if n > delay[2]:
                    log(f"DELAY {self.command} {path}")
                    time.sleep(delay[3])
            return self.forward(body)

        def forward(self, body):
            conn = http.client.HTTPConnection(args.upstream, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST", "PATCH") else None,
                         headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() in HOP or (k.lower() == "content-length" and self.command != "HEAD"):
                    continue
                self.send_header(k, v)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()
            return resp.status

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"fault_proxy listening on 127.0.0.1:{args.port} -> {args.upstream}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
