// Offline verification of an image in an OCI layout with its cosign-style attachments.
#include "echo/attest/verify.hpp"

#include "echo/attest/attach.hpp"
#include "echo/attest/dsse.hpp"
#include "echo/attest/provenance.hpp"
#include "echo/attest/signer.hpp"
#include "echo/oci/layout.hpp"
#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <nlohmann/json.hpp>

#include <regex>
#include <set>

namespace fs = std::filesystem;
using nlohmann::json;

namespace echo::attest {

namespace {

bool is_attachment_ref(const std::string& ref) {
  static const std::regex k_re("^sha256-[0-9a-f]{64}\\.(sig|att|sbom)$");
  return std::regex_match(ref, k_re);
}

std::string ref_of(const oci::Descriptor& d) {
  auto it = d.annotations.find(oci::k_annotation_ref_name);
  return it == d.annotations.end() ? "" : it->second;
}

/// Reads a (small, JSON) blob; a missing or altered blob becomes a failed check with the layout's message.
std::optional<json> read_json_blob(const oci::Layout& layout, const std::string& digest, std::string& why) {
  try {
    json j = json::parse(layout.read_blob(digest), nullptr, false);
    if (j.is_discarded()) why = "blob " + digest + " is not JSON";
    else return j;
  } catch (const Error& e) {
    why = e.what();
  }
  return std::nullopt;
}

Check check_blob(const oci::Layout& layout, const char* what, const json& desc) {
  std::string digest = desc.value("digest", "");
  Check c{std::string(what) + " " + digest, false, ""};
  if (digest.rfind("sha256:", 0) != 0 || !is_sha256_hex(digest.substr(7))) {
    c.detail = "malformed digest";
    return c;
  }
  fs::path p = layout.blob_path(digest);
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) {
    c.detail = "blob is missing from " + layout.dir().string();
  } else if (desc.contains("size") && desc["size"].is_number_unsigned() && desc["size"].get<std::uint64_t>() != size) {
    c.detail = "size " + std::to_string(size) + " differs from the manifest's " + desc["size"].dump();
  } else if (std::string actual = "sha256:" + sha256_file(p); actual != digest) {
    c.detail = "digest mismatch (content is " + actual + ")";
  } else {
    c.ok = true;
  }
  return c;
}

Check check_sig(const oci::Layout& layout, std::string_view key, const oci::Descriptor& image) {
  Check c{"signature over manifest " + image.digest, false, ""};
  std::string tag = attachment_tag(image.digest, "sig");
  auto sig = layout.find_ref(tag);
  if (!sig) {
    c.detail = "no " + tag + " in the layout (image is not signed)";
    return c;
  }
  auto manifest = read_json_blob(layout, sig->digest, c.detail);
  if (!manifest) return c;
  c.detail = "no signature in " + tag + " verifies with the key";
  for (const auto& l : manifest->value("layers", json::array())) {
    if (l.value("mediaType", "") != k_media_simplesigning) continue;
    std::string why;
    auto payload_digest = l.value("digest", "");
    std::string payload;
    try {
      payload = layout.read_blob(payload_digest);
    } catch (const Error& e) {
      c.detail = e.what();
      continue;
    }
    auto b64 = l.value("annotations", json::object()).value(k_annotation_signature, "");
    auto der = base64_decode(b64);
    if (!der || !verify_signature(key, payload, *der)) continue;
    json p = json::parse(payload, nullptr, false);
    std::string signed_digest;
    if (p.is_object() && p.contains("critical") && p["critical"].is_object()) {
      const auto& cr = p["critical"];
      if (cr.value("type", "") == "cosign container image signature" && cr.contains("image") && cr["image"].is_object())
        signed_digest = cr["image"].value("docker-manifest-digest", "");
    }
    if (signed_digest == image.digest) {
      c.ok = true;
      c.detail = "";
      return c;
    }
    c.detail = "the signed payload names " + (signed_digest.empty() ? "no digest" : signed_digest) + ", not this image";
  }
  return c;
}

/// Dotted path lookup in externalParameters ("source.commit").
const json* lookup(const json& obj, const std::string& path) {
  const json* cur = &obj;
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->contains(key)) {
      // Keys may themselves contain dots: try the rest of the path as one key.
      if (cur->is_object() && cur->contains(path.substr(start))) return &(*cur)[path.substr(start)];
      return nullptr;
    }
    cur = &(*cur)[key];
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

bool param_matches(const json& v, const std::string& want) {
  if (v.is_string()) return v.get<std::string>() == want;
  if (v.is_array()) {
    for (const auto& x : v)
      if (param_matches(x, want)) return true;
    return false;
  }
  return v.dump() == want;
}

/// Whether an in-toto statement names the image (sha256 hex) among its subjects.
bool names_image(const json& st, std::string_view hex) {
  for (const auto& s : st.value("subject", json::array()))
    if (s.is_object() && s.value("digest", json::object()).value("sha256", "") == hex) return true;
  return false;
}

/// The statements of a manifest's DSSE layers (in-toto payload type) whose envelopes verify with the key, in
/// layer order. A blob that cannot be read leaves its error in `detail`.
std::vector<json> verified_statements(const oci::Layout& layout, std::string_view key, const json& manifest,
                                      std::string& detail) {
  std::vector<json> out;
  for (const auto& l : manifest.value("layers", json::array())) {
    if (l.value("mediaType", "") != k_media_dsse) continue;
    std::string env;
    try {
      env = layout.read_blob(l.value("digest", ""));
    } catch (const Error& err) {
      detail = err.what();
      continue;
    }
    json envj = json::parse(env, nullptr, false);
    if (!envj.is_object() || envj.value("payloadType", "") != k_payload_type_intoto) continue;
    auto payload = dsse_verify(key, env);
    if (!payload) continue;
    json st = json::parse(*payload, nullptr, false);
    if (st.is_object()) out.push_back(std::move(st));
  }
  return out;
}

/// Whether the SBOM document in the manifest's first layer is the predicate of one of the verified SBOM statements
/// about the image. A blob that cannot be read leaves its error in `detail`.
bool sbom_covered(const oci::Layout& layout, const json& manifest, const std::vector<json>& verified,
                  std::string_view hex, std::string& detail) {
  json doc;
  try {
    const json layers = manifest.value("layers", json::array());
    if (!layers.empty()) doc = json::parse(layout.read_blob(layers[0].value("digest", "")), nullptr, false);
  } catch (const Error& err) {
    detail = err.what();
  }
  if (doc.is_null() || doc.is_discarded()) return false;
  for (const auto& st : verified) {
    const std::string t = st.value("predicateType", "");
    if ((t == k_predicate_spdx || t == k_predicate_cyclonedx) && names_image(st, hex) && st.contains("predicate") &&
        st["predicate"] == doc)
      return true;
  }
  return false;
}

/// OCI 1.1 referrers of `image` in the layout: one check per referrer. In-toto referrers: a DSSE envelope
/// that verifies with the key and whose statement names the image. SBOM referrers: the document is the
/// predicate of a verified SBOM statement (`verified`). None: one passing note (older pushes had none).
void check_referrers(const oci::Layout& layout, std::string_view key, const oci::Descriptor& image,
                     const std::vector<json>& verified, std::vector<Check>& checks) {
  const std::string hex = image.digest.substr(7);
  std::size_t found = 0;
  std::set<std::string> seen;
  for (const auto& d : layout.manifests()) {
    if (!ref_of(d).empty() || d.artifact_type.empty() || !seen.insert(d.digest).second) continue;
    std::string why;
    auto m = read_json_blob(layout, d.digest, why);
    if (m && !(m->contains("subject") && (*m)["subject"].is_object() &&
               (*m)["subject"].value("digest", "") == image.digest))
      continue; // a referrer of something else
    ++found;
    std::string type = m ? m->value("artifactType", d.artifact_type) : d.artifact_type;
    Check c{"referrer " + d.digest + " (" + type + ")", false, why};
    if (!m) {
      checks.push_back(c);
      continue;
    }
    if (type == k_artifact_intoto) {
      c.detail = "no DSSE envelope layer verifies with the key";
      for (const auto& st : verified_statements(layout, key, *m, c.detail)) {
        if (st.value("_type", "") != k_statement_type) {
          c.detail = "signed payload is not an in-toto statement";
          continue;
        }
        if (!names_image(st, hex)) {
          c.detail = "statement subject is not " + image.digest;
          continue;
        }
        c.ok = true;
        c.detail = "";
        c.name += ": signature and subject";
        break;
      }
    } else if (type == k_artifact_spdx || type == k_artifact_cyclonedx) {
      c.detail = "document is not the predicate of a signed SBOM statement about the image";
      if (sbom_covered(layout, *m, verified, hex, c.detail)) {
        c.ok = true;
        c.detail = "";
        c.name += ": covered by the signed SBOM statement";
      }
    } else {
      // Unknown artifact types are listed, not judged.
      c.ok = true;
      c.detail = "";
      c.name += ": not checked (unknown artifact type)";
    }
    checks.push_back(c);
  }
  if (found == 0)
    checks.push_back({"referrers: none for " + image.digest + " (pushed without OCI 1.1 referrers; cosign tags checked)",
                      true, ""});
}

} // namespace

std::optional<oci::Descriptor> pick_image(const oci::Layout& layout, const std::string& ref, std::string& why) {
  if (!ref.empty()) {
    auto d = layout.find_ref(ref);
    if (!d) why = "no manifest tagged '" + ref + "' in " + layout.dir().string();
    return d;
  }
  std::vector<oci::Descriptor> images;
  std::set<std::string> digests;
  for (const auto& d : layout.manifests())
    if (!is_attachment_ref(ref_of(d)) && !(ref_of(d).empty() && !d.artifact_type.empty()) &&
        digests.insert(d.digest).second)
      images.push_back(d);
  if (images.size() == 1) return images.front();
  why = images.empty() ? "no image manifest in " + layout.dir().string()
                       : std::to_string(images.size()) + " images in " + layout.dir().string() + "; choose one with --ref";
  return std::nullopt;
}

std::vector<Check> verify_layout(const fs::path& layout_dir, std::string_view public_key_pem, const Expectations& e) {
  public_key_id(public_key_pem); // throws Error(signature) for an unusable key before anything else
  oci::Layout layout = oci::Layout::open(layout_dir);
  std::vector<Check> checks;

  std::string why;
  auto image = pick_image(layout, e.ref, why);
  if (!image) {
    checks.push_back({"image manifest", false, why});
    return checks;
  }
  Check mc{"image manifest " + image->digest, false, ""};
  auto manifest = read_json_blob(layout, image->digest, mc.detail);
  if (manifest && manifest->value("mediaType", "") != oci::k_media_manifest && !manifest->contains("config"))
    mc.detail = "not an image manifest (mediaType " + manifest->value("mediaType", "none") + ")";
  else if (manifest)
    mc.ok = true;
  checks.push_back(mc);
  if (!mc.ok) return checks;

  checks.push_back(check_blob(layout, "config", manifest->value("config", json::object())));
  for (const auto& l : manifest->value("layers", json::array())) checks.push_back(check_blob(layout, "layer", l));

  checks.push_back(check_sig(layout, public_key_pem, *image));

  // Provenance: the .att DSSE envelopes; every one that verifies with the key is kept.
  Check ac{"provenance signature", false, ""};
  std::string att_tag = attachment_tag(image->digest, "att");
  std::vector<json> verified;
  if (auto att = layout.find_ref(att_tag); !att) {
    ac.detail = "no " + att_tag + " in the layout (no attestation)";
  } else if (auto am = read_json_blob(layout, att->digest, ac.detail)) {
    ac.detail = "no DSSE envelope in " + att_tag + " verifies with the key";
    verified = verified_statements(layout, public_key_pem, *am, ac.detail);
  }
  std::optional<json> statement;
  for (const auto& st : verified)
    if (!statement || st.value("predicateType", "") == k_slsa_provenance_v1) statement = st;
  if (statement) {
    ac.ok = true;
    ac.detail = "";
  }
  checks.push_back(ac);
  if (!statement) return checks;
  const std::string hex = image->digest.substr(7);

  Check sc{"provenance subject " + image->digest, false, ""};
  if (statement->value("_type", "") != k_statement_type)
    sc.detail = "statement _type is '" + statement->value("_type", "") + "', not " + k_statement_type;
  else if (!names_image(*statement, hex))
    sc.detail = "no subject has sha256 " + hex;
  else
    sc.ok = true;
  checks.push_back(sc);

  std::string pt = statement->value("predicateType", "");
  checks.push_back({"provenance predicateType " + std::string(k_slsa_provenance_v1), pt == k_slsa_provenance_v1,
                    pt == k_slsa_provenance_v1 ? "" : "predicateType is '" + pt + "'"});

  // An attached SBOM must be the predicate of a signed statement about this image.
  std::string sbom_tag = attachment_tag(image->digest, "sbom");
  if (auto sb = layout.find_ref(sbom_tag)) {
    Check bc{"sbom signature", false, "no signed SBOM statement in " + att_tag + " matches " + sbom_tag};
    std::string sbom_why;
    if (auto sm = read_json_blob(layout, sb->digest, sbom_why)) {
      if (sbom_covered(layout, *sm, verified, hex, bc.detail)) {
        bc.ok = true;
        bc.detail = "";
      }
    } else {
      bc.detail = sbom_why;
    }
    checks.push_back(bc);
  }

  check_referrers(layout, public_key_pem, *image, verified, checks);

  const json pred = statement->value("predicate", json::object());
  const json bdef = pred.is_object() ? pred.value("buildDefinition", json::object()) : json::object();
  if (!e.builder_id.empty()) {
    std::string got;
    if (pred.is_object() && pred.contains("runDetails") && pred["runDetails"].is_object())
      got = pred["runDetails"].value("builder", json::object()).value("id", "");
    checks.push_back({"builder.id " + e.builder_id, got == e.builder_id,
                      got == e.builder_id ? "" : "provenance builder.id is '" + got + "'"});
  }
  for (const auto& src : e.sources) {
    bool found = false;
    for (const auto& d : bdef.value("resolvedDependencies", json::array()))
      if (d.is_object() && d.value("uri", "") == src) found = true;
    checks.push_back({"source " + src, found, found ? "" : "not among resolvedDependencies"});
  }
  const json ext = bdef.value("externalParameters", json::object());
  for (const auto& [k, v] : e.params) {
    const json* got = lookup(ext, k);
    bool ok = got && param_matches(*got, v);
    checks.push_back({"param " + k + "=" + v, ok,
                      ok ? "" : got ? "externalParameters." + k + " is " + got->dump() : "externalParameters has no " + k});
  }
  return checks;
}

bool all_ok(const std::vector<Check>& checks) {
  if (checks.empty()) return false;
  for (const auto& c : checks)
    if (!c.ok) return false;
  return true;
}

std::string format_checks(const std::vector<Check>& checks) {
  std::string out;
  for (const auto& c : checks) out += (c.ok ? "ok   " + c.name : "FAIL " + c.name + ": " + c.detail) + "\n";
  return out;
}

void throw_if_failed(const std::vector<Check>& checks) {
  for (const auto& c : checks)
    if (!c.ok) throw Error(ErrorKind::verify, "verification failed: " + c.name + ": " + c.detail);
  if (checks.empty()) throw Error(ErrorKind::verify, "verification failed: nothing was checked");
}

} // namespace echo::attest
