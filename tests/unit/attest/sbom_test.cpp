#include "unit/attest/test_helpers.hpp"

#include "echo/attest/sbom.hpp"
#include "echo/util/error.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>

namespace fs = std::filesystem;
using namespace echo;
using namespace echo::attest;
using nlohmann::json;

namespace {

SbomInput sample() {
  SbomInput in;
  in.image_name = "127.0.0.1:5000/example";
  in.image_version = "1.0";
  in.image_digest = "sha256:" + std::string(64, 'e');
  in.created = "2023-11-14T22:13:20Z";
  in.tool_version = "0.1.0";
  SbomPackage zlib{"zlib", "1.3.1", "Zlib", "https://zlib.net", "", "",
                   {{"https://zlib.net/zlib-1.3.1.tar.gz", std::string(64, '1')}}, {}, {{"usr/lib/libz.so.1", std::string(64, '2')}},
                   "cpe:2.3:a:zlib:zlib:1.3.1:*:*:*:*:*:*:*"};
  SbomPackage app{"hello app", "2.0", "MIT", "", "Example Corp", "",
                  {{"https://example.com/hello-2.0.tar.gz", std::string(64, '3')},
                   {"https://example.com/fix.patch", std::string(64, '4')}},
                  {"zlib"},
                  {{"/usr/bin/hello", std::string(64, '5')}, {"/usr/share/doc/hello/README", std::string(64, '6')}},
                  ""};
  in.packages = {app, zlib}; // unsorted on purpose
  in.generated_files = {{"etc/os-release", std::string(64, '7')}};
  return in;
}

const json* find_by(const json& arr, const char* key, const std::string& value) {
  for (const auto& x : arr)
    if (x.value(key, "") == value) return &x;
  return nullptr;
}

bool has_rel(const json& doc, const std::string& a, const std::string& type, const std::string& b) {
  for (const auto& r : doc["relationships"])
    if (r["spdxElementId"] == a && r["relationshipType"] == type && r["relatedSpdxElement"] == b) return true;
  return false;
}

} // namespace

TEST_CASE("SPDX 2.3 document: image, packages, files, relationships", "[sbom]") {
  std::string text = make_spdx(sample());
  json doc = json::parse(text);
  CHECK(doc["spdxVersion"] == "SPDX-2.3");
  CHECK(doc["dataLicense"] == "CC0-1.0");
  CHECK(doc["SPDXID"] == "SPDXRef-DOCUMENT");
  CHECK(doc["documentNamespace"] == "https://echo-build.dev/spdx/127.0.0.1-5000-example/sha256-" + std::string(64, 'e'));
  CHECK(doc["creationInfo"]["creators"] == json{"Tool: echo-build-0.1.0", "Organization: echo-build"});

  const json& pk = doc["packages"];
  REQUIRE(pk.size() == 3);
  CHECK(pk[0]["SPDXID"] == "SPDXRef-Image");
  CHECK(pk[0]["primaryPackagePurpose"] == "CONTAINER");
  CHECK(pk[0]["externalRefs"][0]["referenceLocator"] ==
        "pkg:oci/example@sha256%3A" + std::string(64, 'e') + "?repository_url=127.0.0.1%3A5000%2Fexample");
  CHECK(pk[1]["name"] == "hello app"); // sorted by name
  CHECK(pk[1]["SPDXID"] == "SPDXRef-Package-hello-app");
  CHECK(pk[1]["supplier"] == "Organization: Example Corp");
  CHECK(pk[1]["downloadLocation"] == "https://example.com/hello-2.0.tar.gz");
  CHECK(pk[1]["checksums"] == json::parse(R"([{"algorithm":"SHA256","checksumValue":")" + std::string(64, '3') + "\"}]"));
  CHECK(pk[1]["licenseConcluded"] == "MIT");
  CHECK(pk[1]["licenseDeclared"] == "MIT");
  CHECK(pk[1]["externalRefs"][0]["referenceLocator"] ==
        "pkg:generic/hello%20app@2.0?download_url=https%3A%2F%2Fexample.com%2Fhello-2.0.tar.gz");
  REQUIRE(pk[1]["annotations"].size() == 2);
  CHECK(pk[1]["annotations"][1]["comment"] == "source https://example.com/fix.patch sha256:" + std::string(64, '4'));
  CHECK(pk[2]["supplier"] == "Organization: echo-build");
  // a package with a CPE gets a SECURITY/cpe23Type reference after its purl; one without gets none
  REQUIRE(pk[2]["externalRefs"].size() == 2);
  CHECK(pk[2]["externalRefs"][1] == json{{"referenceCategory", "SECURITY"}, {"referenceType", "cpe23Type"},
                                          {"referenceLocator", "cpe:2.3:a:zlib:zlib:1.3.1:*:*:*:*:*:*:*"}});
  CHECK(pk[1]["externalRefs"].size() == 1);

  const json& files = doc["files"];
  REQUIRE(files.size() == 4);
  const json* hello = find_by(files, "fileName", "/usr/bin/hello");
  const json* libz = find_by(files, "fileName", "/usr/lib/libz.so.1");
  const json* osr = find_by(files, "fileName", "/etc/os-release");
  REQUIRE(hello);
  REQUIRE(libz);
  REQUIRE(osr);
  CHECK((*hello)["checksums"][0]["checksumValue"] == std::string(64, '5'));

  CHECK(has_rel(doc, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
  CHECK(has_rel(doc, "SPDXRef-Image", "CONTAINS", "SPDXRef-Package-zlib"));
  CHECK(has_rel(doc, "SPDXRef-Image", "CONTAINS", "SPDXRef-Package-hello-app"));
  CHECK(has_rel(doc, "SPDXRef-Package-hello-app", "DEPENDS_ON", "SPDXRef-Package-zlib"));
  CHECK(has_rel(doc, "SPDXRef-Package-hello-app", "CONTAINS", (*hello)["SPDXID"]));
  CHECK(has_rel(doc, "SPDXRef-Package-zlib", "CONTAINS", (*libz)["SPDXID"]));
  CHECK(has_rel(doc, "SPDXRef-Image", "CONTAINS", (*osr)["SPDXID"]));
  // Every file is contained by exactly one element.
  for (const auto& f : files) {
    int owners = 0;
    for (const auto& r : doc["relationships"])
      if (r["relationshipType"] == "CONTAINS" && r["relatedSpdxElement"] == f["SPDXID"]) ++owners;
    CHECK(owners == 1);
  }

  // Deterministic regardless of input order.
  auto reordered = sample();
  std::swap(reordered.packages[0], reordered.packages[1]);
  CHECK(make_spdx(reordered) == text);
}

TEST_CASE("SPDX document validates against the SPDX 2.3 JSON schema", "[sbom]") {
  fs::path schema = "/work/shared/schemas/spdx-2.3/spdx-schema.json";
  if (const char* s = std::getenv("ECHO_SPDX_SCHEMA")) schema = s;
  if (!fs::exists(schema)) {
    WARN("skipped: SPDX schema not found at " + schema.string());
    return;
  }
  if (test::run("python3 -c 'import jsonschema'").status != 0) {
    WARN("skipped: python3 jsonschema is not installed");
    return;
  }
  TempDir d;
  write_file_atomic(d.path() / "doc.json", make_spdx(sample()));
  std::string py = "import json,sys,jsonschema; s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2])); "
                   "jsonschema.validators.validator_for(s)(s).validate(d); print('valid')";
  auto r = test::run("python3 -c \"" + py + "\" " + schema.string() + " " + (d.path() / "doc.json").string());
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output == "valid\n");

  // The check can fail: a document without a required field does not validate.
  json broken = json::parse(make_spdx(sample()));
  broken["packages"][1].erase("downloadLocation");
  write_file_atomic(d.path() / "bad.json", broken.dump());
  CHECK(test::run("python3 -c \"" + py + "\" " + schema.string() + " " + (d.path() / "bad.json").string()).status != 0);
}

TEST_CASE("SBOM input errors name the package or file", "[sbom]") {
  auto in = sample();
  in.packages[0].depends_on.push_back("openssl");
  CHECK_THROWS_WITH(make_spdx(in), "SBOM: package hello app depends on unknown package openssl");
  in = sample();
  in.generated_files.push_back({"/usr/bin/hello", std::string(64, '9')});
  CHECK_THROWS_WITH(make_spdx(in), "SBOM: file /usr/bin/hello is listed by both package hello app and the image");
  in = sample();
  in.image_digest = "sha256:xyz";
  CHECK_THROWS_WITH(make_cyclonedx(in), "SBOM image digest 'sha256:xyz' is not sha256:<hex>");
}

TEST_CASE("CycloneDX 1.5 document", "[sbom]") {
  json bom = json::parse(make_cyclonedx(sample()));
  CHECK(bom["bomFormat"] == "CycloneDX");
  CHECK(bom["specVersion"] == "1.5");
  CHECK(bom["serialNumber"].get<std::string>().size() == std::string("urn:uuid:").size() + 36);
  CHECK(bom["metadata"]["component"]["type"] == "container");
  REQUIRE(bom["components"].size() == 2);
  CHECK(bom["components"][1]["name"] == "zlib");
  CHECK(bom["components"][1]["purl"] == "pkg:generic/zlib@1.3.1?download_url=https%3A%2F%2Fzlib.net%2Fzlib-1.3.1.tar.gz");
  CHECK(bom["components"][1]["licenses"][0]["expression"] == "Zlib");
  CHECK(bom["components"][1]["cpe"] == "cpe:2.3:a:zlib:zlib:1.3.1:*:*:*:*:*:*:*");
  CHECK(!bom["components"][0].contains("cpe"));
  CHECK(bom["dependencies"][1] == json{{"ref", "SPDXRef-Package-hello-app"}, {"dependsOn", {"SPDXRef-Package-zlib"}}});
  CHECK(make_cyclonedx(sample()) == make_cyclonedx(sample()));
}
