// OpenVEX documents from advisories: the schema's rules (written from the OpenVEX v0.2.0 spec), the statements
// for the exact purls in the image, and reading a document back (a package not in the image is an error).
#include "echo/recipe/advisory.hpp"
#include "echo/recipe/identity.hpp"
#include "echo/util/error.hpp"
#include "echo/vuln/vex.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace echo;
using namespace echo::vuln;
using nlohmann::json;

namespace {

recipe::AdvisoryFile advisories(const std::string& text, const std::string& name) {
  recipe::Diagnostics d;
  auto f = recipe::parse_advisory_file(text, name, d);
  INFO(d.render());
  REQUIRE(f);
  return *f;
}

const std::vector<ScanPackage> k_packages = {
    {"zlib", "1.2.13-r0", "pkg:generic/zlib@1.2.13?checksum=sha256:71&download_url=https://x/zlib.tar.bz2", ""},
    {"musl-libc", "1.2.3-r1", "pkg:generic/musl@1.2.3", ""},
};

} // namespace

TEST_CASE("advisories become OpenVEX statements for the image's purls, and the document follows the schema") {
  auto zlib = advisories(R"(package: zlib
advisories:
  - id: CVE-2023-45853
    events:
      - timestamp: 2026-12-04
        type: not-affected
        justification: vulnerable_code_not_present
        impact: minizip is not built
)", "advisories/zlib.yaml");
  auto musl = advisories(R"(package: musl-libc
advisories:
  - id: CVE-2025-26519
    events:
      - timestamp: 2026-12-01
        type: pending-upstream
        note: waiting
      - timestamp: 2026-12-04
        type: fixed
        fixed-version: 1.2.3-r1
  - id: CVE-2099-0001
    events:
      - timestamp: 2026-12-04
        type: fixed
        fixed-version: 1.2.3-r9
)", "advisories/musl-libc.yaml");
  auto st = statements_from_advisories({zlib, musl}, k_packages, "2026-12-04");
  REQUIRE(st.size() == 2); // r9 is not in this build: no statement
  std::string doc = make_openvex("https://echo-build.dev/vex/x", "pkg:oci/x@sha256%3Aab", "2026-01-01T00:00:00Z", st,
                                 k_packages, "echo-build 0.1.0");
  json j = json::parse(doc);
  CHECK(openvex_violations(j).empty());
  CHECK(j["@context"] == "https://openvex.dev/ns/v0.2.0");
  REQUIRE(j["statements"].size() == 2);
  CHECK(j["statements"][0]["vulnerability"]["name"] == "CVE-2025-26519");
  CHECK(j["statements"][0]["status"] == "fixed");
  CHECK(j["statements"][0]["products"][0]["@id"] == "pkg:oci/x@sha256%3Aab");
  CHECK(j["statements"][0]["products"][0]["subcomponents"][0]["@id"] == "pkg:generic/musl@1.2.3");
  CHECK(j["statements"][1]["status"] == "not_affected");
  CHECK(j["statements"][1]["justification"] == "vulnerable_code_not_present");
  CHECK(j["statements"][1]["timestamp"] == "2026-12-04T00:00:00Z");

  auto back = parse_openvex(doc, "vex.json", k_packages);
  REQUIRE(back.size() == 2);
  CHECK(back[1].package == "zlib");
  CHECK(back[1].status == Status::not_affected);
}

TEST_CASE("OpenVEX schema rules catch what the spec requires") {
  json good = json::parse(R"({"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a",
    "timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[
    {"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:generic/zlib@1.2.13"}],"status":"not_affected",
     "justification":"component_not_present"}]})");
  CHECK(openvex_violations(good).empty());
  auto broken = [&](auto edit, const char* needle) {
    json j = good;
    edit(j);
    auto v = openvex_violations(j);
    REQUIRE_FALSE(v.empty());
    CHECK_THAT(v.front(), Catch::Contains(needle));
  };
  broken([](json& j) { j.erase("author"); }, "missing required 'author'");
  broken([](json& j) { j["version"] = 0; }, "'version' must be an integer >= 1");
  broken([](json& j) { j["timestamp"] = "yesterday"; }, "timestamp is not RFC 3339");
  broken([](json& j) { j["statements"][0]["status"] = "maybe"; }, "'status' must be one of");
  broken([](json& j) { j["statements"][0]["justification"] = "trust_me"; }, "not one of the OpenVEX justifications");
  broken([](json& j) { j["statements"][0].erase("justification"); }, "needs 'justification' or 'impact_statement'");
  broken([](json& j) { j["statements"][0]["status"] = "affected"; j["statements"][0].erase("justification"); },
         "needs 'action_statement'");
  broken([](json& j) { j["statements"][0]["products"][0] = json::object(); }, "needs '@id' or 'identifiers'");
  broken([](json& j) { j["statements"][0]["vulnerability"] = json::object(); }, "missing required 'name'");
}

TEST_CASE("a VEX statement for a package that is not in the image is an error naming the file and statement") {
  std::string doc = R"({"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a",
    "timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[
    {"vulnerability":{"name":"CVE-2023-45853"},"products":[{"@id":"pkg:generic/zlib@1.2.13"}],"status":"fixed"},
    {"vulnerability":{"name":"CVE-2022-48174"},"products":[{"@id":"pkg:generic/busybox@1.35.0"}],"status":"fixed"}]})";
  try {
    parse_openvex(doc, "my.vex.json", k_packages);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::vulndb);
    CHECK_THAT(e.what(), Catch::Contains("my.vex.json: statements[1] (CVE-2022-48174): pkg:generic/busybox@1.35.0 is "
                                         "not a package of the image"));
  }
  CHECK_THROWS_WITH(parse_openvex("[1,", "v.json", k_packages), Catch::Contains("v.json: not valid JSON"));
}

TEST_CASE("advisory files: lint-level errors point at file:line:col") {
  auto errors = [](const std::string& text) {
    recipe::Diagnostics d;
    recipe::parse_advisory_file(text, "advisories/zlib.yaml", d);
    return d.render();
  };
  CHECK_THAT(errors("package: zlib\nadvisories:\n  - id: CVE-23-1\n    events:\n      - {timestamp: 2026-01-01, type: "
                    "pending-upstream, note: x}\n"),
             Catch::Contains("advisories/zlib.yaml:3:9") && Catch::Contains("'CVE-23-1' is not a vulnerability id"));
  CHECK_THAT(errors("package: zlib\nadvisories:\n  - id: CVE-2023-45853\n    events:\n      - {timestamp: 2026-01-01, "
                    "type: not-affected, justification: nope, impact: x}\n"),
             Catch::Contains("justification 'nope' is not an OpenVEX justification"));
  CHECK_THAT(errors("package: zlib\nadvisories:\n  - id: CVE-2023-45853\n    events:\n      - {timestamp: 2026-01-01, "
                    "type: fixed}\n"),
             Catch::Contains("needs fixed-version"));
  CHECK_THAT(errors("package: zlib\nadvisories:\n  - id: CVE-2023-45853\n    events:\n      - {timestamp: 2026-02-01, "
                    "type: pending-upstream, note: a}\n      - {timestamp: 2026-01-01, type: pending-upstream, note: b}\n"),
             Catch::Contains("events must be in time order"));
  CHECK_THAT(errors("package: zlib\nadvisories:\n  - id: CVE-2023-45853\n    events:\n      - {timestamp: 2026-01-01, "
                    "type: wontfix}\n"),
             Catch::Contains("unknown event type 'wontfix'"));
  CHECK(errors("package: zlib\nadvisories:\n  - id: GHSA-jc36-42cf-vqwj\n    events:\n      - {timestamp: 2026-01-01, "
               "type: pending-upstream, note: x, expires: 2027-01-01}\n")
            .empty());
}

TEST_CASE("identity: purl and CPE of a recipe") {
  recipe::PackageRecipe p;
  p.name = "musl-libc";
  p.version = "1.2.3";
  p.purl = "pkg:generic/musl";
  p.cpe = "cpe:2.3:a:musl-libc:musl:*:*:*:*:*:*:*:*";
  recipe::Source s;
  s.url = "https://musl.libc.org/releases/musl-1.2.3.tar.gz";
  s.sha256 = "7d5b";
  p.sources.push_back(s);
  CHECK(recipe::package_purl(p) ==
        "pkg:generic/musl@1.2.3?checksum=sha256:7d5b&download_url=https://musl.libc.org/releases/musl-1.2.3.tar.gz");
  CHECK(recipe::package_cpe(p) == "cpe:2.3:a:musl-libc:musl:1.2.3:*:*:*:*:*:*:*");
  p.cpe.clear();
  p.version = "2026b";
  p.name = "tzdata";
  CHECK(recipe::package_cpe(p) == "cpe:2.3:a:tzdata:tzdata:2026b:*:*:*:*:*:*:*");
  CHECK(recipe::cpe_escape("1.0+git~1") == "1.0\\+git\\~1");
  CHECK_FALSE(recipe::check_cpe("cpe:2.3:a:zlib:zlib:*:*:*:*:*:*:*:*", "1.2.13"));
  CHECK(recipe::check_cpe("cpe:2.3:a:zlib:zlib:1.0:*:*:*:*:*:*:*", "1.2.13").value_or("").find("not the package version") !=
        std::string::npos);
  CHECK(recipe::check_cpe("cpe:2.3:a:zlib", "1").value_or("").find("13") != std::string::npos);
  CHECK(recipe::check_cpe("cpe:/a:zlib:zlib", "1").has_value());
  CHECK(recipe::check_purl_base("pkg:generic/zlib@1.2") .has_value());
  CHECK_FALSE(recipe::check_purl_base("pkg:github/madler/zlib"));
  auto parts = recipe::split_purl("pkg:GENERIC/musl@1.2.3%2Bx?download_url=https://a/b@c");
  REQUIRE(parts);
  CHECK(parts->base == "pkg:generic/musl");
  CHECK(parts->version == "1.2.3+x");
}
