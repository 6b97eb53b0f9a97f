#pragma once
// Helpers for the sandbox tests: run a /bin/sh script in a real sandbox and capture its output.
#include "echo/sandbox/runner.hpp"
#include "echo/util/fs.hpp"

#include <fcntl.h>
#include <functional>
#include <string>
#include <unistd.h>

namespace echo::sandbox::test {

struct Captured {
  RunResult result;
  std::string out; // stdout + stderr of the step
};

inline SandboxSpec sh_spec(const std::string& script) {
  SandboxSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = {{"PATH", "/usr/bin:/bin:/usr/sbin:/sbin"}};
  spec.limits.timeout = std::chrono::seconds(30);
  return spec;
}

inline Captured run_captured(SandboxSpec spec, Runner& runner) {
  TempDir logs({}, "echo-sandbox-log-");
  auto log = logs.path() / "log";
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  spec.output_fd = fd;
  Captured c;
  try {
    c.result = runner.run(spec);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  c.out = read_file(log);
  return c;
}

inline Captured run_sh(const std::string& script, const std::function<void(SandboxSpec&)>& tweak = {}) {
  auto spec = sh_spec(script);
  if (tweak) tweak(spec);
  auto runner = make_namespace_runner();
  return run_captured(std::move(spec), *runner);
}

} // namespace echo::sandbox::test
