#include "echo/oci/layout.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace echo::oci {

namespace {

ojson to_json(const Descriptor& d) {
  ojson j;
  j["mediaType"] = d.media_type;
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  j["digest"] = d.digest;
  j["size"] = d.size;
  if (d.data_base64) j["data"] = *d.data_base64;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

Descriptor from_json(const nlohmann::json& j, std::string_view where) {
  if (!j.is_object() || !j.contains("digest") || !j.contains("size") || !j.contains("mediaType"))
    throw Error(ErrorKind::internal, std::string(where) + ": descriptor needs mediaType, digest and size");
  Descriptor d;
  d.media_type = j.at("mediaType").get<std::string>();
  d.digest = j.at("digest").get<std::string>();
  d.size = j.at("size").get<std::uint64_t>();
  if (j.contains("artifactType")) d.artifact_type = j.at("artifactType").get<std::string>();
  if (j.contains("annotations")) d.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
  if (j.contains("data")) d.data_base64 = j.at("data").get<std::string>();
  return d;
}

std::string_view hex_of(std::string_view digest) {
  if (digest.substr(0, 7) != "sha256:" || !is_sha256_hex(digest.substr(7)))
    throw Error(ErrorKind::verify, "unsupported or malformed digest '" + std::string(digest) + "'");
  return digest.substr(7);
}

} // namespace

std::string descriptor_json(const Descriptor& d) { return to_json(d).dump(); }

Descriptor parse_descriptor(std::string_view json_text) {
  return from_json(nlohmann::json::parse(json_text), "descriptor");
}

Layout Layout::open(const fs::path& dir) {
  Layout l;
  l.m_dir = dir;
  fs::path marker = dir / "oci-layout";
  if (!fs::exists(marker))
    throw Error(ErrorKind::usage, dir.string() + " is not an OCI image layout (no oci-layout file)");
  fs::path index = dir / "index.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(index));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::verify, index.string() + ": " + e.what());
  }
  for (const auto& m : j.value("manifests", nlohmann::json::array()))
    l.m_manifests.push_back(from_json(m, index.string()));
  return l;
}

Layout Layout::create(const fs::path& dir) {
  fs::create_directories(dir / "blobs" / "sha256");
  if (fs::exists(dir / "oci-layout") && fs::exists(dir / "index.json")) return open(dir);
  write_file_atomic(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  Layout l;
  l.m_dir = dir;
  l.save();
  return l;
}

fs::path Layout::blob_path(std::string_view digest) const {
  return m_dir / "blobs" / "sha256" / std::string(hex_of(digest));
}

bool Layout::has_blob(std::string_view digest) const { return fs::exists(blob_path(digest)); }

Descriptor Layout::write_blob(std::string_view bytes, std::string_view media_type) {
  Descriptor d;
  d.media_type = media_type;
  d.digest = "sha256:" + sha256_hex(bytes);
  d.size = bytes.size();
  fs::path p = blob_path(d.digest);
  if (!fs::exists(p)) {
    fs::create_directories(p.parent_path());
    write_file_atomic(p, bytes);
  }
  return d;
}

void Layout::adopt_blob(const fs::path& file, std::string_view digest) {
  std::string actual = "sha256:" + sha256_file(file);
  if (actual != digest)
    throw Error(ErrorKind::internal, file.string() + ": expected " + std::string(digest) + ", got " + actual);
  fs::path p = blob_path(digest);
  fs::create_directories(p.parent_path());
  fs::rename(file, p);
}

std::string Layout::read_blob(std::string_view digest) const {
  fs::path p = blob_path(digest);
  if (!fs::exists(p)) throw Error(ErrorKind::verify, "blob " + std::string(digest) + " is missing from " + m_dir.string());
  std::string bytes = read_file(p);
  std::string actual = "sha256:" + sha256_hex(bytes);
  if (actual != digest)
    throw Error(ErrorKind::verify, "blob " + std::string(digest) + " in " + m_dir.string() +
                                       ": digest mismatch (content is " + actual + ")");
  return bytes;
}

void Layout::put_manifest(Descriptor desc, std::string_view ref_name) {
  if (!ref_name.empty()) desc.annotations[k_annotation_ref_name] = std::string(ref_name);
  auto same = [&](const Descriptor& d) {
    if (ref_name.empty()) return d.digest == desc.digest && !d.annotations.count(k_annotation_ref_name);
    auto it = d.annotations.find(k_annotation_ref_name);
    return it != d.annotations.end() && it->second == ref_name;
  };
  auto it = std::find_if(m_manifests.begin(), m_manifests.end(), same);
  if (it != m_manifests.end())
    *it = std::move(desc);
  else
    m_manifests.push_back(std::move(desc));
}

std::optional<Descriptor> Layout::find_ref(std::string_view ref_name) const {
  for (const auto& d : m_manifests) {
    auto it = d.annotations.find(k_annotation_ref_name);
    if (it != d.annotations.end() && it->second == ref_name) return d;
  }
  return std::nullopt;
}

void Layout::save() const {
  ojson j;
  j["schemaVersion"] = 2;
  j["mediaType"] = k_media_index;
  j["manifests"] = ojson::array();
  for (const auto& d : m_manifests) j["manifests"].push_back(to_json(d));
  write_file_atomic(m_dir / "index.json", j.dump());
}

} // namespace echo::oci
