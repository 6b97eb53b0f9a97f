#pragma once
// OCI 1.1 referrers (distribution-spec v1.1): the referrers tag schema used when a registry has no
// referrers API (no OCI-Subject header on a manifest PUT with a subject), e.g. docker-registry 2.8.
#include "echo/oci/layout.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace echo::registry {

inline constexpr const char* k_artifact_intoto = "application/vnd.in-toto+json";
inline constexpr const char* k_artifact_spdx = "application/spdx+json";
inline constexpr const char* k_artifact_cyclonedx = "application/vnd.cyclonedx+json";

/// Tag of the referrers index for subject "sha256:<hex>": "sha256-<hex>". Throws Error(usage) for another digest form.
std::string referrers_tag(std::string_view subject_digest);

/// Result of merge_referrers_index().
struct MergedIndex {
  std::string bytes;  ///< the image index to PUT (schemaVersion 2, mediaType index, manifests[])
  std::size_t added = 0; ///< descriptors appended (0: the existing index already listed them all)
};

/// Adds `referrers` (mediaType, digest, size, artifactType, annotations) to the referrers index `existing`
/// (its bytes; empty = no index yet). Entries already there are kept as they are, in their order; a referrer
/// whose digest is already listed is not added again. Throws Error(registry) "<what>: ..." when `existing`
/// is not an image index.
MergedIndex merge_referrers_index(std::string_view existing, const std::vector<oci::Descriptor>& referrers,
                                  std::string_view what);

/// The manifests[] of a referrers index (from the referrers API or the tag schema), with artifactType and
/// annotations. Throws Error(registry) "<what>: ..." on bad JSON or a bad descriptor.
std::vector<oci::Descriptor> parse_referrers_index(std::string_view bytes, std::string_view what);

/// The referrer descriptor of an artifact manifest: mediaType, digest and size of the manifest bytes,
/// artifactType (or config.mediaType when absent) and the manifest's annotations. `subject` receives
/// subject.digest ("" when the manifest has no subject). Throws Error(registry) "<what>: ..." on bad JSON.
oci::Descriptor referrer_descriptor(std::string_view manifest_bytes, std::string& subject, std::string_view what);

} // namespace echo::registry
