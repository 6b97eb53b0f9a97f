#pragma once
#include "echo/recipe/recipe.hpp"

#include <map>
#include <string>
#include <vector>

namespace echo::resolve {

struct Lockfile;

/// One package the plan builds.
struct PlannedPackage {
  const recipe::PackageRecipe* recipe = nullptr;  ///< owned by the RecipeSet, which must outlive the plan
  std::vector<std::string> build_deps;            ///< direct build dependencies (names)
  std::vector<std::string> runtime_deps;          ///< direct runtime dependencies (names)
  /// Everything visible in this package's build sandbox: build deps and their runtime closures, sorted.
  std::vector<std::string> build_closure;
  int wave = 0;                                   ///< builds in wave N need only packages of waves < N
};

/// A resolved build plan: what to build, in which order, and what goes into the image.
struct Plan {
  const recipe::ImageRecipe* image = nullptr;     ///< null when planning one package
  std::vector<std::string> roots;                 ///< requested packages
  std::vector<std::string> runtime_closure;       ///< packages whose outputs go into the image, sorted
  std::map<std::string, PlannedPackage> packages; ///< every package to build, by name
  std::vector<std::vector<std::string>> waves;    ///< packages grouped by wave; each wave's packages can build in parallel
};

/// Resolves an image recipe: picks for each needed package the highest version satisfying every constraint
/// (preferring the lockfile's version when it still satisfies them), then orders the builds.
/// Throws Error(recipe) on a conflict (listing each constraint and who imposed it) or a cycle (with its path).
Plan plan_image(const recipe::RecipeSet& set, const recipe::ImageRecipe& image, const Lockfile* lock = nullptr);
/// Same for a single package recipe by name (with an optional constraint).
Plan plan_package(const recipe::RecipeSet& set, const recipe::Dependency& root, const Lockfile* lock = nullptr);

/// Human-readable plan (deterministic).
std::string plan_text(const Plan& plan);
/// Machine-readable plan (deterministic, stable key order).
std::string plan_json(const Plan& plan);
/// Graphviz dot of the dependency graph (build edges solid, runtime edges dashed).
std::string plan_dot(const Plan& plan);

} // namespace echo::resolve
