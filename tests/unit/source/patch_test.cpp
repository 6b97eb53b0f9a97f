#include "echo/source/patch.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

namespace fs = std::filesystem;

namespace {

bool have_patch() { return std::system("command -v patch >/dev/null 2>&1") == 0; }

std::string error_of(const fs::path& patch, const fs::path& dir, int strip = 1) {
  try {
    echo::source::apply_patch(patch, dir, strip);
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::source);
    return e.what();
  }
  FAIL("apply_patch " << patch << " did not fail");
  return {};
}

const char* k_first = "--- a/src/a.txt\n+++ b/src/a.txt\n@@ -1,3 +1,3 @@\n line1\n-line2\n+LINE2\n line3\n";
const char* k_second = "--- a/src/a.txt\n+++ b/src/a.txt\n@@ -1,3 +1,4 @@\n line1\n-LINE2\n+L2\n+added\n line3\n";

} // namespace

TEST_CASE("patches apply in order, each seeing the previous one's result", "[patch]") {
  if (!have_patch()) {
    WARN("SKIPPED: GNU patch is not installed");
    return;
  }
  echo::TempDir tmp;
  fs::create_directories(tmp.path() / "tree" / "src");
  echo::write_file_atomic(tmp.path() / "tree" / "src" / "a.txt", "line1\nline2\nline3\n");
  echo::write_file_atomic(tmp.path() / "01-first.patch", k_first);
  echo::write_file_atomic(tmp.path() / "02-second.patch", k_second);

  SECTION("in order") {
    echo::source::apply_patch(tmp.path() / "01-first.patch", tmp.path() / "tree");
    echo::source::apply_patch(tmp.path() / "02-second.patch", tmp.path() / "tree");
    CHECK(echo::read_file(tmp.path() / "tree" / "src" / "a.txt") == "line1\nL2\nadded\nline3\n");
    // --no-backup-if-mismatch: no .orig files.
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(tmp.path() / "tree" / "src")) names.push_back(e.path().filename());
    CHECK(names == std::vector<std::string>{"a.txt"});
  }
  SECTION("out of order: the failing hunk is named") {
    fs::path p = tmp.path() / "02-second.patch";
    CHECK(error_of(p, tmp.path() / "tree") == "cannot apply patch " + p.string() + ": src/a.txt: Hunk #1 FAILED at 1.");
  }
  SECTION("applied twice: --forward refuses instead of reverting") {
    fs::path p = tmp.path() / "01-first.patch";
    echo::source::apply_patch(p, tmp.path() / "tree");
    CHECK(error_of(p, tmp.path() / "tree") ==
          "cannot apply patch " + p.string() +
              ": src/a.txt: Reversed (or previously applied) patch detected!  Skipping patch.");
  }
  SECTION("relative patch path works with -d") {
    fs::path old = fs::current_path();
    fs::current_path(tmp.path());
    echo::source::apply_patch("01-first.patch", "tree");
    fs::current_path(old);
    CHECK(echo::read_file(tmp.path() / "tree" / "src" / "a.txt") == "line1\nLINE2\nline3\n");
  }
  SECTION("wrong strip level names the missing file") {
    fs::path p = tmp.path() / "01-first.patch";
    CHECK(error_of(p, tmp.path() / "tree", 0) ==
          "cannot apply patch " + p.string() + ": can't find file to patch at input line 3");
  }
}

TEST_CASE("patch input problems are named", "[patch]") {
  if (!have_patch()) {
    WARN("SKIPPED: GNU patch is not installed");
    return;
  }
  echo::TempDir tmp;
  fs::create_directories(tmp.path() / "tree");
  fs::path missing = tmp.path() / "nope.patch";
  CHECK(error_of(missing, tmp.path() / "tree") == "cannot apply patch " + missing.string() + ": no such file");
  fs::path garbage = tmp.path() / "garbage.patch";
  echo::write_file_atomic(garbage, "this is not a diff\n");
  CHECK(error_of(garbage, tmp.path() / "tree") ==
        "cannot apply patch " + garbage.string() + ": Only garbage was found in the patch input.");
  echo::write_file_atomic(tmp.path() / "ok.patch", k_first);
  CHECK(error_of(tmp.path() / "ok.patch", tmp.path() / "no-such-dir") ==
        "cannot apply patch " + (tmp.path() / "ok.patch").string() + ": " + (tmp.path() / "no-such-dir").string() +
            " is not a directory");
}
