#pragma once
// Private to echo_oci: the stages of assemble() (scan + harden package trees, generated files, JSON).
#include "echo/oci/image.hpp"
#include "echo/oci/layer_writer.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace echo::oci {

/// One entry of a package tree after hardening. entry.path is relative; entry.source is the file to archive
/// (a stripped copy in the work dir, or the original). `original` is the file in the package tree.
struct TreeEntry {
  LayerEntry entry;
  std::filesystem::path original;
  std::uint64_t size = 0;  ///< regular files: size of what gets archived
};

/// The hardened content of one package.
struct ScannedPackage {
  const PackageTree* tree = nullptr;
  std::vector<TreeEntry> entries;  ///< sorted by path
  std::uint64_t bytes = 0;
};

/// Walks a package tree (lstat, never following symlinks), drops what `h` says, refuses setuid/setgid files not
/// in h.allowed_setuid (Error(build) naming file and package), turns extra names of one inode into hard links,
/// and strips ELF executables/shared libraries into copies in `work_dir` (an empty directory
/// of this package; threads workers).
ScannedPackage scan_package(const PackageTree& tree, const Hardening& h, const std::filesystem::path& work_dir,
                            int threads, ImageReport& report);

/// Files, directories and symlinks the image itself provides: /etc/passwd, /etc/group, /etc/os-release,
/// /etc/nsswitch.conf (if asked), declared paths plus defaults (/tmp 1777, /root 0700, users' homes).
std::vector<LayerEntry> generated_entries(const ImageSpec& spec);

/// RFC 3339 UTC ("2023-11-14T22:13:20Z").
std::string rfc3339(std::int64_t epoch);

/// Config JSON (fixed key order, no whitespace).
std::string config_json(const ImageSpec& spec, const std::vector<LayerInfo>& layers);
/// Manifest JSON (fixed key order, no whitespace).
std::string manifest_json(const ImageSpec& spec, const Descriptor& config, const std::vector<LayerInfo>& layers,
                          const std::vector<PackageTree>& packages);

} // namespace echo::oci
