// check_support(): runs one real probe sandbox (user/mount/pid/net/... namespaces, an overlay at /usr, proc,
// seccomp) and reports the first thing that fails, in the words of the setup step that failed.
#include "echo/sandbox/runner.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <mutex>

namespace echo::sandbox {

std::optional<std::string> check_support() {
  static std::once_flag once;
  static std::optional<std::string> answer;
  std::call_once(once, [] {
    try {
      TempDir dep({}, "echo-sandbox-probe-");
      std::filesystem::create_directories(dep.path() / "usr" / "share" / "echo-probe");
      SandboxSpec spec;
      spec.argv = {"/bin/sh", "-c", "test -d /usr/share/echo-probe && test -x /usr/bin/sh"};
      spec.overlays = {dep.path()};
      spec.limits.timeout = std::chrono::seconds(30);
      auto result = make_namespace_runner()->run(spec);
      if (result.exit_code != 0)
        answer = "namespace sandbox probe failed: the dependency overlay is not visible at /usr/share/echo-probe "
                 "(exit " + std::to_string(result.exit_code) + ", signal " + std::to_string(result.term_signal) + ")";
    } catch (const std::exception& e) {
      answer = std::string("namespace sandbox unavailable: ") + e.what();
    }
  });
  return answer;
}

} // namespace echo::sandbox
