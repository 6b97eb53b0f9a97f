#pragma once
#include "echo/sandbox/spec.hpp"

#include <deque>
#include <linux/filter.h>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace echo::sandbox::detail {

/// One thing the clone()d child does, with every string prepared by the parent (the child may only make
/// async-signal-safe calls). Paths are already prefixed with the staging mount points.
struct Action {
  enum class Op { mkdir, touch, mount, remount_ro, symlink, write_file };
  Op op;
  const char* a = nullptr;      ///< mount source / link text / file contents
  const char* b = nullptr;      ///< target path
  const char* fstype = nullptr; ///< mount: filesystem type (nullptr for binds)
  unsigned long flags = 0;      ///< mount flags
  const char* data = nullptr;   ///< mount data
  size_t len = 0;               ///< write_file: bytes of `a`
  int desc = -1;                ///< index into ChildProgram::descriptions for error messages
};

/// Fixed setup steps; their descriptions come first in ChildProgram::descriptions.
enum FixedStep : int {
  k_step_setgroups, k_step_uid_map, k_step_gid_map, k_step_cgroup, k_step_hostname, k_step_loopback,
  k_step_private, k_step_staging, k_step_pivot_staging, k_step_pivot_root, k_step_detach, k_step_seal, k_step_cwd,
  k_step_fork, k_step_rlimits, k_step_stdio, k_step_no_new_privs, k_step_seccomp, k_step_exec, k_step_count
};

/// A failed setup step as sent over the CLOEXEC error pipe.
struct SetupFailure {
  int desc;
  int err;
};

/// Whether the child builds namespaces and a new root, or only spawns the step (unsandboxed runner).
enum class Isolation { namespaces, none };

/// Everything the child needs, prepared in the parent. Owns its strings (stable addresses in a deque).
struct ChildProgram {
  Isolation isolation = Isolation::namespaces;
  std::deque<std::string> strings;
  std::vector<std::string> descriptions;
  std::vector<Action> actions;
  std::string uid_map, gid_map, hostname, cwd;
  std::vector<char*> argv, envp; ///< null-terminated, pointing into `strings`
  struct rlimit nproc {}, nofile {}, fsize {}, core {};
  bool new_session = true; ///< setsid() for the step (not for interactive steps that need the terminal)
  int stdin_fd = -1;       ///< dup2'ed to 0 when >= 0
  int output_fd = -1;      ///< dup2'ed to 1 and 2 when >= 0
  int error_fd = -1;       ///< write end of the CLOEXEC setup-error pipe
  int status_fd = -1;      ///< write end of the pipe where the init reports the step's wait status
  int cgroup_procs_fd = -1;
  const sock_filter* filter = nullptr;
  unsigned short filter_len = 0;

  const char* keep(std::string s);
};

/// Turns a plan into the child's actions (paths under /newroot, sources under /oldroot) and fills argv, envp,
/// limits, hostname, id maps. Needs the host's uid/gid (the sandbox's 0 maps to them).
ChildProgram compile_child_program(const SandboxSpec& spec, const std::vector<MountOp>& plan, Isolation isolation);

/// The child's whole life after clone(); async-signal-safe only. Never returns.
[[noreturn]] void child_main(const ChildProgram& program) noexcept;

} // namespace echo::sandbox::detail
