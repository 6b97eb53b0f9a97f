#pragma once
#include "echo/attest/signer.hpp"
#include "echo/oci/layout.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace echo::attest {

inline constexpr const char* k_media_simplesigning = "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr const char* k_media_dsse = "application/vnd.dsse.envelope.v1+json";
inline constexpr const char* k_media_spdx = "text/spdx+json";
inline constexpr const char* k_media_cyclonedx = "application/vnd.cyclonedx+json";
inline constexpr const char* k_annotation_signature = "dev.cosignproject.cosign/signature";
inline constexpr const char* k_annotation_predicate_type = "predicateType";
inline constexpr const char* k_predicate_spdx = "https://spdx.dev/Document";
inline constexpr const char* k_predicate_cyclonedx = "https://cyclonedx.org/bom";
/// OCI 1.1 referrer artifact types (and the SBOM referrer's layer media types).
inline constexpr const char* k_artifact_intoto = "application/vnd.in-toto+json";
inline constexpr const char* k_artifact_spdx = "application/spdx+json";
inline constexpr const char* k_artifact_cyclonedx = "application/vnd.cyclonedx+json";
inline constexpr const char* k_annotation_created = "org.opencontainers.image.created";

/// What attach() signs and stores next to an image.
struct Attachments {
  std::string provenance_statement;             ///< in-toto statement JSON (make_provenance_statement)
  std::string sbom;                             ///< SPDX or CycloneDX JSON (empty: no .sbom)
  std::string sbom_media_type = k_media_spdx;   ///< or k_media_cyclonedx
};

/// cosign's tag for an attachment of image digest "sha256:<hex>": "sha256-<hex>.<suffix>" (suffix sig/att/sbom).
std::string attachment_tag(std::string_view image_digest, std::string_view suffix);

/// cosign simple-signing payload for `repository` (docker-reference) and the image digest, exact bytes.
std::string simple_signing_payload(std::string_view repository, std::string_view image_digest);

/// in-toto statement with the SBOM document as predicate (predicateType k_predicate_spdx or k_predicate_cyclonedx)
/// and the subject of the provenance statement. Throws Error(internal) if either is not JSON.
std::string sbom_statement(std::string_view provenance_statement, std::string_view sbom, std::string_view media_type);

/// Signs and writes .sig/.att/.sbom into the layout for the image manifest `image` (and the side files
/// <layout>.intoto.jsonl and <layout>.spdx.json / <layout>.cdx.json), replacing earlier ones, then saves
/// index.json. The .att manifest holds the provenance envelope and, with an SBOM, a second envelope carrying
/// sbom_statement(); with no SBOM given, one attached earlier is kept and signed again. `repository` is the
/// docker-reference signed into the .sig payload (must match the name the image is pulled by, e.g.
/// "registry.example/app"). It also writes OCI 1.1 referrers of the image as unnamed index.json entries
/// (descriptor artifactType set): the provenance DSSE envelope (artifactType application/vnd.in-toto+json,
/// layer application/vnd.dsse.envelope.v1+json) and, with an SBOM, the document (application/spdx+json or
/// application/vnd.cyclonedx+json); config = the empty descriptor, subject = `image`, annotation
/// org.opencontainers.image.created = the image's created time (manifest annotation, else config.created).
/// Referrers of `image` from an earlier attach() are removed from index.json (and `layout` reopened). Throws Error(signature) if the statement's subject is not `image`, or what the
/// signer / layout throw.
void attach(oci::Layout& layout, const oci::Descriptor& image, std::string_view repository, Signer& signer,
            const Attachments& a);

/// Writes an OCI 1.1 artifact manifest (config = empty descriptor, one layer, subject = `subject`, annotation
/// created when not empty) into the layout as an unnamed index.json entry with artifactType. Exposed for tests.
oci::Descriptor put_referrer_manifest(oci::Layout& layout, const oci::Descriptor& subject, std::string_view artifact_type,
                                      const oci::Descriptor& layer, std::string_view created);

/// Writes an image-style manifest (cosign's config blob: empty platform, one history entry and diff_id per
/// layer) with the given layers into the layout and tags it `tag`. Used by attach(); exposed for tests.
oci::Descriptor put_attachment_manifest(oci::Layout& layout, const std::vector<oci::Descriptor>& layers,
                                        std::string_view tag);

} // namespace echo::attest
