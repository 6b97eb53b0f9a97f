// Real sandboxes: these tests create user/mount/pid/net namespaces and run /bin/sh inside.
#include "sandbox_test_util.hpp"

#include "echo/util/error.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sys/stat.h>
#include <thread>

using namespace echo::sandbox;
using echo::sandbox::test::run_sh;
namespace fs = std::filesystem;

TEST_CASE("sandbox: check_support says the namespace sandbox works here", "[run]") {
  auto missing = check_support();
  INFO(missing.value_or(""));
  CHECK_FALSE(missing.has_value());
}

TEST_CASE("sandbox: exit codes of true and false", "[run]") {
  auto runner = make_namespace_runner();
  SandboxSpec spec;
  spec.argv = {"/bin/true"};
  auto r = runner->run(spec);
  CHECK(r.exit_code == 0);
  CHECK(r.term_signal == 0);
  CHECK_FALSE(r.timed_out);
  CHECK_FALSE(r.cancelled);
  spec.argv = {"/bin/false"};
  CHECK(runner->run(spec).exit_code == 1);
  auto c = run_sh("exit 42");
  CHECK(c.result.exit_code == 42);
  c = run_sh("kill -TERM $$");
  CHECK(c.result.exit_code == -1);
  CHECK(c.result.term_signal == 15);
}

TEST_CASE("sandbox: the environment is exactly the spec's", "[run]") {
  auto c = run_sh("", [](SandboxSpec& s) {
    s.argv = {"/usr/bin/env"};
    s.env = {{"A", "1"}, {"PATH", "/usr/bin:/bin"}};
  });
  CHECK(c.result.exit_code == 0);
  CHECK(c.out == "A=1\nPATH=/usr/bin:/bin\n");
}

TEST_CASE("sandbox: fixed hostname, uid 0 inside, cwd", "[run]") {
  echo::TempDir work;
  auto c = run_sh("cat /proc/sys/kernel/hostname; hostname; id -u; id -g; pwd", [&](SandboxSpec& s) {
    s.hostname = "step-host";
    s.binds = {{work.path(), "/build", Access::read_write}};
    s.cwd = "/build";
  });
  CHECK(c.result.exit_code == 0);
  CHECK(c.out == "step-host\nstep-host\n0\n0\n/build\n");
}

TEST_CASE("sandbox: own /proc shows only the sandbox's processes", "[run]") {
  auto c = run_sh("echo $$; for p in /proc/[0-9]*; do echo ${p#/proc/}; done");
  CHECK(c.result.exit_code == 0);
  // pid 1 is the sandbox's init, pid 2 the shell; nothing else runs.
  CHECK(c.out == "2\n1\n2\n");
}

TEST_CASE("sandbox: /dev is minimal", "[run]") {
  auto c = run_sh("ls -A /dev | tr '\\n' ' '; echo; echo hi > /dev/null && head -c 4 /dev/zero | wc -c");
  CHECK(c.result.exit_code == 0);
  std::string expect;
  for (const char* n : {"fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"})
    if (std::string(n).find("std") == 0 || n == std::string("fd") || n == std::string("shm") ||
        fs::exists(std::string("/dev/") + n))
      expect += std::string(n) + " ";
  CHECK(c.out == expect + "\n4\n");
}

TEST_CASE("sandbox: /tmp is writable and private", "[run]") {
  echo::TempDir host_tmp; // a host directory under /tmp: must not be visible
  auto c = run_sh("ls -A /tmp | wc -l; echo data > /tmp/f && cat /tmp/f; ls " + host_tmp.path().string());
  CHECK(c.out.rfind("0\ndata\n", 0) == 0);
  CHECK(c.out.find("No such file or directory") != std::string::npos);
  CHECK(c.result.exit_code != 0);
}

TEST_CASE("sandbox: the toolchain is read-only, rw binds are writable and owned by the caller", "[run]") {
  echo::TempDir work;
  auto c = run_sh("echo x > /usr/echo-test; echo rc=$?; echo out > /build/made && echo ok", [&](SandboxSpec& s) {
    s.binds = {{work.path(), "/build", Access::read_write}};
  });
  CHECK(c.out == "/bin/sh: 1: cannot create /usr/echo-test: Read-only file system\nrc=2\nok\n");
  CHECK(echo::read_file(work.path() / "made") == "out\n");
  struct stat st {};
  REQUIRE(::stat((work.path() / "made").c_str(), &st) == 0);
  CHECK(st.st_uid == ::getuid());
  CHECK(st.st_gid == ::getgid());
  // A read-only bind really is read-only.
  c = run_sh("echo x > /ro/f", [&](SandboxSpec& s) { s.binds = {{work.path(), "/ro", Access::read_only}}; });
  CHECK(c.out == "/bin/sh: 1: cannot create /ro/f: Read-only file system\n");
}

TEST_CASE("sandbox: a dependency's tree is overlaid at /usr/lib and /lib, host /usr still works", "[run]") {
  echo::TempDir dep;
  fs::create_directories(dep.path() / "usr/lib/echo-musl");
  fs::create_directories(dep.path() / "lib");
  std::ofstream(dep.path() / "usr/lib/echo-musl/marker") << "musl-lib\n";
  std::ofstream(dep.path() / "lib/ld-echo-x86_64.so.1") << "loader\n";
  auto c = run_sh("cat /usr/lib/echo-musl/marker /lib/ld-echo-x86_64.so.1 && /usr/bin/sh -c 'echo sh-ok' && "
                  "test -e /lib/x86_64-linux-gnu/libc.so.6 && echo libc-ok",
                  [&](SandboxSpec& s) { s.overlays = {dep.path()}; });
  CHECK(c.result.exit_code == 0);
  CHECK(c.out == "musl-lib\nloader\nsh-ok\nlibc-ok\n");
}

TEST_CASE("sandbox: setup failures name the step and errno", "[run]") {
  echo::TempDir work;
  auto runner = make_namespace_runner();
  SandboxSpec spec;
  spec.argv = {"/nonexistent/tool"};
  try {
    runner->run(spec);
    FAIL("expected an error");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::sandbox);
    CHECK(std::string(e.what()) == "sandbox setup: executing /nonexistent/tool: No such file or directory");
  }
  spec.argv = {"/bin/true"};
  spec.binds = {{work.path(), "/usr/echo-new-dir", Access::read_write}};
  try {
    runner->run(spec);
    FAIL("expected an error");
  } catch (const echo::Error& e) {
    CHECK(std::string(e.what()) ==
          "sandbox setup: creating directory /usr/echo-new-dir: Read-only file system");
  }
}

TEST_CASE("unsandboxed runner: spec env, cwd mapped onto the bind source", "[run]") {
  echo::TempDir work;
  auto runner = make_unsandboxed_runner();
  auto spec = echo::sandbox::test::sh_spec("pwd; echo \"$A\"; env | wc -l");
  spec.env = {{"A", "value"}};
  spec.binds = {{work.path(), "/build", Access::read_write}};
  spec.cwd = "/build";
  auto c = echo::sandbox::test::run_captured(spec, *runner);
  CHECK(c.result.exit_code == 0);
  CHECK(c.out == work.path().string() + "\nvalue\n2\n");
}

TEST_CASE("sandbox: stdin is /dev/null, stdout and stderr go to output_fd", "[run]") {
  auto c = run_sh("cat; echo out; echo err >&2; readlink /proc/self/fd/0");
  CHECK(c.result.exit_code == 0);
  CHECK(c.out == "out\nerr\n/dev/null\n");
}

TEST_CASE("sandbox: several steps run at once from different threads", "[run]") {
  std::vector<std::thread> threads;
  std::vector<std::string> outs(4);
  for (size_t i = 0; i < outs.size(); ++i)
    threads.emplace_back([&outs, i] {
      outs[i] = run_sh("echo step" + std::to_string(i) + " $$; exit 0").out;
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < outs.size(); ++i) CHECK(outs[i] == "step" + std::to_string(i) + " 2\n");
}

TEST_CASE("sandbox: the step's umask is 022 whatever the parent's", "[run]") {
  // libarchive sets the process umask to 0 for an instant while another thread may be starting a step;
  // the step must not inherit that (it made -j2 builds differ from -j1 ones).
  mode_t old = ::umask(0);
  auto c = run_sh("umask; mkdir /tmp/d; stat -c %a /tmp/d");
  ::umask(old);
  CHECK(c.result.exit_code == 0);
  CHECK(c.out == "0022\n755\n");
}
