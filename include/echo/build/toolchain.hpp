#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace echo::build {

/// A binary of the toolchain, by digest (for the store key and builderDependencies in the provenance).
struct ToolchainComponent {
  std::string name;    ///< "cc", "ld", "libc", "make", "sh"
  std::string path;    ///< resolved path inside the toolchain root
  std::string sha256;
  std::string version; ///< first line of --version where known (informational)
};

/// What the toolchain root is: the host's (default) or a directory, with a digest over its components.
struct Toolchain {
  std::string kind;    ///< "host" or "directory"
  std::filesystem::path root;
  std::string digest;  ///< sha256 over the components' names and digests
  std::vector<ToolchainComponent> components;
};

/// Identifies the toolchain under root. Digests are cached in cache_file keyed by path, size, mtime and inode,
/// so a no-op rebuild does not hash the compiler again.
Toolchain identify_toolchain(const std::filesystem::path& root, const std::filesystem::path& cache_file);

} // namespace echo::build
