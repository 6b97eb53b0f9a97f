// Adversarial steps in real sandboxes: each asserts the specific denial. A small probe program (compiled here
// with cc) makes the raw system calls and prints "<what>: <strerror>" per attempt.
#include "sandbox_test_util.hpp"

#include "echo/util/error.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <atomic>
#include <fstream>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>

using namespace echo::sandbox;
using echo::sandbox::test::run_sh;
namespace fs = std::filesystem;

namespace {

const char* const k_probe_source = R"C(
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static void report(const char* what, long rc) { printf("%s: %s\n", what, rc < 0 ? strerror(errno) : "ok"); }

static long do_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connect(fd, (struct sockaddr*)&a, sizeof a);
}

static long loopback(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  socklen_t len = sizeof a;
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr*)&a, sizeof a) < 0 || listen(s, 1) < 0) return -1;
  getsockname(s, (struct sockaddr*)&a, &len);
  return do_connect(ntohs(a.sin_port));
}

int main(int argc, char** argv) {
  char buf[16];
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    errno = 0;
    if (!strcmp(a, "ptrace")) report(a, ptrace(PTRACE_TRACEME, 0, 0, 0));
    else if (!strcmp(a, "mount")) report(a, mount("none", "/tmp", "tmpfs", 0, 0));
    else if (!strcmp(a, "umount")) report(a, umount2("/tmp", MNT_DETACH));
    else if (!strcmp(a, "pivot_root")) report(a, syscall(SYS_pivot_root, "/tmp", "/tmp"));
    else if (!strcmp(a, "sethostname")) report(a, sethostname("evil", 4));
    else if (!strcmp(a, "unshare")) report(a, unshare(CLONE_NEWUSER));
    else if (!strcmp(a, "clone_newuser")) {
      long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
      if (pid == 0) _exit(0);
      report(a, pid);
    } else if (!strcmp(a, "personality_query")) report(a, personality(0xffffffff));
    else if (!strcmp(a, "personality_norandom")) report(a, personality(ADDR_NO_RANDOMIZE));
    else if (!strcmp(a, "keyctl")) report(a, syscall(SYS_keyctl, 0, -3, 0));
    else if (!strcmp(a, "bpf")) report(a, syscall(SYS_bpf, 0, 0, 0));
    else if (!strcmp(a, "x32")) report(a, syscall(0x40000000 | SYS_getpid));
    else if (!strcmp(a, "process_vm_readv")) {
      struct iovec l = {buf, sizeof buf}, r = {buf, sizeof buf};
      report(a, syscall(SYS_process_vm_readv, getppid(), &l, 1, &r, 1, 0));
    } else if (!strcmp(a, "setns")) report(a, setns(open("/proc/1/ns/net", O_RDONLY), 0));
    else if (!strcmp(a, "loopback")) report(a, loopback());
    else if (!strncmp(a, "connect:", 8)) report(a, do_connect(atoi(a + 8)));
    else if (!strncmp(a, "kill:", 5)) report(a, kill(atoi(a + 5), 0));
    else if (!strncmp(a, "read:", 5)) report(a, open(a + 5, O_RDONLY));
    else if (!strncmp(a, "create:", 7)) report(a, open(a + 7, O_WRONLY | O_CREAT, 0644));
    else printf("%s: unknown\n", a);
  }
  return 0;
}
)C";

// The probe, built once per test process; nullptr if there is no C compiler (then the tests say they skip).
const fs::path* probe_dir() {
  static echo::TempDir dir({}, "echo-sandbox-probe-");
  static const bool have_cc = std::system("command -v cc >/dev/null 2>&1") == 0;
  static const bool built = [] {
    if (!have_cc) return false;
    echo::write_file_atomic(dir.path() / "probe.c", k_probe_source);
    std::string cmd = "cc -O0 -o '" + (dir.path() / "probe").string() + "' '" + (dir.path() / "probe.c").string() +
                      "' 2>&1";
    return std::system(cmd.c_str()) == 0;
  }();
  if (have_cc) REQUIRE(built); // a compiler that cannot build the probe is a test failure, not a skip
  return built ? &dir.path() : nullptr;
}

test::Captured run_probe(const std::vector<std::string>& args) {
  auto spec = test::sh_spec("");
  spec.argv = {"/probe/probe"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.binds = {{*probe_dir(), "/probe", Access::read_only}};
  auto runner = make_namespace_runner();
  return test::run_captured(spec, *runner);
}

// Host processes whose command line contains marker (other than this test process).
int count_marked(const std::string& marker) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos || std::stoi(name) == ::getpid()) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(marker) != std::string::npos) ++n;
  }
  return n;
}

} // namespace

TEST_CASE("adversarial: denied system calls fail with EPERM", "[adversarial]") {
  if (!probe_dir()) {
    WARN("skipped: no C compiler (cc) to build the probe");
    return;
  }
  auto c = run_probe({"ptrace", "mount", "umount", "pivot_root", "sethostname", "unshare", "clone_newuser",
                      "personality_query", "personality_norandom", "keyctl", "bpf", "x32", "process_vm_readv",
                      "setns"});
  CHECK(c.result.exit_code == 0);
  CHECK(c.out == "ptrace: Operation not permitted\n"
                 "mount: Operation not permitted\n"
                 "umount: Operation not permitted\n"
                 "pivot_root: Operation not permitted\n"
                 "sethostname: Operation not permitted\n"
                 "unshare: Operation not permitted\n"
                 "clone_newuser: Operation not permitted\n"
                 "personality_query: ok\n"
                 "personality_norandom: Operation not permitted\n"
                 "keyctl: Operation not permitted\n"
                 "bpf: Operation not permitted\n"
                 "x32: Operation not permitted\n"
                 "process_vm_readv: Operation not permitted\n"
                 "setns: Operation not permitted\n");
}

TEST_CASE("adversarial: no network but a working loopback", "[adversarial]") {
  if (!probe_dir()) {
    WARN("skipped: no C compiler (cc) to build the probe");
    return;
  }
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  auto port = std::to_string(ntohs(addr.sin_port));
  auto c = run_probe({"connect:" + port, "loopback"});
  CHECK(c.out == "connect:" + port + ": Connection refused\nloopback: ok\n");
  CHECK(::accept(listener, nullptr, nullptr) < 0); // nothing reached the host's listener
  ::close(listener);

  auto dns = run_sh("getent hosts example.com; echo rc=$?; getent hosts localhost >/dev/null; echo rc=$?");
  CHECK(dns.out == "rc=2\nrc=0\n");
}

TEST_CASE("adversarial: host files and processes are out of reach", "[adversarial]") {
  if (!probe_dir()) {
    WARN("skipped: no C compiler (cc) to build the probe");
    return;
  }
  echo::TempDir keys({}, "echo-fake-keys-");
  auto key = keys.path() / "signing.key";
  echo::write_file_atomic(key, "-----BEGIN PRIVATE KEY-----\n");
  std::vector<std::string> args = {"read:" + key.string(), "create:/work/echo-sandbox-escape",
                                   "create:/usr/echo-sandbox-escape", "kill:" + std::to_string(::getpid())};
  fs::path home_secret;
  if (auto* pw = ::getpwuid(::getuid()); pw && ::access(pw->pw_dir, W_OK) == 0) {
    home_secret = fs::path(pw->pw_dir) / (".echo-sandbox-secret-" + std::to_string(::getpid()));
    echo::write_file_atomic(home_secret, "secret\n");
    args.push_back("read:" + home_secret.string());
  } else {
    WARN("home directory not writable: the $HOME read check is skipped");
  }
  auto c = run_probe(args);
  if (!home_secret.empty()) fs::remove(home_secret);
  std::string expect = "read:" + key.string() + ": No such file or directory\n"
                       "create:/work/echo-sandbox-escape: No such file or directory\n"
                       "create:/usr/echo-sandbox-escape: Read-only file system\n"
                       "kill:" + std::to_string(::getpid()) + ": No such process\n";
  if (!home_secret.empty()) expect += "read:" + home_secret.string() + ": No such file or directory\n";
  CHECK(c.out == expect);
  CHECK_FALSE(fs::exists("/work/echo-sandbox-escape"));
  CHECK_FALSE(fs::exists("/usr/echo-sandbox-escape"));
}

TEST_CASE("adversarial: the process limit holds a fork bomb; no process survives", "[adversarial]") {
  const std::string marker = "echo-forkbomb-" + std::to_string(::getpid());
  // Background sleeps until fork fails; then count the sandbox's processes with shell builtins only.
  auto c = run_sh("(i=0; while [ $i -lt 400 ]; do sleep 60 & i=$((i+1)); done # " + marker +
                      "\n) 2>/dev/null; echo rc=$?; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo n=$n",
                  [](SandboxSpec& s) {
                    s.limits.max_processes = 64;
                    s.limits.timeout = std::chrono::seconds(20);
                  });
  CHECK(c.result.exit_code == 0);
  CHECK_FALSE(c.result.timed_out);
  REQUIRE(c.out.rfind("rc=2\nn=", 0) == 0);
  int n = std::stoi(c.out.substr(7));
  CHECK(n >= 50);  // the limit was reached...
  CHECK(n <= 64);  // ...and held
  CHECK(count_marked(marker) == 0);
  // A real fork bomb fails (at the time limit at the latest), and nothing is left behind.
  auto bomb = run_sh("b() { b | b; }; b # " + marker + "-real", [](SandboxSpec& s) {
    s.limits.max_processes = 64;
    s.limits.timeout = std::chrono::seconds(3);
  });
  CHECK((bomb.result.timed_out || bomb.result.exit_code != 0));
  CHECK(bomb.out.find("Cannot fork") != std::string::npos);
  CHECK(bomb.result.seconds < 5);
  CHECK(count_marked(marker) == 0);
  CHECK(std::system("true") == 0); // the host can still start processes
}

TEST_CASE("adversarial: a step that runs forever is killed at the time limit", "[adversarial]") {
  const std::string marker = "echo-forever-" + std::to_string(::getpid());
  auto c = run_sh("sleep 1000 & sleep 1000 # " + marker,
                  [](SandboxSpec& s) { s.limits.timeout = std::chrono::seconds(1); });
  CHECK(c.result.timed_out);
  CHECK_FALSE(c.result.cancelled);
  CHECK(c.result.exit_code == -1);
  CHECK(c.result.term_signal == SIGKILL);
  CHECK(c.result.seconds >= 1.0);
  CHECK(c.result.seconds < 2.0);
  CHECK(count_marked(marker) == 0);
}

TEST_CASE("adversarial: cancel_all() from another thread kills the step", "[adversarial]") {
  const std::string marker = "echo-cancel-" + std::to_string(::getpid());
  std::thread canceller([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cancel_all();
  });
  auto c = run_sh("sleep 1000 & sleep 1000 # " + marker);
  canceller.join();
  CHECK(c.result.cancelled);
  CHECK_FALSE(c.result.timed_out);
  CHECK(c.result.seconds < 3.0);
  CHECK(count_marked(marker) == 0);
  // A later run is not affected by the earlier cancellation.
  auto after = run_sh("true");
  CHECK(after.result.exit_code == 0);
  CHECK_FALSE(after.result.cancelled);
}

TEST_CASE("adversarial: the sandbox dies with echo-build", "[adversarial]") {
  // A forked copy of this test process starts a step and is killed; its sandbox must not outlive it.
  const std::string marker = "echo-orphan-" + std::to_string(::getpid());
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      run_sh("sleep 1000 # " + marker);
    } catch (...) {
    }
    _exit(0);
  }
  for (int i = 0; i < 100 && count_marked(marker) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(count_marked(marker) >= 1);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  for (int i = 0; i < 100 && count_marked(marker) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(count_marked(marker) == 0);
}
