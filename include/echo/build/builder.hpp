#pragma once
#include "echo/build/toolchain.hpp"
#include "echo/recipe/recipe.hpp"
#include "echo/resolve/plan.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace echo::build {

/// Whether steps run in the namespace sandbox (default) or, on the user's explicit request, without one.
enum class Isolation { sandboxed, unsandboxed };

/// Progress of a build, for the CLI's display and --json events.
struct Event {
  enum class Kind { start, cached, done, failed, fetch };
  Kind kind = Kind::start;
  std::string package, version, key;
  double seconds = 0;
  int finished = 0, total = 0;   ///< packages finished (built or cached) so far, and in the plan
  std::string message;           ///< fetch progress or failure text
};

struct BuildOptions {
  std::filesystem::path store_dir;               ///< the package store
  std::filesystem::path cache_dir;               ///< sources/ (fetch cache), logs/, toolchain.json
  std::vector<std::filesystem::path> distdirs;
  bool offline = false;
  int jobs = 1;                                  ///< packages built at once, and ${{build.jobs}}
  Isolation isolation = Isolation::sandboxed;
  std::int64_t source_date_epoch = 0;
  std::filesystem::path toolchain_root = "/";    ///< default: the host's toolchain, read-only
  std::function<void(const Event&)> on_event;    ///< called from worker threads, serialized
};

/// One package output in the store.
struct PackageOutput {
  const recipe::PackageRecipe* recipe = nullptr;
  std::string key;                    ///< store key (sha256 hex)
  std::filesystem::path root;         ///< the output tree (what `make install DESTDIR=` wrote)
  std::filesystem::path log;          ///< the build log
  std::string log_sha256;
  bool cached = false;
  double seconds = 0;
};

struct BuildResult {
  std::map<std::string, PackageOutput> outputs; ///< every package of the plan, by name
  Toolchain toolchain;                               ///< the default toolchain (host, --toolchain-root)
  std::map<std::string, Toolchain> own_toolchains;   ///< packages whose recipe names options.toolchain-root
  Isolation isolation = Isolation::sandboxed;
};

/// Store key: sha256 over everything that can change a package's output: normalized recipe text, source and
/// patch digests (with strip/destination), the keys of its build closure, the toolchain digest, the platform
/// and the SOURCE_DATE_EPOCH the steps see.
std::string store_key(const recipe::PackageRecipe& r, const std::map<std::string, std::string>& closure_keys,
                      const Toolchain& toolchain, std::int64_t source_date_epoch);

/// The store key of every package of the plan (dependencies first).
/// A package whose recipe sets options.toolchain-root is keyed with that root's identity instead
/// (digests cached in toolchain_cache when given).
/// `own_toolchains`, when given, receives the toolchain of each package that has its own.
std::map<std::string, std::string> plan_keys(const resolve::Plan& plan, const Toolchain& toolchain,
                                             std::int64_t source_date_epoch,
                                             const std::filesystem::path& toolchain_cache = {},
                                             std::map<std::string, Toolchain>* own_toolchains = nullptr);

/// The toolchain root a package builds against: its recipe's options.toolchain-root (relative to the recipe's
/// directory) when set, else `fallback`.
std::filesystem::path toolchain_root_for(const recipe::PackageRecipe& r, const std::filesystem::path& fallback);

/// Builds every package of the plan not already in the store, in dependency order, up to `jobs` at once.
/// Throws Error(build) for a failed step (naming the package, the step, the last lines of its log and the
/// log's path), Error(sandbox) when the sandbox is unavailable, Error(source) for sources.
BuildResult build(const resolve::Plan& plan, const BuildOptions& opts);

/// Downloads (or finds in distdirs) the sources of every package whose output is not in the store yet;
/// returns how many files it has in the cache afterwards.
std::size_t fetch_sources(const resolve::Plan& plan, const BuildOptions& opts);

/// Prepares `package`'s work directory (sources, patches; dependencies built first) and runs an interactive
/// shell in the same sandbox its steps would get. Returns the shell's exit code.
int shell(const resolve::Plan& plan, const std::string& package, const BuildOptions& opts);

} // namespace echo::build
