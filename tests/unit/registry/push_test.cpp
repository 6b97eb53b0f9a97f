// push(): image selection, verification before any request, and the upload protocol against a small
// in-process registry (monolithic and chunked uploads, Location with and without a query).
#include "echo/oci/layout.hpp"
#include "echo/registry/client.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"
#include "unit/registry/test_server.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace echo::registry;
using echo::test::ServerRequest;
using echo::test::ServerResponse;
using echo::test::TestServer;

namespace {

struct Image {
  echo::oci::Descriptor manifest;
  std::string layer_digest, config_digest;
};

Image add_image(echo::oci::Layout& l, const std::string& layer_bytes, const std::string& ref_name) {
  auto config = l.write_blob(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})",
                             echo::oci::k_media_config);
  auto layer = l.write_blob(layer_bytes, echo::oci::k_media_layer_gzip);
  std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                  echo::oci::descriptor_json(config) + R"(,"layers":[)" + echo::oci::descriptor_json(layer) + "]}";
  auto md = l.write_blob(m, echo::oci::k_media_manifest);
  l.put_manifest(md, ref_name);
  l.save();
  return {md, layer.digest, config.digest};
}

std::string push_error(const std::filesystem::path& dir, const std::string& ref, echo::ErrorKind want) {
  ClientOptions opts;
  opts.insecure_registries = {"127.0.0.1:1"};
  opts.max_attempts = 1;
  try {
    push(dir, Reference::parse(ref), {}, opts);
  } catch (const echo::Error& e) {
    CHECK(e.kind() == want);
    return e.what();
  }
  return "(no error)";
}

/// Just enough of a registry: blobs and manifests in maps, uploads with a _state query or a plain path.
struct MiniRegistry {
  std::map<std::string, std::string> blobs, manifests, uploads;
  std::vector<std::string> log;
  int next = 0;
  int fail_uploads = 0; // this many upload PUT/PATCH requests answer fail_status
  int fail_status = 500;
  std::string fail_retry_after; // Retry-After header of those answers ("" = none)
  bool query_locations = true;
  std::string host;

  ServerResponse handle(const ServerRequest& r) {
    std::string path = r.target.substr(0, r.target.find('?'));
    std::string query = r.target.find('?') == std::string::npos ? "" : r.target.substr(r.target.find('?') + 1);
    log.push_back(r.method + " " + path + (r.headers.count("content-range") ? " " + r.headers.at("content-range") : ""));
    const std::string blob_prefix = "/v2/app/blobs/";
    const std::string upload_prefix = "/v2/app/blobs/uploads/";
    if (r.method == "HEAD" && path.rfind(blob_prefix, 0) == 0)
      return {blobs.count(path.substr(blob_prefix.size())) ? 200 : 404, {}, ""};
    if (r.method == "POST" && path == upload_prefix) {
      std::string id = "u" + std::to_string(++next);
      uploads[id] = "";
      std::string loc = query_locations ? "http://" + host + upload_prefix + id + "?_state=abc" : upload_prefix + id;
      return {202, {{"Location", loc}}, ""};
    }
    if (path.rfind(upload_prefix, 0) == 0) {
      std::string id = path.substr(upload_prefix.size());
      if (!uploads.count(id)) return {404, {}, R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"unknown"}]})"};
      if (fail_uploads > 0) {
        --fail_uploads;
        uploads.erase(id);
        std::vector<std::pair<std::string, std::string>> headers;
        if (!fail_retry_after.empty()) headers.emplace_back("Retry-After", fail_retry_after);
        return {fail_status, headers, R"({"errors":[{"code":"UNKNOWN","message":"storage hiccup"}]})"};
      }
      if (r.method == "PATCH") {
        std::string range = std::to_string(uploads[id].size()) + "-" + std::to_string(uploads[id].size() + r.body.size() - 1);
        if (r.headers.at("content-range") != range) return {416, {}, ""};
        uploads[id] += r.body;
        return {202, {{"Location", upload_prefix + id + (query_locations ? "?_state=def" : "")}}, ""};
      }
      if (r.method == "PUT") {
        std::string data = uploads[id] + r.body;
        auto d = query.find("digest=");
        std::string digest = query.substr(d + 7);
        digest.replace(digest.find("%3A"), 3, ":");
        if ("sha256:" + echo::sha256_hex(data) != digest)
          return {400, {}, R"({"errors":[{"code":"DIGEST_INVALID","message":"digest mismatch"}]})"};
        blobs[digest] = data;
        return {201, {}, ""};
      }
    }
    if (r.method == "PUT" && path.rfind("/v2/app/manifests/", 0) == 0) {
      manifests[path.substr(18)] = r.body;
      return {201, {{"Docker-Content-Digest", "sha256:" + echo::sha256_hex(r.body)}}, ""};
    }
    return {404, {}, ""};
  }
};

} // namespace

TEST_CASE("push: several images and no ref name matching the tag is a usage error listing them") {
  echo::TempDir tmp;
  auto l = echo::oci::Layout::create(tmp.path());
  add_image(l, "one", "a");
  auto b = add_image(l, "two", "");
  CHECK(push_error(tmp.path(), "127.0.0.1:1/app:zzz", echo::ErrorKind::usage) ==
        tmp.path().string() + " has 2 images and none is named 'zzz'; ref names: a, (unnamed " + b.manifest.digest + ")");
}

TEST_CASE("push: a corrupted blob is reported by digest before any request") {
  echo::TempDir tmp;
  auto l = echo::oci::Layout::create(tmp.path());
  auto img = add_image(l, "layer-bytes", "1.0");
  echo::write_file_atomic(l.blob_path(img.layer_digest), "tampered");
  // 127.0.0.1:1 refuses connections: a registry error would mean a request was attempted.
  CHECK(push_error(tmp.path(), "127.0.0.1:1/app:1.0", echo::ErrorKind::verify) ==
        "blob " + img.layer_digest + " in " + tmp.path().string() + ": digest mismatch (content is sha256:" +
            echo::sha256_hex("tampered") + ")");
}

TEST_CASE("push: refs by digest and bad extra tags are usage errors") {
  echo::TempDir tmp;
  auto l = echo::oci::Layout::create(tmp.path());
  add_image(l, "x", "1.0");
  CHECK(push_error(tmp.path(), "127.0.0.1:1/app@sha256:" + std::string(64, 'a'), echo::ErrorKind::usage) ==
        "push to '127.0.0.1:1/app@sha256:" + std::string(64, 'a') + "': give a tag, not a digest (the digest is computed)");
  ClientOptions opts;
  CHECK_THROWS_WITH(push(tmp.path(), Reference::parse("127.0.0.1:1/app:1.0"), {"bad/tag"}, opts),
                    "--tag 'bad/tag': not a valid tag");
}

TEST_CASE("push: monolithic and chunked uploads, blobs before manifests, attachments last, HEAD skips") {
  MiniRegistry reg;
  TestServer server([&](const ServerRequest& r) { return reg.handle(r); });
  reg.host = server.host();
  echo::TempDir tmp;
  auto l = echo::oci::Layout::create(tmp.path());
  std::string big(2500, 'z');
  auto img = add_image(l, big, "1.0");
  std::string sig_name = "sha256-" + img.manifest.digest.substr(7) + ".sig";
  auto sig = add_image(l, "signature-layer", sig_name);

  for (bool query : {true, false}) {
    DYNAMIC_SECTION("Location " << (query ? "with" : "without") << " query") {
      reg.query_locations = query;
      ClientOptions opts;
      opts.insecure_registries = {server.host()};
      opts.chunk_size = 1000;
      auto r = push(tmp.path(), Reference::parse(server.host() + "/app:1.0"), {"extra"}, opts);
      CHECK(r.digest == img.manifest.digest);
      CHECK(r.tags == std::vector<std::string>{"1.0", "extra"});
      CHECK(r.attachments == std::vector<std::string>{sig_name});
      CHECK(r.uploaded == 3); // layer (3 chunks), config shared by both, signature layer
      CHECK(r.skipped == 0);
      CHECK(reg.blobs.at(img.layer_digest) == big);
      CHECK(reg.manifests.at("1.0") == l.read_blob(img.manifest.digest));
      CHECK(reg.manifests.at("extra") == reg.manifests.at("1.0"));
      CHECK(reg.manifests.count(sig_name) == 1);
      std::vector<std::string> patches;
      for (const auto& line : reg.log)
        if (line.rfind("PATCH", 0) == 0) patches.push_back(line.substr(line.rfind(' ') + 1));
      CHECK(patches == std::vector<std::string>{"0-999", "1000-1999", "2000-2499"});
      // Every image blob before the image manifest; the attachment after it.
      auto pos = [&](const std::string& prefix) {
        for (std::size_t i = 0; i < reg.log.size(); ++i)
          if (reg.log[i].rfind(prefix, 0) == 0) return i;
        return reg.log.size();
      };
      CHECK(pos("PUT /v2/app/manifests/1.0") > pos("PUT /v2/app/blobs/uploads/"));
      CHECK(pos("PUT /v2/app/manifests/" + sig_name) > pos("PUT /v2/app/manifests/extra"));

      auto again = push(tmp.path(), Reference::parse(server.host() + "/app:1.0"), {}, opts);
      CHECK(again.uploaded == 0);
      CHECK(again.skipped == 3);
      reg = MiniRegistry{};
      reg.host = server.host();
    }
  }
}

TEST_CASE("push: a failed upload step restarts that blob's upload; persistent failures name blob and attempts") {
  MiniRegistry reg;
  TestServer server([&](const ServerRequest& r) { return reg.handle(r); });
  reg.host = server.host();
  echo::TempDir tmp;
  auto l = echo::oci::Layout::create(tmp.path());
  auto img = add_image(l, std::string(1500, 'q'), "1.0");
  ClientOptions opts;
  opts.insecure_registries = {server.host()};
  opts.first_backoff = std::chrono::milliseconds(1);
  opts.chunk_size = 1000;
  reg.fail_uploads = 2;
  auto r = push(tmp.path(), Reference::parse(server.host() + "/app:1.0"), {}, opts);
  CHECK(r.uploaded == 2);
  CHECK(reg.blobs.at(img.layer_digest) == std::string(1500, 'q'));

  MiniRegistry broken;
  broken.fail_uploads = 1000;
  TestServer server2([&](const ServerRequest& q) { return broken.handle(q); });
  broken.host = server2.host();
  opts.insecure_registries = {server2.host()};
  opts.max_attempts = 3;
  try {
    push(tmp.path(), Reference::parse(server2.host() + "/app:1.0"), {}, opts);
    FAIL("no error");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::registry);
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.rfind("pushing " + tmp.path().string() + " to " + server2.host() + "/app:1.0: pushing blob " +
                        img.config_digest + ": PUT http://" + server2.host() + "/v2/app/blobs/uploads/u3: 500 "
                        "Internal Server Error: UNKNOWN: storage hiccup (after 3 attempts)", 0) == 0);
  }
  CHECK(broken.manifests.empty());
}

TEST_CASE("push: a 429 with Retry-After on an upload step waits that long before the new upload") {
  MiniRegistry reg;
  TestServer server([&](const ServerRequest& r) { return reg.handle(r); });
  reg.host = server.host();
  echo::TempDir tmp;
  auto l = echo::oci::Layout::create(tmp.path());
  auto img = add_image(l, std::string(500, 'r'), "1.0");
  ClientOptions opts;
  opts.insecure_registries = {server.host()};
  opts.first_backoff = std::chrono::milliseconds(1);
  reg.fail_uploads = 1;
  reg.fail_status = 429;
  reg.fail_retry_after = "1";
  auto t0 = std::chrono::steady_clock::now();
  auto r = push(tmp.path(), Reference::parse(server.host() + "/app:1.0"), {}, opts);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(r.uploaded == 2);
  CHECK(reg.blobs.at(img.layer_digest) == std::string(500, 'r'));
  CHECK(took >= std::chrono::milliseconds(1000));
  CHECK(took < std::chrono::milliseconds(5000));
}

TEST_CASE("attachment names") {
  std::string hex(64, 'c');
  CHECK(is_attachment_name("sha256-" + hex + ".sig"));
  CHECK(is_attachment_name("sha256-" + hex + ".att"));
  CHECK(is_attachment_name("sha256-" + hex + ".sbom"));
  CHECK_FALSE(is_attachment_name("sha256-" + hex));
  CHECK_FALSE(is_attachment_name("sha256-" + hex + ".sigx"));
  CHECK_FALSE(is_attachment_name("sha256-" + std::string(64, 'C') + ".sig"));
  CHECK_FALSE(is_attachment_name("1.0"));
}

TEST_CASE("options from the environment") {
  ::setenv("ECHO_INSECURE_REGISTRIES", " a:1, b:2 ,,", 1);
  ::setenv("ECHO_REGISTRY_USERNAME", "u", 1);
  ::setenv("ECHO_REGISTRY_PASSWORD", "p", 1);
  ::setenv("REGISTRY_AUTH_FILE", "/x/auth.json", 1);
  ::setenv("DOCKER_CONFIG", "/y", 1);
  auto o = options_from_environment();
  CHECK(o.insecure_registries == std::vector<std::string>{"a:1", "b:2"});
  REQUIRE(o.credentials);
  CHECK(o.credentials->username == "u");
  CHECK(o.credentials->password == "p");
  CHECK(o.auth_files == std::vector<std::filesystem::path>{"/x/auth.json", "/y/config.json"});
  for (const char* v : {"ECHO_INSECURE_REGISTRIES", "ECHO_REGISTRY_USERNAME", "ECHO_REGISTRY_PASSWORD",
                        "REGISTRY_AUTH_FILE", "DOCKER_CONFIG"})
    ::unsetenv(v);
  ::setenv("HOME", "/home/t", 1);
  auto d = options_from_environment();
  CHECK_FALSE(d.credentials);
  CHECK(d.auth_files == std::vector<std::filesystem::path>{"/home/t/.docker/config.json"});
  CHECK(d.max_retry_after == std::chrono::seconds(60));

  ::setenv("ECHO_REGISTRY_MAX_RETRY_AFTER", "5", 1);
  CHECK(options_from_environment().max_retry_after == std::chrono::seconds(5));
  ::setenv("ECHO_REGISTRY_MAX_RETRY_AFTER", "5s", 1);
  try {
    options_from_environment();
    FAIL("no error");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::usage);
    CHECK(std::string(e.what()) ==
          "ECHO_REGISTRY_MAX_RETRY_AFTER='5s': expected whole seconds (the cap on a registry's Retry-After)");
  }
  ::unsetenv("ECHO_REGISTRY_MAX_RETRY_AFTER");
}
