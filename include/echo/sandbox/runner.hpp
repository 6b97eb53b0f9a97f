#pragma once
#include "echo/sandbox/spec.hpp"

#include <memory>
#include <optional>
#include <string>

namespace echo::sandbox {

/// How a step ended. exit_code is the step's exit status when it exited normally (else -1); term_signal the
/// signal that killed it (else 0). timed_out/cancelled say the runner killed the whole process tree.
struct RunResult {
  int exit_code = -1;
  int term_signal = 0;
  bool timed_out = false;
  bool cancelled = false;
  double seconds = 0;
};

/// Runs one step (tests can substitute a fake). Thread-safe: several run() calls may be in flight at once.
class Runner {
public:
  virtual ~Runner() = default;
  /// Runs the step to completion. Throws Error(ErrorKind::sandbox) if the sandbox could not be set up, with
  /// the failing setup step: "sandbox setup: mounting overlay on /usr: Operation not permitted".
  virtual RunResult run(const SandboxSpec& spec) = 0;
};

/// The real sandbox: user/mount/pid/net/ipc/uts/cgroup namespaces, pivot_root into a planned tree, seccomp.
std::unique_ptr<Runner> make_namespace_runner();

/// Unsandboxed escape hatch (explicit user flag): fork/exec with the spec's env, cwd mapped onto the bind
/// sources, limits and time limit applied, no isolation. Logs a loud warning each run.
std::unique_ptr<Runner> make_unsandboxed_runner();

/// nullopt when namespaces/overlay/seccomp work here (checked by running a real probe sandbox once; the
/// answer is cached); else one line saying exactly what is missing.
std::optional<std::string> check_support();

/// Async-signal-safe: kills every running sandbox (their run() returns cancelled=true). For SIGINT/SIGTERM
/// handlers. A run() that starts its child while cancel_all() runs is killed too.
void cancel_all() noexcept;

/// Sets SIGINT/SIGTERM handlers that call cancel_all() (the lead calls this once in build commands; not for
/// `echo-build shell`, where Ctrl-C belongs to the interactive step).
void install_interrupt_handlers();

/// True once SIGINT/SIGTERM arrived through those handlers (sticky): steps started afterwards are killed at once,
/// and the builder starts no new package or step.
bool interrupt_requested() noexcept;

} // namespace echo::sandbox
