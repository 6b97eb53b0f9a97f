#include "echo/source/fetcher.hpp"

#include "http_download.hpp"

#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

namespace echo::source {
namespace {

bool is_lower_sha256(std::string_view s) {
  return is_sha256_hex(s) && std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'F'; });
}

void check_digest(const RemoteFile& file) {
  if (!is_lower_sha256(file.sha256))
    throw Error(ErrorKind::source, file.url + ": sha256 must be 64 lower-case hex digits, got '" + file.sha256 + "'");
}

fs::path cache_dir_for(const FetchOptions& opts) { return opts.cache_dir / "sources" / "sha256"; }

void ensure_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::source, "cannot create source cache directory " + dir.string() + ": " + ec.message());
}

// A uniquely named file in the cache directory that becomes cache_dir/<hex> only through commit();
// otherwise it is unlinked. Concurrent fetchers each have their own temp name; rename() is atomic, so
// the cache only ever holds complete, verified files (two winners write identical bytes).
class CacheTemp {
public:
  explicit CacheTemp(const fs::path& dir, std::string_view hex) {
    std::string tmpl = (dir / ("." + std::string(hex) + ".tmp-XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    m_fd = ::mkostemp(buf.data(), O_CLOEXEC);
    if (m_fd < 0) throw_errno(ErrorKind::source, "cannot create a file in the source cache " + dir.string());
    m_path = buf.data();
  }
  ~CacheTemp() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_path.empty()) ::unlink(m_path.c_str());
  }
  CacheTemp(const CacheTemp&) = delete;
  CacheTemp& operator=(const CacheTemp&) = delete;

  int fd() const noexcept { return m_fd; }
  const fs::path& path() const noexcept { return m_path; }

  /// Replaces the (empty) temp file by a hard link to `src`; false if the filesystem refuses.
  bool link_from(const fs::path& src) {
    ::close(m_fd);
    m_fd = -1;
    ::unlink(m_path.c_str());
    if (::link(src.c_str(), m_path.c_str()) == 0) return true;
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (m_fd < 0) throw_errno(ErrorKind::source, "cannot create " + m_path.string());
    return false;
  }

  void commit(const fs::path& final_path, bool linked) {
    if (m_fd >= 0) {
      if (!linked && ::fchmod(m_fd, 0644) != 0) throw_errno(ErrorKind::source, "cannot chmod " + m_path.string());
      if (::fsync(m_fd) != 0) throw_errno(ErrorKind::source, "cannot sync " + m_path.string());
      ::close(m_fd);
      m_fd = -1;
    }
    if (::rename(m_path.c_str(), final_path.c_str()) != 0)
      throw_errno(ErrorKind::source, "cannot rename into " + final_path.string());
    m_path.clear();
  }

private:
  int m_fd = -1;
  fs::path m_path;
};

// Copies src into fd, returning the sha256 of what was copied (one read of the source).
std::string copy_hashing(const fs::path& src, int out) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw_errno(ErrorKind::source, "cannot read " + src.string());
  Sha256 h;
  std::vector<char> buf(1 << 17);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(in);
      errno = e;
      throw_errno(ErrorKind::source, "cannot read " + src.string());
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    for (const char* p = buf.data(); n > 0;) {
      ssize_t w = ::write(out, p, static_cast<size_t>(n));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int e = errno;
        ::close(in);
        errno = e;
        throw_errno(ErrorKind::source, "cannot write into the source cache");
      }
      p += w;
      n -= w;
    }
  }
  ::close(in);
  return h.finish_hex();
}

bool is_regular(const fs::path& p, bool follow) {
  struct stat st {};
  int r = follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st);
  return r == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> distdir_names(const RemoteFile& file) {
  std::vector<std::string> names;
  auto add = [&](std::string n) {
    if (!n.empty() && n != "." && n != ".." && std::find(names.begin(), names.end(), n) == names.end())
      names.push_back(std::move(n));
  };
  add(url_file_name(file.url));
  for (const auto& m : file.mirrors) add(url_file_name(m));
  add(file.sha256);
  return names;
}

std::string join_paths(const std::vector<fs::path>& dirs) {
  std::string out;
  for (const auto& d : dirs) out += (out.empty() ? "" : ", ") + d.string();
  return out;
}

// Cache then distdirs. `notes` collects distdir files that had the right name but the wrong content.
std::optional<fs::path> find_local_impl(const RemoteFile& file, const FetchOptions& opts,
                                        std::vector<std::string>& notes) {
  check_digest(file);
  const fs::path dir = cache_dir_for(opts);
  const fs::path target = dir / file.sha256;
  if (is_regular(target, false)) {
    if (sha256_file(target) == file.sha256) return target;
    // Someone edited a cache file (or a hard-linked distdir file): drop it and look further.
    if (opts.progress) opts.progress("removing corrupt source cache entry " + target.string());
    ::unlink(target.c_str());
  }
  const auto names = distdir_names(file);
  for (const auto& dd : opts.distdirs) {
    for (const auto& name : names) {
      fs::path cand = dd / name;
      if (!is_regular(cand, true)) continue;
      ensure_dir(dir);
      CacheTemp tmp(dir, file.sha256);
      bool linked = tmp.link_from(cand);
      std::string got = linked ? sha256_file(tmp.path()) : copy_hashing(cand, tmp.fd());
      if (got != file.sha256) {
        notes.push_back(cand.string() + " has sha256 " + got);
        continue;
      }
      tmp.commit(target, linked);
      if (opts.progress) opts.progress("using " + cand.string() + (linked ? " (hard link)" : " (copy)"));
      return target;
    }
  }
  return std::nullopt;
}

fs::path download_to_cache(const std::string& url, const RemoteFile& file, const FetchOptions& opts) {
  const fs::path dir = cache_dir_for(opts);
  ensure_dir(dir);
  CacheTemp tmp(dir, file.sha256);
  if (opts.progress) opts.progress("fetching " + url);
  detail::Downloaded got = detail::download(url, tmp.fd(), opts);
  if (got.sha256 != file.sha256)
    throw Error(ErrorKind::source, "sha256 mismatch: expected " + file.sha256 + ", got " + got.sha256);
  fs::path target = dir / file.sha256;
  tmp.commit(target, false);
  if (opts.progress) opts.progress("fetched " + url + " (" + detail::human_size(got.size) + ")");
  return target;
}

} // namespace

fs::path cache_path(const FetchOptions& opts, std::string_view sha256) {
  return cache_dir_for(opts) / std::string(sha256);
}

std::string url_file_name(std::string_view url) {
  auto cut = url.find_first_of("?#");
  if (cut != std::string_view::npos) url = url.substr(0, cut);
  auto scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    url = url.substr(scheme + 3);
    auto slash = url.find('/'); // skip the authority ("host:port")
    url = slash == std::string_view::npos ? std::string_view{} : url.substr(slash);
  }
  auto last = url.rfind('/');
  return std::string(last == std::string_view::npos ? url : url.substr(last + 1));
}

std::optional<fs::path> find_local(const RemoteFile& file, const FetchOptions& opts) {
  std::vector<std::string> notes;
  return find_local_impl(file, opts, notes);
}

fs::path fetch(const RemoteFile& file, const FetchOptions& opts) {
  std::vector<std::string> notes;
  if (auto hit = find_local_impl(file, opts, notes)) return *hit;

  if (opts.offline) {
    std::string msg = "offline: " + file.url + " (sha256 " + file.sha256 + ") is not in the source cache and ";
    msg += opts.distdirs.empty() ? "no distdir is configured"
                                 : "not in any distdir (searched: " + join_paths(opts.distdirs) + ")";
    for (const auto& n : notes) msg += "; " + n;
    throw Error(ErrorKind::source, msg);
  }

  std::vector<std::string> urls{file.url};
  urls.insert(urls.end(), file.mirrors.begin(), file.mirrors.end());
  std::vector<std::string> failures;
  for (const auto& url : urls) {
    try {
      return download_to_cache(url, file, opts);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::source) throw;
      failures.push_back(url + ": " + e.what());
      if (urls.size() > 1 && opts.progress) opts.progress("cannot fetch " + failures.back());
    }
  }
  if (failures.size() == 1) throw Error(ErrorKind::source, "cannot fetch " + failures.front());
  std::string msg = "cannot fetch " + url_file_name(file.url) + " (sha256 " + file.sha256 + ") from any URL: ";
  for (size_t i = 0; i < failures.size(); ++i) msg += (i ? "; " : "") + failures[i];
  throw Error(ErrorKind::source, msg);
}

} // namespace echo::source
