#pragma once
#include <filesystem>
#include <string_view>

namespace echo::source {

struct UnpackOptions {
  int strip_components = 0; ///< leading path components dropped from every entry (like tar --strip-components)
};

/// Extracts (or copies, if not an archive by name) `file` into `dest_dir` (created; may already exist and be
/// non-empty: entries are merged in, existing files overwritten only if regular files).
/// Whether `file` is an archive, and the name a non-archive is copied under, come from the last path component
/// of `display_name` (the URL or recipe-relative name; cache files are named by digest), or of `file` when
/// `display_name` is empty. Extraction goes to a staging dir beside `dest_dir` and is moved in only when the
/// whole archive passed: on any error `dest_dir` is left as it was.
/// Rejected (Error(ErrorKind::source) naming display_name and the entry): absolute paths, `..`, symlinks or hard
/// links pointing outside the tree, entries written through a symlink, device nodes, fifos, sockets, setuid and
/// setgid bits. File modes and mtimes are kept (autotools trees rely on the relative times of generated files);
/// directories always get u+rwx.
void unpack(const std::filesystem::path& file, const std::filesystem::path& dest_dir, const UnpackOptions& opts,
            std::string_view display_name);

/// True for names ending in .tar, .tar.<anything>, .tgz, .tbz2, .txz or .zip (case-insensitive).
bool is_archive_name(std::string_view file_name);

} // namespace echo::source
