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
#include <deque>
#include <memory>
#include <optional>
#include <functional>
#include <set>

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

// Everything unpack() throws starts with a prefix naming the archive ("cannot unpack URL: " or "layer sha256:..: ");
// entry problems add the entry. `fail` is for entries that break the rules, `io` for what the library or the file
// system reports (the same kind for source archives; verify vs build for image layers).
class Reporter {
public:
  Reporter(std::string prefix, ErrorKind rule_kind, ErrorKind io_kind)
      : m_prefix(std::move(prefix)), m_rule(rule_kind), m_io(io_kind) {}
  [[noreturn]] void fail(std::string_view why) const { throw Error(m_rule, m_prefix + std::string(why)); }
  [[noreturn]] void fail_entry(std::string_view entry, std::string_view why) const {
    fail("entry '" + std::string(entry) + "': " + std::string(why));
  }
  [[noreturn]] void io(std::string_view why) const { throw Error(m_io, m_prefix + std::string(why)); }
  [[noreturn]] void io_entry(std::string_view entry, std::string_view why) const {
    io("entry '" + std::string(entry) + "': " + std::string(why));
  }

private:
  std::string m_prefix;
  ErrorKind m_rule, m_io;
};

std::string archive_error(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

const char* special_kind(mode_t type) {
  switch (type) {
  case AE_IFCHR: return "character device";
  case AE_IFBLK: return "block device";
  case AE_IFIFO: return "fifo";
  case AE_IFSOCK: return "socket";
  default: return nullptr;
  }
}

enum class Admit { write, skip };

// Source archives: checks one entry against the rules and rewrites its (hard link) path to an absolute path under
// root. Skips the entry when strip-components removes it entirely.
Admit admit_source_entry(archive_entry* e, const fs::path& root, int strip, const Reporter& rep) {
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

  if (comps.size() <= static_cast<size_t>(strip)) return Admit::skip;
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
  return Admit::write;
}

// --- OCI image layers -------------------------------------------------------------------------------------------

constexpr std::string_view k_whiteout_prefix = ".wh.";
constexpr std::string_view k_opaque_marker = ".wh..wh..opq";
constexpr int k_max_layer_symlink_hops = 255;

// A layer entry name (or hard link target) as components ("./usr/bin/x" and "/usr/bin/x" give {usr, bin, x});
// nullopt when a component is "..".
std::optional<std::vector<std::string>> layer_components(const std::string& raw) {
  std::vector<std::string> comps;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string::npos) end = raw.size();
    std::string c = raw.substr(start, end - start);
    if (c == "..") return std::nullopt;
    if (!c.empty() && c != ".") comps.push_back(c);
    start = end + 1;
  }
  return comps;
}

// Resolves the parents of comps inside root as a chroot would (an absolute symlink target starts again at root,
// ".." stops at root); the last component is kept as is. The result has no symlink among its parents.
std::vector<std::string> resolve_parents(const fs::path& root, const std::vector<std::string>& comps,
                                         const Reporter& rep) {
  std::vector<std::string> done;
  std::deque<std::string> todo(comps.begin(), comps.end() - 1);
  int hops = 0;
  while (!todo.empty()) {
    std::string c = todo.front();
    todo.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    fs::path p = root / detail::join(done, done.size()) / c;
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (++hops > k_max_layer_symlink_hops)
        rep.fail("too many symlinks resolving '" + detail::join(comps, comps.size()) + "'");
      std::error_code ec;
      fs::path target = fs::read_symlink(p, ec);
      if (ec) rep.io("cannot read symlink " + p.string() + ": " + ec.message());
      if (target.is_absolute()) done.clear();
      std::vector<std::string> parts;
      for (const auto& part : target.relative_path()) parts.push_back(part.string());
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    done.push_back(c);
  }
  done.push_back(comps.back());
  return done;
}

bool is_real_dir(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Whether the layer wrote something strictly below rel.
bool written_below(const std::set<std::string>& written, const std::string& rel) {
  const std::string prefix = rel + "/";
  auto it = written.lower_bound(prefix);
  return it != written.end() && it->compare(0, prefix.size(), prefix) == 0;
}

// An opaque directory: removes everything under dir that this layer has not written, recursing into what it wrote
// (a directory re-created by this layer hides the lower layers' contents too).
void clear_opaque(const fs::path& root, const fs::path& dir, const std::set<std::string>& written,
                  const Reporter& rep) {
  if (!is_real_dir(dir)) return;
  std::vector<fs::path> children;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) children.push_back(it->path());
  if (ec) rep.io("cannot list " + dir.string() + ": " + ec.message());
  for (const auto& child : children) {
    const std::string rel = child.lexically_relative(root).generic_string();
    if (!written.count(rel) && !written_below(written, rel)) remove_tree(child);
    else if (is_real_dir(child)) clear_opaque(root, child, written, rep);
  }
}

struct LayerState {
  fs::path root;
  std::set<std::string> written; ///< paths (relative to root, resolved) this layer wrote
};

// Image layers: applies whiteouts (and skips them), resolves the entry's path inside the tree, makes room for it
// and rewrites its (hard link) path to an absolute path under root.
//
// `flush` applies libarchive's deferred directory fixups (modes and times, which archive_write_close sets by path,
// following symlinks in all but the last component). It runs before anything is removed: otherwise a layer could
// write x/bin/ (mode 0777), replace x with a symlink to /usr, and the deferred chmod would land on /usr/bin.
Admit admit_layer_entry(archive_entry* e, LayerState& layer, const Reporter& rep, const std::function<void()>& flush) {
  const fs::path& root = layer.root;
  const char* raw_c = archive_entry_pathname(e);
  if (!raw_c) rep.io("an entry has a name that cannot be decoded");
  const std::string raw = raw_c;
  auto removing = [&](const std::function<void()>& remove) {
    flush();
    try {
      remove();
    } catch (const Error& err) {
      rep.io_entry(raw, err.what());
    }
  };
  const auto parsed = layer_components(raw);
  if (!parsed) rep.fail("entry '" + raw + "' goes outside the root");
  const std::vector<std::string>& comps = *parsed;
  const mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);
  if (comps.empty() || (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK))
    return Admit::skip; // the root itself, device nodes, fifos, sockets
  auto resolved = resolve_parents(root, comps, rep);
  const std::string name = resolved.back();
  resolved.pop_back();
  const fs::path parent = root / detail::join(resolved, resolved.size());
  if (name == k_opaque_marker) {
    removing([&] { clear_opaque(root, parent, layer.written, rep); });
    return Admit::skip;
  }
  if (name.rfind(k_whiteout_prefix, 0) == 0) {
    const std::string victim = name.substr(k_whiteout_prefix.size());
    if (victim.empty() || victim == "." || victim == "..")
      rep.fail_entry(raw, "invalid whiteout name '" + name + "'");
    removing([&] { remove_tree(parent / victim); });
    return Admit::skip;
  }
  resolved.push_back(name);
  const std::string rel = detail::join(resolved, resolved.size());
  const fs::path full = root / rel;
  struct stat st {};
  if (::lstat(full.c_str(), &st) == 0 && !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !hardlink))
    removing([&] { remove_tree(full); });
  if (hardlink) {
    const auto tcomps = layer_components(hardlink);
    if (!tcomps) rep.fail_entry(raw, "hard link target '" + std::string(hardlink) + "' goes outside the root");
    if (tcomps->empty()) rep.fail_entry(raw, "hard link to the root");
    const auto tresolved = resolve_parents(root, *tcomps, rep);
    const fs::path target = root / detail::join(tresolved, tresolved.size());
    if (::lstat(target.c_str(), &st) != 0 || S_ISDIR(st.st_mode))
      rep.fail_entry(raw, "hard link target '" + std::string(hardlink) + "' is not a file in the tree");
    archive_entry_set_hardlink(e, target.c_str());
  }
  archive_entry_set_pathname(e, full.c_str());
  layer.written.insert(rel);
  return Admit::write;
}

// --- the one extraction loop -----------------------------------------------------------------------------------

void copy_data(archive* in, archive* out, const std::string& raw, const Reporter& rep) {
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(in, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return;
    if (r < ARCHIVE_WARN) rep.io_entry(raw, archive_error(in));
    if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN) rep.io_entry(raw, archive_error(out));
  }
}

// Reads `file` entry by entry; `admit` checks each entry and rewrites its path under the root (or skips it).
template <class AdmitFn>
void extract(const fs::path& file, UnpackMode mode, const Reporter& rep, AdmitFn&& admit) {
  ArchiveReadPtr in(archive_read_new());
  archive* a = in.get();
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  if (mode == UnpackMode::source_archive) {
    archive_read_support_format_zip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_lzip(a);
    archive_read_support_filter_compress(a);
  }
  if (archive_read_open_filename(a, file.c_str(), 1 << 16) != ARCHIVE_OK) rep.io(archive_error(a));

  // Our own checks run first (admit); libarchive's secure flags are the second line of defence.
  // NOABSOLUTEPATHS cannot be set: admitted entries are rewritten to absolute paths under the root, which has no
  // symlink in its own path (canonical), so SECURE_SYMLINKS checks every component.
  auto new_writer = [] {
    ArchiveWritePtr w(archive_write_disk_new());
    archive_write_disk_set_options(w.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    return w;
  };
  ArchiveWritePtr out = new_writer();
  // Applies the directory modes and times libarchive deferred so far (see admit_layer_entry).
  const std::function<void()> flush = [&] {
    if (archive_write_close(out.get()) < ARCHIVE_WARN) rep.io(archive_error(out.get()));
    out = new_writer();
  };
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) rep.io(archive_error(a));
    const char* raw_c = archive_entry_pathname(e);
    const std::string raw = raw_c ? raw_c : "";
    const mode_t type = archive_entry_filetype(e);
    const mode_t perm = archive_entry_perm(e) & 0777; // no setuid, setgid (refused or dropped) or sticky bits
    if (admit(e, flush) == Admit::skip) {
      archive_read_data_skip(a);
      continue;
    }
    // Directories stay writable for us (the build and cleanup need it).
    archive_entry_set_perm(e, type == AE_IFDIR ? (perm | 0700) : perm);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN) rep.io_entry(raw, archive_error(out.get()));
    if (archive_entry_size(e) > 0) copy_data(a, out.get(), raw, rep);
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) rep.io_entry(raw, archive_error(out.get()));
  }
  if (archive_write_close(out.get()) < ARCHIVE_WARN) rep.io(archive_error(out.get()));
}

void extract_source(const fs::path& file, const fs::path& root, int strip, const Reporter& rep) {
  extract(file, UnpackMode::source_archive, rep,
          [&](archive_entry* e, const std::function<void()>&) { return admit_source_entry(e, root, strip, rep); });
  if (auto bad = detail::find_escaping_symlink(root); !bad.empty())
    rep.fail_entry(bad, "symlink target '" + fs::read_symlink(root / bad).string() + "' points outside the tree");
}

void apply_layer(const fs::path& file, const fs::path& dest_dir, const Reporter& rep) {
  std::error_code ec;
  fs::create_directories(dest_dir, ec);
  if (ec) rep.io("cannot create " + dest_dir.string() + ": " + ec.message());
  LayerState layer{fs::canonical(dest_dir, ec), {}};
  if (ec) rep.io("cannot resolve " + dest_dir.string() + ": " + ec.message());
  extract(file, UnpackMode::oci_layer, rep,
          [&](archive_entry* e, const std::function<void()>& flush) { return admit_layer_entry(e, layer, rep, flush); });
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
  if (opts.mode == UnpackMode::oci_layer) {
    Reporter rep(display + ": ", ErrorKind::verify, ErrorKind::build);
    if (opts.strip_components != 0) rep.io("strip-components does not apply to an image layer");
    apply_layer(file, dest_dir, rep);
    return;
  }
  Reporter rep("cannot unpack " + display + ": ", ErrorKind::source, ErrorKind::source);
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
  extract_source(file, root, opts.strip_components, rep);

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
