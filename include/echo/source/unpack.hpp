#pragma once
#include <filesystem>
#include <string_view>

namespace echo::source {

/// How unpack() reads `file` and what it does with dest_dir.
enum class UnpackMode {
  source_archive, ///< a source archive or plain file, extracted into a staging dir and merged in (the default)
  oci_layer,      ///< one OCI image layer applied in place onto the tree earlier layers left in dest_dir
};

struct UnpackOptions {
  int strip_components = 0; ///< leading path components dropped from every entry (like tar --strip-components)
  UnpackMode mode = UnpackMode::source_archive;
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
///
/// With mode oci_layer, `file` is one image layer (tar, gzip or zstd, whatever its name; strip_components must be
/// 0) applied in place onto dest_dir (created if missing) as a container runtime applies it: entry paths are
/// taken relative to dest_dir (a leading '/' or './' is dropped) and their parent directories are resolved
/// inside dest_dir as in a chroot (symlinks followed, absolute targets start again at dest_dir, '..' stops
/// there), so nothing outside dest_dir is ever written or removed; symlink targets are kept as they are.
/// `.wh.NAME` removes NAME (from what earlier layers unpacked), `.wh..wh..opq` removes everything under its
/// directory that this layer has not written. An existing entry is replaced unless both are directories.
/// Device nodes, fifos and sockets are skipped; setuid, setgid and sticky bits dropped.
/// Errors read "<display_name>: ..." (display_name e.g. "layer sha256:..."): Error(verify) for an entry that
/// breaks the rules ("entry 'a/../b' goes outside the root", "entry 'x/.wh..': invalid whiteout name '.wh..'",
/// a hard link to the root or to a file that is not in the tree), Error(build) for a corrupt or unreadable
/// layer. The caller stages the whole image: after an error dest_dir holds a partly applied layer.
void unpack(const std::filesystem::path& file, const std::filesystem::path& dest_dir, const UnpackOptions& opts,
            std::string_view display_name);

/// True for names ending in .tar, .tar.<anything>, .tgz, .tbz2, .txz or .zip (case-insensitive).
bool is_archive_name(std::string_view file_name);

} // namespace echo::source
