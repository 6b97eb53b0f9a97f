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

/// A signed one-layer test layout in a temp dir, plus a second key for "wrong key" cases.
struct Fixture {
  TempDir dir;
  fs::path layout_dir = dir.path() / "image";
  std::unique_ptr<Signer> signer, other;
  oci::Layout layout = oci::Layout::create(layout_dir);
  test::TestImage image = test::make_image(layout);
  std::string hex = image.manifest.digest.substr(7);

  Fixture() {
    keygen(dir.path() / "k", dir.path() / "k.pub", std::nullopt);
    keygen(dir.path() / "o", dir.path() / "o.pub", std::nullopt);
    signer = load_signer({dir.path() / "k", "", ""});
    other = load_signer({dir.path() / "o", "", ""});
    Attachments a;
    a.provenance_statement = make_provenance_statement(test::sample_provenance(image.manifest.digest));
    a.sbom = R"({"spdxVersion":"SPDX-2.3"})";
    attach(layout, image.manifest, "127.0.0.1:5000/example", *signer, a);
  }
  std::vector<Check> verify(const Expectations& e = {}) {
    return verify_layout(layout_dir, signer->public_key_pem(), e);
  }
  /// Digest of the OCI 1.1 referrer with this artifactType in the layout ("" if none).
  std::string referrer(const std::string& artifact_type) {
    oci::Layout l = oci::Layout::open(layout_dir);
    for (const auto& d : l.manifests())
      if (d.artifact_type == artifact_type && !d.annotations.count(oci::k_annotation_ref_name)) return d.digest;
    return "";
  }
  json manifest_of(const std::string& tag) {
    auto d = oci::Layout::open(layout_dir).find_ref(tag);
    REQUIRE(d);
    return json::parse(read_file(layout.blob_path(d->digest)));
  }
};

const Check* failed(const std::vector<Check>& checks) {
  for (const auto& c : checks)
    if (!c.ok) return &c;
  return nullptr;
}

std::string first_failure(const std::vector<Check>& checks) {
  const Check* c = failed(checks);
  return c ? c->name + ": " + c->detail : "all ok";
}

} // namespace

TEST_CASE("attach writes cosign-style .sig/.att/.sbom and side files; verify passes", "[attach][verify]") {
  Fixture f;
  std::string sig_tag = "sha256-" + f.hex + ".sig";
  json sig = f.manifest_of(sig_tag);
  CHECK(sig["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(sig["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json");
  REQUIRE(sig["layers"].size() == 1);
  const json& layer = sig["layers"][0];
  CHECK(layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json");
  std::string payload = f.layout.read_blob(layer["digest"].get<std::string>());
  CHECK(payload == R"({"critical":{"identity":{"docker-reference":"127.0.0.1:5000/example"},"image":{"docker-manifest-digest":"sha256:)" +
                       f.hex + R"("},"type":"cosign container image signature"},"optional":null})");
  std::string config = f.layout.read_blob(sig["config"]["digest"].get<std::string>());
  CHECK(config == R"({"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[")" +
                      layer["digest"].get<std::string>() + R"("]},"config":{}})");
  auto der = base64_decode(layer["annotations"]["dev.cosignproject.cosign/signature"].get<std::string>());
  REQUIRE(der);
  CHECK(verify_signature(f.signer->public_key_pem(), payload, *der));

  json att = f.manifest_of("sha256-" + f.hex + ".att");
  CHECK(att["layers"][0]["mediaType"] == "application/vnd.dsse.envelope.v1+json");
  CHECK(att["layers"][0]["annotations"] == json{{"dev.cosignproject.cosign/signature", ""}, {"predicateType", "https://slsa.dev/provenance/v1"}});
  json sbom = f.manifest_of("sha256-" + f.hex + ".sbom");
  CHECK(sbom["layers"][0]["mediaType"] == "text/spdx+json");

  std::string jsonl = read_file(f.dir.path() / "image.intoto.jsonl");
  CHECK(jsonl == f.layout.read_blob(att["layers"][0]["digest"].get<std::string>()) + "\n");
  CHECK(read_file(f.dir.path() / "image.spdx.json") == R"({"spdxVersion":"SPDX-2.3"})");

  Expectations e;
  e.builder_id = k_builder_local;
  e.sources = {"https://zlib.net/zlib-1.3.1.tar.gz"};
  e.params = {{"platform", "linux/amd64"}, {"tags", "latest"}, {"source.commit", "0123456789abcdef0123456789abcdef01234567"},
              {"sourceDateEpoch", "1700000000"}};
  auto checks = f.verify(e);
  INFO(format_checks(checks));
  CHECK(all_ok(checks));
  CHECK(format_checks(checks) == "ok   image manifest " + f.image.manifest.digest + "\nok   config " + f.image.config.digest +
                                     "\nok   layer " + f.image.layer.digest + "\nok   signature over manifest " +
                                     f.image.manifest.digest + "\nok   provenance signature\nok   provenance subject " +
                                     f.image.manifest.digest +
                                     "\nok   provenance predicateType https://slsa.dev/provenance/v1\n"
                                     "ok   sbom signature\n"
                                     "ok   referrer " + f.referrer("application/vnd.in-toto+json") +
                                     " (application/vnd.in-toto+json): signature and subject\n"
                                     "ok   referrer " + f.referrer("application/spdx+json") +
                                     " (application/spdx+json): covered by the signed SBOM statement\n"
                                     "ok   builder.id https://echo-build.dev/builders/local\n"
                                     "ok   source https://zlib.net/zlib-1.3.1.tar.gz\n"
                                     "ok   param platform=linux/amd64\nok   param source.commit=0123456789abcdef0123456789abcdef01234567\n"
                                     "ok   param sourceDateEpoch=1700000000\nok   param tags=latest\n");
  CHECK_NOTHROW(throw_if_failed(checks));
}

TEST_CASE("attach refuses a statement about another subject", "[attach]") {
  Fixture f;
  Attachments a;
  a.provenance_statement = make_provenance_statement(test::sample_provenance("sha256:" + std::string(64, '0')));
  CHECK_THROWS_WITH(attach(f.layout, f.image.manifest, "x", *f.signer, a),
                    "provenance statement subject is not the image " + f.image.manifest.digest);
}

TEST_CASE("tampering is caught and the failed check is named", "[verify]") {
  Fixture f;
  SECTION("flipped byte in a layer") {
    test::flip_byte(f.layout.blob_path(f.image.layer.digest), 3);
    auto checks = f.verify();
    CHECK_FALSE(all_ok(checks));
    std::string actual = "sha256:" + sha256_file(f.layout.blob_path(f.image.layer.digest));
    CHECK(first_failure(checks) == "layer " + f.image.layer.digest + ": digest mismatch (content is " + actual + ")");
    CHECK_THROWS_WITH(throw_if_failed(checks), "verification failed: layer " + f.image.layer.digest +
                                                   ": digest mismatch (content is " + actual + ")");
  }
  SECTION("flipped byte in the config") {
    test::flip_byte(f.layout.blob_path(f.image.config.digest), 5);
    CHECK(first_failure(f.verify()).rfind("config " + f.image.config.digest + ": digest mismatch", 0) == 0);
  }
  SECTION("flipped byte in the image manifest") {
    test::flip_byte(f.layout.blob_path(f.image.manifest.digest), 10);
    auto checks = f.verify();
    REQUIRE(checks.size() == 1);
    CHECK(first_failure(checks).rfind("image manifest " + f.image.manifest.digest + ": blob " + f.image.manifest.digest +
                                          " in " + f.layout_dir.string() + ": digest mismatch",
                                      0) == 0);
  }
  SECTION("missing layer blob") {
    fs::remove(f.layout.blob_path(f.image.layer.digest));
    CHECK(first_failure(f.verify()) == "layer " + f.image.layer.digest + ": blob is missing from " + f.layout_dir.string());
  }
  SECTION("signature replaced by one from another key") {
    std::string payload = simple_signing_payload("127.0.0.1:5000/example", f.image.manifest.digest);
    auto layer = f.layout.write_blob(payload, k_media_simplesigning);
    layer.annotations[k_annotation_signature] = base64_encode(f.other->sign(payload));
    put_attachment_manifest(f.layout, {layer}, attachment_tag(f.image.manifest.digest, "sig"));
    f.layout.save();
    CHECK(first_failure(f.verify()) == "signature over manifest " + f.image.manifest.digest + ": no signature in sha256-" +
                                           f.hex + ".sig verifies with the key");
  }
  SECTION("valid signature over another digest") {
    std::string other_digest = "sha256:" + std::string(64, '0');
    std::string payload = simple_signing_payload("127.0.0.1:5000/example", other_digest);
    auto layer = f.layout.write_blob(payload, k_media_simplesigning);
    layer.annotations[k_annotation_signature] = base64_encode(f.signer->sign(payload));
    put_attachment_manifest(f.layout, {layer}, attachment_tag(f.image.manifest.digest, "sig"));
    f.layout.save();
    CHECK(first_failure(f.verify()) == "signature over manifest " + f.image.manifest.digest + ": the signed payload names " +
                                           other_digest + ", not this image");
  }
  SECTION("provenance signed by the key but about another subject") {
    std::string st = make_provenance_statement(test::sample_provenance("sha256:" + std::string(64, '0')));
    auto layer = f.layout.write_blob(dsse_sign(*f.signer, k_payload_type_intoto, st), k_media_dsse);
    layer.annotations[k_annotation_predicate_type] = k_slsa_provenance_v1;
    put_attachment_manifest(f.layout, {layer}, attachment_tag(f.image.manifest.digest, "att"));
    f.layout.save();
    CHECK(first_failure(f.verify()) == "provenance subject " + f.image.manifest.digest + ": no subject has sha256 " + f.hex);
  }
  SECTION("provenance payload altered after signing") {
    json att = f.manifest_of(attachment_tag(f.image.manifest.digest, "att"));
    json env = json::parse(f.layout.read_blob(att["layers"][0]["digest"].get<std::string>()));
    std::string st = *base64_decode(env["payload"].get<std::string>());
    auto at = st.find("builders/local");
    st.replace(at, 14, "builders/cloud");
    env["payload"] = base64_encode(st);
    auto layer = f.layout.write_blob(env.dump(), k_media_dsse);
    put_attachment_manifest(f.layout, {layer}, attachment_tag(f.image.manifest.digest, "att"));
    f.layout.save();
    CHECK(first_failure(f.verify()) == "provenance signature: no DSSE envelope in sha256-" + f.hex + ".att verifies with the key");
  }
  SECTION("SBOM replaced after signing") {
    auto layer = f.layout.write_blob(R"({"spdxVersion":"SPDX-2.3","name":"forged"})", k_media_spdx);
    put_attachment_manifest(f.layout, {layer}, attachment_tag(f.image.manifest.digest, "sbom"));
    f.layout.save();
    CHECK(first_failure(f.verify()) == "sbom signature: no signed SBOM statement in sha256-" + f.hex +
                                           ".att matches sha256-" + f.hex + ".sbom");
  }
  SECTION("wrong key") {
    auto checks = verify_layout(f.layout_dir, f.other->public_key_pem(), {});
    CHECK(first_failure(checks) == "signature over manifest " + f.image.manifest.digest + ": no signature in sha256-" + f.hex +
                                       ".sig verifies with the key");
    CHECK(checks.back().name == "provenance signature");
    CHECK_FALSE(checks.back().ok);
  }
  SECTION("missing .att") {
    oci::Layout l = oci::Layout::open(f.layout_dir);
    auto kept = l.manifests();
    oci::Layout fresh = oci::Layout::open(f.layout_dir);
    // Rebuild index.json without the .att entry.
    fs::remove(f.layout_dir / "index.json");
    write_file_atomic(f.layout_dir / "index.json", R"({"schemaVersion":2,"manifests":[]})");
    oci::Layout rebuilt = oci::Layout::open(f.layout_dir);
    for (const auto& d : kept) {
      auto it = d.annotations.find(oci::k_annotation_ref_name);
      std::string ref = it == d.annotations.end() ? "" : it->second; // "": an OCI 1.1 referrer
      if (ref.size() > 4 && ref.substr(ref.size() - 4) == ".att") continue;
      rebuilt.put_manifest(d, ref);
    }
    rebuilt.save();
    CHECK(first_failure(f.verify()) == "provenance signature: no sha256-" + f.hex + ".att in the layout (no attestation)");
  }
  SECTION("unsigned image") {
    test::TestImage second = test::make_image(f.layout, "another layer");
    Expectations e;
    e.ref = "1.0"; // make_image retagged 1.0 to the new image
    CHECK(first_failure(f.verify(e)) == "signature over manifest " + second.manifest.digest + ": no sha256-" +
                                            second.manifest.digest.substr(7) + ".sig in the layout (image is not signed)");
  }
  SECTION("expectations not met") {
    Expectations e;
    e.builder_id = "https://ci.example/builders/prod";
    e.sources = {"https://evil.example/zlib.tar.gz"};
    e.params = {{"platform", "linux/arm64"}, {"nope", "x"}};
    auto checks = f.verify(e);
    std::vector<std::string> fails;
    for (const auto& c : checks)
      if (!c.ok) fails.push_back(c.name + ": " + c.detail);
    CHECK(fails == std::vector<std::string>{
                       "builder.id https://ci.example/builders/prod: provenance builder.id is 'https://echo-build.dev/builders/local'",
                       "source https://evil.example/zlib.tar.gz: not among resolvedDependencies",
                       "param nope=x: externalParameters has no nope",
                       "param platform=linux/arm64: externalParameters.platform is \"linux/amd64\""});
  }
}

TEST_CASE("verify picks the only image or asks for --ref", "[verify]") {
  Fixture f;
  test::make_image(f.layout, "second image layer");
  f.layout.put_manifest(f.image.manifest, "old");
  f.layout.save();
  auto checks = f.verify();
  CHECK(first_failure(checks) == "image manifest: 2 images in " + f.layout_dir.string() + "; choose one with --ref");
  Expectations e;
  e.ref = "old";
  CHECK(all_ok(f.verify(e)));
  e.ref = "missing";
  CHECK(first_failure(f.verify(e)) == "image manifest: no manifest tagged 'missing' in " + f.layout_dir.string());
}

TEST_CASE("the .att holds a signed SBOM statement about the image", "[attach]") {
  Fixture f;
  json att = f.manifest_of(attachment_tag(f.image.manifest.digest, "att"));
  REQUIRE(att["layers"].size() == 2);
  CHECK(att["layers"][1]["annotations"]["predicateType"] == "https://spdx.dev/Document");
  auto payload = dsse_verify(f.signer->public_key_pem(), f.layout.read_blob(att["layers"][1]["digest"].get<std::string>()));
  REQUIRE(payload);
  json st = json::parse(*payload);
  CHECK(st["subject"][0]["digest"]["sha256"] == f.hex);
  CHECK(st["predicate"] == json{{"spdxVersion", "SPDX-2.3"}});
}

TEST_CASE("re-signing with another key and no SBOM keeps and re-signs the attached SBOM", "[attach]") {
  Fixture f;
  Attachments a;
  a.provenance_statement = make_provenance_statement(test::sample_provenance(f.image.manifest.digest));
  attach(f.layout, f.image.manifest, "127.0.0.1:5000/example", *f.other, a);
  auto checks = verify_layout(f.layout_dir, f.other->public_key_pem(), {});
  INFO(format_checks(checks));
  CHECK(all_ok(checks));
  CHECK(checks.size() == 10); // manifest, config, layer, sig, att, subject, predicateType, sbom, 2 referrers
  CHECK_FALSE(all_ok(f.verify()));
}
