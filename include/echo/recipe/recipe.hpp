#pragma once
#include "echo/recipe/version.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace echo::recipe {

/// A place in a recipe file (1-based line and column).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

/// A dependency on another package recipe, with an optional version constraint.
struct Dependency {
  std::string name;
  Constraint constraint;
  std::string text; ///< as written, e.g. "musl >= 1.2"
  Location where;
};

/// One source of a package: a remote file (url + sha256) or a local directory beside the recipe.
struct Source {
  std::string url;                  ///< remote: http(s):// or file://
  std::vector<std::string> mirrors; ///< tried in order after url
  std::string sha256;               ///< remote: mandatory; local: computed tree hash
  int strip_components = 0;
  std::string destination;          ///< subdirectory of the work dir ("" = the work dir)
  std::filesystem::path local_path; ///< local: absolute path of the directory
  std::string local_name;           ///< local: as written in the recipe
  Location where;
  bool is_local() const noexcept { return !local_path.empty(); }
};

/// A patch file beside the recipe, applied in order with -p1.
struct Patch {
  std::string name;            ///< as written
  std::filesystem::path path;  ///< absolute
  std::string sha256;
  Location where;
};

/// One shell step of a package's pipeline (run with /bin/sh -e in the sandbox).
struct Step {
  std::string name;
  std::string run;                          ///< variables not yet expanded
  std::string working_directory;            ///< relative to the work dir
  std::map<std::string, std::string> environment;
  Location where;
};

/// A package recipe (recipes/packages/*.yaml).
struct PackageRecipe {
  std::string name;
  std::string version;
  int epoch = 0;
  int release = 0;
  std::string description, license, homepage, supplier;
  std::string purl; ///< package.purl as written: pkg:TYPE[/NAMESPACE]/NAME ("" = pkg:generic/NAME)
  std::string cpe;  ///< package.cpe as written: CPE 2.3 with version * ("" = the default, lint warns; "none" = no CPE)
  std::vector<Source> sources;
  std::vector<Patch> patches;
  std::vector<Dependency> build_deps, runtime_deps;
  std::map<std::string, std::string> vars;
  std::map<std::string, std::string> environment; ///< for every step
  std::vector<Step> pipeline;
  int timeout_seconds = 3600;
  std::string toolchain_root;                     ///< "" = host toolchain
  std::filesystem::path file;                     ///< the recipe file
  std::string content_sha256;                     ///< sha256 of the normalized (LF) recipe text
  Location where;

  /// "[epoch:]version-rRELEASE" as ordered by compare_versions.
  std::string full_version() const;
};

struct PathEntry {
  std::string path;
  std::string type = "directory"; ///< directory | empty-file | symlink
  unsigned mode = 0755;
  unsigned uid = 0, gid = 0;
  std::string target;
  Location where;
};

struct UserEntry {
  std::string name;
  unsigned uid = 0, gid = 0;
  std::string home, shell;
};
struct GroupEntry {
  std::string name;
  unsigned gid = 0;
  std::vector<std::string> members;
};

/// An image recipe (recipes/images/*.yaml).
struct ImageRecipe {
  std::string name;
  std::string version;
  std::string description;
  std::vector<std::string> tags;
  std::vector<Dependency> packages;
  std::vector<UserEntry> users;
  std::vector<GroupEntry> groups;
  std::string run_as = "nonroot";
  std::vector<std::string> entrypoint, cmd;
  std::map<std::string, std::string> environment, labels, annotations;
  std::string work_dir;
  std::vector<PathEntry> paths;
  std::string layering = "single"; ///< single | per-package
  int layer_budget = 10;
  std::string compression = "gzip"; ///< gzip | zstd
  std::optional<std::int64_t> source_date_epoch;
  bool nsswitch = false;
  std::map<std::string, bool> hardening; ///< strip, docs, headers, static, pkgconfig, libtool, dev-symlinks (true = apply)
  std::vector<std::string> allow_setuid;
  std::filesystem::path file;
  std::string content_sha256;
  Location where;
};

/// All recipes loaded from one or more recipe directories.
struct RecipeSet {
  std::map<std::string, std::vector<PackageRecipe>> packages; ///< by name; versions sorted highest first
  std::map<std::string, ImageRecipe> images;
  const ImageRecipe* find_image(std::string_view name_or_path) const;
};

} // namespace echo::recipe
