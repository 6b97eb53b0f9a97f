#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace echo {

/// Whole file as bytes; throws Error(kind) naming the path.
std::string read_file(const std::filesystem::path& path);

/// Writes bytes to `path` atomically: a temporary name in the same directory, fsync, then rename.
/// Nothing half-written is ever visible under `path`. Throws Error(internal) naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, mode_t mode = 0644);

/// A fresh private directory (mkdtemp under `parent`, default $TMPDIR or /tmp), removed recursively on destruction.
class TempDir {
public:
  explicit TempDir(const std::filesystem::path& parent = {}, std::string_view prefix = "echo-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return m_path; }
  /// Keep the directory: the destructor will not remove it.
  void release() noexcept { m_path.clear(); }

private:
  std::filesystem::path m_path;
};

/// Removes a tree that may contain read-only directories (chmod u+w as it goes). No error if absent.
void remove_tree(const std::filesystem::path& path);

/// Deterministic SHA-256 over a directory tree: sorted relative paths, type, mode bits (0777 and
/// exec), file contents and symlink targets. Independent of mtimes, owners and the tree's location.
/// With a digest cache set (set_tree_digest_cache), a file whose lstat identity (device, inode, size, mtime and
/// ctime in nanoseconds) is unchanged since it was last hashed is not read again.
std::string hash_tree(const std::filesystem::path& root);

/// Directory for hash_tree's per-tree file digest caches (one file per tree, named by the sha256 of the tree's
/// absolute path); empty (the default) turns the cache off. Written atomically; an unreadable or corrupt cache
/// file is ignored and rewritten. Files changed in the last 2 seconds are not cached (a write within the same
/// timestamp tick would otherwise go unseen, as with git's racily clean entries).
void set_tree_digest_cache(const std::filesystem::path& dir);

} // namespace echo
