#pragma once
#include "echo/oci/layout.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace echo::oci {

/// Layer compression. gzip: a multi-member gzip stream (1 MiB tar blocks, libdeflate level 5, compressed in
/// parallel, output independent of the thread count). zstd: concatenated zstd frames (4 MiB blocks, level 3).
enum class Compression { gzip, zstd };

/// One layer blob as written into a layout.
struct LayerInfo {
  std::string digest;      ///< "sha256:<hex>" of the compressed blob
  std::string diff_id;     ///< "sha256:<hex>" of the uncompressed tar
  std::string media_type;  ///< k_media_layer_gzip or k_media_layer_zstd
  std::uint64_t size = 0;  ///< compressed size in bytes
  std::string created_by;  ///< history text; set by assemble(), empty from write_layer()
};

/// One entry of a layer. Paths are relative ("usr/bin/hello"); a leading "/" or "./" is accepted and removed.
struct LayerEntry {
  std::string path;
  enum class Type { dir, file, symlink, hardlink } type = Type::file;
  unsigned mode = 0644;  ///< permission bits incl. setuid/setgid/sticky (07777)
  unsigned uid = 0, gid = 0;
  std::filesystem::path source;  ///< regular file content comes from this file...
  std::string content;           ///< ...or from these bytes when source is empty
  std::string link_target;       ///< symlink target, or hardlink target path (relative, must be a file entry)
};

/// Writes a deterministic layer blob into `layout`. Entries are normalized, sorted bytewise by path and every
/// missing parent directory is added (0755, uid/gid 0). Every header has mtime = `mtime`, no uname/gname, no
/// atime/ctime, devmajor/minor 0; PAX records only when ustar cannot hold a value. The tar stream and the
/// compressed stream are hashed while they are produced (one pass). threads <= 0 means hardware_concurrency.
/// If `file_digests` is given, it receives the sha256 hex of each regular file by normalized path.
/// Throws Error(internal) on duplicate paths, a hardlink to a missing/later file, or a parent that is not a
/// directory; Error(build) naming the source file when it cannot be read.
LayerInfo write_layer(std::vector<LayerEntry> entries, Compression c, std::int64_t mtime, int threads,
                      Layout& layout, std::map<std::string, std::string>* file_digests = nullptr);

} // namespace echo::oci
