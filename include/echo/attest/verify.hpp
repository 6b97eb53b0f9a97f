#pragma once
#include "echo/oci/layout.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace echo::attest {

/// What the consumer expects beyond a valid signature (all optional).
struct Expectations {
  std::string builder_id;               ///< runDetails.builder.id must equal this
  std::vector<std::string> sources;     ///< each must be a resolvedDependencies[].uri
  std::map<std::string, std::string> params; ///< externalParameters key (dotted path) -> value
  std::string ref;                      ///< image tag in the layout (empty: the only image in it)
};

/// One verification step: `name` as printed ("signature over manifest sha256:..."), pass/fail, reason.
struct Check {
  std::string name;
  bool ok;
  std::string detail;
};

/// The image a command means in a layout: the manifest tagged `ref`, or (ref empty) the one manifest that is
/// neither a cosign attachment (sha256-<hex>.sig/.att/.sbom) nor an OCI 1.1 referrer. nullopt with `why` set
/// ("no manifest tagged ...", "N images in DIR; choose one with --ref") otherwise.
std::optional<oci::Descriptor> pick_image(const oci::Layout& layout, const std::string& ref, std::string& why);

/// Verifies an image in an OCI layout with its cosign-style .sig/.att attachments against a PKIX PEM public
/// key: image manifest and blob digests, .sig signature and signed digest, .att DSSE signature, statement
/// subject, predicateType, .sbom coverage, then one check per OCI 1.1 referrer of the image in the layout
/// (unnamed index.json entries with an artifactType whose manifest subject is the image: in-toto referrers need
/// a DSSE envelope that verifies with the key and names the image; SBOM referrers must equal a signed SBOM
/// statement's predicate; none at all = one passing "referrers: none ..." note), then the expectations. Stops after a check that later checks depend on.
/// Returns every check made; throws Error(usage) if `layout` is not a layout, Error(signature) for a bad key.
std::vector<Check> verify_layout(const std::filesystem::path& layout, std::string_view public_key_pem,
                                 const Expectations& e);

/// True if every check passed (and there is at least one).
bool all_ok(const std::vector<Check>& checks);
/// Human output, one line per check: "ok   <name>" or "FAIL <name>: <detail>".
std::string format_checks(const std::vector<Check>& checks);
/// Throws Error(verify, "verification failed: <name>: <detail>") for the first failed check.
void throw_if_failed(const std::vector<Check>& checks);

} // namespace echo::attest
