// Compiles the sandbox's seccomp filter with libseccomp and exports the BPF once; loading it in the clone()d
// child is a single prctl, which is async-signal-safe (seccomp_load is not: it allocates).
#include "seccomp_filter.hpp"

#include "echo/util/error.hpp"
#include "echo/util/c_handle.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <sched.h>
#include <cstddef>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

namespace echo::sandbox::detail {
namespace {

using SeccompPtr = std::unique_ptr<void, CDeleter<seccomp_release>>;

void check(int rc, const char* what) {
  if (rc < 0) throw Error(ErrorKind::sandbox, std::string("seccomp: ") + what + ": " + std::strerror(-rc));
}

constexpr unsigned long k_clone_new_flags =
    CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

// personality() may only query (0xffffffff) or set the default PER_LINUX (0). libseccomp cannot compare one
// argument twice in a rule, so this check is hand-written BPF placed before libseccomp's program.
std::vector<sock_filter> personality_prefix() {
#if defined(__x86_64__)
  constexpr unsigned k_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  constexpr unsigned k_arch = AUDIT_ARCH_AARCH64;
#else
  return {};
#endif
  constexpr unsigned k_arg0_low = offsetof(seccomp_data, args); // little-endian: low word first
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k_arch, 0, 6),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, k_arg0_low),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
  };
}

std::vector<sock_filter> build() {
  SeccompPtr ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) throw Error(ErrorKind::sandbox, "seccomp: seccomp_init failed");
  const auto deny = SCMP_ACT_ERRNO(EPERM);
  // x32 and i386 system calls (and any other ABI) fail instead of bypassing the native-only rules.
  check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, deny), "setting the bad-arch action");
  for (const char* name : denied_syscalls()) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue; // not on this architecture (e.g. iopl elsewhere)
    check(seccomp_rule_add(ctx.get(), deny, nr, 0), name);
  }
  // No new namespaces of any kind: clone() with CLONE_NEW* fails; clone3 takes a struct seccomp cannot read, so
  // it reports ENOSYS and libc falls back to clone().
  for (unsigned long flag = 1; flag != 0; flag <<= 1)
    if (k_clone_new_flags & flag)
      check(seccomp_rule_add(ctx.get(), deny, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)), "clone");
  check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3");
  int fd = memfd_create("echo-seccomp", MFD_CLOEXEC);
  if (fd < 0) throw_errno(ErrorKind::sandbox, "seccomp: memfd_create");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  check(seccomp_export_bpf(ctx.get(), fd), "exporting BPF");
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) throw Error(ErrorKind::sandbox, "seccomp: bad BPF export size");
  std::vector<sock_filter> prog = personality_prefix();
  size_t prefix = prog.size();
  prog.resize(prefix + size / sizeof(sock_filter));
  if (pread(fd, prog.data() + prefix, size, 0) != size)
    throw_errno(ErrorKind::sandbox, "seccomp: reading exported BPF");
  return prog;
}

} // namespace

const std::vector<const char*>& denied_syscalls() {
  static const std::vector<const char*> names = {
      "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
      "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "mount_setattr",
      "fsopen", "fsmount", "fsconfig", "fspick", "kexec_load", "kexec_file_load", "bpf", "keyctl", "add_key",
      "request_key", "perf_event_open", "init_module", "finit_module", "delete_module", "reboot", "swapon",
      "swapoff", "setns", "unshare", "sethostname", "setdomainname", "userfaultfd", "acct", "quotactl",
      "quotactl_fd", "lookup_dcookie", "name_to_handle_at", "open_by_handle_at", "iopl", "ioperm",
      "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog", "vhangup", "nfsservctl"};
  return names;
}

const std::vector<sock_filter>& seccomp_program() {
  static std::once_flag once;
  static std::vector<sock_filter> prog;
  static std::exception_ptr error;
  std::call_once(once, [] {
    try {
      prog = build();
    } catch (const Error&) {
      error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
  return prog;
}

} // namespace echo::sandbox::detail
