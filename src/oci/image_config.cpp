#include "image_parts.hpp"

#include <nlohmann/json.hpp>

#include <set>

using ojson = nlohmann::ordered_json;

namespace echo::oci {

namespace {

constexpr const char* k_default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

ojson descriptor(const Descriptor& d) {
  ojson j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest;
  j["size"] = d.size;
  return j;
}

} // namespace

std::string config_json(const ImageSpec& spec, const std::vector<LayerInfo>& layers) {
  const std::string created = rfc3339(spec.source_date_epoch);
  ojson c;
  c["User"] = spec.user.empty() ? "65532:65532" : spec.user;
  std::map<std::string, std::string> env = spec.env;
  env.emplace("PATH", k_default_path);
  ojson env_list = ojson::array();
  for (const auto& [k, v] : env) env_list.push_back(k + "=" + v);
  c["Env"] = env_list;
  if (!spec.entrypoint.empty()) c["Entrypoint"] = spec.entrypoint;
  if (!spec.cmd.empty()) c["Cmd"] = spec.cmd;
  if (!spec.workdir.empty()) c["WorkingDir"] = spec.workdir;
  if (!spec.labels.empty()) c["Labels"] = spec.labels;

  ojson j;
  j["created"] = created;
  j["architecture"] = spec.architecture;
  j["os"] = spec.os;
  j["config"] = c;
  ojson diff_ids = ojson::array();
  ojson history = ojson::array();
  for (const auto& l : layers) {
    diff_ids.push_back(l.diff_id);
    ojson h;
    h["created"] = created;
    h["created_by"] = l.created_by;
    history.push_back(h);
  }
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  j["history"] = history;
  return j.dump();
}

std::string manifest_json(const ImageSpec& spec, const Descriptor& config, const std::vector<LayerInfo>& layers,
                          const std::vector<PackageTree>& packages) {
  std::map<std::string, std::string> annotations;
  annotations["org.opencontainers.image.created"] = rfc3339(spec.source_date_epoch);
  if (!spec.name.empty()) annotations["org.opencontainers.image.title"] = spec.name;
  if (!spec.version.empty()) annotations["org.opencontainers.image.version"] = spec.version;
  std::set<std::string> licenses;
  for (const auto& p : packages)
    if (!p.license.empty()) licenses.insert(p.license);
  if (!licenses.empty()) {
    std::string joined;
    for (const auto& l : licenses) joined += (joined.empty() ? "" : " AND ") + (licenses.size() > 1 && l.find(' ') != std::string::npos ? "(" + l + ")" : l);
    annotations["org.opencontainers.image.licenses"] = joined;
  }
  for (const auto& [k, v] : spec.annotations) annotations[k] = v;  // explicit values win

  ojson j;
  j["schemaVersion"] = 2;
  j["mediaType"] = k_media_manifest;
  j["config"] = descriptor(config);
  ojson ls = ojson::array();
  for (const auto& l : layers) ls.push_back(descriptor(Descriptor{l.media_type, l.digest, l.size, {}, {}, {}}));
  j["layers"] = ls;
  j["annotations"] = annotations;
  return j.dump();
}

} // namespace echo::oci
