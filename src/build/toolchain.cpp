#include "echo/build/toolchain.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>

namespace fs = std::filesystem;

namespace echo::build {

namespace {

// Resolves symlinks inside root (absolute targets are taken relative to root, never to the host).
std::optional<fs::path> resolve_in(const fs::path& root, fs::path p) {
  for (int hops = 0; hops < 40; ++hops) {
    fs::path host = root / p.relative_path();
    std::error_code ec;
    auto st = fs::symlink_status(host, ec);
    if (ec || !fs::exists(st)) return std::nullopt;
    if (!fs::is_symlink(st)) return p;
    fs::path target = fs::read_symlink(host, ec);
    p = target.is_absolute() ? target : (p.parent_path() / target).lexically_normal();
  }
  return std::nullopt;
}

} // namespace

Toolchain identify_toolchain(const fs::path& root, const fs::path& cache_file) {
  Toolchain t;
  t.root = root;
  t.kind = root == "/" ? "host" : "directory";
  nlohmann::json cache = nlohmann::json::object();
  try {
    if (fs::exists(cache_file)) cache = nlohmann::json::parse(read_file(cache_file));
  } catch (...) { // a corrupt cache is only a cache
    cache = nlohmann::json::object();
  }
  bool dirty = false;
  const std::vector<std::pair<std::string, std::string>> wanted = {
      {"cc", "/usr/bin/cc"},     {"c++", "/usr/bin/c++"},           {"ld", "/usr/bin/ld"},
      {"as", "/usr/bin/as"},     {"libc", "/lib/x86_64-linux-gnu/libc.so.6"}, {"make", "/usr/bin/make"},
      {"sh", "/bin/sh"}};
  Sha256 all;
  for (const auto& [name, path] : wanted) {
    auto resolved = resolve_in(root, path);
    if (!resolved) continue;
    fs::path host = root / resolved->relative_path();
    struct stat st {};
    if (::stat(host.c_str(), &st) != 0) continue;
    std::string stamp = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                        std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
    std::string key = host.string();
    std::string digest;
    if (cache.contains(key) && cache[key].value("stamp", "") == stamp) digest = cache[key].value("sha256", "");
    if (digest.empty()) {
      digest = sha256_file(host);
      cache[key] = {{"stamp", stamp}, {"sha256", digest}};
      dirty = true;
    }
    t.components.push_back({name, resolved->string(), digest, ""});
    all.update(name + " " + resolved->string() + " " + digest + "\n");
  }
  t.digest = all.finish_hex();
  if (dirty && !cache_file.empty()) {
    try {
      fs::create_directories(cache_file.parent_path());
      write_file_atomic(cache_file, cache.dump());
    } catch (const Error&) { // read-only cache dir: identify again next time
    }
  }
  return t;
}

} // namespace echo::build
