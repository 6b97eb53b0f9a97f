// Parent side: turns the mount plan into the flat list of actions the clone()d child performs. Every string and
// flag is decided here, so the child never allocates.
#include "child_program.hpp"

#include <set>
#include <sys/mount.h>
#include <unistd.h>

namespace echo::sandbox::detail {
namespace fs = std::filesystem;

namespace {

constexpr const char* k_new_root = "/newroot";
constexpr const char* k_old_root = "/oldroot";

const char* const k_fixed_descriptions[k_step_count] = {
    "writing /proc/self/setgroups", "writing /proc/self/uid_map", "writing /proc/self/gid_map",
    "joining the pids cgroup", "setting the hostname", "bringing up the loopback interface",
    "making the mount tree private", "mounting the staging tmpfs on /tmp", "pivoting into the staging tmpfs",
    "pivoting into the new root", "detaching the host's root", "remounting / read-only", "changing directory",
    "starting the step process", "setting resource limits", "redirecting stdin/stdout/stderr",
    "setting no_new_privs", "loading the seccomp filter", "executing the step"};

rlim_t clamp_to_hard(int resource, std::uint64_t want) {
  struct rlimit cur {};
  if (getrlimit(resource, &cur) != 0) return want;
  if (cur.rlim_max != RLIM_INFINITY && want > cur.rlim_max) return cur.rlim_max;
  return want;
}

class Compiler {
public:
  explicit Compiler(ChildProgram& p) : m_p(p) {}

  void mkdirs(const fs::path& inside_dir) {
    fs::path cur = k_new_root;
    for (const auto& part : inside_dir.relative_path()) {
      cur /= part;
      if (!m_made.insert(cur.string()).second) continue;
      add({Action::Op::mkdir, nullptr, m_p.keep(cur.string())}, "creating directory " + inside(cur));
    }
  }

  void mount_point(const fs::path& target, bool is_dir) {
    if (is_dir) return mkdirs(target);
    mkdirs(target.parent_path());
    add({Action::Op::touch, nullptr, m_p.keep(root(target))}, "creating mount point " + target.string());
  }

  void add(Action a, const std::string& desc) {
    a.desc = static_cast<int>(m_p.descriptions.size());
    m_p.descriptions.push_back(desc);
    m_p.actions.push_back(a);
  }

  static std::string root(const fs::path& inside_path) {
    return inside_path == "/" ? k_new_root : std::string(k_new_root) + inside_path.string();
  }
  static std::string old(const std::string& host_path) { return std::string(k_old_root) + host_path; }
  static std::string inside(const fs::path& staged) {
    auto s = staged.string().substr(std::string(k_new_root).size());
    return s.empty() ? "/" : s;
  }

  void compile(const MountOp& op) {
    const fs::path target = op.target;
    const char* tgt = m_p.keep(root(target));
    switch (op.kind) {
    case MountOp::Kind::tmpfs:
      mkdirs(target);
      add({Action::Op::mount, "tmpfs", tgt, "tmpfs", MS_NOSUID | MS_NODEV, m_p.keep(op.data)},
          "mounting tmpfs on " + op.target);
      break;
    case MountOp::Kind::proc:
      mkdirs(target);
      add({Action::Op::mount, "proc", tgt, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
          "mounting proc on " + op.target);
      break;
    case MountOp::Kind::overlay: {
      mkdirs(target);
      std::string data = "lowerdir=";
      size_t start = 0;
      while (start <= op.source.size()) {
        auto end = op.source.find(':', start);
        if (end == std::string::npos) end = op.source.size();
        data += (start == 0 ? "" : ":") + old(op.source.substr(start, end - start));
        start = end + 1;
      }
      add({Action::Op::mount, "overlay", tgt, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, m_p.keep(data)},
          "mounting overlay on " + op.target);
      break;
    }
    case MountOp::Kind::bind:
    case MountOp::Kind::dev: {
      std::error_code ec;
      mount_point(target, fs::is_directory(op.source, ec));
      add({Action::Op::mount, m_p.keep(old(op.source)), tgt, nullptr, MS_BIND, nullptr},
          "bind-mounting " + op.source + " on " + op.target);
      if (op.read_only) add({Action::Op::remount_ro, nullptr, tgt}, "remounting " + op.target + " read-only");
      break;
    }
    case MountOp::Kind::symlink:
      mkdirs(target.parent_path());
      add({Action::Op::symlink, m_p.keep(op.source), tgt}, "creating symlink " + op.target);
      break;
    case MountOp::Kind::file: {
      mkdirs(target.parent_path());
      Action a{Action::Op::write_file, m_p.keep(op.data), tgt};
      a.len = op.data.size();
      add(a, "writing " + op.target);
      break;
    }
    }
  }

private:
  ChildProgram& m_p;
  std::set<std::string> m_made;
};

} // namespace

const char* ChildProgram::keep(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }

ChildProgram compile_child_program(const SandboxSpec& spec, const std::vector<MountOp>& plan, Isolation isolation) {
  ChildProgram p;
  p.isolation = isolation;
  p.descriptions.assign(std::begin(k_fixed_descriptions), std::end(k_fixed_descriptions));
  p.descriptions[k_step_cwd] = "changing directory to " + spec.cwd.string();
  p.descriptions[k_step_exec] = "executing " + (spec.argv.empty() ? std::string("?") : spec.argv[0]);
  p.uid_map = "0 " + std::to_string(getuid()) + " 1\n";
  p.gid_map = "0 " + std::to_string(getgid()) + " 1\n";
  p.hostname = spec.hostname;
  p.cwd = spec.cwd.string();
  for (const auto& a : spec.argv) p.argv.push_back(const_cast<char*>(p.keep(a)));
  p.argv.push_back(nullptr);
  for (const auto& [k, v] : spec.env) p.envp.push_back(const_cast<char*>(p.keep(k + "=" + v)));
  p.envp.push_back(nullptr);
  p.nproc.rlim_cur = p.nproc.rlim_max = clamp_to_hard(RLIMIT_NPROC, spec.limits.max_processes);
  p.nofile.rlim_cur = p.nofile.rlim_max = clamp_to_hard(RLIMIT_NOFILE, spec.limits.max_open_files);
  p.fsize.rlim_cur = p.fsize.rlim_max = clamp_to_hard(RLIMIT_FSIZE, spec.limits.max_file_size);
  p.new_session = spec.stdin_mode == Stdin::null;
  if (isolation == Isolation::namespaces) {
    Compiler c(p);
    for (const auto& op : plan) c.compile(op);
  }
  return p;
}

} // namespace echo::sandbox::detail
