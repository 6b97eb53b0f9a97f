// OCI 1.1 referrers: the tag-schema merge (empty, existing entries kept, no duplicates) and push() against
// an in-process registry with and without the referrers API (OCI-Subject on the manifest PUT).
#include "echo/oci/layout.hpp"
#include "echo/registry/client.hpp"
#include "echo/registry/referrers.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"
#include "unit/registry/test_server.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <tuple>
#include <algorithm>

using namespace echo::registry;
using echo::test::ServerRequest;
using echo::test::ServerResponse;
using echo::test::TestServer;
using nlohmann::json;

namespace {

echo::oci::Descriptor ref_desc(const std::string& body, const std::string& type) {
  echo::oci::Descriptor d;
  d.media_type = echo::oci::k_media_manifest;
  d.digest = "sha256:" + echo::sha256_hex(body);
  d.size = body.size();
  d.artifact_type = type;
  d.annotations["org.opencontainers.image.created"] = "2023-11-14T22:13:20Z";
  return d;
}

/// Blobs, manifests by tag/digest; OCI-Subject on PUTs of manifests with a subject when `referrers_api`.
struct Registry {
  std::mutex mu;
  std::map<std::string, std::string> blobs, manifests;
  std::vector<std::string> log;
  bool referrers_api = false;
  std::string host;
  int next = 0;

  ServerResponse handle(const ServerRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    std::string path = r.target.substr(0, r.target.find('?'));
    std::string query = r.target.find('?') == std::string::npos ? "" : r.target.substr(r.target.find('?') + 1);
    log.push_back(r.method + " " + path);
    const std::string bp = "/v2/app/blobs/", up = "/v2/app/blobs/uploads/", mp = "/v2/app/manifests/";
    if (r.method == "HEAD" && path.rfind(bp, 0) == 0) return {blobs.count(path.substr(bp.size())) ? 200 : 404, {}, ""};
    if (r.method == "POST" && path == up) return {202, {{"Location", up + "u" + std::to_string(++next)}}, ""};
    if (r.method == "PUT" && path.rfind(up, 0) == 0) {
      std::string digest = query.substr(query.find("digest=") + 7);
      digest.replace(digest.find("%3A"), 3, ":");
      blobs[digest] = r.body;
      return {201, {}, ""};
    }
    if (r.method == "PUT" && path.rfind(mp, 0) == 0) {
      manifests[path.substr(mp.size())] = r.body;
      std::vector<std::pair<std::string, std::string>> h{{"Docker-Content-Digest", "sha256:" + echo::sha256_hex(r.body)}};
      json j = json::parse(r.body);
      if (referrers_api && j.contains("subject")) h.emplace_back("OCI-Subject", j["subject"]["digest"]);
      return {201, h, ""};
    }
    if (r.method == "GET" && path.rfind(mp, 0) == 0) {
      auto it = manifests.find(path.substr(mp.size()));
      if (it == manifests.end()) return {404, {}, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]})"};
      return {200, {{"Content-Type", json::parse(it->second).value("mediaType", "")}}, it->second};
    }
    return {404, {}, ""};
  }
};

/// A layout with image :1.0 and two referrers of it (in-toto, SPDX), as attach() writes them.
struct Fixture {
  echo::TempDir tmp;
  echo::oci::Layout l = echo::oci::Layout::create(tmp.path());
  echo::oci::Descriptor image;
  std::vector<echo::oci::Descriptor> referrers;

  Fixture() {
    auto config = l.write_blob(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})",
                               echo::oci::k_media_config);
    auto layer = l.write_blob("layer", echo::oci::k_media_layer_gzip);
    image = l.write_blob(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                             echo::oci::descriptor_json(config) + R"(,"layers":[)" + echo::oci::descriptor_json(layer) + "]}",
                         echo::oci::k_media_manifest);
    l.put_manifest(image, "1.0");
    auto empty = l.write_blob("{}", echo::oci::k_media_empty);
    for (auto [type, lt, body] : {std::tuple{k_artifact_intoto, "application/vnd.dsse.envelope.v1+json", "{\"payload\":\"\"}"},
                                  std::tuple{k_artifact_spdx, "application/spdx+json", "{\"spdxVersion\":\"SPDX-2.3\"}"}}) {
      auto lay = l.write_blob(body, lt);
      json m = {{"schemaVersion", 2},
                {"mediaType", echo::oci::k_media_manifest},
                {"artifactType", type},
                {"config", json::parse(echo::oci::descriptor_json(empty))},
                {"layers", json::array({json::parse(echo::oci::descriptor_json(lay))})},
                {"subject", {{"mediaType", image.media_type}, {"digest", image.digest}, {"size", image.size}}},
                {"annotations", {{"org.opencontainers.image.created", "2023-11-14T22:13:20Z"}}}};
      auto d = l.write_blob(m.dump(), echo::oci::k_media_manifest);
      d.artifact_type = type;
      l.put_manifest(d, "");
      referrers.push_back(d);
    }
    l.save();
  }
};

} // namespace

TEST_CASE("referrers tag schema: merging into no index creates one with the descriptors") {
  auto a = ref_desc("a", k_artifact_intoto), b = ref_desc("b", k_artifact_spdx);
  MergedIndex m = merge_referrers_index("", {a, b}, "t");
  CHECK(m.added == 2);
  json j = json::parse(m.bytes);
  CHECK(j["schemaVersion"] == 2);
  CHECK(j["mediaType"] == "application/vnd.oci.image.index.v1+json");
  REQUIRE(j["manifests"].size() == 2);
  CHECK(j["manifests"][0] == json::parse(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "artifactType":"application/vnd.in-toto+json","digest":")" + a.digest + R"(","size":1,
    "annotations":{"org.opencontainers.image.created":"2023-11-14T22:13:20Z"}})"));
  CHECK(j["manifests"][1]["artifactType"] == "application/spdx+json");
  CHECK(referrers_tag(a.digest) == "sha256-" + a.digest.substr(7));
}

TEST_CASE("referrers tag schema: existing entries are kept and nothing is listed twice") {
  auto old = ref_desc("old", "application/vnd.dev.sigstore.bundle.v0.3+json");
  auto a = ref_desc("a", k_artifact_intoto), b = ref_desc("b", k_artifact_spdx);
  std::string first = merge_referrers_index("", {old, a}, "t").bytes;
  MergedIndex m = merge_referrers_index(first, {a, b}, "t");
  CHECK(m.added == 1);
  auto list = parse_referrers_index(m.bytes, "t");
  REQUIRE(list.size() == 3);
  CHECK(list[0].digest == old.digest);
  CHECK(list[0].artifact_type == "application/vnd.dev.sigstore.bundle.v0.3+json");
  CHECK(list[1].digest == a.digest);
  CHECK(list[2].digest == b.digest);
  CHECK(list[2].annotations.at("org.opencontainers.image.created") == "2023-11-14T22:13:20Z");
  MergedIndex again = merge_referrers_index(m.bytes, {a, b}, "t");
  CHECK(again.added == 0);
  CHECK(again.bytes == m.bytes);
}

TEST_CASE("referrers tag schema: a tag holding something else than an index is an error naming it") {
  try {
    merge_referrers_index(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})", {}, "referrers index sha256-x");
    FAIL("no error");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::registry);
    CHECK(std::string(e.what()) == "referrers index sha256-x: media type 'application/vnd.oci.image.manifest.v1+json' "
                                   "is not an OCI image index");
  }
}

TEST_CASE("push: without OCI-Subject the referrers are listed in the sha256-<hex> tag index, once") {
  Fixture f;
  Registry reg;
  TestServer server([&](const ServerRequest& r) { return reg.handle(r); });
  reg.host = server.host();
  ClientOptions opts;
  opts.insecure_registries = {server.host()};
  PushResult res = push(f.tmp.path(), Reference::parse(server.host() + "/app:1.0"), {}, opts);
  CHECK(res.digest == f.image.digest);
  std::string tag = "sha256-" + f.image.digest.substr(7);
  CHECK(res.referrers_tag == tag);
  REQUIRE(res.referrers.size() == 2);
  CHECK(res.referrers[0].digest == f.referrers[0].digest);
  CHECK(res.referrers[0].artifact_type == "application/vnd.in-toto+json");
  CHECK_FALSE(res.referrers[0].oci_subject);
  CHECK(reg.manifests.count(f.referrers[0].digest));
  CHECK(reg.manifests.count(f.referrers[1].digest));
  CHECK(reg.blobs.count("sha256:" + echo::sha256_hex("{}")));
  REQUIRE(reg.manifests.count(tag));
  auto list = parse_referrers_index(reg.manifests[tag], "tag");
  REQUIRE(list.size() == 2);
  CHECK(list[0].digest == f.referrers[0].digest);
  CHECK(list[0].artifact_type == "application/vnd.in-toto+json");
  CHECK(list[1].artifact_type == "application/spdx+json");
  CHECK(list[1].annotations.at("org.opencontainers.image.created") == "2023-11-14T22:13:20Z");

  // Again: nothing new, the tag is read but not written.
  std::string before = reg.manifests[tag];
  reg.log.clear();
  push(f.tmp.path(), Reference::parse(server.host() + "/app:1.0"), {}, opts);
  CHECK(reg.manifests[tag] == before);
  CHECK(std::count(reg.log.begin(), reg.log.end(), "GET /v2/app/manifests/" + tag) == 1);
  CHECK(std::count(reg.log.begin(), reg.log.end(), "PUT /v2/app/manifests/" + tag) == 0);
}

TEST_CASE("push: with OCI-Subject (referrers API) the tag index is not touched") {
  Fixture f;
  Registry reg;
  reg.referrers_api = true;
  TestServer server([&](const ServerRequest& r) { return reg.handle(r); });
  reg.host = server.host();
  ClientOptions opts;
  opts.insecure_registries = {server.host()};
  PushResult res = push(f.tmp.path(), Reference::parse(server.host() + "/app:1.0"), {}, opts);
  std::string tag = "sha256-" + f.image.digest.substr(7);
  CHECK(res.referrers_tag.empty());
  REQUIRE(res.referrers.size() == 2);
  CHECK(res.referrers[0].oci_subject);
  CHECK(res.referrers[1].oci_subject);
  CHECK(reg.manifests.count(f.referrers[0].digest));
  CHECK_FALSE(reg.manifests.count(tag));
  for (const auto& line : reg.log) CHECK(line.find("/manifests/" + tag) == std::string::npos);
}
