#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "registry/auth.hpp"

#include <catch2/catch.hpp>

using namespace echo::registry;

TEST_CASE("www-authenticate: bearer with quoted params containing commas") {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:app:pull,push")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].params.at("realm") == "https://auth.example.com/token");
  CHECK(c[0].params.at("service") == "registry.example.com");
  CHECK(c[0].params.at("scope") == "repository:app:pull,push");
}

TEST_CASE("www-authenticate: basic, several challenges, escapes, unquoted values") {
  auto c = parse_www_authenticate(R"(Basic realm="Registry \"x\"", Bearer realm=https://a/t, error="invalid_token")");
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].params.at("realm") == "Registry \"x\"");
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].params.at("realm") == "https://a/t");
  CHECK(c[1].params.at("error") == "invalid_token");
  CHECK(parse_www_authenticate("").empty());
  auto bare = parse_www_authenticate("Basic");
  REQUIRE(bare.size() == 1);
  CHECK(bare[0].params.empty());
}

TEST_CASE("error body: distribution-spec errors joined; other bodies ignored") {
  CHECK(parse_error_body(R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"x"}]})") ==
        "BLOB_UNKNOWN: blob unknown to registry");
  CHECK(parse_error_body(R"({"errors":[{"code":"DENIED","message":"no"},{"code":"UNAUTHORIZED"}]})") ==
        "DENIED: no; UNAUTHORIZED");
  CHECK(parse_error_body("<html>oops</html>").empty());
  CHECK(parse_error_body(R"({"error":"x"})").empty());
  CHECK(parse_error_body("").empty());
}

TEST_CASE("base64 round trip") {
  CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
  CHECK(base64_encode("a") == "YQ==");
  CHECK(base64_encode("ab") == "YWI=");
  CHECK(base64_decode("dXNlcjpwYXNz") == "user:pass");
  CHECK(base64_decode("YQ==") == "a");
  CHECK_THROWS_AS(base64_decode("a*b"), echo::Error);
}

TEST_CASE("docker config: auth, username/password, key forms, missing entry") {
  echo::TempDir tmp;
  auto f = tmp.path() / "config.json";
  echo::write_file_atomic(f, R"({"auths":{
    "https://127.0.0.1:5000/v1/": {"auth": "YWxpY2U6czNjcjN0OndpdGg6Y29sb25z"},
    "localhost:6000": {"username": "bob", "password": "pw"},
    "https://index.docker.io/v1/": {"auth": "ZDpl"}}})");
  auto a = lookup_auth_file(f, "127.0.0.1:5000");
  REQUIRE(a);
  CHECK(a->username == "alice");
  CHECK(a->password == "s3cr3t:with:colons");
  auto b = lookup_auth_file(f, "localhost:6000");
  REQUIRE(b);
  CHECK(b->username == "bob");
  CHECK(b->password == "pw");
  auto d = lookup_auth_file(f, "docker.io");
  REQUIRE(d);
  CHECK(d->username == "d");
  CHECK_FALSE(lookup_auth_file(f, "127.0.0.1:5001"));
}

TEST_CASE("docker config: malformed entries are usage errors naming the file, not the secret") {
  echo::TempDir tmp;
  auto f = tmp.path() / "config.json";
  echo::write_file_atomic(f, R"({"auths":{"h:1":{"auth":"bm9jb2xvbg=="}}})"); // "nocolon"
  try {
    lookup_auth_file(f, "h:1");
    FAIL("no error");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::usage);
    CHECK(std::string(e.what()) == f.string() + ": auths entry \"h:1\": \"auth\" does not decode to user:password");
  }
  echo::write_file_atomic(f, "not json");
  try {
    lookup_auth_file(f, "h:1");
    FAIL("no error");
  } catch (const echo::Error& e) {
    CHECK(std::string(e.what()) == f.string() + ": not a JSON object");
  }
}
