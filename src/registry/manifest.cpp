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
