#include "echo/source/patch.hpp"

#include "echo/util/error.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace fs = std::filesystem;

namespace echo::source {
namespace {

struct RunResult {
  int status = 0; // waitpid status
  std::string output; // stdout and stderr, interleaved
};

// Runs argv (argv[0] looked up in PATH) with stdin /dev/null in its own process group, collecting output.
RunResult run(const std::vector<std::string>& args) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw_errno(ErrorKind::source, "cannot create a pipe");
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    throw Error(ErrorKind::source, "cannot run " + args[0] + ": " + std::strerror(rc));
  }
  RunResult res;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    res.output.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  while (::waitpid(pid, &res.status, 0) < 0) {
    if (errno != EINTR) throw_errno(ErrorKind::source, "waitpid " + args[0]);
  }
  return res;
}

// The lines of patch's output that say what failed, with the file each hunk belongs to:
// "src/a.c: Hunk #1 FAILED at 3." Falls back to the last lines of output.
std::string failure_summary(const std::string& output) {
  std::istringstream in(output);
  std::string line, current_file;
  std::vector<std::string> picked, all;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    all.push_back(line);
    if (line.rfind("patching file ", 0) == 0) {
      current_file = line.substr(14);
      if (current_file.size() >= 2 && current_file.front() == '\'' && current_file.back() == '\'')
        current_file = current_file.substr(1, current_file.size() - 2);
    } else if ((line.rfind("Hunk #", 0) == 0 && line.find("FAILED") != std::string::npos) ||
               line.find("Reversed (or previously applied)") != std::string::npos) {
      picked.push_back(current_file.empty() ? line : current_file + ": " + line);
    } else if (line.rfind("can't find file to patch", 0) == 0) {
      picked.push_back(line);
    } else if (line.rfind("patch: **** ", 0) == 0) {
      picked.push_back(line.substr(12));
    }
  }
  if (picked.empty()) {
    size_t from = all.size() > 5 ? all.size() - 5 : 0;
    picked.assign(all.begin() + static_cast<std::ptrdiff_t>(from), all.end());
  }
  std::string out;
  for (const auto& p : picked) out += (out.empty() ? "" : "; ") + p;
  return out;
}

} // namespace

void apply_patch(const fs::path& patch_file, const fs::path& dir, int strip) {
  const std::string shown = patch_file.string();
  struct stat st {};
  if (::stat(patch_file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(ErrorKind::source, "cannot apply patch " + shown + ": no such file");
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(ErrorKind::source, "cannot apply patch " + shown + ": " + dir.string() + " is not a directory");
  // -d happens before -i is opened, so the patch path must be absolute.
  RunResult r = run({"patch", "-p" + std::to_string(strip), "--batch", "--forward", "--no-backup-if-mismatch", "-d",
                     dir.string(), "-i", fs::absolute(patch_file).string()});
  if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) return;
  std::string how = WIFEXITED(r.status) ? "" : " (patch killed by signal " + std::to_string(WTERMSIG(r.status)) + ")";
  throw Error(ErrorKind::source, "cannot apply patch " + shown + ": " + failure_summary(r.output) + how);
}

} // namespace echo::source
