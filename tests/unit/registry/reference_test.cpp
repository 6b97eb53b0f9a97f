#include "echo/registry/reference.hpp"
#include "echo/util/error.hpp"

#include <catch2/catch.hpp>

using echo::registry::Reference;

namespace {

std::string parse_error(const std::string& text) {
  try {
    Reference::parse(text);
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::usage);
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("reference: host with port, nested path, tag") {
  auto r = Reference::parse("127.0.0.1:5000/team/app:1.0");
  CHECK(r.registry == "127.0.0.1:5000");
  CHECK(r.repository == "team/app");
  CHECK(r.tag == "1.0");
  CHECK(r.digest.empty());
  CHECK(r.str() == "127.0.0.1:5000/team/app:1.0");
  CHECK(r.repo_str() == "127.0.0.1:5000/team/app");
  CHECK(r.manifest_ref() == "1.0");
}

TEST_CASE("reference: default tag is latest; localhost and domain hosts") {
  auto r = Reference::parse("localhost/app");
  CHECK(r.registry == "localhost");
  CHECK(r.tag == "latest");
  CHECK(r.str() == "localhost/app:latest");
  auto d = Reference::parse("registry.example.com/library/alpine");
  CHECK(d.registry == "registry.example.com");
  CHECK(d.repository == "library/alpine");
  auto l = Reference::parse("localhost:5000/a.b/c__d/e-f---g:v_1.2-x");
  CHECK(l.repository == "a.b/c__d/e-f---g");
  CHECK(l.tag == "v_1.2-x");
  auto v6 = Reference::parse("[::1]:5000/app:2");
  CHECK(v6.registry == "[::1]:5000");
  CHECK(v6.tag == "2");
}

TEST_CASE("reference: by digest, with and without tag") {
  std::string hex(64, 'a');
  auto r = Reference::parse("localhost:5000/app@sha256:" + hex);
  CHECK(r.tag.empty());
  CHECK(r.digest == "sha256:" + hex);
  CHECK(r.manifest_ref() == "sha256:" + hex);
  CHECK(r.str() == "localhost:5000/app@sha256:" + hex);
  auto both = Reference::parse("localhost:5000/app:1@sha256:" + hex);
  CHECK(both.tag == "1");
  CHECK(both.manifest_ref() == "sha256:" + hex);
}

TEST_CASE("reference: bad references name the text and the reason") {
  CHECK(parse_error("") == "invalid image reference '': empty");
  CHECK(parse_error("alpine") == "invalid image reference 'alpine': missing registry host (write it out, e.g. "
                                 "localhost:5000/app:1.0 or docker.io/library/alpine)");
  CHECK(parse_error("library/alpine:3") == "invalid image reference 'library/alpine:3': missing registry host "
                                           "(write it out, e.g. localhost:5000/app:1.0 or docker.io/library/alpine)");
  CHECK(parse_error("localhost:5000/App") ==
        "invalid image reference 'localhost:5000/App': bad path component 'App' (lower-case letters, digits and "
        "separators . _ __ -)");
  CHECK(parse_error("localhost:5000/app:") ==
        "invalid image reference 'localhost:5000/app:': bad tag '' (allowed: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
  CHECK(parse_error("localhost:5000/app:-x") ==
        "invalid image reference 'localhost:5000/app:-x': bad tag '-x' (allowed: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
  CHECK(parse_error("localhost:5000/app@sha256:abc") ==
        "invalid image reference 'localhost:5000/app@sha256:abc': digest must be sha256:<64 hex digits>");
  CHECK(parse_error("localhost:5000/app@md5:abc") ==
        "invalid image reference 'localhost:5000/app@md5:abc': digest must be sha256:<64 hex digits>");
  CHECK(parse_error("localhost:5000/") == "invalid image reference 'localhost:5000/': missing repository path");
  CHECK(parse_error("localhost:5000//app") ==
        "invalid image reference 'localhost:5000//app': bad path component '' (lower-case letters, digits and "
        "separators . _ __ -)");
  CHECK(parse_error("local_host:5000/app") == "invalid image reference 'local_host:5000/app': bad registry host "
                                              "'local_host:5000'");
  CHECK(parse_error("localhost:50x/app") == "invalid image reference 'localhost:50x/app': bad registry host "
                                            "'localhost:50x'");
  CHECK(parse_error("localhost:5000/a..b") ==
        "invalid image reference 'localhost:5000/a..b': bad path component 'a..b' (lower-case letters, digits and "
        "separators . _ __ -)");
  CHECK(parse_error("localhost:5000/a:" + std::string(129, 't')).find("bad tag") != std::string::npos);
}

TEST_CASE("reference: tag validity") {
  using echo::registry::is_valid_tag;
  CHECK(is_valid_tag("latest"));
  CHECK(is_valid_tag("_x.1-2"));
  CHECK(is_valid_tag("sha256-" + std::string(64, 'f') + ".sig"));
  CHECK_FALSE(is_valid_tag(""));
  CHECK_FALSE(is_valid_tag(".x"));
  CHECK_FALSE(is_valid_tag("a/b"));
  CHECK_FALSE(is_valid_tag(std::string(129, 'a')));
}
