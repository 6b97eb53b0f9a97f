#pragma once
// Writes test archives with libarchive's write API (any entry type, any name, including hostile ones).
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace echo::test {

struct ArchiveEntry {
  enum class Type { file, dir, symlink, hardlink, chardev, fifo };
  std::string path;
  Type type = Type::file;
  std::string data;  ///< file content, or symlink / hard link target
  unsigned perm = 0644;
};

inline ArchiveEntry a_file(std::string p, std::string data, unsigned perm = 0644) {
  return {std::move(p), ArchiveEntry::Type::file, std::move(data), perm};
}
inline ArchiveEntry a_dir(std::string p, unsigned perm = 0755) { return {std::move(p), ArchiveEntry::Type::dir, {}, perm}; }
inline ArchiveEntry a_symlink(std::string p, std::string target) {
  return {std::move(p), ArchiveEntry::Type::symlink, std::move(target), 0777};
}
inline ArchiveEntry a_hardlink(std::string p, std::string target) {
  return {std::move(p), ArchiveEntry::Type::hardlink, std::move(target), 0644};
}

/// Format by file name: .zip, .tar, .tar.gz/.tgz, .tar.xz, .tar.bz2, .tar.zst.
inline void write_archive(const std::filesystem::path& out, const std::vector<ArchiveEntry>& entries) {
  archive* a = archive_write_new();
  std::string n = out.filename();
  auto ends = [&](const std::string& s) { return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0; };
  if (ends(".zip")) {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
    if (ends(".gz") || ends(".tgz")) archive_write_add_filter_gzip(a);
    else if (ends(".xz")) archive_write_add_filter_xz(a);
    else if (ends(".bz2")) archive_write_add_filter_bzip2(a);
    else if (ends(".zst")) archive_write_add_filter_zstd(a);
  }
  if (archive_write_open_filename(a, out.c_str()) != ARCHIVE_OK)
    throw std::runtime_error(std::string("archive_write_open_filename: ") + archive_error_string(a));
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_mtime(ae, 1700000000, 0);
    archive_entry_set_perm(ae, e.perm);
    switch (e.type) {
    case ArchiveEntry::Type::file:
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
      break;
    case ArchiveEntry::Type::dir: archive_entry_set_filetype(ae, AE_IFDIR); break;
    case ArchiveEntry::Type::symlink:
      archive_entry_set_filetype(ae, AE_IFLNK);
      archive_entry_set_symlink(ae, e.data.c_str());
      break;
    case ArchiveEntry::Type::hardlink:
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_hardlink(ae, e.data.c_str());
      archive_entry_set_size(ae, 0);
      break;
    case ArchiveEntry::Type::chardev:
      archive_entry_set_filetype(ae, AE_IFCHR);
      archive_entry_set_rdevmajor(ae, 1);
      archive_entry_set_rdevminor(ae, 3);
      break;
    case ArchiveEntry::Type::fifo: archive_entry_set_filetype(ae, AE_IFIFO); break;
    }
    if (archive_write_header(a, ae) != ARCHIVE_OK)
      throw std::runtime_error(std::string("archive_write_header: ") + archive_error_string(a));
    if (e.type == ArchiveEntry::Type::file && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
}

} // namespace echo::test
