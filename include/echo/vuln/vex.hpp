#pragma once
// OpenVEX v0.2.0 (https://github.com/openvex/spec): the statements echo-build makes about an image's packages,
// from the advisories beside the recipes; and reading such a document back for `scan --vex`.
#include "echo/recipe/advisory.hpp"
#include "echo/vuln/scan.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace echo::vuln {

inline constexpr const char* k_openvex_context = "https://openvex.dev/ns/v0.2.0";
inline constexpr const char* k_predicate_openvex = "https://openvex.dev/ns/v0.2.0"; ///< in-toto predicateType

/// The statements the advisories make today about the image's packages (by package name). A 'fixed' event
/// whose fixed-version is higher than the installed version is left out (this build does not have the fix);
/// expired events are left out. Sources name the advisory file and line.
std::vector<Statement> statements_from_advisories(const std::vector<recipe::AdvisoryFile>& files,
                                                  const std::vector<ScanPackage>& packages, const std::string& today);

/// The OpenVEX document for an image: one statement per (advisory, package in the image), the product being
/// the image (`image_purl`, pkg:oci/...@sha256:...) with the package's purl as subcomponent. `timestamp` is the
/// document's (RFC 3339; the image's creation time keeps it reproducible), `doc_id` its @id.
std::string make_openvex(const std::string& doc_id, const std::string& image_purl, const std::string& timestamp,
                         const std::vector<Statement>& statements, const std::vector<ScanPackage>& packages,
                         const std::string& tool);

/// Violations of the OpenVEX v0.2.0 JSON schema's rules by `doc` (empty = valid): required fields, types,
/// status and justification enums, not_affected needs justification or impact_statement, affected needs
/// action_statement, RFC 3339 timestamps, version >= 1, each product has @id or identifiers.
std::vector<std::string> openvex_violations(const nlohmann::json& doc);

/// Reads an OpenVEX document for the packages of an image. Throws Error(vulndb) naming `origin` and the
/// statement for invalid JSON, a schema violation, or a statement whose products name no package of the image
/// (by purl type/namespace/name and version).
std::vector<Statement> parse_openvex(std::string_view text, const std::string& origin,
                                     const std::vector<ScanPackage>& packages);

} // namespace echo::vuln
