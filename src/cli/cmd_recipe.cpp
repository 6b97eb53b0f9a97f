// plan, graph, lock, lint: the recipe-level commands.
#include "cli/commands.hpp"
#include "cli/recipes.hpp"
#include "echo/recipe/advisory.hpp"
#include "echo/recipe/identity.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <set>

namespace fs = std::filesystem;

namespace echo::cli {

namespace {

// Warnings do not fail lint: a package without package.cpe still gets the default CPE in its SBOM, which real
// scanners may not match (docs/vulnerabilities.md).
void warn_missing_identity(const recipe::RecipeSet& set, std::vector<std::string>& warnings) {
  for (const auto& [name, versions] : set.packages)
    for (const auto& p : versions)
      if (p.cpe.empty())
        warnings.push_back(p.file.string() + ": package '" + name + "' has no package.cpe; the SBOM will say " +
                           recipe::package_cpe(p) +
                           ", which scanners match only if NVD uses that vendor:product (set package.cpe, or "
                           "'cpe: none' if NVD has no CPE for it)");
}

void lint(const GlobalOptions& g, const std::vector<std::string>& paths) {
  recipe::Diagnostics diags;
  std::vector<std::string> warnings;
  std::size_t files = 0, advisories = 0;
  // Advisory files are checked against the recipe set they sit beside (recipes/advisories/<pkg>.yaml).
  auto check_dirs = [&](const std::vector<fs::path>& dirs) {
    auto set = recipe::load_dirs(dirs, diags, {});
    for (const auto& [n, v] : set.packages) files += v.size();
    files += set.images.size();
    auto adv = recipe::load_advisories(dirs, diags);
    advisories += adv.size();
    recipe::check_advisories(adv, set, recipe::today_utc(), diags);
    warn_missing_identity(set, warnings);
  };
  if (paths.empty()) {
    check_dirs(g.effective_recipe_dirs());
  } else {
    std::vector<fs::path> dirs;
    for (const auto& p : paths) {
      if (fs::is_directory(p)) dirs.emplace_back(p);
      else {
        ++files;
        recipe::load_file(p, diags);
      }
    }
    if (!dirs.empty()) check_dirs(dirs);
  }
  if (g.verbosity >= 0)
    for (const auto& w : warnings) spdlog::warn("{}", w);
  if (g.json) {
    nlohmann::json errs = nlohmann::json::array();
    for (const auto& d : diags.items())
      errs.push_back({{"file", d.where.file}, {"line", d.where.line}, {"column", d.where.column}, {"message", d.message}});
    std::cout << nlohmann::json{{"errors", errs}, {"warnings", warnings}, {"ok", diags.empty()}}.dump(2) << "\n";
  }
  if (!diags.empty())
    throw Error(ErrorKind::recipe, diags.render() + "\n" + std::to_string(diags.size()) + " error" +
                                       (diags.size() == 1 ? "" : "s") + " found");
  if (!g.json && g.verbosity >= 0)
    std::cout << "ok: " << files << " recipes, " << advisories << " advisory file" << (advisories == 1 ? "" : "s")
              << ", no errors" << (warnings.empty() ? "" : ", " + std::to_string(warnings.size()) + " warnings") << "\n";
}

} // namespace

void add_recipe_commands(CLI::App& app, GlobalOptions& g) {
  auto target = std::make_shared<std::string>();
  auto* plan = app.add_subcommand("plan", "Resolve an image (or package) recipe and print the build plan");
  plan->add_option("RECIPE", *target, "Image or package: a name or a recipe file path")->required();
  plan->callback([&g, target] {
    auto r = resolve_target(g, *target);
    std::cout << (g.json ? resolve::plan_json(r.plan) : resolve::plan_text(r.plan));
  });

  auto graph_target = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("dot");
  auto* graph = app.add_subcommand("graph", "Print the dependency graph of an image or package");
  graph->add_option("RECIPE", *graph_target, "Image or package: a name or a recipe file path")->required();
  graph->add_option("--format", *format, "Output format")->check(CLI::IsMember({"dot", "json"}))->capture_default_str();
  graph->callback([&g, graph_target, format] {
    auto r = resolve_target(g, *graph_target);
    std::cout << (*format == "dot" ? resolve::plan_dot(r.plan) : resolve::plan_json(r.plan));
  });

  auto* lock = app.add_subcommand("lock", "Resolve every image and package recipe and write the lockfile (echo.lock); "
                                          "versions already locked stay unless --update");
  auto check = std::make_shared<bool>(false);
  auto update = std::make_shared<bool>(false);
  lock->add_flag("--check", *check, "Do not write; fail (exit 3) if the lockfile is missing or out of date");
  lock->add_flag("--update", *update, "Move every package to the highest version the constraints allow");
  lock->callback([&g, check, update] {
    auto set = load_recipes(g);
    auto old_lock = resolve::Lockfile::read(g.lockfile);
    const resolve::Lockfile* prefer = (*update || !old_lock) ? nullptr : &*old_lock;
    std::vector<resolve::Plan> plans;
    for (const auto& [name, img] : set->images) plans.push_back(resolve::plan_image(*set, img, prefer));
    // Packages no image needs are locked too, so `--locked build PACKAGE` works for every recipe.
    std::set<std::string> covered;
    for (const auto& p : plans)
      for (const auto& [n, pp] : p.packages) covered.insert(n);
    for (const auto& [name, versions] : set->packages) {
      if (covered.count(name)) continue;
      recipe::Dependency root;
      root.name = name;
      auto p = resolve::plan_package(*set, root, prefer);
      for (const auto& [n, pp] : p.packages) covered.insert(n);
      plans.push_back(std::move(p));
    }
    fs::path lock_path = g.lockfile;
    fs::path dir = lock_path.parent_path().empty() ? fs::path(".") : lock_path.parent_path();
    std::string text = resolve::make_lock(plans, dir).to_json();
    if (*check) {
      std::string old = fs::exists(lock_path) ? read_file(lock_path) : std::string();
      if (old != text) throw Error(ErrorKind::recipe, lock_path.string() + " is missing or stale; run 'echo-build lock'");
      if (!g.json) std::cout << lock_path.string() << " is up to date\n";
      return;
    }
    write_file_atomic(lock_path, text);
    std::size_t n = 0;
    for (const auto& p : plans) n += p.packages.size();
    if (g.json)
      std::cout << nlohmann::json{{"lockfile", lock_path.string()}, {"images", plans.size()}}.dump() << "\n";
    else if (g.verbosity >= 0)
      std::cout << "wrote " << lock_path.string() << " (" << plans.size() << " images)\n";
  });

  auto paths = std::make_shared<std::vector<std::string>>();
  auto* lint_cmd = app.add_subcommand("lint", "Check recipes and report every error found (default: the recipe dirs)");
  lint_cmd->add_option("PATH", *paths, "Recipe files or directories");
  lint_cmd->callback([&g, paths] { lint(g, *paths); });
}

} // namespace echo::cli
