#pragma once
#include "echo/registry/reference.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::registry {

/// A user name and password (or identity token). Never logged, never put in error messages.
struct Credentials {
  std::string username, password;
};

/// How push/pull talk to registries. Build with options_from_environment(), then apply CLI flags.
struct ClientOptions {
  std::vector<std::string> insecure_registries; ///< host:port allowed over plain http (exact match with Reference::registry)
  std::optional<Credentials> credentials;       ///< for every registry; else looked up in auth_files per registry
  std::vector<std::filesystem::path> auth_files; ///< docker config.json-style files, first match wins
  int max_attempts = 4;                          ///< per request, on connection errors, 5xx and 429
  std::chrono::milliseconds first_backoff{200};  ///< doubled after each failed attempt
  /// Cap on a server's Retry-After (delta-seconds or HTTP-date, on 429/5xx): the wait before a retry is
  /// max(backoff, min(Retry-After, max_retry_after)); a longer request waits the cap and logs a warning.
  std::chrono::milliseconds max_retry_after{60000};
  std::uint64_t chunk_size = 16ull << 20;        ///< blobs larger than this are uploaded in PATCH chunks of this size
  std::string mount_from;                        ///< repository (same registry) to try cross-repo mounts from
  std::function<void(std::string_view)> progress; ///< one line per blob/manifest pushed or pulled (optional)
};

/// An OCI 1.1 referrer (artifact manifest whose subject is the pushed image) that push() sent.
struct PushedReferrer {
  std::string digest;        ///< "sha256:<hex>" of the referrer manifest (PUT by digest)
  std::string artifact_type; ///< e.g. "application/vnd.in-toto+json"
  bool oci_subject = false;  ///< the registry answered with OCI-Subject (referrers API; no tag written)
};

/// Outcome of push().
struct PushResult {
  std::string digest;                   ///< "sha256:<hex>" of the pushed image manifest (or index)
  std::vector<std::string> tags;        ///< tags now pointing at digest (REF's tag first, then extra tags)
  std::vector<std::string> attachments; ///< cosign tags pushed after the image ("sha256-<hex>.sig", ...)
  std::vector<PushedReferrer> referrers; ///< referrers of the image, in layout order
  std::string referrers_tag; ///< "sha256-<hex>" when the tag schema index was written/checked, else ""
  int uploaded = 0, skipped = 0, mounted = 0; ///< blobs (config + layers, image and attachments)
};

/// Pushes the image in the OCI layout `layout` to ref (+ extra tags), then its cosign attachments, then its
/// OCI 1.1 referrers (unnamed index.json entries with an artifactType whose manifest's subject is the image):
/// each is PUT by digest; when the registry's answer lacks an OCI-Subject header, the referrers tag schema
/// applies: the index at tag sha256-<hex> is fetched (404: empty), the referrers not yet listed are added
/// and it is PUT back (not rewritten when nothing is new).
/// Image choice: the index.json entry whose ref.name is ref.tag, else the only non-attachment entry; else
/// Error(usage) listing the ref names. Every blob is checked against its digest before anything is uploaded
/// (Error(verify) naming the digest). Blobs go before manifests, the image before its attachments.
/// Throws Error(usage) for bad arguments, Error(registry) naming the blob/manifest, HTTP status and the
/// registry's error message.
PushResult push(const std::filesystem::path& layout, const Reference& ref, const std::vector<std::string>& extra_tags,
                const ClientOptions& opts);

/// Pulls ref (and the cosign tags sha256-<hex>.sig/.att/.sbom of what it pulled, when they exist, and the
/// OCI 1.1 referrers of the image: GET /v2/<name>/referrers/<digest>, on anything but 200 the tag-schema
/// index sha256-<hex>; each referrer manifest and its blobs are stored as an unnamed index.json entry with
/// its artifactType) into an
/// OCI layout at dir (created if needed). For an index, pulls its linux/amd64 manifest and keeps the index
/// blob and an unnamed index.json entry for it; the image manifest gets ref.name = ref.tag (none when pulled
/// by digest only). Verifies every blob digest. Returns the image manifest digest.
/// Throws Error(registry) or Error(verify) (digest mismatch).
std::string pull(const Reference& ref, const std::filesystem::path& dir, const ClientOptions& opts);

/// Options from the environment: ECHO_INSECURE_REGISTRIES (comma-separated host:port),
/// ECHO_REGISTRY_USERNAME + ECHO_REGISTRY_PASSWORD (credentials), auth files $REGISTRY_AUTH_FILE then
/// $DOCKER_CONFIG/config.json or ~/.docker/config.json, ECHO_REGISTRY_MAX_RETRY_AFTER (whole seconds, the
/// Retry-After cap). Throws Error(usage) naming the variable when ECHO_REGISTRY_MAX_RETRY_AFTER is not a number.
ClientOptions options_from_environment();

/// True for a cosign attachment ref name: sha256-<64 hex>.sig|.att|.sbom.
bool is_attachment_name(std::string_view ref_name) noexcept;

} // namespace echo::registry
