#include "cli/global.hpp"

#include <cstdlib>
#include <thread>

namespace fs = std::filesystem;

namespace echo::cli {

std::vector<fs::path> GlobalOptions::effective_recipe_dirs() const {
  if (recipe_dirs.empty()) return {"recipes"};
  return {recipe_dirs.begin(), recipe_dirs.end()};
}

fs::path GlobalOptions::effective_cache_dir() const {
  if (!cache_dir.empty()) return cache_dir;
  if (const char* e = std::getenv("ECHO_CACHE_DIR"); e && *e) return e;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "echo-build";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "echo-build";
  return fs::path("/tmp") / "echo-build-cache";
}

fs::path GlobalOptions::effective_store_dir() const {
  if (!store_dir.empty()) return store_dir;
  if (const char* e = std::getenv("ECHO_STORE"); e && *e) return e;
  return effective_cache_dir() / "store";
}

std::vector<fs::path> GlobalOptions::effective_distdirs() const {
  std::vector<fs::path> out(distdirs.begin(), distdirs.end());
  if (const char* e = std::getenv("ECHO_DISTDIR"); e && *e) {
    std::string s = e;
    std::size_t start = 0;
    while (start <= s.size()) {
      auto end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) out.emplace_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

int GlobalOptions::effective_jobs() const {
  if (jobs > 0) return jobs;
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

} // namespace echo::cli
