#pragma once
#include "echo/recipe/diagnostic.hpp"
#include "echo/recipe/recipe.hpp"

#include <filesystem>
#include <functional>
#include <string_view>
#include <variant>
#include <vector>

namespace echo::recipe {

using AnyRecipe = std::variant<PackageRecipe, ImageRecipe>;

/// Parses one recipe file's text. Every problem found is added to `diags` (parsing goes on where it can);
/// returns nullopt when the recipe is unusable. `path` is used for messages and for local sources/patches.
std::optional<AnyRecipe> parse_recipe(std::string_view text, const std::filesystem::path& path, Diagnostics& diags);

/// Reads and parses one file (non-UTF-8, binary and empty files are diagnosed).
std::optional<AnyRecipe> load_file(const std::filesystem::path& path, Diagnostics& diags);

/// Called for a recipe in a later directory that overrides one of the same name and version in an earlier one.
using OverrideWarning = std::function<void(const std::filesystem::path& earlier, const std::filesystem::path& later)>;

/// Loads every *.yaml/*.yml under each directory (recursively, in sorted order; later directories override
/// earlier ones), then checks the set: duplicate names within one directory, dependencies on recipes that do
/// not exist, unknown variables. All problems go to `diags`.
RecipeSet load_dirs(const std::vector<std::filesystem::path>& dirs, Diagnostics& diags,
                    const OverrideWarning& on_override = {});

/// Expands `${{...}}` variables in text. Known: package.name, package.version, package.full-version,
/// package.epoch, targets.destdir, targets.srcdir, build.jobs, build.arch, build.source-date-epoch,
/// vars.<name>. Throws Error(internal) for an unknown one (load_dirs already diagnoses those).
std::string expand_vars(std::string_view text, const std::map<std::string, std::string>& values);

/// The variables of a package at build time (jobs and epoch known only then).
std::map<std::string, std::string> package_variables(const PackageRecipe& p, int jobs, std::int64_t source_date_epoch);

/// Text with CRLF and lone CR turned into LF (what content_sha256 hashes).
std::string normalize_newlines(std::string_view text);

} // namespace echo::recipe
