#!/usr/bin/env bash
# Recipes that attack the sandbox, built through the real CLI with real namespaces. Each build must fail
# (exit 6) and the error (last log lines) must show the specific denial; the store must stay empty.
. "$ECHO_SOURCE_DIR/tests/lib/common.sh"
need cc
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is not installed"

STORE=$T/store CACHE=$T/cache R=$T/recipes
mkdir -p "$R/packages/attack" "$CACHE/sources" "$STORE"
eb() { "$ECHO_BUILD" --recipes "$R" --store "$STORE" --cache-dir "$CACHE" -j 1 "$@"; }

# A helper program for the attacks that need system calls; compiled inside the sandbox by each step.
cat >"$R/packages/attack/attack.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <unistd.h>
static int report(const char* what, int rc) {
  if (rc == 0) { printf("%s: ALLOWED\n", what); return 0; }
  printf("%s: %s\n", what, strerror(errno));
  return 1;
}
int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* m = argv[1];
  if (!strcmp(m, "traceme")) return report("ptrace(PTRACE_TRACEME)", (int)ptrace(PTRACE_TRACEME, 0, 0, 0));
  if (!strcmp(m, "attach")) return report("ptrace(PTRACE_ATTACH, 1)", (int)ptrace(PTRACE_ATTACH, 1, 0, 0));
  if (!strcmp(m, "mount")) return report("mount(tmpfs, /tmp)", mount("none", "/tmp", "tmpfs", 0, NULL));
  if (!strcmp(m, "hostname")) return report("sethostname(pwned)", sethostname("pwned", 5));
  if (!strcmp(m, "forkbomb")) {
    int n = 0;
    for (;;) {
      pid_t p = fork();
      if (p == 0) { pause(); _exit(0); }
      if (p < 0) break;
      ++n;
    }
    printf("fork bomb stopped after %d processes: %s\n", n, strerror(errno));
    return 1;
  }
  return 2;
}
C

# recipe NAME SCRIPT [OPTIONS-YAML]: a package whose one step runs SCRIPT (with the attack helper compiled).
recipe() {
  {
    printf 'package:\n  name: %s\n  version: 1.0.0\n  license: MIT\n' "$1"
    printf 'sources:\n  - path: attack\n'
    [ -n "${3:-}" ] && printf '%s\n' "$3"
    printf 'pipeline:\n  - name: attack\n    runs: |\n'
    printf '%s\n' "$2" | sed 's/^/      /'
  } >"$R/packages/$1.yaml"
}
# attack NAME TEXT...: the build of NAME fails with exit 6; stderr names the step and shows every TEXT;
# the log it points at exists; the store has no entry and no .tmp-* leftover.
attack() {
  local name=$1; shift
  expect_fail 6 eb build "$name"
  assert_contains "$T/err" "echo-build: error: building $name 1.0.0-r0: step 'attack'"
  assert_contains "$T/err" "--- last lines of the log ---"
  assert_contains "$T/err" "--- full log: $CACHE/logs/$name-"
  for text in "$@"; do assert_contains "$T/err" "$text"; done
  local log; log=$(sed -n 's/^--- full log: //p' "$T/err")
  [ -f "$log" ] || fail "log $log named by the error does not exist"
  [ -z "$(ls -A "$STORE")" ] || { ls -la "$STORE"; fail "$name: the store is not empty after a failed build"; }
  echo "ok: $name denied"
}
compile='cc -o /tmp/attack attack.c'

# 1. Network: the host's 127.0.0.1 listener is unreachable, and it sees no connection.
PORT=$(free_port)
"$PY" - "$PORT" "$T/listener.log" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
open(sys.argv[2], "w").write("listening\n")
while True:
    c, a = s.accept(); c.close()
    with open(sys.argv[2], "a") as f: f.write("CONNECTED\n")
PY
add_cleanup "kill $!"
for _ in $(seq 50); do [ -s "$T/listener.log" ] && break; sleep 0.1; done
# The listener works: a connection from the host is counted.
"$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 2).close()"
sleep 0.2
[ "$(grep -c CONNECTED "$T/listener.log")" = 1 ] || fail "the host listener did not see the host's probe"
recipe net-connect "python3 -c \"import socket; socket.create_connection(('127.0.0.1', $PORT), 3)\""
attack net-connect "ConnectionRefusedError: [Errno 111] Connection refused"
sleep 0.2
[ "$(grep -c CONNECTED "$T/listener.log")" = 1 ] || fail "the host listener received a connection from the sandbox"

# 2. DNS: no resolver inside.
recipe dns 'getent hosts example.com || { echo "getent hosts example.com: exit $?"; exit 1; }'
attack dns "getent hosts example.com: exit 2"
recipe dns-py "python3 -c \"import socket; socket.getaddrinfo('example.com', 80)\""
attack dns-py "socket.gaierror: [Errno -"

# 3. Secrets: a file under \$HOME and a real signing key are not visible.
secret=$(mktemp "$HOME/.echo-e2e-secret.XXXXXX")
add_cleanup "rm -f '$secret'"
echo "top secret" >"$secret"
mkdir -p "$T/keys"
"$ECHO_BUILD" keygen --out-key "$T/keys/cosign.key" --out-pub "$T/keys/cosign.pub" >/dev/null
[ -s "$T/keys/cosign.key" ] || fail "keygen did not create $T/keys/cosign.key"
recipe read-home "cat '$secret'"
attack read-home "cat: $secret: No such file or directory"
recipe read-key "cat '$T/keys/cosign.key'"
attack read-key "cat: $T/keys/cosign.key: No such file or directory"
recipe list-home "ls -d '$HOME'/. || ls -d /root/."
attack list-home "No such file or directory"

# 4. Writes outside the destination: toolchain root (EROFS), source cache and store (not there).
echo canary >"$CACHE/sources/canary"
mark=echo-e2e-$$
recipe write-usr "echo x > /usr/$mark"
attack write-usr "cannot create /usr/$mark: Read-only file system"
[ -e "/usr/$mark" ] && fail "/usr/$mark was created on the host"
recipe write-bin "cp /bin/sh /bin/sh.$mark"
attack write-bin "Read-only file system"
recipe write-cache "echo evil >> '$CACHE/sources/canary'"
attack write-cache "cannot create $CACHE/sources/canary: Directory nonexistent"
recipe write-store "ls -d '$STORE' && echo evil > '$STORE/evil'"
attack write-store "ls: cannot access '$STORE': No such file or directory"
[ "$(cat "$CACHE/sources/canary")" = canary ] || fail "the source cache canary was changed"
recipe write-etc "echo evil >> /etc/passwd"
attack write-etc "cannot create /etc/passwd: Read-only file system"

# 5. Host processes: not visible, cannot be signalled.
recipe kill-host "echo pids: \$(ls /proc | grep '^[0-9]' | sort -n | tr '\\n' ' '); kill -9 $$"
attack kill-host "kill: No such process"
kill -0 $$ || fail "the test process was killed"
pids=$(sed -n 's/^pids: //p' "$T/err")
[ -n "$pids" ] || fail "no pid list in the log"
for p in $pids; do [ "$p" -lt 20 ] || fail "the sandbox sees pid $p (host processes visible?): $pids"; done

# Host environment and identity do not leak: a secret variable, the host name, the user.
export ECHO_E2E_SECRET=hunter2
recipe env-leak 'echo "secret=${ECHO_E2E_SECRET:-unset} host=$(hostname) user=$(id -u) home=$HOME"; exit 1'
attack env-leak "secret=unset host=echo-build user=0 home=/build"

# A daemon left running by a successful step does not survive the step.
recipe daemon "(sleep 7$$ &); setsid sleep 8$$ & echo started"
eb build daemon >/dev/null 2>"$T/err" || { cat "$T/err"; fail "the daemon recipe failed"; }
sleep 0.3
pgrep -fx "sleep [78]$$" >/dev/null && fail "a background process of a finished step survived"
rm -rf "${STORE:?}"/*
echo "ok: no daemon survives its step"

# 6. ptrace, mount, sethostname: EPERM from the seccomp filter.
recipe ptrace-traceme "$compile && /tmp/attack traceme"
attack ptrace-traceme "ptrace(PTRACE_TRACEME): Operation not permitted"
recipe ptrace-attach "$compile && /tmp/attack attach"
attack ptrace-attach "ptrace(PTRACE_ATTACH, 1): Operation not permitted"
recipe mount "$compile && /tmp/attack mount"
attack mount "mount(tmpfs, /tmp): Operation not permitted"
host_before=$(hostname)
recipe hostname "$compile && /tmp/attack hostname"
attack hostname "sethostname(pwned): Operation not permitted"
[ "$(hostname)" = "$host_before" ] || fail "the host's hostname changed to $(hostname)"

# 7. Fork bombs held by the process limit; the host survives, nothing is left running.
recipe forkbomb "$compile && /tmp/attack forkbomb"
attack forkbomb "fork bomb stopped after " "Resource temporarily unavailable"
n=$(sed -n 's/.*fork bomb stopped after \([0-9]*\) processes.*/\1/p' "$T/err")
[ "$n" -le 1024 ] || fail "the fork bomb made $n processes (limit 1024)"
echo "fork bomb held at $n processes"
recipe shellbomb 'b() { b | b & }; (b) 2>/tmp/bomb.err; sleep 3
echo "shell bomb: $(grep -c "Cannot fork" /tmp/bomb.err) x Cannot fork"; exit 1' "options:
  timeout: 30"
# Either the report line (N > 0) or, when the limit also stopped the step's own shell, its "Cannot fork".
attack shellbomb "Cannot fork"
nfail=$(sed -n 's/^shell bomb: \([0-9]*\) x Cannot fork$/\1/p' "$T/err")
[ "${nfail:-1}" -gt 0 ] || fail "the shell fork bomb never hit the process limit"
sleep 0.5
pgrep -f /tmp/attack >/dev/null && fail "attack processes survived the build"
/bin/true || fail "the host cannot fork any more"

# 8. A step that runs forever is killed at the time limit.
recipe forever "sleep 9$$" "options:
  timeout: 3"
t0=$(date +%s%N)
attack forever "ran longer than the time limit (3 s) and was killed"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 2900 ] && [ "$ms" -lt 8000 ] || fail "the time limit of 3 s took ${ms} ms"
pgrep -fx "sleep 9$$" >/dev/null && fail "the timed-out step's sleep survived"

echo "PASS: every sandbox attack was denied and left the store empty"
