#pragma once
// The image half of `echo-build build`: built packages -> OCI image -> provenance + SBOM -> signature.
// Each function converts between stages' value types; none of them touches a C library directly.
#include "cli/global.hpp"
#include "cli/recipes.hpp"
#include "echo/attest/provenance.hpp"
#include "echo/attest/sbom.hpp"
#include "echo/build/builder.hpp"
#include "echo/oci/image.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace echo::cli {

/// SOURCE_DATE_EPOCH default when neither the flag, the image recipe nor the environment sets one
/// (1980-01-01T00:00:00Z: the oldest time every archive format can store).
inline constexpr std::int64_t k_default_source_date_epoch = 315532800;

/// The image's oci::ImageSpec from its recipe.
oci::ImageSpec image_spec(const recipe::ImageRecipe& img, std::int64_t source_date_epoch, int threads);

/// The package trees of the image's runtime closure.
std::vector<oci::PackageTree> image_packages(const resolve::Plan& plan, const build::BuildResult& built);

/// What the provenance records about a build (times are RFC 3339 UTC).
struct ProvenanceContext {
  const Resolved* resolved = nullptr;
  const build::BuildResult* built = nullptr;
  const oci::BuiltImage* image = nullptr;
  std::string repository;      ///< subject name
  std::string builder_id;
  std::string started_on, finished_on;
  std::int64_t source_date_epoch = 0;
  std::filesystem::path lockfile;
  bool allow_vulnerable = false;      ///< --allow-vulnerable: externalParameters.allowVulnerable
  nlohmann::json vulnerability_scan;  ///< the gate's scan (provenance_record), null when none ran
};
attest::ProvenanceInput provenance_input(const ProvenanceContext& c);
attest::SbomInput sbom_input(const ProvenanceContext& c);
/// The SBOM's packages for a plan's runtime closure (name, full version, purl, cpe, sources, runtime deps).
std::vector<attest::SbomPackage> sbom_packages(const resolve::Plan& plan);

/// Current UTC time as "YYYY-MM-DDThh:mm:ssZ".
std::string utc_now();
/// A Unix time as "YYYY-MM-DDThh:mm:ssZ".
std::string utc_at(std::int64_t epoch);
/// sha256 over the names, versions and recipe digests of everything a plan uses (the recipe set digest).
std::string recipe_set_digest(const resolve::Plan& plan);

} // namespace echo::cli
