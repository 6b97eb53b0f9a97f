#include "tar_stream.hpp"

#include "echo/util/error.hpp"
#include "echo/util/c_handle.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <set>

namespace echo::oci {

namespace {

using ArchivePtr = CHandle<archive, archive_write_free>;
using EntryPtr = CHandle<archive_entry, archive_entry_free>;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct CallbackState {
  ByteSink* sink;
  std::exception_ptr error;
};

// libarchive calls this with each 10240-byte block; exceptions must not cross it.
la_ssize_t write_callback(archive*, void* client, const void* buffer, size_t length) {
  auto* st = static_cast<CallbackState*>(client);
  try {
    st->sink->write(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
  } catch (const std::exception&) {
    st->error = std::current_exception();
    return -1;
  }
}

class TarWriter {
public:
  explicit TarWriter(ByteSink& out) : m_archive(archive_write_new()), m_state{&out, nullptr} {
    if (!m_archive) throw Error(ErrorKind::internal, "archive_write_new failed");
    check(archive_write_set_format_pax_restricted(m_archive.get()), "setting tar format");
    check(archive_write_open(m_archive.get(), &m_state, nullptr, write_callback, nullptr), "opening tar stream");
  }

  void check(int rc, std::string_view what) {
    if (m_state.error) std::rethrow_exception(m_state.error);
    if (rc < ARCHIVE_WARN) {
      const char* msg = archive_error_string(m_archive.get());
      throw Error(ErrorKind::internal, std::string(what) + ": " + (msg ? msg : "libarchive error"));
    }
  }

  void header(archive_entry* e, const std::string& path) { check(archive_write_header(m_archive.get(), e), path); }

  void data(const char* p, std::size_t n, const std::string& path) {
    while (n > 0) {
      la_ssize_t w = archive_write_data(m_archive.get(), p, n);
      if (w <= 0) check(ARCHIVE_FATAL, path);
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

  void close() { check(archive_write_close(m_archive.get()), "closing tar stream"); }

private:
  ArchivePtr m_archive;
  CallbackState m_state;
};

} // namespace

std::string normalize_path(std::string_view path) {
  std::string out;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    if (comp == "..") throw Error(ErrorKind::internal, "layer entry '" + std::string(path) + "': '..' in path");
    if (!comp.empty() && comp != ".") {
      if (!out.empty()) out += '/';
      out += comp;
    }
    i = j + 1;
  }
  if (out.empty()) throw Error(ErrorKind::internal, "layer entry '" + std::string(path) + "': empty path");
  return out;
}

std::vector<LayerEntry> normalize_entries(std::vector<LayerEntry> entries) {
  std::set<std::string> seen;
  for (auto& e : entries) {
    e.path = normalize_path(e.path);
    if (e.type == LayerEntry::Type::hardlink) e.link_target = normalize_path(e.link_target);
    if (!seen.insert(e.path).second) throw Error(ErrorKind::internal, "layer entry '" + e.path + "': duplicate path");
  }
  std::vector<LayerEntry> parents;
  for (const auto& e : entries) {
    for (std::size_t slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
      std::string parent = e.path.substr(0, slash);
      if (seen.insert(parent).second) {
        LayerEntry d;
        d.path = parent;
        d.type = LayerEntry::Type::dir;
        d.mode = 0755;
        parents.push_back(std::move(d));
      }
    }
  }
  for (auto& p : parents) entries.push_back(std::move(p));
  // Bytewise order (std::string compares as unsigned char); a parent is a prefix, so it sorts first.
  std::sort(entries.begin(), entries.end(), [](const LayerEntry& a, const LayerEntry& b) { return a.path < b.path; });

  std::map<std::string_view, LayerEntry::Type> types;
  for (const auto& e : entries) {
    auto slash = e.path.rfind('/');
    if (slash != std::string::npos) {
      auto it = types.find(std::string_view(e.path).substr(0, slash));
      if (it->second != LayerEntry::Type::dir)
        throw Error(ErrorKind::internal,
                    "layer entry '" + e.path + "': parent '" + e.path.substr(0, slash) + "' is not a directory");
    }
    if (e.type == LayerEntry::Type::hardlink) {
      auto it = types.find(e.link_target);
      if (it == types.end() || it->second != LayerEntry::Type::file)
        throw Error(ErrorKind::internal, "layer entry '" + e.path + "': hard link target '" + e.link_target +
                                             "' is not a regular file earlier in the layer");
    }
    types.emplace(e.path, e.type);
  }
  return entries;
}

void write_tar(const std::vector<LayerEntry>& entries, std::int64_t mtime, ByteSink& out,
               std::map<std::string, std::string>* file_digests) {
  TarWriter tar(out);
  EntryPtr entry(archive_entry_new());
  std::vector<char> buffer(256 * 1024);
  for (const auto& e : entries) {
    archive_entry_clear(entry.get());
    archive_entry* ae = entry.get();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_perm(ae, e.mode & 07777);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    archive_entry_set_mtime(ae, mtime, 0);
    Fd fd;
    std::uint64_t size = 0;
    switch (e.type) {
    case LayerEntry::Type::dir: archive_entry_set_filetype(ae, AE_IFDIR); break;
    case LayerEntry::Type::symlink:
      archive_entry_set_filetype(ae, AE_IFLNK);
      archive_entry_set_symlink(ae, e.link_target.c_str());
      break;
    case LayerEntry::Type::hardlink:
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_hardlink(ae, e.link_target.c_str());
      archive_entry_set_size(ae, 0);
      break;
    case LayerEntry::Type::file:
      archive_entry_set_filetype(ae, AE_IFREG);
      if (e.source.empty()) {
        size = e.content.size();
      } else {
        fd.fd = ::open(e.source.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st {};
        if (fd.fd < 0 || ::fstat(fd.fd, &st) != 0) throw_errno(ErrorKind::build, e.source.string());
        if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::build, e.source.string() + ": not a regular file");
        size = static_cast<std::uint64_t>(st.st_size);
        ::posix_fadvise(fd.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
      }
      archive_entry_set_size(ae, static_cast<la_int64_t>(size));
      break;
    }
    tar.header(ae, e.path);
    if (e.type != LayerEntry::Type::file) continue;
    Sha256 sha;
    if (e.source.empty()) {
      tar.data(e.content.data(), e.content.size(), e.path);
      if (file_digests) sha.update(e.content);
    } else {
      std::uint64_t done = 0;
      for (;;) {
        ssize_t n = ::read(fd.fd, buffer.data(), buffer.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          throw_errno(ErrorKind::build, "reading " + e.source.string());
        }
        if (n == 0) break;
        done += static_cast<std::uint64_t>(n);
        if (done > size) break;
        tar.data(buffer.data(), static_cast<std::size_t>(n), e.path);
        if (file_digests) sha.update(buffer.data(), static_cast<std::size_t>(n));
      }
      if (done != size) throw Error(ErrorKind::build, e.source.string() + ": file changed size while being archived");
    }
    if (file_digests) (*file_digests)[e.path] = sha.finish_hex();
  }
  tar.close();
  out.finish();
}

} // namespace echo::oci
