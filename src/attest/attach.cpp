// cosign's legacy tag scheme in an OCI layout: sha256-<hex>.sig / .att / .sbom image manifests.
#include "echo/attest/attach.hpp"

#include "echo/attest/dsse.hpp"
#include "echo/attest/provenance.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace echo::attest {

namespace {

using ojson = nlohmann::ordered_json;

std::string hex_of(std::string_view digest) {
  if (digest.substr(0, 7) != "sha256:" || digest.size() != 71)
    throw Error(ErrorKind::internal, "image digest '" + std::string(digest) + "' is not sha256:<hex>");
  return std::string(digest.substr(7));
}

std::filesystem::path side_file(const oci::Layout& layout, std::string_view suffix) {
  std::filesystem::path dir = std::filesystem::absolute(layout.dir()).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path(); // "out/" -> "out"
  return dir.parent_path() / (dir.filename().string() + std::string(suffix));
}

/// Refuses to sign a statement about some other artifact: the subject must name the image digest.
void check_subject(const std::string& statement, const oci::Descriptor& image) {
  nlohmann::json st = nlohmann::json::parse(statement, nullptr, false);
  std::string hex = hex_of(image.digest);
  if (st.is_object() && st.contains("subject") && st["subject"].is_array())
    for (const auto& s : st["subject"])
      if (s.is_object() && s.contains("digest") && s["digest"].is_object() && s["digest"].value("sha256", "") == hex)
        return;
  throw Error(ErrorKind::signature, "provenance statement subject is not the image " + image.digest);
}

/// The image's created time: manifest annotation, else config.created, else "".
std::string image_created(const oci::Layout& layout, const oci::Descriptor& image) {
  nlohmann::json m = nlohmann::json::parse(layout.read_blob(image.digest), nullptr, false);
  if (!m.is_object()) return "";
  if (m.contains("annotations") && m["annotations"].is_object() && m["annotations"].contains(k_annotation_created) &&
      m["annotations"][k_annotation_created].is_string())
    return m["annotations"][k_annotation_created];
  if (m.contains("config") && m["config"].is_object()) {
    nlohmann::json c = nlohmann::json::parse(layout.read_blob(m["config"].value("digest", "")), nullptr, false);
    if (c.is_object() && c.contains("created") && c["created"].is_string()) return c["created"];
  }
  return "";
}

/// Removes from index.json the unnamed referrer entries of `image` that are not in `keep`, then reopens.
void drop_stale_referrers(oci::Layout& layout, const oci::Descriptor& image, const std::set<std::string>& keep) {
  std::filesystem::path index = layout.dir() / "index.json";
  ojson idx = ojson::parse(read_file(index));
  ojson kept = ojson::array();
  bool dropped = false;
  for (const auto& d : idx.value("manifests", ojson::array())) {
    bool named = d.contains("annotations") && d["annotations"].contains(oci::k_annotation_ref_name);
    std::string digest = d.value("digest", "");
    if (!named && d.contains("artifactType") && !keep.count(digest)) {
      nlohmann::json m = nlohmann::json::parse(layout.read_blob(digest), nullptr, false);
      if (m.is_object() && m.contains("subject") && m["subject"].is_object() &&
          m["subject"].value("digest", "") == image.digest) {
        dropped = true;
        continue;
      }
    }
    kept.push_back(d);
  }
  if (!dropped) return;
  idx["manifests"] = kept;
  write_file_atomic(index, idx.dump());
  layout = oci::Layout::open(layout.dir());
}

} // namespace

oci::Descriptor put_referrer_manifest(oci::Layout& layout, const oci::Descriptor& subject, std::string_view artifact_type,
                                      const oci::Descriptor& layer, std::string_view created) {
  oci::Descriptor empty = layout.write_blob("{}", oci::k_media_empty);
  ojson m;
  m["schemaVersion"] = 2;
  m["mediaType"] = oci::k_media_manifest;
  m["artifactType"] = artifact_type;
  m["config"] = ojson::parse(oci::descriptor_json(empty));
  m["layers"] = ojson::array({ojson::parse(oci::descriptor_json(layer))});
  oci::Descriptor s;
  s.media_type = subject.media_type;
  s.digest = subject.digest;
  s.size = subject.size;
  m["subject"] = ojson::parse(oci::descriptor_json(s));
  if (!created.empty()) m["annotations"][k_annotation_created] = created;
  oci::Descriptor desc = layout.write_blob(m.dump(), oci::k_media_manifest);
  desc.artifact_type = artifact_type;
  if (!created.empty()) desc.annotations[k_annotation_created] = std::string(created);
  layout.put_manifest(desc, "");
  return desc;
}

std::string sbom_statement(std::string_view provenance_statement, std::string_view sbom, std::string_view media_type) {
  nlohmann::json prov = nlohmann::json::parse(provenance_statement, nullptr, false);
  nlohmann::json doc = nlohmann::json::parse(sbom, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw Error(ErrorKind::internal, "SBOM is not a JSON object");
  if (prov.is_discarded() || !prov.contains("subject"))
    throw Error(ErrorKind::internal, "provenance statement has no subject");
  ojson st;
  st["_type"] = k_statement_type;
  st["subject"] = ojson::parse(prov["subject"].dump());
  st["predicateType"] = media_type == k_media_cyclonedx ? k_predicate_cyclonedx : k_predicate_spdx;
  st["predicate"] = ojson::parse(sbom);
  return st.dump();
}

std::string attachment_tag(std::string_view image_digest, std::string_view suffix) {
  return "sha256-" + hex_of(image_digest) + "." + std::string(suffix);
}

std::string simple_signing_payload(std::string_view repository, std::string_view image_digest) {
  ojson p;
  p["critical"]["identity"]["docker-reference"] = repository;
  p["critical"]["image"]["docker-manifest-digest"] = image_digest;
  p["critical"]["type"] = "cosign container image signature";
  p["optional"] = nullptr;
  return p.dump();
}

oci::Descriptor put_attachment_manifest(oci::Layout& layout, const std::vector<oci::Descriptor>& layers,
                                        std::string_view tag) {
  // The config go-containerregistry writes for cosign's empty.Image plus appended static layers: empty
  // platform, zero time, one history entry and one diff_id per layer (diff_id == digest, layers are not tars).
  ojson config;
  config["architecture"] = "";
  config["created"] = "0001-01-01T00:00:00Z";
  config["history"] = ojson::array();
  config["os"] = "";
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", ojson::array()}};
  config["config"] = ojson::object();
  for (const auto& l : layers) {
    config["history"].push_back({{"created", "0001-01-01T00:00:00Z"}});
    config["rootfs"]["diff_ids"].push_back(l.digest);
  }
  oci::Descriptor cfg = layout.write_blob(config.dump(), oci::k_media_config);

  ojson m;
  m["schemaVersion"] = 2;
  m["mediaType"] = oci::k_media_manifest;
  m["config"] = ojson::parse(oci::descriptor_json(cfg));
  m["layers"] = ojson::array();
  for (const auto& l : layers) m["layers"].push_back(ojson::parse(oci::descriptor_json(l)));
  oci::Descriptor desc = layout.write_blob(m.dump(), oci::k_media_manifest);
  layout.put_manifest(desc, tag);
  return desc;
}

void attach(oci::Layout& layout, const oci::Descriptor& image, std::string_view repository, Signer& signer,
            const Attachments& given) {
  check_subject(given.provenance_statement, image);
  Attachments a = given;
  // Re-signing without an SBOM keeps an SBOM attached earlier, and signs it again: there is no way to drop a tag
  // from the layout, and an attached SBOM that the new .att does not cover would fail verification.
  if (a.sbom.empty()) {
    if (auto old = layout.find_ref(attachment_tag(image.digest, "sbom"))) {
      nlohmann::json m = nlohmann::json::parse(layout.read_blob(old->digest), nullptr, false);
      if (m.is_object() && m.contains("layers") && m["layers"].is_array() && !m["layers"].empty()) {
        a.sbom = layout.read_blob(m["layers"][0].value("digest", ""));
        a.sbom_media_type = m["layers"][0].value("mediaType", k_media_spdx);
      }
    }
  }

  // .sig: simple-signing payload, signature in the layer annotation.
  std::string payload = simple_signing_payload(repository, image.digest);
  oci::Descriptor sig_layer = layout.write_blob(payload, k_media_simplesigning);
  sig_layer.annotations[k_annotation_signature] = base64_encode(signer.sign(payload));
  put_attachment_manifest(layout, {sig_layer}, attachment_tag(image.digest, "sig"));

  // .att: the DSSE envelope of the provenance statement, then (if any) a signed SBOM statement, as
  // `cosign attest --type spdxjson|cyclonedx` would add it, so the SBOM can be trusted too.
  std::string envelope = dsse_sign(signer, k_payload_type_intoto, a.provenance_statement);
  oci::Descriptor att_layer = layout.write_blob(envelope, k_media_dsse);
  att_layer.annotations[k_annotation_signature] = "";
  att_layer.annotations[k_annotation_predicate_type] = k_slsa_provenance_v1;
  std::vector<oci::Descriptor> att_layers{att_layer};
  if (!a.sbom.empty()) {
    std::string statement = sbom_statement(a.provenance_statement, a.sbom, a.sbom_media_type);
    std::string predicate_type = nlohmann::json::parse(statement)["predicateType"];
    oci::Descriptor l = layout.write_blob(dsse_sign(signer, k_payload_type_intoto, statement), k_media_dsse);
    l.annotations[k_annotation_signature] = "";
    l.annotations[k_annotation_predicate_type] = predicate_type;
    att_layers.push_back(l);
  }
  put_attachment_manifest(layout, att_layers, attachment_tag(image.digest, "att"));

  // .sbom: the document itself, unsigned, as `cosign attach sbom` stores it.
  if (!a.sbom.empty()) {
    oci::Descriptor sbom_layer = layout.write_blob(a.sbom, a.sbom_media_type);
    put_attachment_manifest(layout, {sbom_layer}, attachment_tag(image.digest, "sbom"));
  }

  // OCI 1.1 referrers (subject = the image), pushed after the cosign tags.
  std::string created = image_created(layout, image);
  std::set<std::string> keep;
  oci::Descriptor env_layer = layout.write_blob(envelope, k_media_dsse);
  keep.insert(put_referrer_manifest(layout, image, k_artifact_intoto, env_layer, created).digest);
  if (!a.sbom.empty()) {
    bool cdx = a.sbom_media_type == k_media_cyclonedx;
    oci::Descriptor doc = layout.write_blob(a.sbom, cdx ? k_artifact_cyclonedx : k_artifact_spdx);
    keep.insert(put_referrer_manifest(layout, image, cdx ? k_artifact_cyclonedx : k_artifact_spdx, doc, created).digest);
  }
  layout.save();
  drop_stale_referrers(layout, image, keep);

  write_file_atomic(side_file(layout, ".intoto.jsonl"), envelope + "\n");
  if (!a.sbom.empty())
    write_file_atomic(side_file(layout, a.sbom_media_type == k_media_cyclonedx ? ".cdx.json" : ".spdx.json"), a.sbom);
}

} // namespace echo::attest
