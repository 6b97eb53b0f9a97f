#include "echo/recipe/version.hpp"

#include <catch2/catch.hpp>

using namespace echo::recipe;

TEST_CASE("version ordering", "[version]") {
  CHECK(compare_versions("1.2", "1.10") < 0);
  CHECK(compare_versions("1.10", "1.9") > 0);
  CHECK(compare_versions("1.0~rc1", "1.0") < 0);
  CHECK(compare_versions("1.0", "1.0.0") < 0);
  CHECK(compare_versions("1.0a", "1.0") > 0);
  CHECK(compare_versions("1:0.1", "9.9") > 0);
  CHECK(compare_versions("1.2-r1", "1.2-r0") > 0);
  CHECK(compare_versions("1.2-r10", "1.2-r9") > 0);
  CHECK(compare_versions("01.2", "1.2") == 0);
  CHECK(compare_versions("2.12.1", "2.12.1") == 0);
}

TEST_CASE("constraints", "[version]") {
  std::string err;
  std::size_t off = 0;
  auto c = parse_constraint(">= 1.2, < 2", err, off);
  REQUIRE(c);
  CHECK(c->satisfied_by("1.2"));
  CHECK(c->satisfied_by("1.9.9"));
  CHECK_FALSE(c->satisfied_by("2.0"));
  CHECK_FALSE(c->satisfied_by("1.1"));
  auto eq = parse_constraint("=1.4", err, off);
  REQUIRE(eq);
  CHECK(eq->satisfied_by("1.4"));
  CHECK_FALSE(eq->satisfied_by("1.4.1"));
  auto ne = parse_constraint("!= 1.4", err, off);
  REQUIRE(ne);
  CHECK_FALSE(ne->satisfied_by("1.4"));
  CHECK(parse_constraint("", err, off)->empty());
  CHECK_FALSE(parse_constraint(">= 1.2 < 2", err, off));
  CHECK(err == "expected ',' between comparisons");
  CHECK(off == 7);
  CHECK_FALSE(parse_constraint(">=", err, off));
  CHECK(err == "missing version after operator");
}
