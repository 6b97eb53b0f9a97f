#include "pids_cgroup.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace echo::sandbox::detail {
namespace {

std::atomic<unsigned> g_counter{0};

bool write_small(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// The directory under which sandboxes' cgroups are made, or "" if none is usable.
std::string parent_dir() {
  struct stat st {};
  if (::stat("/sys/fs/cgroup/pids/cgroup.procs", &st) == 0) return "/sys/fs/cgroup/pids";
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  while (std::getline(self, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    std::string dir = "/sys/fs/cgroup" + line.substr(3);
    std::ifstream ctl(dir + "/cgroup.subtree_control");
    std::string word;
    while (ctl >> word)
      if (word == "pids") return dir;
  }
  return "";
}

} // namespace

std::unique_ptr<PidsCgroup> PidsCgroup::create(std::uint64_t max_processes) {
  static const std::string parent = parent_dir();
  if (parent.empty()) return nullptr;
  std::string dir = parent + "/echo-build-sandbox." + std::to_string(::getpid()) + "." +
                    std::to_string(g_counter.fetch_add(1));
  if (::mkdir(dir.c_str(), 0755) != 0) return nullptr;
  int fd = -1;
  if (write_small(dir + "/pids.max", std::to_string(max_processes)))
    fd = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    ::rmdir(dir.c_str());
    return nullptr;
  }
  return std::unique_ptr<PidsCgroup>(new PidsCgroup(dir, fd));
}

PidsCgroup::~PidsCgroup() {
  ::close(m_procs_fd);
  // The sandbox's processes are reaped by the time this runs, but the cgroup may lag a moment behind.
  // (Processes killed with the pid namespace leave the cgroup asynchronously, seconds after a fork bomb.)
  for (int i = 0; i < 1000 && ::rmdir(m_dir.c_str()) != 0 && errno == EBUSY; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(i < 100 ? 1 : 10));
}

} // namespace echo::sandbox::detail
