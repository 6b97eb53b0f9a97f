// The store key: the same inputs give the same key; each input that can change a package's output changes it.
// Recipes are parsed from real recipe text; toolchains are identified from real files.
#include "echo/build/builder.hpp"
#include "echo/build/toolchain.hpp"

#include "echo/recipe/loader.hpp"
#include "echo/resolve/plan.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <catch2/catch.hpp>

#include <set>

namespace fs = std::filesystem;
using namespace echo;

namespace {

const std::string k_sha_a = std::string(64, 'a');
const std::string k_sha_b = std::string(64, 'b');

std::string recipe_text(const std::string& steps = "make install", const std::string& sha = k_sha_a, int strip = 1,
                        const std::string& extra_source = "") {
  return "package:\n"
         "  name: zed\n"
         "  version: 1.2.3\n"
         "  license: MIT\n"
         "sources:\n"
         "  - url: https://example.org/zed-1.2.3.tar.gz\n"
         "    sha256: " + sha + "\n"
         "    strip-components: " + std::to_string(strip) + "\n" + extra_source +
         "pipeline:\n"
         "  - runs: " + steps + "\n";
}

recipe::PackageRecipe parse(const std::string& text) {
  recipe::Diagnostics d;
  auto r = recipe::parse_recipe(text, "/recipes/packages/zed.yaml", d);
  INFO(d.render());
  REQUIRE(r);
  return std::get<recipe::PackageRecipe>(*r);
}

build::Toolchain toolchain(const std::string& digest) {
  build::Toolchain t;
  t.kind = "directory";
  t.root = "/opt/tc";
  t.digest = digest;
  return t;
}

std::string key(const std::string& text, const std::map<std::string, std::string>& deps = {},
                const std::string& tc = k_sha_a, std::int64_t epoch = 1700000000) {
  return build::store_key(parse(text), deps, toolchain(tc), epoch);
}

} // namespace

TEST_CASE("the same inputs give the same key", "[key]") {
  const std::string k = key(recipe_text());
  CHECK(is_sha256_hex(k));
  CHECK(key(recipe_text()) == k);
  // CRLF line ends are the same recipe text (normalized before hashing).
  std::string crlf;
  for (char c : recipe_text()) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  CHECK(key(crlf) == k);
  // The toolchain's root path and kind are not inputs: only its digest is.
  auto tc = toolchain(k_sha_a);
  tc.root = "/elsewhere";
  CHECK(build::store_key(parse(recipe_text()), {}, tc, 1700000000) == k);
}

TEST_CASE("each input changes the key", "[key]") {
  const std::string base = key(recipe_text(), {{"dep", k_sha_a}});
  std::map<std::string, std::string> variants = {
      {"recipe step", key(recipe_text("make install-strip"), {{"dep", k_sha_a}})},
      {"recipe comment", key("# a comment\n" + recipe_text(), {{"dep", k_sha_a}})},
      {"source digest", key(recipe_text("make install", k_sha_b), {{"dep", k_sha_a}})},
      {"source strip", key(recipe_text("make install", k_sha_a, 0), {{"dep", k_sha_a}})},
      {"source destination",
       key(recipe_text("make install", k_sha_a, 1, "    destination: sub\n"), {{"dep", k_sha_a}})},
      {"dependency key", key(recipe_text(), {{"dep", k_sha_b}})},
      {"dependency set", key(recipe_text(), {{"dep", k_sha_a}, {"dep2", k_sha_a}})},
      {"toolchain", key(recipe_text(), {{"dep", k_sha_a}}, k_sha_b)},
      {"SOURCE_DATE_EPOCH", key(recipe_text(), {{"dep", k_sha_a}}, k_sha_a, 1700000001)},
  };
  std::set<std::string> seen{base};
  for (const auto& [what, k] : variants) {
    INFO(what);
    CHECK(is_sha256_hex(k));
    CHECK(k != base);
    CHECK(seen.insert(k).second); // and differs from every other variant
  }
}

TEST_CASE("plan_keys: a dependency's recipe change reaches every package built on it", "[key]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "recipes";
  auto pkg = [](const std::string& name, const std::string& build_deps, const std::string& step) {
    std::string s = "package:\n  name: " + name + "\n  version: 1.0.0\n  license: MIT\n";
    if (!build_deps.empty()) s += "dependencies:\n  build: [" + build_deps + "]\n";
    return s + "pipeline:\n  - runs: " + step + "\n";
  };
  fs::create_directories(dir);
  write_file_atomic(dir / "base.yaml", pkg("base", "", "echo base"));
  write_file_atomic(dir / "mid.yaml", pkg("mid", "base", "echo mid"));
  write_file_atomic(dir / "top.yaml", pkg("top", "mid", "echo top"));
  write_file_atomic(dir / "other.yaml", pkg("other", "", "echo other"));
  auto keys_now = [&] {
    recipe::Diagnostics d;
    auto set = recipe::load_dirs({dir}, d);
    INFO(d.render());
    REQUIRE(d.empty());
    std::map<std::string, std::string> all;
    for (const char* root : {"top", "other"}) {
      recipe::Dependency dep;
      dep.name = root;
      auto plan = resolve::plan_package(set, dep);
      for (const auto& [n, k] : build::plan_keys(plan, toolchain(k_sha_a), 0)) all[n] = k;
    }
    return all;
  };
  auto k1 = keys_now();
  REQUIRE(k1.size() == 4);
  CHECK(keys_now() == k1);
  write_file_atomic(dir / "base.yaml", pkg("base", "", "echo base changed"));
  auto k2 = keys_now();
  CHECK(k2.at("base") != k1.at("base"));
  CHECK(k2.at("mid") != k1.at("mid"));
  CHECK(k2.at("top") != k1.at("top"));
  CHECK(k2.at("other") == k1.at("other"));
}

TEST_CASE("a directory toolchain's identity follows its binaries, cached by stamp", "[key][toolchain]") {
  TempDir tmp;
  const fs::path root = tmp.path() / "tc";
  fs::create_directories(root / "usr/bin");
  fs::create_directories(root / "bin");
  write_file_atomic(root / "usr/bin/gcc-12", "compiler v1", 0755);
  fs::create_symlink("/usr/bin/gcc-12", root / "usr/bin/cc"); // absolute: resolved inside the root
  write_file_atomic(root / "bin/sh", "shell", 0755);
  const fs::path cache = tmp.path() / "cache" / "toolchain.json";

  auto t1 = build::identify_toolchain(root, cache);
  CHECK(t1.kind == "directory");
  CHECK(t1.root == root);
  CHECK(is_sha256_hex(t1.digest));
  REQUIRE(t1.components.size() == 2);
  CHECK(t1.components[0].name == "cc");
  CHECK(t1.components[0].path == "/usr/bin/gcc-12");
  CHECK(t1.components[0].sha256 == sha256_hex("compiler v1"));
  CHECK(t1.components[1].name == "sh");
  CHECK(fs::exists(cache));
  CHECK(build::identify_toolchain(root, cache).digest == t1.digest);
  CHECK(build::identify_toolchain(root, {}).digest == t1.digest); // the cache only saves hashing

  // A new compiler binary (new inode, size): a new identity and a new key.
  write_file_atomic(root / "usr/bin/gcc-12", "compiler v2 (patched)", 0755);
  auto t2 = build::identify_toolchain(root, cache);
  CHECK(t2.digest != t1.digest);
  CHECK(t2.components[0].sha256 == sha256_hex("compiler v2 (patched)"));
  const auto r = parse(recipe_text());
  CHECK(build::store_key(r, {}, t1, 0) != build::store_key(r, {}, t2, 0));

  // A corrupt cache is only a cache.
  write_file_atomic(cache, "{not json");
  CHECK(build::identify_toolchain(root, cache).digest == t2.digest);
}
