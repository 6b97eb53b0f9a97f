#include "image_parts.hpp"

#include "echo/util/error.hpp"

#include <spdlog/spdlog.h>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

extern char** environ;

namespace fs = std::filesystem;

namespace echo::oci {

namespace {

struct RawEntry {
  std::string rel;
  struct stat st {};
};

void walk(const fs::path& abs, const std::string& rel, std::vector<RawEntry>& out) {
  DIR* d = ::opendir(abs.c_str());
  if (!d) throw_errno(ErrorKind::build, "reading directory " + abs.string());
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) names.emplace_back(de->d_name);
  }
  ::closedir(d);
  for (const auto& name : names) {
    RawEntry e;
    e.rel = rel.empty() ? name : rel + "/" + name;
    fs::path p = abs / name;
    if (::lstat(p.c_str(), &e.st) != 0) throw_errno(ErrorKind::build, p.string());
    const bool dir = S_ISDIR(e.st.st_mode);
    std::string child = e.rel;  // `out` grows below; no references into it
    out.push_back(std::move(e));
    if (dir) walk(p, child, out);
  }
}

bool under(const std::string& rel, std::string_view dir) {
  return rel == dir || (rel.size() > dir.size() && rel.compare(0, dir.size(), dir) == 0 && rel[dir.size()] == '/');
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A "pkgconfig" directory below usr/lib* or usr/share (usr/lib/x86_64-linux-gnu/pkgconfig included).
bool in_pkgconfig_dir(const std::string& rel) {
  if (rel.rfind("usr/lib", 0) != 0 && rel.rfind("usr/share/", 0) != 0) return false;
  std::size_t pos = 0;
  while ((pos = rel.find("pkgconfig", pos)) != std::string::npos) {
    bool starts = pos > 0 && rel[pos - 1] == '/';
    std::size_t end = pos + 9;
    bool ends = end == rel.size() || rel[end] == '/';
    if (starts && ends) return true;
    pos = end;
  }
  return false;
}

// A development symlink: "libNAME.so" as a symlink under lib/ or usr/lib* (libz.so -> libz.so.1.2.13). Only the
// linker looks for that name (-lz); programs load the versioned soname (libz.so.1), which stays.
bool dev_symlink(const std::string& rel) {
  if (rel.rfind("lib/", 0) != 0 && rel.rfind("usr/lib", 0) != 0) return false;
  const auto slash = rel.rfind('/');
  const std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
  return base.size() > 6 && base.rfind("lib", 0) == 0 && ends_with(base, ".so");
}

std::optional<std::string> drop_reason(const std::string& rel, bool is_dir, bool is_link, const Hardening& h) {
  if (h.drop_docs && (under(rel, "usr/share/doc") || under(rel, "usr/share/man") || under(rel, "usr/share/info")))
    return "docs";
  if (h.drop_headers && under(rel, "usr/include")) return "headers";
  if (h.drop_pkgconfig && (in_pkgconfig_dir(rel) || (!is_dir && ends_with(rel, ".pc")))) return "pkgconfig";
  if (h.drop_static && !is_dir && ends_with(rel, ".a")) return "static";
  if (h.drop_libtool && !is_dir && ends_with(rel, ".la")) return "libtool";
  if (h.drop_dev_symlinks && is_link && dev_symlink(rel)) return "dev-symlinks";
  return std::nullopt;
}

std::string octal(unsigned mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

// ELF executables and shared objects (not relocatable objects or core files).
bool strippable_elf(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned char h[18];
  ssize_t n = ::read(fd, h, sizeof h);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof h) || std::memcmp(h, "\x7f" "ELF", 4) != 0) return false;
  unsigned type = h[5] == 2 ? (h[16] << 8 | h[17]) : (h[17] << 8 | h[16]);
  return type == 2 || type == 3;
}

// `strip --strip-unneeded -o out in`: deterministic for ELF (no timestamps), never touches the input.
// Returns the exit status (or -1 when strip could not be started).
int run_strip(const fs::path& in, const fs::path& out) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::string a0 = "strip", a1 = "--strip-unneeded", a2 = "-o", a3 = out.string(), a4 = in.string();
  char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, "strip", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

ScannedPackage scan_package(const PackageTree& tree, const Hardening& h, const fs::path& work_dir, int threads,
                            ImageReport& report) {
  struct stat root_st {};
  if (::stat(tree.root.c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode))
    throw Error(ErrorKind::build, "package '" + tree.name + "': output tree " + tree.root.string() +
                                      " is not a directory");
  std::vector<RawEntry> raw;
  walk(tree.root, "", raw);
  std::sort(raw.begin(), raw.end(), [](const RawEntry& a, const RawEntry& b) { return a.rel < b.rel; });

  std::set<std::string> allowed;
  for (const auto& p : h.allowed_setuid) {
    auto start = p.find_first_not_of('/');
    if (start != std::string::npos) allowed.insert(p.substr(start));
  }

  ScannedPackage pkg;
  pkg.tree = &tree;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;  // first (sorted) name of a multiply-linked file
  for (const auto& r : raw) {
    const unsigned mode = r.st.st_mode & 07777;
    const bool is_dir = S_ISDIR(r.st.st_mode);
    if (!is_dir && !S_ISREG(r.st.st_mode) && !S_ISLNK(r.st.st_mode))
      throw Error(ErrorKind::build, "package '" + tree.name + "': /" + r.rel +
                                        " is a device, fifo or socket; only files, directories and symlinks "
                                        "can go into an image");
    if (auto reason = drop_reason(r.rel, is_dir, S_ISLNK(r.st.st_mode), h)) {
      report.removed.push_back({"/" + r.rel, tree.name, *reason});
      continue;
    }
    TreeEntry t;
    t.entry.path = r.rel;
    t.entry.mode = mode;
    t.original = tree.root / r.rel;
    if (is_dir) {
      t.entry.type = LayerEntry::Type::dir;
    } else if (S_ISLNK(r.st.st_mode)) {
      t.entry.type = LayerEntry::Type::symlink;
      t.entry.mode = 0777;
      t.entry.link_target = fs::read_symlink(t.original).string();
    } else {
      if (mode & 06000) {
        if (!allowed.count(r.rel))
          throw Error(ErrorKind::build, "package '" + tree.name + "': /" + r.rel + " is setuid/setgid (mode " +
                                            octal(mode) + "); list it in hardening.allow-setuid to allow it");
        report.setuid_files.push_back("/" + r.rel);
      }
      t.entry.type = LayerEntry::Type::file;
      t.entry.source = t.original;
      t.size = static_cast<std::uint64_t>(r.st.st_size);
      if (r.st.st_nlink > 1) {
        auto [it, first] = inodes.emplace(std::make_pair(r.st.st_dev, r.st.st_ino), r.rel);
        if (!first) {
          t.entry.type = LayerEntry::Type::hardlink;
          t.entry.link_target = it->second;
          t.entry.source.clear();
          t.size = 0;
        }
      }
    }
    pkg.entries.push_back(std::move(t));
  }

  if (h.strip) {
    std::vector<TreeEntry*> jobs;
    for (auto& t : pkg.entries)
      if (t.entry.type == LayerEntry::Type::file && strippable_elf(t.original)) jobs.push_back(&t);
    std::atomic<std::size_t> next{0};
    std::atomic<std::uint64_t> stripped{0};
    auto worker = [&] {
      for (std::size_t i; (i = next++) < jobs.size();) {
        TreeEntry& t = *jobs[i];
        fs::path out = work_dir / std::to_string(i);
        int rc = run_strip(t.original, out);
        struct stat st {};
        if (rc == 0 && ::stat(out.c_str(), &st) == 0) {
          t.entry.source = out;
          t.size = static_cast<std::uint64_t>(st.st_size);
          ++stripped;
        } else {
          spdlog::warn("package '{}': strip failed on /{} (status {}); keeping it unstripped", tree.name,
                       t.entry.path, rc);
        }
      }
    };
    std::vector<std::thread> pool;
    for (int i = 1; i < std::min<int>(threads, static_cast<int>(jobs.size())); ++i) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
    report.stripped += stripped;
  }
  for (const auto& t : pkg.entries) pkg.bytes += t.size;
  return pkg;
}

} // namespace echo::oci
