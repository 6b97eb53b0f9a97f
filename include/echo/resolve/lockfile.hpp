#pragma once
#include "echo/resolve/plan.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace echo::resolve {

struct LockedSource {
  std::string uri;    ///< URL, or "path:<dir>" for a local source
  std::string sha256;
};

struct LockedPackage {
  std::string name, version; ///< version = full version (epoch:version-rN)
  std::string recipe;        ///< recipe path relative to the lockfile's directory (informational)
  std::string recipe_sha256; ///< sha256 of the recipe's normalized (LF) text
  std::vector<LockedSource> sources;
  std::vector<LockedSource> patches;
};

struct LockedImage {
  std::string name, recipe, recipe_sha256;
  std::vector<std::string> packages; ///< "name@version" of the runtime closure
};

/// echo.lock: JSON with stable key order. Packages are keyed "name@version".
struct Lockfile {
  std::map<std::string, LockedPackage> packages;
  std::map<std::string, LockedImage> images;

  /// Reads a lockfile; nullopt if it does not exist. Throws Error(recipe) naming the file if it is malformed.
  static std::optional<Lockfile> read(const std::filesystem::path& path);
  std::string to_json() const;
  /// Locked versions of a package name (usually one).
  std::vector<std::string> versions_of(const std::string& name) const;
};

/// Lockfile pinning every package of the given plans (paths relative to lock_dir).
Lockfile make_lock(const std::vector<Plan>& plans, const std::filesystem::path& lock_dir);

/// --locked: throws Error(recipe) naming the first recipe that is missing from or changed since the lockfile.
void check_locked(const std::optional<Lockfile>& lock, const Plan& plan, const std::filesystem::path& lock_path);

} // namespace echo::resolve
