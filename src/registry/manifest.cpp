#include "registry/manifest.hpp"

#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <nlohmann/json.hpp>

namespace echo::registry {

bool is_index_type(std::string_view t) noexcept { return t == oci::k_media_index || t == k_docker_list; }
bool is_manifest_type(std::string_view t) noexcept { return t == oci::k_media_manifest || t == k_docker_manifest; }

namespace {

oci::Descriptor descriptor(const nlohmann::json& j, std::string_view what) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned() || !j.contains("mediaType") || !j["mediaType"].is_string())
    throw Error(ErrorKind::registry, std::string(what) + ": descriptor without mediaType, digest or size");
  oci::Descriptor d;
  d.media_type = j["mediaType"].get<std::string>();
  d.digest = j["digest"].get<std::string>();
  d.size = j["size"].get<std::uint64_t>();
  if (d.digest.substr(0, 7) != "sha256:" || !is_sha256_hex(d.digest.substr(7)))
    throw Error(ErrorKind::registry, std::string(what) + ": unsupported digest '" + d.digest + "'");
  return d;
}

} // namespace

ManifestInfo parse_manifest(std::string_view bytes, std::string_view fallback, std::string_view what) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorKind::registry, std::string(what) + ": not a JSON object");
  ManifestInfo m;
  m.media_type = j.contains("mediaType") && j["mediaType"].is_string() ? j["mediaType"].get<std::string>()
                                                                         : std::string(fallback);
  if (is_index_type(m.media_type)) {
    for (const auto& c : j.value("manifests", nlohmann::json::array())) {
      PlatformChild pc{descriptor(c, what), {}, {}, {}};
      if (c.contains("platform") && c["platform"].is_object()) {
        const auto& p = c["platform"];
        pc.os = p.value("os", "");
        pc.architecture = p.value("architecture", "");
        pc.variant = p.value("variant", "");
      }
      m.children.push_back(std::move(pc));
    }
  } else if (is_manifest_type(m.media_type)) {
    if (!j.contains("config")) throw Error(ErrorKind::registry, std::string(what) + ": manifest without config");
    m.blobs.push_back(descriptor(j["config"], what));
    for (const auto& l : j.value("layers", nlohmann::json::array())) m.blobs.push_back(descriptor(l, what));
  } else {
    throw Error(ErrorKind::registry, std::string(what) + ": unsupported manifest media type '" + m.media_type + "'");
  }
  return m;
}

} // namespace echo::registry

// ---- referrers (include/echo/registry/referrers.hpp) ----
#include "echo/registry/referrers.hpp"

namespace echo::registry {

std::string referrers_tag(std::string_view subject_digest) {
  if (subject_digest.substr(0, 7) != "sha256:" || !is_sha256_hex(subject_digest.substr(7)))
    throw Error(ErrorKind::usage, "referrers: unsupported subject digest '" + std::string(subject_digest) + "'");
  return "sha256-" + std::string(subject_digest.substr(7));
}

namespace {

nlohmann::ordered_json referrer_json(const oci::Descriptor& d) {
  nlohmann::ordered_json j;
  j["mediaType"] = d.media_type;
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  j["digest"] = d.digest;
  j["size"] = d.size;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

} // namespace

std::vector<oci::Descriptor> parse_referrers_index(std::string_view bytes, std::string_view what) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorKind::registry, std::string(what) + ": not a JSON object");
  std::string mt = j.value("mediaType", std::string(oci::k_media_index));
  if (mt != oci::k_media_index)
    throw Error(ErrorKind::registry, std::string(what) + ": media type '" + mt + "' is not an OCI image index");
  std::vector<oci::Descriptor> out;
  auto list = j.value("manifests", nlohmann::json::array());
  if (!list.is_array()) throw Error(ErrorKind::registry, std::string(what) + ": manifests is not an array");
  for (const auto& c : list) {
    oci::Descriptor d = descriptor(c, what);
    if (c.contains("artifactType") && c["artifactType"].is_string()) d.artifact_type = c["artifactType"];
    if (c.contains("annotations") && c["annotations"].is_object())
      for (const auto& [k, v] : c["annotations"].items())
        if (v.is_string()) d.annotations[k] = v.get<std::string>();
    out.push_back(std::move(d));
  }
  return out;
}

MergedIndex merge_referrers_index(std::string_view existing, const std::vector<oci::Descriptor>& referrers,
                                  std::string_view what) {
  nlohmann::ordered_json idx;
  if (existing.empty()) {
    idx["schemaVersion"] = 2;
    idx["mediaType"] = oci::k_media_index;
    idx["manifests"] = nlohmann::ordered_json::array();
  } else {
    parse_referrers_index(existing, what); // validates
    idx = nlohmann::ordered_json::parse(existing);
    if (!idx.contains("manifests")) idx["manifests"] = nlohmann::ordered_json::array();
  }
  MergedIndex m;
  for (const auto& r : referrers) {
    bool present = false;
    for (const auto& e : idx["manifests"])
      if (e.value("digest", "") == r.digest) present = true;
    if (present) continue;
    idx["manifests"].push_back(referrer_json(r));
    ++m.added;
  }
  m.bytes = m.added == 0 && !existing.empty() ? std::string(existing) : idx.dump();
  return m;
}

oci::Descriptor referrer_descriptor(std::string_view bytes, std::string& subject, std::string_view what) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorKind::registry, std::string(what) + ": not a JSON object");
  oci::Descriptor d;
  d.media_type = j.value("mediaType", std::string(oci::k_media_manifest));
  d.digest = "sha256:" + sha256_hex(bytes);
  d.size = bytes.size();
  if (j.contains("artifactType") && j["artifactType"].is_string()) d.artifact_type = j["artifactType"];
  else if (j.contains("config") && j["config"].is_object()) d.artifact_type = j["config"].value("mediaType", "");
  if (j.contains("annotations") && j["annotations"].is_object())
    for (const auto& [k, v] : j["annotations"].items())
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
  subject.clear();
  if (j.contains("subject") && j["subject"].is_object()) subject = j["subject"].value("digest", "");
  return d;
}

} // namespace echo::registry
