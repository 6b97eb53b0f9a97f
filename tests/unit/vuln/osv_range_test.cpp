// OSV range semantics: every event kind, last_affected vs fixed, limit, withdrawn, versions[], SEMVER vs
// ECOSYSTEM ordering, and the errors for bad records.
#include "echo/util/error.hpp"
#include "echo/vuln/osv.hpp"
#include "echo/vuln/scan.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace echo;
using namespace echo::vuln;
using nlohmann::json;

namespace {

OsvAffected affected(const std::string& type, json events, json versions = json::array()) {
  json rec = {{"id", "T-1"},
              {"affected", {{{"package", {{"ecosystem", "echo-build"}, {"name", "p"}}},
                             {"ranges", {{{"type", type}, {"events", events}}}},
                             {"versions", versions}}}}};
  return parse_osv(rec, "t.json").affected.at(0);
}

bool hit(const OsvAffected& a, const char* v) { return evaluate(a, v).affected; }

} // namespace

TEST_CASE("introduced/fixed: [introduced, fixed)") {
  auto a = affected("ECOSYSTEM", json::parse(R"([{"introduced":"1.2.0"},{"fixed":"1.2.6"}])"));
  CHECK_FALSE(hit(a, "1.1.9"));
  CHECK(hit(a, "1.2.0"));
  CHECK(hit(a, "1.2.3"));
  CHECK(evaluate(a, "1.2.3").fixed == "1.2.6");
  CHECK_FALSE(hit(a, "1.2.6"));
  CHECK_FALSE(hit(a, "1.10"));
}

TEST_CASE("introduced 0 is before every version") {
  auto a = affected("ECOSYSTEM", json::parse(R"([{"introduced":"0"},{"fixed":"1.3.1"}])"));
  CHECK(hit(a, "0.1"));
  CHECK(hit(a, "1.2.13"));
  CHECK(hit(a, "1.3"));
  CHECK_FALSE(hit(a, "1.3.1"));
}

TEST_CASE("last_affected includes the version itself, fixed does not") {
  auto last = affected("ECOSYSTEM", json::parse(R"([{"introduced":"0"},{"last_affected":"1.2.5"}])"));
  auto fixed = affected("ECOSYSTEM", json::parse(R"([{"introduced":"0"},{"fixed":"1.2.5"}])"));
  CHECK(hit(last, "1.2.5"));
  CHECK_FALSE(hit(fixed, "1.2.5"));
  CHECK_FALSE(hit(last, "1.2.6"));
  CHECK(evaluate(last, "1.2.3").last_affected == "1.2.5");
  CHECK(evaluate(last, "1.2.3").fixed.empty());
}

TEST_CASE("several introduced/fixed pairs in one range, in any order") {
  auto a = affected("ECOSYSTEM",
                    json::parse(R"([{"fixed":"2.0"},{"introduced":"3.0"},{"introduced":"1.0"},{"fixed":"3.5"}])"));
  CHECK_FALSE(hit(a, "0.9"));
  CHECK(hit(a, "1.5"));
  CHECK(evaluate(a, "1.5").fixed == "2.0");
  CHECK_FALSE(hit(a, "2.5"));
  CHECK(hit(a, "3.1"));
  CHECK(evaluate(a, "3.1").fixed == "3.5");
  CHECK_FALSE(hit(a, "4"));
}

TEST_CASE("limit bounds the range: versions at or above every limit are not affected") {
  auto a = affected("ECOSYSTEM", json::parse(R"([{"introduced":"1.0"},{"limit":"2.0"}])"));
  CHECK(hit(a, "1.9"));
  CHECK_FALSE(hit(a, "2.0"));
  CHECK_FALSE(hit(a, "0.5"));
  auto star = affected("ECOSYSTEM", json::parse(R"([{"introduced":"1.0"},{"limit":"*"}])"));
  CHECK(hit(star, "99"));
}

TEST_CASE("versions[] lists exact affected versions, compared as strings") {
  auto a = affected("GIT", json::parse(R"([{"introduced":"abc123"},{"fixed":"def456"}])"),
                    json::parse(R"(["1.35.0","1.36.0"])"));
  CHECK(hit(a, "1.35.0"));
  CHECK_FALSE(hit(a, "1.35"));
  CHECK_FALSE(hit(a, "1.36.1"));
  auto git_only = affected("GIT", json::parse(R"([{"introduced":"abc123"},{"fixed":"def456"}])"));
  CHECK_FALSE(hit(git_only, "1.0"));
  CHECK(evaluate(git_only, "1.0").unevaluated_git);
}

TEST_CASE("ECOSYSTEM uses echo-build's ordering, SEMVER uses SemVer precedence") {
  // Pre-releases: SemVer puts 1.0.0-rc.1 before 1.0.0; our ordering spells that 1.0.0~rc.1.
  auto semver = affected("SEMVER", json::parse(R"([{"introduced":"0"},{"fixed":"1.0.0"}])"));
  CHECK(hit(semver, "1.0.0-rc.1"));
  CHECK_FALSE(hit(semver, "1.0.0+build.5"));
  auto eco = affected("ECOSYSTEM", json::parse(R"([{"introduced":"0"},{"fixed":"1.0.0"}])"));
  CHECK(hit(eco, "1.0.0~rc1"));
  CHECK_FALSE(hit(eco, "1.0.0a"));  // letters after a number sort after it in our ordering
  CHECK(compare_semver("1.0.0-alpha", "1.0.0-alpha.1") < 0);
  CHECK(compare_semver("1.0.0-alpha.beta", "1.0.0-beta") < 0);
  CHECK(compare_semver("1.0.0-beta.2", "1.0.0-beta.11") < 0);
  CHECK(compare_semver("1.0.0-rc.1", "1.0.0") < 0);
  CHECK(compare_semver("1.10.0", "1.9.0") > 0);
  CHECK_FALSE(compare_semver("1.0", "1.0.0").has_value());
  CHECK_FALSE(hit(semver, "0.9")); // not a semantic version: in no SEMVER range
}

TEST_CASE("bad ranges are errors naming the file, record and JSON path") {
  auto fails_with = [](const char* text, const char* needle) {
    try {
      parse_osv_text(text, "db/BAD-1.json");
      FAIL("no error for " << text);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::vulndb);
      CHECK_THAT(e.what(), Catch::Contains("db/BAD-1.json") && Catch::Contains(needle));
    }
  };
  fails_with(R"({"id":"BAD-1","affected":[{"ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"1.0"}]}]}]})",
             "record BAD-1: affected[0].ranges[0].events: no 'introduced' event");
  fails_with(R"({"id":"BAD-1","affected":[{"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0"}]}]}]})",
             "affected[0].ranges[0].events[0].introduced: '1.0' is not a semantic version");
  fails_with(R"({"id":"BAD-1","affected":[{"ranges":[{"type":"RPM","events":[{"introduced":"0"}]}]}]})",
             "affected[0].ranges[0].type: 'RPM' is not SEMVER, ECOSYSTEM or GIT");
  fails_with(R"({"id":"BAD-1","affected":[{"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"2"}]}]}]})",
             "events[0]: an event has exactly one of");
  fails_with(R"({"id":"BAD-1","affected":[{"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"patched":"2"}]}]}]})",
             "events[1]: unknown event 'patched'");
  fails_with(R"({"id":"BAD-1","affected":[{"ranges":[{"type":"ECOSYSTEM","events":[]}]}]})", "non-empty list of events");
  fails_with(R"({"affected":[]})", "id: missing");
  fails_with("{not json", "not valid JSON");
}

TEST_CASE("match: purl or echo-build ecosystem, withdrawn skipped, aliases de-duplicated, CVE preferred") {
  auto rec = [](const std::string& text) { return parse_osv_text(text, "db.json"); };
  std::vector<OsvRecord> records = {
      rec(R"({"id":"GHSA-aaaa-bbbb-cccc","aliases":["CVE-2025-26519"],"summary":"ghsa copy",
              "affected":[{"package":{"purl":"pkg:generic/musl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"1.2.5"}]}]}]})"),
      rec(R"({"id":"CVE-2025-26519","summary":"iconv EUC-KR",
              "affected":[{"package":{"ecosystem":"echo-build","name":"musl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0.9.13"},{"last_affected":"1.2.5"}]}]}]})"),
      rec(R"({"id":"ECHO-W-1","withdrawn":"2025-01-01T00:00:00Z",
              "affected":[{"package":{"ecosystem":"echo-build","name":"musl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]})"),
      rec(R"({"id":"DEB-1","affected":[{"package":{"ecosystem":"Debian:12","name":"musl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]})"),
      rec(R"({"id":"CVE-2024-5535","affected":[{"package":{"purl":"pkg:generic/openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"3.0.0"},{"fixed":"3.0.15"}]}]}]})"),
  };
  std::vector<ScanPackage> pkgs = {
      {"musl-libc", "1.2.3-r0", "pkg:generic/musl@1.2.3?checksum=sha256:00&download_url=https://x/musl-1.2.3.tar.gz", ""},
      {"openssl", "3.0.22-r0", "pkg:generic/openssl@3.0.22", ""},
  };
  auto found = match(records, pkgs);
  REQUIRE(found.size() == 1);
  CHECK(found[0].id == "CVE-2025-26519");
  CHECK(found[0].aliases == std::vector<std::string>{"GHSA-aaaa-bbbb-cccc"});
  CHECK(found[0].package == "musl-libc");
  CHECK(found[0].installed == "1.2.3-r0");
  CHECK(found[0].upstream_version == "1.2.3");
  CHECK(found[0].last_affected == "1.2.5");
  CHECK(found[0].origins.size() == 2);

  SECTION("a fixed advisory counts only from its fixed-version on") {
    Statement fixed{"GHSA-aaaa-bbbb-cccc", {}, "musl-libc", "", Status::fixed, "1.2.3-r1", "", "", "", "adv.yaml:3:5", ""};
    auto copy = found;
    apply(copy, {fixed});
    CHECK(copy[0].status == Status::affected);
    CHECK_THAT(copy[0].statement, Catch::Contains("says fixed in 1.2.3-r1, but 1.2.3-r0 is installed"));
    pkgs[0].version = "1.2.3-r1";
    auto later = match(records, pkgs);
    apply(later, {fixed});
    CHECK(later[0].status == Status::fixed);
    CHECK(later[0].status_source == "adv.yaml:3:5");
    CHECK(summarize(later).open() == 0);
  }
  SECTION("a statement for another package does not apply") {
    Statement other{"CVE-2025-26519", {}, "zlib", "", Status::not_affected, "", "vulnerable_code_not_present", "x", "", "s", ""};
    auto copy = found;
    apply(copy, {other});
    CHECK(copy[0].status == Status::affected);
    CHECK(summarize(copy).affected == 1);
  }
}
