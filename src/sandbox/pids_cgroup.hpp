#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace echo::sandbox::detail {

/// A private pids cgroup limiting one sandbox's process count. Used when running as real root, where the
/// kernel does not apply RLIMIT_NPROC to uid 0. Empty cgroups are kept in a process-wide pool and reused
/// (mkdir + rmdir of a cgroup costs milliseconds per step); the pool removes them at exit.
class PidsCgroup {
public:
  /// A cgroup with pids.max = max_processes and no processes, or nullptr when no writable pids controller
  /// exists (cgroup v1 /sys/fs/cgroup/pids, or v2 with pids enabled for our cgroup's children).
  static std::unique_ptr<PidsCgroup> create(std::uint64_t max_processes);
  /// Returns the cgroup to the pool (or removes it if it still holds processes).
  ~PidsCgroup();
  PidsCgroup(const PidsCgroup&) = delete;
  PidsCgroup& operator=(const PidsCgroup&) = delete;
  /// Write end of cgroup.procs, CLOEXEC: the child writes "0" to join before it starts the step.
  int procs_fd() const noexcept { return m_procs_fd; }

  PidsCgroup(std::string dir, int procs_fd) : m_dir(std::move(dir)), m_procs_fd(procs_fd) {}

private:
  std::string m_dir;
  int m_procs_fd;
};

} // namespace echo::sandbox::detail
