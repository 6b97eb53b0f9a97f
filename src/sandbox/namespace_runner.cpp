// The runners: prepare everything, clone(), then wait for the step with its time limit while cancel_all() can
// kill it. Setup failures come back over a CLOEXEC pipe as (step, errno).
#include "cancel_registry.hpp"
#include "child_program.hpp"
#include "pids_cgroup.hpp"
#include "seccomp_filter.hpp"

#include "echo/sandbox/runner.hpp"
#include "echo/util/error.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace echo::sandbox {
namespace {

using detail::ChildProgram;
using detail::Isolation;
using Clock = std::chrono::steady_clock;

class Fd {
public:
  explicit Fd(int fd = -1) noexcept : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : m_fd(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      m_fd = o.release();
    }
    return *this;
  }
  int get() const noexcept { return m_fd; }
  int release() noexcept { return std::exchange(m_fd, -1); }
  void reset() noexcept {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

private:
  int m_fd;
};

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(ErrorKind::sandbox, "sandbox setup: pipe");
  return {Fd(fds[0]), Fd(fds[1])};
}

ssize_t read_full(int fd, void* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::read(fd, static_cast<char*>(buf) + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

int wait_reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

void fill_result(RunResult& r, int status) {
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
}

/// Spawns the prepared child and waits for it. The child in namespace mode is the sandbox's init (it reports
/// the step's wait status over a pipe); without isolation it is the step itself, in its own process group.
RunResult spawn_and_wait(ChildProgram& p, const SandboxSpec& spec, Clock::time_point start) {
  auto [err_r, err_w] = make_pipe();
  auto [status_r, status_w] = make_pipe();
  Fd null_in;
  if (spec.stdin_mode == Stdin::null) {
    null_in = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (null_in.get() < 0) throw_errno(ErrorKind::sandbox, "sandbox setup: opening /dev/null");
  }
  p.stdin_fd = null_in.get();
  p.output_fd = spec.output_fd;
  p.error_fd = err_w.get();
  p.status_fd = status_w.get();

  const bool isolated = p.isolation == Isolation::namespaces;
  unsigned long flags = SIGCHLD | CLONE_PIDFD;
  if (isolated)
    flags |= CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;

  detail::CancelSlot slot;
  int pidfd_raw = -1;
  long pid = ::syscall(SYS_clone, flags, nullptr, &pidfd_raw, nullptr, 0);
  if (pid == 0) detail::child_main(p);
  if (pid < 0) {
    int e = errno;
    std::string msg = std::string("sandbox setup: creating namespaces (clone): ") + std::strerror(e);
    if (isolated && (e == EPERM || e == ENOSPC || e == EINVAL || e == EUSERS))
      msg += " (user namespaces disabled? see /proc/sys/user/max_user_namespaces and "
             "kernel.unprivileged_userns_clone)";
    throw Error(ErrorKind::sandbox, msg);
  }
  Fd pidfd(pidfd_raw);
  slot.arm(static_cast<pid_t>(pid),
           isolated ? detail::KillTarget::process : detail::KillTarget::process_group);
  err_w.reset();
  status_w.reset();

  RunResult result;
  detail::SetupFailure failure{};
  if (read_full(err_r.get(), &failure, sizeof failure) == sizeof failure) {
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    slot.disarm();
    wait_reap(static_cast<pid_t>(pid));
    if (slot.cancelled()) {
      result.cancelled = true;
      return result;
    }
    std::string desc = failure.desc >= 0 && static_cast<size_t>(failure.desc) < p.descriptions.size()
                           ? p.descriptions[failure.desc]
                           : "unknown step";
    throw Error(ErrorKind::sandbox, "sandbox setup: " + desc + ": " + std::strerror(failure.err));
  }

  const auto deadline = start + spec.limits.timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      break;
    }
    struct pollfd pfd {pidfd.get(), POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000 * 60)));
    if (r > 0) break;
    if (r < 0 && errno != EINTR) throw_errno(ErrorKind::sandbox, "sandbox: waiting for the step");
  }
  if (result.timed_out) ::kill(isolated ? static_cast<pid_t>(pid) : -static_cast<pid_t>(pid), SIGKILL);
  slot.disarm();
  int status = wait_reap(static_cast<pid_t>(pid));
  if (!isolated) ::kill(-static_cast<pid_t>(pid), SIGKILL); // whatever the step left in its process group
  if (isolated) {
    int step_status = 0;
    if (read_full(status_r.get(), &step_status, sizeof step_status) == sizeof step_status)
      fill_result(result, step_status);
    else
      fill_result(result, status); // the init itself was killed (time limit or cancellation)
  } else {
    fill_result(result, status);
  }
  result.cancelled = slot.cancelled();
  return result;
}

class NamespaceRunner final : public Runner {
public:
  RunResult run(const SandboxSpec& spec) override {
    auto start = Clock::now();
    auto plan = plan_mounts(spec);
    auto program = detail::compile_child_program(spec, plan, Isolation::namespaces);
    const auto& filter = detail::seccomp_program();
    program.filter = filter.data();
    program.filter_len = static_cast<unsigned short>(filter.size());
    // As real root the sandbox's uid 0 is the host's uid 0, which RLIMIT_NPROC exempts: use a pids cgroup.
    std::unique_ptr<detail::PidsCgroup> cgroup;
    if (::geteuid() == 0) {
      cgroup = detail::PidsCgroup::create(spec.limits.max_processes);
      if (!cgroup) warn_no_cgroup_once();
      else program.cgroup_procs_fd = cgroup->procs_fd();
    }
    auto result = spawn_and_wait(program, spec, start);
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
  }

private:
  static void warn_no_cgroup_once() {
    static std::once_flag once;
    std::call_once(once, [] {
      spdlog::warn("sandbox: running as root without a writable pids cgroup; the process limit is not enforced");
    });
  }
};

// Maps a sandbox path onto the host through the spec's binds (the deepest bind target that contains it).
std::filesystem::path to_host(const SandboxSpec& spec, const std::filesystem::path& inside) {
  const Bind* best = nullptr;
  for (const auto& b : spec.binds) {
    auto rel = inside.lexically_relative(b.target);
    if (rel.empty() || *rel.begin() == "..") continue;
    if (!best || b.target.string().size() > best->target.string().size()) best = &b;
  }
  if (best) {
    auto rel = inside.lexically_relative(best->target);
    return rel == "." ? best->source : best->source / rel;
  }
  auto rel = inside.relative_path();
  return rel.empty() ? spec.toolchain_root : spec.toolchain_root / rel;
}

class UnsandboxedRunner final : public Runner {
public:
  RunResult run(const SandboxSpec& spec) override {
    auto start = Clock::now();
    spdlog::warn("UNSANDBOXED: running '{}' without any isolation (--unsandboxed): it can read, write and "
                 "reach everything this user can",
                 spec.argv.empty() ? std::string() : spec.argv[0]);
    if (spec.argv.empty()) throw Error(ErrorKind::sandbox, "sandbox spec: argv is empty");
    SandboxSpec host = spec;
    host.argv[0] = to_host(spec, spec.argv[0]).string();
    host.cwd = to_host(spec, spec.cwd);
    auto program = detail::compile_child_program(host, {}, Isolation::none);
    auto result = spawn_and_wait(program, host, start);
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
  }
};

} // namespace

std::unique_ptr<Runner> make_namespace_runner() { return std::make_unique<NamespaceRunner>(); }
std::unique_ptr<Runner> make_unsandboxed_runner() { return std::make_unique<UnsandboxedRunner>(); }

} // namespace echo::sandbox
