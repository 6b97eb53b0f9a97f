#pragma once
// Private to echo_oci: deterministic tar writing with libarchive.
#include "byte_sink.hpp"
#include "echo/oci/layer_writer.hpp"

#include <map>
#include <string>
#include <vector>

namespace echo::oci {

/// Normalizes paths (no leading "/" or "./", no "." / ".." / empty components), sorts bytewise, adds missing
/// parent directories (0755 root) and checks duplicates, parents and hardlink targets. Throws Error(internal).
std::vector<LayerEntry> normalize_entries(std::vector<LayerEntry> entries);

/// Normalizes one path as normalize_entries() does; throws Error(internal) naming it when invalid.
std::string normalize_path(std::string_view path);

/// Writes already-normalized entries as a restricted-pax tar stream to `out` (then calls out.finish()).
/// If file_digests is given, stores sha256 hex of each regular file by path.
void write_tar(const std::vector<LayerEntry>& entries, std::int64_t mtime, ByteSink& out,
               std::map<std::string, std::string>* file_digests);

} // namespace echo::oci
