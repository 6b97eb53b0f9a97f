#include "unit/attest/test_helpers.hpp"

#include "echo/attest/provenance.hpp"
#include "echo/util/error.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace echo;
using namespace echo::attest;
using nlohmann::json;

TEST_CASE("provenance statement has exactly the in-toto v1 shape with SLSA v1 fields", "[provenance]") {
  std::string digest = "sha256:" + std::string(64, 'e');
  auto in = test::sample_provenance(digest);
  in.builder_dependencies = {{"gcc", "", {{"sha256", std::string(64, 'd')}}, {{"version", "12.2.0"}}}};
  in.byproducts = {{"build.log", "", {{"sha256", std::string(64, 'f')}}, {}}};
  in.internal_parameters = {{"sandbox", "user-namespaces"}};
  std::string text = make_provenance_statement(in);
  json st = json::parse(text);

  std::vector<std::string> keys;
  for (auto it = st.begin(); it != st.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"_type", "predicate", "predicateType", "subject"});
  CHECK(text.rfind(R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"127.0.0.1:5000/example","digest":{"sha256":"eeee)", 0) == 0);
  CHECK(st["predicateType"] == "https://slsa.dev/provenance/v1");
  const json& bd = st["predicate"]["buildDefinition"];
  CHECK(bd["buildType"] == "https://echo-build.dev/buildtypes/image/v1");
  CHECK(bd["externalParameters"] == json::parse(R"({"recipe":"images/example.yaml",
      "recipeSetDigest":"sha256:)" + std::string(64, 'a') + R"(","image":"127.0.0.1:5000/example",
      "tags":["1.0","latest"],"platform":"linux/amd64",
      "source":{"repository":"https://git.example/recipes.git","commit":"0123456789abcdef0123456789abcdef01234567"},
      "sourceDateEpoch":1700000000})"));
  CHECK(bd["internalParameters"] == json{{"sandbox", "user-namespaces"}});
  CHECK(bd["resolvedDependencies"][0] ==
        json::parse(R"({"name":"zlib-1.3.1.tar.gz","uri":"https://zlib.net/zlib-1.3.1.tar.gz","digest":{"sha256":")" +
                    std::string(64, 'b') + R"("}})"));
  CHECK(bd["resolvedDependencies"][1]["annotations"] == json{{"storeKey", "zlib-1.3.1-abc"}});
  const json& rd = st["predicate"]["runDetails"];
  CHECK(rd["builder"]["id"] == "https://echo-build.dev/builders/local");
  CHECK(rd["builder"]["version"] == json{{"echo-build", "0.1.0"}});
  CHECK(rd["builder"]["builderDependencies"][0]["annotations"]["version"] == "12.2.0");
  CHECK(rd["metadata"] == json{{"invocationId", "inv-1"}, {"startedOn", "2026-01-01T00:00:00Z"}, {"finishedOn", "2026-01-01T00:01:00Z"}});
  CHECK(rd["byproducts"][0]["name"] == "build.log");
  // Only the standard keys anywhere in the predicate.
  std::vector<std::string> pk;
  for (auto it = st["predicate"].begin(); it != st["predicate"].end(); ++it) pk.push_back(it.key());
  CHECK(pk == std::vector<std::string>{"buildDefinition", "runDetails"});
  // Deterministic.
  CHECK(make_provenance_statement(in) == text);
}

TEST_CASE("provenance input errors", "[provenance]") {
  auto in = test::sample_provenance("sha256:abc");
  CHECK_THROWS_WITH(make_provenance_statement(in), "provenance subject digest 'sha256:abc' is not sha256:<hex>");
  in = test::sample_provenance("sha256:" + std::string(64, 'e'));
  in.builder_id.clear();
  CHECK_THROWS_WITH(make_provenance_statement(in), "provenance needs a builder id");
}

TEST_CASE("unsandboxed appears only when true", "[provenance]") {
  ImageBuildParameters p;
  p.recipe = "r.yaml";
  CHECK(external_parameters(p) == json{{"recipe", "r.yaml"}});
  p.unsandboxed = true;
  CHECK(external_parameters(p) == json{{"recipe", "r.yaml"}, {"unsandboxed", true}});
}

TEST_CASE("resource descriptor helpers have the documented shapes", "[provenance]") {
  std::string h(64, 'a');
  auto src = source_dependency("zlib", "https://zlib.net/zlib-1.3.1.tar.gz?x=1", h);
  CHECK(src.name == "zlib-1.3.1.tar.gz");
  CHECK(src.uri == "https://zlib.net/zlib-1.3.1.tar.gz?x=1");
  CHECK(src.digest == std::map<std::string, std::string>{{"sha256", h}});
  CHECK(src.annotations == std::map<std::string, std::string>{{"kind", "source"}, {"package", "zlib"}});
  auto pkg = package_dependency("zlib", "1.3.1", h, "zlib-1.3.1-k");
  CHECK(pkg.uri == "pkg:generic/zlib@1.3.1");
  CHECK(pkg.annotations.at("storeKey") == "zlib-1.3.1-k");
  CHECK(patch_dependency("zlib", "patches/fix.patch", h).annotations.at("kind") == "patch");
  CHECK(toolchain_dependency("/opt/toolchain", h).name == "toolchain");
  CHECK(tool_dependency("gcc", "12.2.0", h).annotations.at("version") == "12.2.0");
  CHECK(log_byproduct("logs/zlib.log", h).annotations.at("kind") == "log");
}
