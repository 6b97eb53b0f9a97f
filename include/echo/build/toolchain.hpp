#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace echo::build {

/// A binary of the toolchain, by digest (for the store key and builderDependencies in the provenance).
struct ToolchainComponent {
  std::string name;    ///< "cc", "ld", "libc", "make", "sh"
  std::string path;    ///< resolved path inside the toolchain root
  std::string sha256;
  std::string version; ///< first line of --version where known (informational)
};

/// What the toolchain root is: the host's (default), a directory, or an OCI image unpacked into the cache,
/// with a digest (over the components for a directory; the image manifest's digest for an image).
struct Toolchain {
  std::string kind;    ///< "host", "directory" or "oci-image"
  std::filesystem::path root; ///< the directory the sandbox binds (for an image: its unpacked tree)
  std::string digest;  ///< hex: sha256 over the components' names and digests, or the image manifest's digest
  std::string image;   ///< for "oci-image": "oci:LAYOUT_DIR@sha256:<manifest hex>"; empty otherwise
  std::vector<ToolchainComponent> components;
};

/// A toolchain root spec made usable: a directory as is, or `oci:LAYOUT_DIR[:TAG]` (an OCI image layout
/// on disk) with its image's layers unpacked once, atomically, into cache_dir/toolchains/<manifest hex>/.
struct ToolchainRoot {
  std::filesystem::path dir;   ///< absolute directory to use as the root
  std::string image;           ///< "oci:LAYOUT_DIR@sha256:<hex>" for an image, else empty
  std::string manifest_hex;    ///< the image manifest's sha256 hex, else empty
};

/// True when spec names an OCI image layout ("oci:...").
bool is_oci_toolchain_spec(std::string_view spec);
/// The spec with its directory made absolute against base (a directory, or the layout dir of an oci: spec).
std::string absolute_toolchain_spec(std::string_view spec, const std::filesystem::path& base);
/// Resolves a spec (see absolute_toolchain_spec; relative parts against the current directory). An image is
/// found by TAG (annotation org.opencontainers.image.ref.name) or, without a tag, as the layout's only manifest
/// (an index is followed to its linux/amd64 manifest); every blob is checked against its digest. Layers
/// (tar, gzip or zstd) are applied in order by source::unpack in UnpackMode::oci_layer (whiteouts, opaque
/// directories, paths resolved inside the tree; device nodes skipped), into a staging directory renamed into
/// place only when every layer applied. An unpacked image is reused (by manifest digest) without reading it again.
/// Errors from a layer read "toolchain root SPEC: layer sha256:...: ..." (verify for a hostile entry).
/// Throws Error(usage) naming the layout for a missing layout, tag or manifest; Error(verify) for a bad blob.
ToolchainRoot resolve_toolchain_root(std::string_view spec, const std::filesystem::path& cache_dir);
/// identify_toolchain for a resolved root: for an image, kind "oci-image", digest = manifest hex, image set.
Toolchain identify_toolchain(const ToolchainRoot& root, const std::filesystem::path& cache_file);

/// Identifies the toolchain under root. Digests are cached in cache_file keyed by path, size, mtime and inode,
/// so a no-op rebuild does not hash the compiler again.
Toolchain identify_toolchain(const std::filesystem::path& root, const std::filesystem::path& cache_file);

} // namespace echo::build
