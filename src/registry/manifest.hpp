#pragma once
// What a manifest or index references, for OCI and Docker v2 media types.
#include "echo/oci/layout.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace echo::registry {

inline constexpr const char* k_docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* k_docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Accept header for manifest GETs: OCI and Docker v2, image and index.
inline constexpr const char* k_manifest_accept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

bool is_index_type(std::string_view media_type) noexcept;
bool is_manifest_type(std::string_view media_type) noexcept;

struct PlatformChild {
  oci::Descriptor desc;
  std::string os, architecture, variant;
};

struct ManifestInfo {
  std::string media_type;             ///< from the JSON, else the fallback given
  std::vector<oci::Descriptor> blobs;  ///< config then layers (image manifests)
  std::vector<PlatformChild> children; ///< manifests of an index
};

/// Parses manifest/index bytes. Throws Error(registry) "<what>: ..." on bad JSON, an unsupported media
/// type (schema 1) or a bad descriptor.
ManifestInfo parse_manifest(std::string_view bytes, std::string_view fallback_media_type, std::string_view what);

} // namespace echo::registry
