#include "echo/util/fs.hpp"

#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace echo {

std::string read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno(ErrorKind::internal, "cannot read " + path.string());
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      errno = e;
      throw_errno(ErrorKind::internal, "cannot read " + path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_file_atomic(const fs::path& path, std::string_view bytes, mode_t mode) {
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) throw_errno(ErrorKind::internal, "cannot write " + path.string());
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(name.data());
      errno = e;
      throw_errno(ErrorKind::internal, "cannot write " + path.string());
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(name.data());
    errno = e;
    throw_errno(ErrorKind::internal, "cannot write " + path.string());
  }
  if (::rename(name.data(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(name.data());
    errno = e;
    throw_errno(ErrorKind::internal, "cannot rename into " + path.string());
  }
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix) {
  fs::path base = parent;
  if (base.empty()) {
    const char* t = std::getenv("TMPDIR");
    base = (t && *t) ? t : "/tmp";
  }
  std::string tmpl = (base / (std::string(prefix) + "XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw_errno(ErrorKind::internal, "cannot create a directory in " + base.string());
  m_path = buf.data();
}

TempDir::~TempDir() {
  if (!m_path.empty()) {
    try {
      remove_tree(m_path);
    } catch (...) { // a destructor must not throw; leftovers in $TMPDIR are harmless
    }
  }
}

void remove_tree(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return;
  // Directories without the write bit (a build may chmod 0555) would make remove_all fail.
  if (fs::is_directory(fs::symlink_status(path, ec))) {
    ::chmod(path.c_str(), 0700);
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::none, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
  }
  fs::remove_all(path, ec);
  if (ec) throw Error(ErrorKind::internal, "cannot remove " + path.string() + ": " + ec.message());
}

namespace {
void hash_tree_rec(Sha256& h, const fs::path& root, const fs::path& rel) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root / rel)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    fs::path r = rel / n;
    fs::path full = root / r;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0) throw_errno(ErrorKind::internal, "cannot stat " + full.string());
    std::string rs = r.generic_string();
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", static_cast<unsigned>(st.st_mode & 07777));
    if (S_ISDIR(st.st_mode)) {
      h.update("D " + rs + " " + mode + "\n");
      hash_tree_rec(h, root, r);
    } else if (S_ISLNK(st.st_mode)) {
      h.update("L " + rs + " -> " + fs::read_symlink(full).string() + "\n");
    } else if (S_ISREG(st.st_mode)) {
      h.update("F " + rs + " " + mode + " " + sha256_file(full) + "\n");
    } else {
      throw Error(ErrorKind::internal, "unsupported file type in tree: " + full.string());
    }
  }
}
} // namespace

std::string hash_tree(const fs::path& root) {
  Sha256 h;
  hash_tree_rec(h, root, {});
  return h.finish_hex();
}

} // namespace echo
