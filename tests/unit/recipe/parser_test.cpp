#include "echo/recipe/loader.hpp"
#include "echo/util/fs.hpp"

#include <catch2/catch.hpp>

using namespace echo::recipe;

namespace {

const char* k_good = R"(package:
  name: zlib
  version: 1.3.1
  license: Zlib
sources:
  - url: https://zlib.net/zlib-1.3.1.tar.gz
    sha256: 9a93b2b7dfdac77ceba5a558a580e74667dd6fede4585b91eefb60f03b72df23
    strip-components: 1
pipeline:
  - runs: make -j${{build.jobs}} DESTDIR=${{targets.destdir}}
)";

std::string errors_of(const std::string& text, const std::string& name = "recipes/packages/t.yaml") {
  Diagnostics d;
  auto r = parse_recipe(text, name, d);
  CHECK_FALSE(r.has_value());
  return d.render();
}

} // namespace

TEST_CASE("a valid package recipe parses", "[recipe]") {
  Diagnostics d;
  auto r = parse_recipe(k_good, "recipes/packages/zlib.yaml", d);
  REQUIRE(d.empty());
  REQUIRE(r.has_value());
  const auto& p = std::get<PackageRecipe>(*r);
  CHECK(p.name == "zlib");
  CHECK(p.full_version() == "1.3.1-r0");
  REQUIRE(p.sources.size() == 1);
  CHECK(p.sources[0].strip_components == 1);
  CHECK(p.pipeline.size() == 1);
  CHECK(p.pipeline[0].name == "step 1");
}

TEST_CASE("unknown key suggests the nearest known one", "[recipe]") {
  std::string text = k_good;
  text.replace(text.find("sources:"), 8, "sorces:");
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:5:1: unknown key 'sorces' in package recipe (did you mean 'sources'?)\n"
        "    sorces:\n"
        "    ^");
}

TEST_CASE("unknown key far from any known one lists the known keys", "[recipe]") {
  std::string text = std::string(k_good) + "zzzzzzzz: 1\n";
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:11:1: unknown key 'zzzzzzzz' in package recipe (known keys: package sources patches "
        "dependencies vars environment pipeline options)\n"
        "    zzzzzzzz: 1\n"
        "    ^");
}

TEST_CASE("wrong type is reported at the value", "[recipe]") {
  std::string text = k_good;
  text.replace(text.find("version: 1.3.1"), 14, "version: [1, 3]");
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:3:12: version must be a string, not a sequence\n"
        "      version: [1, 3]\n"
        "               ^");
}

TEST_CASE("missing required field", "[recipe]") {
  std::string text = k_good;
  text.erase(text.find("  license: Zlib\n"), 15);
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:2:3: missing required key 'license' in 'package'\n"
        "      name: zlib\n"
        "      ^");
}

TEST_CASE("sha256 that is not 64 hex digits", "[recipe]") {
  std::string text = k_good;
  text.replace(text.find("9a93b2b7"), 64, "abc123");
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:7:13: sha256 must be 64 hexadecimal digits, got 'abc123' (6 characters)\n"
        "        sha256: abc123\n"
        "                ^");
}

TEST_CASE("remote source without sha256", "[recipe]") {
  std::string text = k_good;
  text.erase(text.find("    sha256: 9a93"), 77);
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:6:5: missing required key 'sha256' in source (every remote source is pinned by its "
        "sha256)\n"
        "      - url: https://zlib.net/zlib-1.3.1.tar.gz\n"
        "        ^");
}

TEST_CASE("bad version constraint points into the string", "[recipe]") {
  std::string text = std::string(k_good) + "dependencies:\n  build:\n    - \"make >= 4.x!\"\n    - musl ~> 1\n";
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:13:16: bad version constraint in 'make >= 4.x!': invalid version '4.x!'\n"
        "        - \"make >= 4.x!\"\n"
        "                   ^\n"
        "recipes/packages/t.yaml:14:12: bad version constraint in 'musl ~> 1': expected one of = == != >= <= > < "
        "before a version\n"
        "        - musl ~> 1\n"
        "               ^");
}

TEST_CASE("unknown variable is reported where it is used", "[recipe]") {
  std::string text = k_good;
  text.replace(text.find("${{build.jobs}}"), 15, "${{build.job}}");
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:10:18: unknown variable 'build.job' (did you mean 'build.jobs'?)\n"
        "      - runs: make -j${{build.job}} DESTDIR=${{targets.destdir}}\n"
        "                     ^");
}

TEST_CASE("variables in block scalars and declared vars", "[recipe]") {
  std::string text = k_good;
  text += "vars:\n  prefix: /usr\n";
  text.replace(text.find("  - runs: make"), 14, "  - runs: |\n      echo ${{vars.prefix}}\n      echo ${{vars.nope}}\n      make");
  CHECK(errors_of(text) ==
        "recipes/packages/t.yaml:12:12: unknown variable 'vars.nope'\n"
        "          echo ${{vars.nope}}\n"
        "               ^");
}

TEST_CASE("non-UTF-8, binary and empty files", "[recipe]") {
  CHECK(errors_of("package:\n  name: caf\xe9\n") ==
        "recipes/packages/t.yaml:2:12: invalid UTF-8 (byte 0xE9): recipes must be UTF-8 text\n"
        "      name: caf\xe9\n"
        "               ^");
  CHECK(errors_of(std::string("\x7f" "ELF\0\0\0", 7)) ==
        "recipes/packages/t.yaml:1:1: binary file (contains NUL bytes), not a YAML recipe");
  CHECK(errors_of("") == "recipes/packages/t.yaml:1:1: empty recipe: expected a 'package' or 'image' mapping");
  CHECK(errors_of("  \n\n") == "recipes/packages/t.yaml:1:1: empty recipe: expected a 'package' or 'image' mapping");
}

TEST_CASE("YAML syntax errors carry the position", "[recipe]") {
  CHECK(errors_of("package:\n  name: [zlib\n") ==
        "recipes/packages/t.yaml:3:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)");
  CHECK(errors_of("package:\n  name: zlib\n   - x: y\n") ==
        "recipes/packages/t.yaml:3:7: YAML syntax error: mapping values are not allowed in this context\n"
        "       - x: y\n"
        "          ^");
}

TEST_CASE("every error is reported, not just the first", "[recipe]") {
  Diagnostics d;
  parse_recipe("package:\n  name: Bad Name\n  version: x1\n  licence: MIT\npipeline: []\n", "p.yaml", d);
  REQUIRE(d.size() == 5);
  CHECK(d.items()[0].message == "unknown key 'licence' in 'package' (did you mean 'license'?)");
  CHECK(d.items()[1].message == "missing required key 'license' in 'package'");
  CHECK(d.items()[2].message == "invalid package name 'Bad Name' (use lower-case letters, digits and . _ + -)");
  CHECK(d.items()[3].message ==
        "invalid version 'x1' (a version starts with a digit and uses letters, digits and . + ~ _; epoch and release "
        "have their own keys)");
  CHECK(d.items()[4].message == "pipeline must be a non-empty sequence of steps");
}

TEST_CASE("image recipe defaults: nonroot user, latest tag", "[recipe]") {
  Diagnostics d;
  auto r = parse_recipe("image:\n  name: app\ncontents:\n  packages: [a, \"b >= 1.0, < 2\"]\n"
                        "paths:\n  - path: /tmp\n    permissions: 0o1777\n",
                        "i.yaml", d);
  REQUIRE(d.empty());
  const auto& img = std::get<ImageRecipe>(*r);
  CHECK(img.tags == std::vector<std::string>{"latest"});
  REQUIRE(img.users.size() == 1);
  CHECK(img.users[0].uid == 65532);
  CHECK(img.run_as == "nonroot");
  CHECK(img.paths[0].mode == 01777);
  CHECK(img.packages[1].constraint.str() == ">=1.0, <2");
}

TEST_CASE("CRLF text hashes like LF text", "[recipe]") {
  std::string lf = k_good, crlf;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  Diagnostics d1, d2;
  auto a = parse_recipe(lf, "a.yaml", d1);
  auto b = parse_recipe(crlf, "a.yaml", d2);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(std::get<PackageRecipe>(*a).content_sha256 == std::get<PackageRecipe>(*b).content_sha256);
}

TEST_CASE("variables expand", "[recipe]") {
  Diagnostics d;
  auto r = parse_recipe(k_good, "a.yaml", d);
  auto vars = package_variables(std::get<PackageRecipe>(*r), 3, 0);
  CHECK(expand_vars("make -j${{build.jobs}} DESTDIR=${{ targets.destdir }}", vars) == "make -j3 DESTDIR=/dest");
}
