#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::oci {

inline constexpr const char* k_media_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* k_media_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* k_media_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* k_media_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* k_media_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* k_media_empty = "application/vnd.oci.empty.v1+json";
inline constexpr const char* k_annotation_ref_name = "org.opencontainers.image.ref.name";

/// An OCI content descriptor (image-spec descriptor.md).
struct Descriptor {
  std::string media_type;
  std::string digest; ///< "sha256:<hex>"
  std::uint64_t size = 0;
  std::string artifact_type;                       ///< optional
  std::map<std::string, std::string> annotations;  ///< optional
  std::optional<std::string> data_base64;          ///< optional embedded data
};

/// An OCI image layout directory: oci-layout, index.json, blobs/sha256/<hex>.
/// Blobs are written atomically (temp + rename) and verified against their digest when read.
class Layout {
public:
  /// Opens an existing layout. Throws Error(internal) naming the file when oci-layout/index.json is missing or bad.
  static Layout open(const std::filesystem::path& dir);
  /// Opens or creates an empty layout at dir.
  static Layout create(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const noexcept { return m_dir; }
  std::filesystem::path blob_path(std::string_view digest) const;
  bool has_blob(std::string_view digest) const;

  /// Writes bytes as a blob; returns its descriptor (media_type filled in). Idempotent.
  Descriptor write_blob(std::string_view bytes, std::string_view media_type);
  /// Moves an already-written file (same filesystem) in as blob `digest` after checking its digest.
  void adopt_blob(const std::filesystem::path& file, std::string_view digest);
  /// Reads a blob and checks its sha256: throws Error(verify) "blob sha256:..: digest mismatch (got sha256:..)".
  std::string read_blob(std::string_view digest) const;

  /// index.json manifests, in file order.
  const std::vector<Descriptor>& manifests() const noexcept { return m_manifests; }
  /// Adds (or replaces, for the same ref name) a manifest descriptor with annotation ref.name = ref_name
  /// (empty ref_name: no annotation, replaces an entry with the same digest). Call save() to write index.json.
  void put_manifest(Descriptor desc, std::string_view ref_name);
  /// The descriptor whose ref.name is `ref_name`, or nullopt.
  std::optional<Descriptor> find_ref(std::string_view ref_name) const;
  /// Writes index.json atomically.
  void save() const;

private:
  std::filesystem::path m_dir;
  std::vector<Descriptor> m_manifests;
};

/// JSON of a descriptor with keys in spec order (mediaType, artifactType, digest, size, data, annotations).
std::string descriptor_json(const Descriptor& d);
/// Parses a descriptor object from JSON text; throws Error(internal) on missing fields.
Descriptor parse_descriptor(std::string_view json_text);

} // namespace echo::oci
