#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::attest {

inline constexpr const char* k_statement_type = "https://in-toto.io/Statement/v1";
inline constexpr const char* k_slsa_provenance_v1 = "https://slsa.dev/provenance/v1";
inline constexpr const char* k_build_type_image_v1 = "https://echo-build.dev/buildtypes/image/v1";
inline constexpr const char* k_builder_local = "https://echo-build.dev/builders/local";

/// An in-toto ResourceDescriptor; empty fields are left out of the JSON.
struct ResourceDescriptor {
  std::string name, uri;
  std::map<std::string, std::string> digest;      ///< algorithm -> lower-case hex, e.g. {"sha256", "ab.."}
  std::map<std::string, std::string> annotations;
};

/// Everything a SLSA v1 provenance statement says (docs/provenance.md explains each field).
struct ProvenanceInput {
  std::string subject_name;   ///< repository without tag, e.g. "example" or "127.0.0.1:5000/example"
  std::string subject_digest; ///< "sha256:<hex>" of the image manifest
  std::string build_type = k_build_type_image_v1;
  nlohmann::json external_parameters, internal_parameters; ///< objects; null external becomes {}
  std::vector<ResourceDescriptor> resolved_dependencies;
  std::string builder_id;      ///< required; k_builder_local for developer builds
  std::string builder_version; ///< echo-build version -> builder.version {"echo-build": ...}
  std::vector<ResourceDescriptor> builder_dependencies;
  std::string invocation_id, started_on, finished_on; ///< RFC 3339 "YYYY-MM-DDThh:mm:ssZ"
  std::vector<ResourceDescriptor> byproducts;
};

/// The in-toto Statement v1 with a SLSA provenance v1 predicate, compact JSON, only the four top-level keys.
/// Throws Error(internal) if subject_digest is not "sha256:<64 hex>" or builder_id is empty.
std::string make_provenance_statement(const ProvenanceInput& in);

/// ResourceDescriptors in the shapes docs/provenance.md documents (hex digests are lower-case SHA-256).
/// A source archive of `package`: {name: file name, uri: url, digest, annotations {kind: source, package}}.
ResourceDescriptor source_dependency(std::string_view package, std::string_view url, std::string_view sha256_hex);
/// A patch applied to `package`: {name: path relative to the recipe dir, digest, annotations {kind: patch, package}}.
ResourceDescriptor patch_dependency(std::string_view package, std::string_view path, std::string_view sha256_hex);
/// A package built and installed into the image: {name, uri: pkg:generic/<name>@<version>, digest of its store
/// output, annotations {kind: package, version, storeKey}}.
ResourceDescriptor package_dependency(std::string_view name, std::string_view version, std::string_view sha256_hex,
                                      std::string_view store_key);
/// The toolchain root the builds ran on: {name: toolchain, uri: path or image reference, digest, annotations {kind}}.
ResourceDescriptor toolchain_dependency(std::string_view uri, std::string_view sha256_hex);
/// A builderDependencies entry (compiler, linker, libc): {name, digest of the binary, annotations {version}}.
ResourceDescriptor tool_dependency(std::string_view name, std::string_view version, std::string_view sha256_hex);
/// A byproduct (build log): {name, digest, annotations {kind: log}}.
ResourceDescriptor log_byproduct(std::string_view name, std::string_view sha256_hex);

/// The externalParameters of buildType k_build_type_image_v1 (field names fixed by docs/provenance.md).
struct ImageBuildParameters {
  std::string recipe;            ///< path of the image recipe, relative to the recipe dir
  std::string recipe_set_digest; ///< "sha256:<hex>" over all recipes used
  std::string lockfile_digest;   ///< "sha256:<hex>" of echo.lock (empty: no lockfile)
  std::string image;             ///< image name (repository), as pushed
  std::vector<std::string> tags;
  std::string platform;          ///< "linux/amd64"
  std::string source_repository; ///< git remote URL of the recipe checkout (empty: not a git checkout)
  std::string source_commit;     ///< git commit of the recipe checkout
  std::optional<std::int64_t> source_date_epoch;
  bool unsandboxed = false;      ///< emitted only when true
};
/// JSON object with the documented keys: recipe, recipeSetDigest, lockfileDigest, image, tags, platform,
/// source{repository,commit}, sourceDateEpoch, unsandboxed. Empty values are left out.
nlohmann::json external_parameters(const ImageBuildParameters& p);

} // namespace echo::attest
