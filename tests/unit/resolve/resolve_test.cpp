#include "echo/recipe/loader.hpp"
#include "echo/resolve/lockfile.hpp"
#include "echo/resolve/plan.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <catch2/catch.hpp>

#include <fstream>

namespace fs = std::filesystem;
using namespace echo;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string pkg(const std::string& name, const std::string& version, const std::string& build = "",
                const std::string& runtime = "") {
  std::string s = "package:\n  name: " + name + "\n  version: " + version + "\n  license: MIT\n";
  if (!build.empty() || !runtime.empty()) {
    s += "dependencies:\n";
    if (!build.empty()) s += "  build: [" + build + "]\n";
    if (!runtime.empty()) s += "  runtime: [" + runtime + "]\n";
  }
  return s + "pipeline:\n  - runs: true\n";
}

std::string image(const std::string& packages) {
  return "image:\n  name: img\ncontents:\n  packages: [" + packages + "]\n";
}

struct Fixture {
  TempDir dir;
  fs::path root() const { return dir.path() / "recipes"; }
  recipe::RecipeSet load(recipe::Diagnostics& d) const { return recipe::load_dirs({root()}, d); }
  recipe::RecipeSet load() const {
    recipe::Diagnostics d;
    auto s = load(d);
    d.throw_if_any();
    return s;
  }
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("the highest version satisfying every constraint wins", "[resolve]") {
  Fixture f;
  write(f.root() / "zlib-1.2.yaml", pkg("zlib", "1.2.13"));
  write(f.root() / "zlib-1.3.yaml", pkg("zlib", "1.3.1"));
  write(f.root() / "zlib-2.0.yaml", pkg("zlib", "2.0.0"));
  write(f.root() / "app.yaml", pkg("app", "1.0", "\"zlib >= 1.2, < 2\"", "zlib"));
  write(f.root() / "img.yaml", image("app"));
  auto set = f.load();
  auto plan = resolve::plan_image(set, set.images.at("img"));
  CHECK(plan.packages.at("zlib").recipe->version == "1.3.1");
  CHECK(plan.runtime_closure == std::vector<std::string>{"app", "zlib"});
  REQUIRE(plan.waves.size() == 2);
  CHECK(plan.waves[0] == std::vector<std::string>{"zlib"});
  CHECK(plan.waves[1] == std::vector<std::string>{"app"});
}

TEST_CASE("a conflict lists every constraint and who imposed it", "[resolve]") {
  Fixture f;
  write(f.root() / "zlib-1.2.yaml", pkg("zlib", "1.2.13"));
  write(f.root() / "zlib-1.3.yaml", pkg("zlib", "1.3.1"));
  write(f.root() / "a.yaml", pkg("a", "1.0", "", "\"zlib >= 1.3\""));
  write(f.root() / "b.yaml", pkg("b", "2.0", "\"zlib < 1.3\""));
  write(f.root() / "img.yaml", image("a, b"));
  auto set = f.load();
  std::string r = f.root().string();
  CHECK(error_of([&] { resolve::plan_image(set, set.images.at("img")); }) ==
        "no version of 'zlib' satisfies every constraint:\n"
        "  >=1.3  (runtime dependency of 'a' 1.0-r0, " + r + "/a.yaml:6:13)\n"
        "  <1.3  (build dependency of 'b' 2.0-r0, " + r + "/b.yaml:6:11)\n"
        "available versions: 1.3.1-r0 1.2.13-r0");
}

TEST_CASE("a cycle is reported with its path", "[resolve]") {
  Fixture f;
  write(f.root() / "a.yaml", pkg("a", "1", "b"));
  write(f.root() / "b.yaml", pkg("b", "1", "", "c"));
  write(f.root() / "c.yaml", pkg("c", "1", "a"));
  write(f.root() / "img.yaml", image("a"));
  auto set = f.load();
  CHECK(error_of([&] { resolve::plan_image(set, set.images.at("img")); }) ==
        "dependency cycle: a -> b -> c -> a (a package cannot be built before itself; " + f.root().string() +
            "/a.yaml)");
}

TEST_CASE("runtime-only cycles are fine", "[resolve]") {
  Fixture f;
  write(f.root() / "a.yaml", pkg("a", "1", "", "b"));
  write(f.root() / "b.yaml", pkg("b", "1", "", "a"));
  write(f.root() / "img.yaml", image("a"));
  auto set = f.load();
  auto plan = resolve::plan_image(set, set.images.at("img"));
  CHECK(plan.runtime_closure == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a dependency on a recipe that does not exist", "[resolve]") {
  Fixture f;
  write(f.root() / "a.yaml", pkg("a", "1", "zlb"));
  write(f.root() / "zlib.yaml", pkg("zlib", "1"));
  recipe::Diagnostics d;
  f.load(d);
  CHECK(d.render() == f.root().string() + "/a.yaml:6:11: build dependency on 'zlb': no package recipe has that name "
                                          "(did you mean 'zlib'?)\n"
                                          "      build: [zlb]\n"
                                          "              ^");
}

TEST_CASE("duplicate recipe names in one directory", "[resolve]") {
  Fixture f;
  write(f.root() / "a.yaml", pkg("a", "1"));
  write(f.root() / "sub/a-again.yaml", pkg("a", "1"));
  recipe::Diagnostics d;
  f.load(d);
  CHECK(d.render() == f.root().string() + "/sub/a-again.yaml:1:1: duplicate package recipe 'a' version 1-r0: also "
                                          "defined in " + f.root().string() + "/a.yaml\n"
                                          "    package:\n"
                                          "    ^");
}

TEST_CASE("a later recipe directory overrides an earlier one, with a warning", "[resolve]") {
  Fixture f;
  write(f.root() / "a.yaml", pkg("a", "1"));
  write(f.dir.path() / "overlay" / "a.yaml", pkg("a", "1", "", "b"));
  write(f.dir.path() / "overlay" / "b.yaml", pkg("b", "1"));
  recipe::Diagnostics d;
  std::vector<std::string> warnings;
  auto set = recipe::load_dirs({f.root(), f.dir.path() / "overlay"}, d,
                               [&](const fs::path& a, const fs::path& b) { warnings.push_back(b.string() + " over " + a.string()); });
  REQUIRE(d.empty());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == (f.dir.path() / "overlay" / "a.yaml").string() + " over " + (f.root() / "a.yaml").string());
  CHECK(set.packages.at("a").front().runtime_deps.size() == 1);
}

TEST_CASE("plans are identical whatever the file system order", "[resolve]") {
  Fixture f1, f2;
  std::vector<std::pair<std::string, std::string>> files = {
      {"x.yaml", pkg("x", "1", "y, z")}, {"y.yaml", pkg("y", "1", "", "z")}, {"z.yaml", pkg("z", "1")},
      {"w.yaml", pkg("w", "1", "x")},    {"img.yaml", image("w, y")}};
  for (const auto& [n, t] : files) write(f1.root() / n, t);
  for (auto it = files.rbegin(); it != files.rend(); ++it) write(f2.root() / ("d/" + it->first), it->second);
  auto s1 = f1.load(), s2 = f2.load();
  auto p1 = resolve::plan_text(resolve::plan_image(s1, s1.images.at("img")));
  auto p2 = resolve::plan_text(resolve::plan_image(s2, s2.images.at("img")));
  // Only the first line (the image recipe's path) may differ.
  CHECK(p1.substr(p1.find('\n')) == p2.substr(p2.find('\n')));
  CHECK(p1.find("wave 3 (1 in parallel):\n  w 1-r0  [build with: x]") != std::string::npos);
}

TEST_CASE("the lockfile locks: preferred version, staleness, CRLF", "[resolve][lock]") {
  Fixture f;
  write(f.root() / "zlib-1.2.yaml", pkg("zlib", "1.2.13"));
  write(f.root() / "img.yaml", image("zlib"));
  auto set = f.load();
  auto plan = resolve::plan_image(set, set.images.at("img"));
  fs::path lock_path = f.dir.path() / "echo.lock";
  auto lock = resolve::make_lock({plan}, f.dir.path());
  write(lock_path, lock.to_json());
  auto read = resolve::Lockfile::read(lock_path);
  REQUIRE(read);
  CHECK(read->to_json() == lock.to_json());
  CHECK_NOTHROW(resolve::check_locked(read, plan, lock_path));

  SECTION("a newer recipe does not move a locked build") {
    write(f.root() / "zlib-1.3.yaml", pkg("zlib", "1.3.1"));
    auto set2 = f.load();
    auto locked_plan = resolve::plan_image(set2, set2.images.at("img"), &*read);
    CHECK(locked_plan.packages.at("zlib").recipe->version == "1.2.13");
    auto free_plan = resolve::plan_image(set2, set2.images.at("img"));
    CHECK(free_plan.packages.at("zlib").recipe->version == "1.3.1");
    CHECK(error_of([&] { resolve::check_locked(read, free_plan, lock_path); }) ==
          "--locked: " + lock_path.string() + " is stale: package 'zlib' 1.3.1-r0 (" + (f.root() / "zlib-1.3.yaml").string() +
              ") is not in it (locked version: 1.2.13-r0); run 'echo-build lock' to update it");
  }
  SECTION("an edited recipe is stale, a CRLF checkout of the same recipe is not") {
    std::string text = pkg("zlib", "1.2.13");
    std::string crlf;
    for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    write(f.root() / "zlib-1.2.yaml", crlf);
    auto set2 = f.load();
    CHECK_NOTHROW(resolve::check_locked(read, resolve::plan_image(set2, set2.images.at("img")), lock_path));
    write(f.root() / "zlib-1.2.yaml", text + "# edited\n");
    auto set3 = f.load();
    auto p3 = resolve::plan_image(set3, set3.images.at("img"));
    std::string msg = error_of([&] { resolve::check_locked(read, p3, lock_path); });
    CHECK(msg.rfind("--locked: " + lock_path.string() + " is stale: recipe 'zlib' (" +
                        (f.root() / "zlib-1.2.yaml").string() + ") changed (locked sha256 ", 0) == 0);
  }
  SECTION("a missing lockfile") {
    CHECK(error_of([&] { resolve::check_locked(std::nullopt, plan, lock_path); }) ==
          "--locked: " + lock_path.string() + " does not exist; run 'echo-build lock' to update it");
  }
}
