// in-toto Statement v1 + SLSA Build provenance v1. Only standard field names: cosign decodes with protojson,
// which rejects unknown fields.
#include "echo/attest/provenance.hpp"

#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <cctype>

namespace echo::attest {

namespace {

using ojson = nlohmann::ordered_json;

ojson descriptor(const ResourceDescriptor& r) {
  ojson j = ojson::object();
  if (!r.name.empty()) j["name"] = r.name;
  if (!r.uri.empty()) j["uri"] = r.uri;
  if (!r.digest.empty()) j["digest"] = r.digest;
  if (!r.annotations.empty()) j["annotations"] = r.annotations;
  return j;
}

ojson descriptors(const std::vector<ResourceDescriptor>& v) {
  ojson a = ojson::array();
  for (const auto& r : v) a.push_back(descriptor(r));
  return a;
}

ojson object_or_empty(const nlohmann::json& j, std::string_view what) {
  if (j.is_null()) return ojson::object();
  if (!j.is_object()) throw Error(ErrorKind::internal, std::string(what) + " must be a JSON object");
  return ojson::parse(j.dump());
}

} // namespace

std::string make_provenance_statement(const ProvenanceInput& in) {
  if (in.subject_digest.rfind("sha256:", 0) != 0 || !is_sha256_hex(in.subject_digest.substr(7)))
    throw Error(ErrorKind::internal, "provenance subject digest '" + in.subject_digest + "' is not sha256:<hex>");
  if (in.builder_id.empty()) throw Error(ErrorKind::internal, "provenance needs a builder id");
  if (in.subject_name.empty()) throw Error(ErrorKind::internal, "provenance needs a subject name");

  ojson build_def;
  build_def["buildType"] = in.build_type;
  build_def["externalParameters"] = object_or_empty(in.external_parameters, "externalParameters");
  if (!in.internal_parameters.is_null())
    build_def["internalParameters"] = object_or_empty(in.internal_parameters, "internalParameters");
  build_def["resolvedDependencies"] = descriptors(in.resolved_dependencies);

  ojson builder;
  builder["id"] = in.builder_id;
  if (!in.builder_version.empty()) builder["version"] = ojson{{"echo-build", in.builder_version}};
  if (!in.builder_dependencies.empty()) builder["builderDependencies"] = descriptors(in.builder_dependencies);

  ojson run;
  run["builder"] = builder;
  ojson meta = ojson::object();
  if (!in.invocation_id.empty()) meta["invocationId"] = in.invocation_id;
  if (!in.started_on.empty()) meta["startedOn"] = in.started_on;
  if (!in.finished_on.empty()) meta["finishedOn"] = in.finished_on;
  if (!meta.empty()) run["metadata"] = meta;
  if (!in.byproducts.empty()) run["byproducts"] = descriptors(in.byproducts);

  std::string hex = in.subject_digest.substr(7);
  for (auto& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  ojson st;
  st["_type"] = k_statement_type;
  st["subject"] = ojson::array({{{"name", in.subject_name}, {"digest", {{"sha256", hex}}}}});
  st["predicateType"] = k_slsa_provenance_v1;
  st["predicate"] = {{"buildDefinition", build_def}, {"runDetails", run}};
  return st.dump();
}

namespace {
ResourceDescriptor rd(std::string_view name, std::string_view uri, std::string_view hex,
                      std::map<std::string, std::string> annotations) {
  ResourceDescriptor r;
  r.name = name;
  r.uri = uri;
  if (!hex.empty()) r.digest["sha256"] = std::string(hex);
  r.annotations = std::move(annotations);
  return r;
}
std::string_view basename(std::string_view url) {
  auto q = url.find_first_of("?#");
  url = url.substr(0, q);
  auto slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}
} // namespace

ResourceDescriptor source_dependency(std::string_view package, std::string_view url, std::string_view sha256_hex) {
  return rd(basename(url), url, sha256_hex, {{"kind", "source"}, {"package", std::string(package)}});
}
ResourceDescriptor patch_dependency(std::string_view package, std::string_view path, std::string_view sha256_hex) {
  return rd(path, "", sha256_hex, {{"kind", "patch"}, {"package", std::string(package)}});
}
ResourceDescriptor package_dependency(std::string_view name, std::string_view version, std::string_view sha256_hex,
                                      std::string_view store_key) {
  std::string uri = "pkg:generic/" + std::string(name) + (version.empty() ? "" : "@" + std::string(version));
  return rd(name, uri, sha256_hex,
            {{"kind", "package"}, {"version", std::string(version)}, {"storeKey", std::string(store_key)}});
}
ResourceDescriptor toolchain_dependency(std::string_view uri, std::string_view sha256_hex) {
  return rd("toolchain", uri, sha256_hex, {{"kind", "toolchain"}});
}
ResourceDescriptor tool_dependency(std::string_view name, std::string_view version, std::string_view sha256_hex) {
  return rd(name, "", sha256_hex, {{"version", std::string(version)}});
}
ResourceDescriptor log_byproduct(std::string_view name, std::string_view sha256_hex) {
  return rd(name, "", sha256_hex, {{"kind", "log"}});
}

nlohmann::json external_parameters(const ImageBuildParameters& p) {
  nlohmann::json j = nlohmann::json::object();
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  put("recipe", p.recipe);
  put("recipeSetDigest", p.recipe_set_digest);
  put("lockfileDigest", p.lockfile_digest);
  put("image", p.image);
  if (!p.tags.empty()) j["tags"] = p.tags;
  put("platform", p.platform);
  if (!p.source_repository.empty() || !p.source_commit.empty()) {
    nlohmann::json s = nlohmann::json::object();
    if (!p.source_repository.empty()) s["repository"] = p.source_repository;
    if (!p.source_commit.empty()) s["commit"] = p.source_commit;
    j["source"] = s;
  }
  if (p.source_date_epoch) j["sourceDateEpoch"] = *p.source_date_epoch;
  if (p.unsandboxed) j["unsandboxed"] = true;
  return j;
}

} // namespace echo::attest
