// Child side of the sandbox: runs between clone() and execve() in a copy of a multithreaded parent, so only
// async-signal-safe system calls are made here: no allocation, no locks, no exceptions, no stdio.
// Layout follows bubblewrap (stage on a tmpfs with the host root at /oldroot) and crun's do_pivot (the final
// pivot_root(".", ".") then detaching the old root).
#include "child_program.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace echo::sandbox::detail {
namespace {

[[noreturn]] void fail(const ChildProgram& p, int desc) noexcept {
  SetupFailure f{desc, errno};
  [[maybe_unused]] auto n = ::write(p.error_fd, &f, sizeof f);
  _exit(127);
}

bool write_all(int fd, const char* data, size_t len) noexcept {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool write_file(const char* path, const char* data, size_t len, int flags) noexcept {
  int fd = ::open(path, flags | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = write_all(fd, data, len);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

void reset_signals() noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

bool loopback_up() noexcept {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  struct ifreq req {};
  req.ifr_name[0] = 'l';
  req.ifr_name[1] = 'o';
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &req) == 0;
  if (ok) {
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP | IFF_RUNNING);
    ok = ::ioctl(fd, SIOCSIFFLAGS, &req) == 0;
  }
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

// A bind mount's ro remount must repeat the flags the kernel locked on the source mount (nosuid, nodev, ...).
bool remount_ro(const char* target) noexcept {
  struct statfs st {};
  if (::statfs(target, &st) != 0) return false;
  unsigned long keep = static_cast<unsigned long>(st.f_flags) &
                       (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
  return ::mount(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, nullptr) == 0;
}

bool run_action(const Action& a) noexcept {
  switch (a.op) {
  case Action::Op::mkdir: return ::mkdir(a.b, 0755) == 0 || errno == EEXIST;
  case Action::Op::touch: {
    struct stat st {};
    if (::lstat(a.b, &st) == 0) return true;
    int fd = ::open(a.b, O_CREAT | O_RDONLY | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  }
  case Action::Op::mount: return ::mount(a.a, a.b, a.fstype, a.flags, a.data) == 0;
  case Action::Op::remount_ro: return remount_ro(a.b);
  case Action::Op::symlink: return ::symlink(a.a, a.b) == 0;
  case Action::Op::write_file: return write_file(a.b, a.a, a.len, O_CREAT | O_TRUNC);
  }
  return false;
}

void enter_namespaces(const ChildProgram& p) noexcept {
  // The simple single-id mapping is written by the child itself: setgroups must be denied first.
  if (!write_file("/proc/self/setgroups", "deny", 4, 0)) fail(p, k_step_setgroups);
  if (!write_file("/proc/self/uid_map", p.uid_map.c_str(), p.uid_map.size(), 0)) fail(p, k_step_uid_map);
  if (!write_file("/proc/self/gid_map", p.gid_map.c_str(), p.gid_map.size(), 0)) fail(p, k_step_gid_map);
  if (p.cgroup_procs_fd >= 0 && !write_all(p.cgroup_procs_fd, "0", 1)) fail(p, k_step_cgroup);
  if (::sethostname(p.hostname.c_str(), p.hostname.size()) != 0) fail(p, k_step_hostname);
  if (!loopback_up()) fail(p, k_step_loopback);
}

void build_root(const ChildProgram& p) noexcept {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(p, k_step_private);
  // Staging: a tmpfs on /tmp becomes the root with the host's tree at /oldroot, so sources anywhere (even
  // under the host's /tmp) stay reachable while the new root is assembled at /newroot.
  if (::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0) fail(p, k_step_staging);
  if (::chdir("/tmp") != 0 || ::mkdir("newroot", 0755) != 0 || ::mkdir("oldroot", 0755) != 0)
    fail(p, k_step_staging);
  if (::syscall(SYS_pivot_root, ".", "oldroot") != 0 || ::chdir("/") != 0) fail(p, k_step_pivot_staging);
  for (const auto& a : p.actions)
    if (!run_action(a)) fail(p, a.desc);
  if (::chdir("/newroot") != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0) fail(p, k_step_pivot_root);
  if (::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0) fail(p, k_step_detach);
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    fail(p, k_step_seal);
}

[[noreturn]] void exec_step(const ChildProgram& p) noexcept {
  reset_signals();
  if (p.new_session) ::setsid();
  if (::setrlimit(RLIMIT_NPROC, &p.nproc) != 0 || ::setrlimit(RLIMIT_NOFILE, &p.nofile) != 0 ||
      ::setrlimit(RLIMIT_FSIZE, &p.fsize) != 0 || ::setrlimit(RLIMIT_CORE, &p.core) != 0)
    fail(p, k_step_rlimits);
  if (p.stdin_fd >= 0 && ::dup2(p.stdin_fd, 0) < 0) fail(p, k_step_stdio);
  if (p.output_fd >= 0 && (::dup2(p.output_fd, 1) < 0 || ::dup2(p.output_fd, 2) < 0)) fail(p, k_step_stdio);
  // Descriptors other threads opened without O_CLOEXEC must not leak into the step.
  ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
  // A fixed umask: the parent's can be anything, even 0 for an instant (libarchive's archive_write_disk_new()
  // reads it by setting it), and steps that create files must get the same modes on every build.
  ::umask(022);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(p, k_step_no_new_privs);
  if (p.filter) {
    struct sock_fprog prog {};
    prog.len = p.filter_len;
    prog.filter = const_cast<sock_filter*>(p.filter);
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) fail(p, k_step_seccomp);
  }
  ::execve(p.argv[0], p.argv.data(), p.envp.data());
  fail(p, k_step_exec);
}

// pid 1 of the sandbox: reaps everything, and when the step itself ends reports its wait status and exits,
// which makes the kernel kill whatever the step left behind in the pid namespace.
[[noreturn]] void init_loop(const ChildProgram& p, pid_t step) noexcept {
  // Keep only the status pipe: descriptors of the (multithreaded) parent must not stay open for the whole step.
  const unsigned keep = static_cast<unsigned>(p.status_fd);
  if (keep > 0) ::syscall(SYS_close_range, 0u, keep - 1, 0u);
  ::syscall(SYS_close_range, keep + 1, ~0u, 0u);
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid == step || pid < 0) {
      if (pid == step) write_all(p.status_fd, reinterpret_cast<const char*>(&status), sizeof status);
      _exit(0);
    }
  }
}

} // namespace

void child_main(const ChildProgram& p) noexcept {
  // If echo-build dies (the thread blocked in run() cannot exit first), the sandbox dies with it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (p.isolation == Isolation::none) {
    if (::chdir(p.cwd.c_str()) != 0) fail(p, k_step_cwd);
    exec_step(p);
  }
  // Signal handlers copied from the parent (e.g. the SIGINT canceller) must not run in the sandbox's init.
  reset_signals();
  enter_namespaces(p);
  build_root(p);
  if (::chdir(p.cwd.c_str()) != 0) fail(p, k_step_cwd);
  // A fork()-like raw clone: glibc's fork() would run atfork handlers that may take locks held by other
  // threads of the parent at the time of the first clone.
  long step = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (step < 0) fail(p, k_step_fork);
  if (step == 0) exec_step(p);
  init_loop(p, static_cast<pid_t>(step));
}

} // namespace echo::sandbox::detail
