#include "echo/source/unpack.hpp"
#include "echo/util/c_handle.hpp"

#include "echo/source/fetcher.hpp"
#include "tree_guard.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace fs = std::filesystem;

namespace echo::source {
namespace {

using ArchiveReadPtr = CHandle<archive, archive_read_free>;
using ArchiveWritePtr = CHandle<archive, archive_write_free>;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Everything unpack() throws starts with the archive's display name; entry problems add the entry.
class Reporter {
public:
  explicit Reporter(std::string_view display) : m_display(display) {}
  [[noreturn]] void fail(std::string_view why) const {
    throw Error(ErrorKind::source, "cannot unpack " + m_display + ": " + std::string(why));
  }
  [[noreturn]] void fail_entry(std::string_view entry, std::string_view why) const {
    fail("entry '" + std::string(entry) + "': " + std::string(why));
  }

private:
  std::string m_display;
};

const char* special_kind(mode_t type) {
  switch (type) {
  case AE_IFCHR: return "character device";
  case AE_IFBLK: return "block device";
  case AE_IFIFO: return "fifo";
  case AE_IFSOCK: return "socket";
  default: return nullptr;
  }
}

// Checks one entry against the rules and rewrites its (hard link) path to an absolute path under root.
// Returns false when strip-components removes the entry entirely.
bool admit_entry(archive_entry* e, const fs::path& root, int strip, const Reporter& rep) {
  const char* raw_c = archive_entry_pathname(e);
  if (!raw_c) rep.fail("an entry has a name that cannot be decoded");
  const std::string raw = raw_c;
  std::vector<std::string> comps;
  try {
    comps = detail::entry_components(raw);
  } catch (const Error& err) {
    rep.fail_entry(raw, err.what());
  }
  const mode_t type = archive_entry_filetype(e);
  const mode_t perm = archive_entry_perm(e);
  const char* hardlink = archive_entry_hardlink(e);
  if (!hardlink) {
    if (const char* kind = special_kind(type)) rep.fail_entry(raw, std::string(kind) + " not allowed");
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) rep.fail_entry(raw, "unsupported entry type");
  }
  if (perm & S_ISUID) rep.fail_entry(raw, "setuid bit not allowed");
  if (perm & S_ISGID) rep.fail_entry(raw, "setgid bit not allowed");

  if (comps.size() <= static_cast<size_t>(strip)) return false;
  comps.erase(comps.begin(), comps.begin() + strip);
  const std::string rel = detail::join(comps, comps.size());

  if (auto through = detail::symlink_in_parents(root, comps); !through.empty())
    rep.fail_entry(raw, "path goes through symlink '" + through + "'");

  if (hardlink) {
    std::vector<std::string> tcomps;
    try {
      tcomps = detail::entry_components(hardlink);
    } catch (const Error&) {
      rep.fail_entry(raw, "hard link target '" + std::string(hardlink) + "' points outside the tree");
    }
    if (tcomps.size() <= static_cast<size_t>(strip))
      rep.fail_entry(raw, "hard link target '" + std::string(hardlink) + "' is removed by strip-components");
    tcomps.erase(tcomps.begin(), tcomps.begin() + strip);
    const std::string trel = detail::join(tcomps, tcomps.size());
    struct stat st {};
    if (!detail::symlink_in_parents(root, tcomps).empty() || ::lstat((root / trel).c_str(), &st) != 0 ||
        !S_ISREG(st.st_mode))
      rep.fail_entry(raw, "hard link target '" + std::string(hardlink) + "' is not a file extracted before it");
    archive_entry_set_hardlink(e, (root / trel).c_str());
  } else if (type == AE_IFLNK) {
    const char* target = archive_entry_symlink(e);
    if (!target || !*target) rep.fail_entry(raw, "symlink without a target");
    if (!detail::symlink_stays_inside(root, comps, target))
      rep.fail_entry(raw, "symlink target '" + std::string(target) + "' points outside the tree");
  }
  archive_entry_set_pathname(e, (root / rel).c_str());
  // Directories stay writable for us (the build and cleanup need it); sticky bits are dropped.
  archive_entry_set_perm(e, type == AE_IFDIR ? ((perm & 0777) | 0700) : (perm & 0777));
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  return true;
}

void copy_data(archive* in, archive* out, const std::string& raw, const Reporter& rep) {
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(in, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return;
    if (r < ARCHIVE_WARN) rep.fail_entry(raw, archive_error_string(in));
    if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN) rep.fail_entry(raw, archive_error_string(out));
  }
}

void extract_into(const fs::path& file, const fs::path& root, int strip, const Reporter& rep) {
  ArchiveReadPtr in(archive_read_new());
  archive* a = in.get();
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_read_support_format_zip(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_lzma(a);
  archive_read_support_filter_lzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_compress(a);
  if (archive_read_open_filename(a, file.c_str(), 1 << 16) != ARCHIVE_OK) rep.fail(archive_error_string(a));

  ArchiveWritePtr out(archive_write_disk_new());
  // Our own checks run first (admit_entry); libarchive's secure flags are the second line of defence.
  // NOABSOLUTEPATHS cannot be set: admitted entries are rewritten to absolute paths under the staging root,
  // which has no symlink in its own path (canonical), so SECURE_SYMLINKS checks every component.
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) rep.fail(archive_error_string(a));
    const char* raw_c = archive_entry_pathname(e);
    const std::string raw = raw_c ? raw_c : "";
    if (!admit_entry(e, root, strip, rep)) {
      archive_read_data_skip(a);
      continue;
    }
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN) rep.fail_entry(raw, archive_error_string(out.get()));
    if (archive_entry_size(e) > 0) copy_data(a, out.get(), raw, rep);
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) rep.fail_entry(raw, archive_error_string(out.get()));
  }
  if (archive_write_close(out.get()) < ARCHIVE_WARN) rep.fail(archive_error_string(out.get()));
  if (auto bad = detail::find_escaping_symlink(root); !bad.empty())
    rep.fail_entry(bad, "symlink target '" + fs::read_symlink(root / bad).string() + "' points outside the tree");
}

mode_t lstat_type(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

// Merging the staging tree into an existing dest: first check every collision, then move, so a
// conflict leaves dest untouched. Directories merge; only regular files are replaced.
void check_merge(const fs::path& src, const fs::path& dst, const std::string& rel, const Reporter& rep) {
  for (const auto& de : fs::directory_iterator(src)) {
    std::string name = de.path().filename();
    std::string r = rel.empty() ? name : rel + "/" + name;
    mode_t s = lstat_type(de.path()), d = lstat_type(dst / name);
    if (d == 0) continue;
    if (s == S_IFDIR && d == S_IFDIR) check_merge(de.path(), dst / name, r, rep);
    else if (s == S_IFDIR || d != S_IFREG)
      rep.fail_entry(r, "would replace " + std::string(d == S_IFDIR ? "a directory" : d == S_IFLNK ? "a symlink" : "a non-regular file") +
                            " already in " + dst.string());
  }
}

void do_merge(const fs::path& src, const fs::path& dst) {
  for (const auto& de : fs::directory_iterator(src)) {
    fs::path target = dst / de.path().filename();
    if (lstat_type(de.path()) == S_IFDIR && lstat_type(target) == S_IFDIR) {
      do_merge(de.path(), target);
    } else if (::rename(de.path().c_str(), target.c_str()) != 0) {
      throw_errno(ErrorKind::source, "cannot move " + de.path().string() + " to " + target.string());
    }
  }
}

void copy_plain(const fs::path& file, const fs::path& dest_dir, const std::string& name, const Reporter& rep) {
  if (name.empty() || name == "." || name == "..") rep.fail("no file name to copy it under");
  std::error_code ec;
  fs::create_directories(dest_dir, ec);
  if (ec) rep.fail("cannot create " + dest_dir.string() + ": " + ec.message());
  fs::path target = dest_dir / name;
  if (mode_t d = lstat_type(target); d != 0 && d != S_IFREG)
    rep.fail_entry(name, "would replace a non-regular file already in " + dest_dir.string());
  TempDir staging(dest_dir, "." + name + ".copy-");
  fs::path tmp = staging.path() / name;
  fs::copy_file(file, tmp, ec);
  if (ec) rep.fail("cannot copy " + file.string() + ": " + ec.message());
  ::chmod(tmp.c_str(), 0644);
  if (::rename(tmp.c_str(), target.c_str()) != 0) throw_errno(ErrorKind::source, "cannot rename into " + target.string());
}

} // namespace

bool is_archive_name(std::string_view file_name) {
  std::string n = lower(file_name);
  for (const char* s : {".tar", ".tgz", ".tbz2", ".txz", ".zip"})
    if (ends_with(n, s) && n.size() > std::string_view(s).size()) return true;
  auto pos = n.find(".tar.");
  return pos != std::string::npos && pos > 0 && pos + 5 < n.size();
}

void unpack(const fs::path& file, const fs::path& dest_dir, const UnpackOptions& opts, std::string_view display_name) {
  std::string display(display_name.empty() ? file.string() : std::string(display_name));
  Reporter rep(display);
  std::string name = url_file_name(display_name.empty() ? file.string() : display_name);
  if (opts.strip_components < 0) rep.fail("strip-components must not be negative");
  if (!is_archive_name(name)) {
    copy_plain(file, dest_dir, name, rep);
    return;
  }

  fs::path dest = fs::absolute(dest_dir).lexically_normal();
  if (dest.filename().empty()) dest = dest.parent_path();
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) rep.fail("cannot create " + dest.parent_path().string() + ": " + ec.message());
  // Staging beside dest: same filesystem, so the final moves are renames.
  TempDir staging(dest.parent_path(), "." + dest.filename().string() + ".unpack-");
  const fs::path root = fs::canonical(staging.path());
  extract_into(file, root, opts.strip_components, rep);

  mode_t d = lstat_type(dest);
  if (d == 0) {
    ::chmod(root.c_str(), 0755);
    if (::rename(root.c_str(), dest.c_str()) != 0) throw_errno(ErrorKind::source, "cannot rename into " + dest.string());
    return; // staging's destructor finds nothing left to remove
  }
  if (d != S_IFDIR) rep.fail(dest.string() + " exists and is not a directory");
  check_merge(root, dest, "", rep);
  do_merge(root, dest);
}

} // namespace echo::source
