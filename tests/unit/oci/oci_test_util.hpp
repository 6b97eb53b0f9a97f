#pragma once
// Helpers shared by the oci unit tests: run a command, build small trees, read a layer back with libarchive.
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace echo::oci::test {

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

inline CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline bool have(const std::string& tool) { return run("command -v " + tool + " >/dev/null").status == 0; }

inline void put(const std::filesystem::path& p, const std::string& content, unsigned mode = 0644) {
  std::filesystem::create_directories(p.parent_path());
  echo::write_file_atomic(p, content, mode);
  ::chmod(p.c_str(), mode);
}

/// Sets the mtime of every entry under root (not following symlinks).
inline void set_mtimes(const std::filesystem::path& root, long seconds) {
  struct timespec ts[2] = {{seconds, 0}, {seconds, 0}};
  for (auto& e : std::filesystem::recursive_directory_iterator(root))
    ::utimensat(AT_FDCWD, e.path().c_str(), ts, AT_SYMLINK_NOFOLLOW);
  ::utimensat(AT_FDCWD, root.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

struct TarEntry {
  std::string path, symlink, hardlink, uname, gname;
  unsigned mode = 0, type = 0;
  long uid = 0, gid = 0;
  long long mtime = 0, size = 0;
  bool atime = false, ctime = false;
  std::string content;
};

/// Reads a (compressed) tar file back; throws on libarchive errors.
inline std::vector<TarEntry> read_tar(const std::filesystem::path& file) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  std::vector<TarEntry> out;
  if (archive_read_open_filename(a, file.c_str(), 65536) != ARCHIVE_OK) {
    std::string msg = archive_error_string(a);
    archive_read_free(a);
    throw std::runtime_error(msg);
  }
  archive_entry* e;
  int rc;
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    TarEntry t;
    t.path = archive_entry_pathname(e);
    if (archive_entry_symlink(e)) t.symlink = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) t.hardlink = archive_entry_hardlink(e);
    if (archive_entry_uname(e)) t.uname = archive_entry_uname(e);
    if (archive_entry_gname(e)) t.gname = archive_entry_gname(e);
    t.mode = archive_entry_perm(e);
    t.type = archive_entry_filetype(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    t.mtime = archive_entry_mtime(e);
    t.size = archive_entry_size(e);
    t.atime = archive_entry_atime_is_set(e);
    t.ctime = archive_entry_ctime_is_set(e);
    char buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) t.content.append(buf, static_cast<std::size_t>(n));
    out.push_back(std::move(t));
  }
  std::string msg = rc == ARCHIVE_EOF ? "" : archive_error_string(a);
  archive_read_free(a);
  if (!msg.empty()) throw std::runtime_error(msg);
  return out;
}

/// Deterministic pseudo-random bytes (xorshift) mixed with text, so they compress somewhat.
inline std::string sample_bytes(std::size_t n, unsigned seed) {
  std::string s;
  s.reserve(n);
  std::uint64_t x = 88172645463325252ull ^ seed;
  while (s.size() < n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if (x % 3 == 0)
      s += "the quick brown fox jumps over the lazy dog ";
    else
      s += static_cast<char>(x & 0xff);
  }
  s.resize(n);
  return s;
}

} // namespace echo::oci::test
