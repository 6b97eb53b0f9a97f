#pragma once
// Loading recipes and resolving a target, shared by every command that needs a plan.
#include "cli/global.hpp"
#include "echo/recipe/loader.hpp"
#include "echo/resolve/lockfile.hpp"

#include <memory>
#include <optional>
#include <string>

namespace echo::cli {

/// The recipe set, the lockfile (if any) and a resolved plan for one target.
struct Resolved {
  std::unique_ptr<recipe::RecipeSet> set; ///< stable address: the plan points into it
  std::optional<resolve::Lockfile> lock;
  resolve::Plan plan;
  const recipe::ImageRecipe* image = nullptr;         ///< set when the target is an image
  const recipe::PackageRecipe* package = nullptr;     ///< set when the target is a package
};

/// Loads the recipe directories (warning on overrides), throwing Error(recipe) with every diagnostic.
std::unique_ptr<recipe::RecipeSet> load_recipes(const GlobalOptions& g);

/// Loads recipes and the lockfile, finds `target` (an image or package name, or a recipe file path),
/// resolves it, and with --locked checks the lockfile.
Resolved resolve_target(const GlobalOptions& g, const std::string& target);

} // namespace echo::cli
