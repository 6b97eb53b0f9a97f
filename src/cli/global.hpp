#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace echo::cli {

/// Options shared by every subcommand (set before the subcommand's callback runs).
struct GlobalOptions {
  std::vector<std::string> recipe_dirs;     ///< --recipes DIR (repeatable; later overrides earlier)
  std::string lockfile = "echo.lock";       ///< --lockfile FILE
  bool locked = false;                      ///< --locked: fail when echo.lock is missing or stale
  bool json = false;                        ///< --json: machine-readable output on stdout
  int verbosity = 0;                        ///< -v (+1 per flag) / -q (-1)
  std::vector<std::string> distdirs;        ///< --distdir DIR (repeatable) + $ECHO_DISTDIR (colon-separated)
  std::string cache_dir;                    ///< --cache-dir (default ~/.cache/echo-build)
  std::string store_dir;                    ///< --store (default ~/.cache/echo-build/store)
  int jobs = 0;                             ///< -j N (0 = number of cores)

  /// recipe_dirs, or {"recipes"} when none was given.
  std::vector<std::filesystem::path> effective_recipe_dirs() const;
  std::filesystem::path effective_cache_dir() const;
  std::filesystem::path effective_store_dir() const;
  std::vector<std::filesystem::path> effective_distdirs() const;
  int effective_jobs() const;
};

} // namespace echo::cli
