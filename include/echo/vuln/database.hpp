#pragma once
// An offline vulnerability database in the OSV format: a directory of <ID>.json files (searched recursively)
// or a zip of them, as osv.dev exports per ecosystem (gs://osv-vulnerabilities/<ECOSYSTEM>/all.zip).
#include "echo/vuln/osv.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace echo::vuln {

struct DatabaseStats {
  std::uint64_t files = 0;   ///< JSON files (zip entries) looked at
  std::uint64_t bytes = 0;   ///< their total size
  std::uint64_t parsed = 0;  ///< records parsed (the rest could not name any of the packages asked for)
};

/// Reads the records of the database at `path` that could affect a package with one of `names` (the package
/// names and purl names asked for). A cheap byte search skips files that contain none of the names as a JSON
/// string or purl segment; files that use \u escapes are always parsed. Directory files are read by
/// `threads` threads. Throws Error(vulndb) naming the file (and zip entry) for a missing path, a corrupt zip,
/// a file that is not JSON, or a record parse_osv refuses.
std::vector<OsvRecord> read_records(const std::filesystem::path& path, const std::vector<std::string>& names,
                                    DatabaseStats& stats, unsigned threads = 0);

/// sha256:<hex> identity of the database: of the zip file, or of the sorted list "relative-path sha256" of a
/// directory's JSON files. Recorded in provenance next to the scan result.
std::string database_digest(const std::filesystem::path& path);

} // namespace echo::vuln
