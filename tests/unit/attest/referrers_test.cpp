// OCI 1.1 referrers written by attach() and checked by verify_layout().
#include "unit/attest/test_helpers.hpp"

#include "echo/attest/attach.hpp"
#include "echo/attest/dsse.hpp"
#include "echo/attest/provenance.hpp"
#include "echo/attest/signer.hpp"
#include "echo/attest/verify.hpp"
#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using namespace echo;
using namespace echo::attest;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  fs::path layout_dir = dir.path() / "image";
  std::unique_ptr<Signer> signer, other;
  oci::Layout layout = oci::Layout::create(layout_dir);
  oci::Descriptor image;
  Attachments a;

  Fixture() {
    keygen(dir.path() / "k", dir.path() / "k.pub", std::nullopt);
    keygen(dir.path() / "o", dir.path() / "o.pub", std::nullopt);
    signer = load_signer({dir.path() / "k", "", ""});
    other = load_signer({dir.path() / "o", "", ""});
    auto layer = layout.write_blob("layer", oci::k_media_layer_gzip);
    auto config = layout.write_blob(R"({"architecture":"amd64","created":"2023-11-14T22:13:20Z","os":"linux",)"
                                    R"("rootfs":{"type":"layers","diff_ids":[")" + layer.digest + R"("]}})",
                                    oci::k_media_config);
    image = layout.write_blob(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                                  oci::descriptor_json(config) + R"(,"layers":[)" + oci::descriptor_json(layer) + "]}",
                              oci::k_media_manifest);
    layout.put_manifest(image, "1.0");
    layout.save();
    a.provenance_statement = make_provenance_statement(test::sample_provenance(image.digest));
    a.sbom = R"({"spdxVersion":"SPDX-2.3","name":"x"})";
    attach(layout, image, "127.0.0.1:5000/example", *signer, a);
  }
  std::vector<oci::Descriptor> referrers() {
    std::vector<oci::Descriptor> out;
    oci::Layout l = oci::Layout::open(layout_dir);
    for (const auto& d : l.manifests())
      if (!d.artifact_type.empty() && !d.annotations.count(oci::k_annotation_ref_name)) out.push_back(d);
    return out;
  }
  std::vector<Check> verify() { return verify_layout(layout_dir, signer->public_key_pem(), {}); }
};

std::string failures(const std::vector<Check>& checks) {
  std::string s;
  for (const auto& c : checks)
    if (!c.ok) s += c.name + ": " + c.detail + "\n";
  return s;
}

} // namespace

TEST_CASE("attach: writes an in-toto and an SPDX referrer of the image into the layout") {
  Fixture f;
  auto refs = f.referrers();
  REQUIRE(refs.size() == 2);
  CHECK(refs[0].artifact_type == "application/vnd.in-toto+json");
  CHECK(refs[1].artifact_type == "application/spdx+json");
  json m = json::parse(f.layout.read_blob(refs[0].digest));
  CHECK(m["schemaVersion"] == 2);
  CHECK(m["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(m["artifactType"] == "application/vnd.in-toto+json");
  CHECK(m["config"] == json::parse(R"({"mediaType":"application/vnd.oci.empty.v1+json","digest":)"
                                   R"("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2})"));
  CHECK(f.layout.read_blob(m["config"]["digest"].get<std::string>()) == "{}");
  CHECK(m["subject"] == json::parse(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                                    f.image.digest + R"(","size":)" + std::to_string(f.image.size) + "}"));
  CHECK(m["annotations"] == json::parse(R"({"org.opencontainers.image.created":"2023-11-14T22:13:20Z"})"));
  REQUIRE(m["layers"].size() == 1);
  CHECK(m["layers"][0]["mediaType"] == "application/vnd.dsse.envelope.v1+json");
  std::string envelope = f.layout.read_blob(m["layers"][0]["digest"].get<std::string>());
  CHECK(envelope + "\n" == read_file(f.dir.path() / "image.intoto.jsonl"));
  CHECK(dsse_verify(f.signer->public_key_pem(), envelope) == f.a.provenance_statement);

  json s = json::parse(f.layout.read_blob(refs[1].digest));
  CHECK(s["artifactType"] == "application/spdx+json");
  CHECK(s["layers"][0]["mediaType"] == "application/spdx+json");
  CHECK(f.layout.read_blob(s["layers"][0]["digest"].get<std::string>()) == f.a.sbom);
  CHECK(s["subject"]["digest"] == f.image.digest);
}

TEST_CASE("attach: signing again replaces the earlier referrers instead of adding more") {
  Fixture f;
  auto first = f.referrers();
  oci::Layout l = oci::Layout::open(f.layout_dir);
  attach(l, f.image, "127.0.0.1:5000/example", *f.signer, f.a);
  auto second = f.referrers();
  REQUIRE(second.size() == 2);
  auto intoto = [](const std::vector<oci::Descriptor>& v) {
    for (const auto& d : v)
      if (d.artifact_type == "application/vnd.in-toto+json") return d.digest;
    return std::string();
  };
  CHECK(intoto(second) != intoto(first)); // a fresh (randomized) ECDSA signature, the old one is gone
  CHECK(intoto(second) != "");
  CHECK(l.manifests().size() == oci::Layout::open(f.layout_dir).manifests().size());
  CHECK(failures(verify_layout(f.layout_dir, f.signer->public_key_pem(), {})) == "");
}

TEST_CASE("verify: prints one passing check per referrer") {
  Fixture f;
  auto refs = f.referrers();
  auto checks = f.verify();
  CHECK(failures(checks) == "");
  std::string out = format_checks(checks);
  CHECK(out.find("ok   referrer " + refs[0].digest + " (application/vnd.in-toto+json): signature and subject\n") !=
        std::string::npos);
  CHECK(out.find("ok   referrer " + refs[1].digest + " (application/spdx+json): covered by the signed SBOM statement\n") !=
        std::string::npos);
}

TEST_CASE("verify: a referrer signed by another key fails, naming its digest") {
  Fixture f;
  oci::Layout l = oci::Layout::open(f.layout_dir);
  auto env = l.write_blob(dsse_sign(*f.other, k_payload_type_intoto, f.a.provenance_statement), k_media_dsse);
  auto bad = put_referrer_manifest(l, f.image, k_artifact_intoto, env, "");
  l.save();
  auto checks = f.verify();
  CHECK(failures(checks) == "referrer " + bad.digest +
                                " (application/vnd.in-toto+json): no DSSE envelope layer verifies with the key\n");
  CHECK_THROWS_WITH(throw_if_failed(checks), "verification failed: referrer " + bad.digest +
                                                 " (application/vnd.in-toto+json): no DSSE envelope layer verifies with the key");
}

TEST_CASE("verify: a signed referrer about another image fails") {
  Fixture f;
  oci::Layout l = oci::Layout::open(f.layout_dir);
  std::string other_digest = "sha256:" + std::string(64, 'e');
  auto env = l.write_blob(dsse_sign(*f.signer, k_payload_type_intoto,
                                    make_provenance_statement(test::sample_provenance(other_digest))),
                          k_media_dsse);
  auto bad = put_referrer_manifest(l, f.image, k_artifact_intoto, env, "");
  l.save();
  CHECK(failures(f.verify()) == "referrer " + bad.digest + " (application/vnd.in-toto+json): statement subject is not " +
                                    f.image.digest + "\n");
}

TEST_CASE("verify: no referrers is a note, not a failure") {
  Fixture f;
  json idx = json::parse(read_file(f.layout_dir / "index.json"));
  json kept = json::array();
  for (const auto& d : idx["manifests"])
    if (!d.contains("artifactType")) kept.push_back(d);
  idx["manifests"] = kept;
  write_file_atomic(f.layout_dir / "index.json", idx.dump());
  auto checks = f.verify();
  CHECK(failures(checks) == "");
  CHECK(format_checks(checks).find("ok   referrers: none for " + f.image.digest +
                                   " (pushed without OCI 1.1 referrers; cosign tags checked)\n") != std::string::npos);
}
