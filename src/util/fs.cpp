#include "echo/util/fs.hpp"

#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <unordered_map>
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
// One cached file digest: the lstat identity it was computed for.
struct CachedDigest {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  long long mtime_ns = 0, ctime_ns = 0;
  std::string sha256;
};
using DigestCache = std::unordered_map<std::string, CachedDigest>;  // by path relative to the tree root

std::mutex g_cache_mutex;
fs::path g_cache_dir;  // guarded by g_cache_mutex

long long ns(const struct timespec& t) { return static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec; }

// Cache file: "dev ino size mtime_ns ctime_ns sha256 path\n" per file. Any malformed line drops the whole cache.
DigestCache read_digest_cache(const fs::path& file) {
  DigestCache c;
  std::error_code ec;
  if (!fs::exists(file, ec)) return c;
  std::string text;
  try {
    text = read_file(file);
  } catch (const Error&) {
    return c;
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) return {};
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    unsigned long long dev = 0, ino = 0;
    long long size = 0, mt = 0, ct = 0;
    char sha[65] = {};
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%llu %llu %lld %lld %lld %64s %n", &dev, &ino, &size, &mt, &ct, sha, &consumed) != 6 ||
        consumed <= 0 || static_cast<std::size_t>(consumed) >= line.size() || !is_sha256_hex(sha))
      return {};
    c[line.substr(static_cast<std::size_t>(consumed))] = {static_cast<dev_t>(dev), static_cast<ino_t>(ino),
                                                           static_cast<off_t>(size), mt, ct, sha};
  }
  return c;
}

struct TreeHasher {
  TreeHasher(const fs::path& r, const DigestCache* o) : root(r), old(o) {}
  const fs::path& root;
  const DigestCache* old;            // null: no cache
  DigestCache fresh;                 // what the cache file will hold
  long long recent_ns = 0;           // files with mtime/ctime at or after this are not cached
  bool changed = false;

  std::string file_digest(const std::string& rel, const fs::path& full, const struct stat& st) {
    if (!old) return sha256_file(full);
    const long long mt = ns(st.st_mtim), ct = ns(st.st_ctim);
    auto it = old->find(rel);
    if (it != old->end() && it->second.dev == st.st_dev && it->second.ino == st.st_ino &&
        it->second.size == st.st_size && it->second.mtime_ns == mt && it->second.ctime_ns == ct) {
      fresh[rel] = it->second;
      return it->second.sha256;
    }
    std::string d = sha256_file(full);
    changed = true;
    if (mt < recent_ns && ct < recent_ns && rel.find('\n') == std::string::npos) fresh[rel] = {st.st_dev, st.st_ino, st.st_size, mt, ct, d};
    return d;
  }

  void walk(Sha256& h, const fs::path& rel) {
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
        walk(h, r);
      } else if (S_ISLNK(st.st_mode)) {
        h.update("L " + rs + " -> " + fs::read_symlink(full).string() + "\n");
      } else if (S_ISREG(st.st_mode)) {
        h.update("F " + rs + " " + mode + " " + file_digest(rs, full, st) + "\n");
      } else {
        throw Error(ErrorKind::internal, "unsupported file type in tree: " + full.string());
      }
    }
  }
};
} // namespace

void set_tree_digest_cache(const fs::path& dir) {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  g_cache_dir = dir;
}

std::string hash_tree(const fs::path& root) {
  fs::path cache_dir;
  {
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    cache_dir = g_cache_dir;
  }
  Sha256 h;
  if (cache_dir.empty()) {
    TreeHasher t(root, nullptr);
    t.walk(h, {});
    return h.finish_hex();
  }
  std::error_code ec;
  const fs::path abs = fs::absolute(root, ec);
  const fs::path file = cache_dir / sha256_hex((ec ? root : abs).lexically_normal().string());
  const DigestCache old = read_digest_cache(file);
  TreeHasher t(root, &old);
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  t.recent_ns = ns(now) - 2000000000LL;
  t.walk(h, {});
  if (t.changed || t.fresh.size() != old.size()) {
    std::vector<const DigestCache::value_type*> sorted;
    for (const auto& e : t.fresh) sorted.push_back(&e);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    std::string out;
    for (const auto* e : sorted) {
      const auto& c = e->second;
      out += std::to_string(static_cast<unsigned long long>(c.dev)) + " " +
             std::to_string(static_cast<unsigned long long>(c.ino)) + " " + std::to_string(c.size) + " " +
             std::to_string(c.mtime_ns) + " " + std::to_string(c.ctime_ns) + " " + c.sha256 + " " + e->first + "\n";
    }
    try {  // best effort: the digest is right either way
      fs::create_directories(cache_dir);
      write_file_atomic(file, out, 0600);
    } catch (const std::exception&) {
    }
  }
  return h.finish_hex();
}

} // namespace echo
