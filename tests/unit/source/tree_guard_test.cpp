#include "source/tree_guard.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace echo::source::detail;

TEST_CASE("entry_components drops empty and '.' parts and refuses escapes", "[tree_guard]") {
  CHECK(entry_components("./pkg-1.0//src/./a.c") == std::vector<std::string>{"pkg-1.0", "src", "a.c"});
  CHECK(entry_components("dir/") == std::vector<std::string>{"dir"});
  CHECK(entry_components("./").empty());
  CHECK(entry_components("a..b/..c") == std::vector<std::string>{"a..b", "..c"}); // names, not parents
  CHECK_THROWS_WITH(entry_components("/etc/passwd"), "absolute path");
  CHECK_THROWS_WITH(entry_components("a/../b"), "path contains '..'");
  CHECK_THROWS_WITH(entry_components(".."), "path contains '..'");
}

TEST_CASE("symlink_stays_inside resolves from the link's directory, through links in the tree", "[tree_guard]") {
  echo::TempDir tmp;
  const fs::path root = tmp.path();
  fs::create_directories(root / "d" / "e");
  CHECK(symlink_stays_inside(root, {"lib"}, "usr/lib"));
  CHECK(symlink_stays_inside(root, {"d", "up"}, ".."));
  CHECK(symlink_stays_inside(root, {"d", "e", "x"}, "../../f"));
  CHECK_FALSE(symlink_stays_inside(root, {"d", "e", "x"}, "../../../f"));
  CHECK_FALSE(symlink_stays_inside(root, {"a"}, "/etc"));
  CHECK_FALSE(symlink_stays_inside(root, {"a"}, ""));
  CHECK(symlink_stays_inside(root, {"a"}, "nonexistent/../b"));
  // d/l1 -> .. is fine on its own, but l2 -> d/l1/.. then climbs above the root.
  fs::create_symlink("..", root / "d" / "l1");
  CHECK_FALSE(symlink_stays_inside(root, {"l2"}, "d/l1/.."));
  CHECK(symlink_stays_inside(root, {"l3"}, "d/l1/d"));
  // Loops are refused rather than followed forever.
  fs::create_symlink("loop", root / "loop");
  CHECK_FALSE(symlink_stays_inside(root, {"l4"}, "loop/x"));
  fs::create_symlink("d/l1/..", root / "l2");
  CHECK(find_escaping_symlink(root) == "l2");
}

TEST_CASE("symlink_in_parents finds a link among an entry's parents", "[tree_guard]") {
  echo::TempDir tmp;
  fs::create_directories(tmp.path() / "real");
  fs::create_symlink("real", tmp.path() / "a");
  CHECK(symlink_in_parents(tmp.path(), {"a", "x"}) == "a");
  CHECK(symlink_in_parents(tmp.path(), {"a"}).empty()); // the entry itself is not a parent
  CHECK(symlink_in_parents(tmp.path(), {"real", "x"}).empty());
  CHECK(symlink_in_parents(tmp.path(), {"missing", "a", "x"}).empty());
}
