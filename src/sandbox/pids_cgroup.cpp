#include "pids_cgroup.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace echo::sandbox::detail {
namespace {

constexpr const char* k_prefix = "echo-build-sandbox.";

bool write_small(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::string read_small(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  in >> s;
  return s;
}

// The directory under which sandboxes' cgroups are made, or "" if none is usable.
std::string find_parent_dir() {
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

// Removes cgroups left by echo-build processes that no longer exist (crashed or killed).
void sweep_stale(const std::string& parent) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(parent, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind(k_prefix, 0) != 0) continue;
    pid_t owner = static_cast<pid_t>(std::atol(name.c_str() + std::char_traits<char>::length(k_prefix)));
    if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) ::rmdir(e.path().c_str());
  }
}

struct Pool {
  std::mutex mutex;
  std::string parent = find_parent_dir();
  std::vector<std::string> free_dirs;
  unsigned counter = 0;
  Pool() {
    if (!parent.empty()) sweep_stale(parent);
  }
  ~Pool() {
    for (const auto& d : free_dirs) ::rmdir(d.c_str());
  }
};

Pool& pool() {
  static Pool p;
  return p;
}

} // namespace

std::unique_ptr<PidsCgroup> PidsCgroup::create(std::uint64_t max_processes) {
  auto& p = pool();
  if (p.parent.empty()) return nullptr;
  std::string dir;
  {
    std::lock_guard lock(p.mutex);
    if (!p.free_dirs.empty()) {
      dir = std::move(p.free_dirs.back());
      p.free_dirs.pop_back();
    } else {
      dir = p.parent + "/" + k_prefix + std::to_string(::getpid()) + "." + std::to_string(p.counter++);
    }
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return nullptr;
  int fd = -1;
  if (write_small(dir + "/pids.max", std::to_string(max_processes)))
    fd = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    ::rmdir(dir.c_str());
    return nullptr;
  }
  return std::make_unique<PidsCgroup>(dir, fd);
}

PidsCgroup::~PidsCgroup() {
  ::close(m_procs_fd);
  // Processes killed with the pid namespace may still be leaving the cgroup (seconds, after a fork bomb): only
  // an empty cgroup goes back to the pool; otherwise wait for it to empty and remove it.
  if (read_small(m_dir + "/pids.current") == "0") {
    auto& p = pool();
    std::lock_guard lock(p.mutex);
    p.free_dirs.push_back(m_dir);
    return;
  }
  for (int i = 0; i < 1000 && ::rmdir(m_dir.c_str()) != 0 && errno == EBUSY; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(i < 100 ? 1 : 10));
}

} // namespace echo::sandbox::detail
