// echo.lock: pins every resolved recipe by the hash of its normalized text and its sources' digests.
#include "echo/resolve/lockfile.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace echo::resolve {

namespace {

LockedPackage lock_entry(const recipe::PackageRecipe& p, const fs::path& lock_dir) {
  LockedPackage l;
  l.name = p.name;
  l.version = p.full_version();
  l.recipe = fs::relative(fs::absolute(p.file), fs::absolute(lock_dir)).generic_string();
  l.recipe_sha256 = p.content_sha256;
  for (const auto& s : p.sources) l.sources.push_back({s.is_local() ? "path:" + s.local_name : s.url, s.sha256});
  for (const auto& pt : p.patches) l.patches.push_back({pt.name, pt.sha256});
  return l;
}

nlohmann::json to_j(const std::vector<LockedSource>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& s : v) a.push_back({{"uri", s.uri}, {"sha256", s.sha256}});
  return a;
}

std::vector<LockedSource> from_j(const nlohmann::json& a) {
  std::vector<LockedSource> v;
  for (const auto& s : a) v.push_back({s.at("uri").get<std::string>(), s.at("sha256").get<std::string>()});
  return v;
}

bool same(const std::vector<LockedSource>& a, const std::vector<LockedSource>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].uri != b[i].uri || a[i].sha256 != b[i].sha256) return false;
  return true;
}

} // namespace

std::optional<Lockfile> Lockfile::read(const fs::path& path) {
  if (!fs::exists(path)) return std::nullopt;
  Lockfile l;
  try {
    auto j = nlohmann::json::parse(read_file(path));
    if (j.value("lockfileVersion", 0) != 1)
      throw Error(ErrorKind::recipe, path.string() + ": unsupported lockfileVersion (expected 1)");
    for (const auto& [key, v] : j.at("packages").items()) {
      LockedPackage p;
      p.name = v.at("name").get<std::string>();
      p.version = v.at("version").get<std::string>();
      p.recipe = v.at("recipe").get<std::string>();
      p.recipe_sha256 = v.at("recipeSha256").get<std::string>();
      p.sources = from_j(v.at("sources"));
      p.patches = from_j(v.at("patches"));
      l.packages[key] = std::move(p);
    }
    for (const auto& [key, v] : j.at("images").items()) {
      LockedImage i;
      i.name = key;
      i.recipe = v.at("recipe").get<std::string>();
      i.recipe_sha256 = v.at("recipeSha256").get<std::string>();
      i.packages = v.at("packages").get<std::vector<std::string>>();
      l.images[key] = std::move(i);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::recipe, path.string() + ": malformed lockfile: " + e.what());
  }
  return l;
}

std::string Lockfile::to_json() const {
  nlohmann::json j; // std::map-backed: keys always sorted, so the file is stable
  j["lockfileVersion"] = 1;
  j["packages"] = nlohmann::json::object();
  for (const auto& [key, p] : packages)
    j["packages"][key] = {{"name", p.name},           {"version", p.version},     {"recipe", p.recipe},
                          {"recipeSha256", p.recipe_sha256}, {"sources", to_j(p.sources)}, {"patches", to_j(p.patches)}};
  j["images"] = nlohmann::json::object();
  for (const auto& [key, i] : images)
    j["images"][key] = {{"recipe", i.recipe}, {"recipeSha256", i.recipe_sha256}, {"packages", i.packages}};
  return j.dump(2) + "\n";
}

std::vector<std::string> Lockfile::versions_of(const std::string& name) const {
  std::vector<std::string> out;
  for (auto it = packages.lower_bound(name + "@"); it != packages.end() && it->first.rfind(name + "@", 0) == 0; ++it)
    out.push_back(it->second.version);
  return out;
}

Lockfile make_lock(const std::vector<Plan>& plans, const fs::path& lock_dir) {
  Lockfile l;
  for (const auto& plan : plans) {
    for (const auto& [name, pp] : plan.packages)
      l.packages[name + "@" + pp.recipe->full_version()] = lock_entry(*pp.recipe, lock_dir);
    if (plan.image) {
      LockedImage i;
      i.name = plan.image->name;
      i.recipe = fs::relative(fs::absolute(plan.image->file), fs::absolute(lock_dir)).generic_string();
      i.recipe_sha256 = plan.image->content_sha256;
      for (const auto& n : plan.runtime_closure) i.packages.push_back(n + "@" + plan.packages.at(n).recipe->full_version());
      l.images[i.name] = std::move(i);
    }
  }
  return l;
}

void check_locked(const std::optional<Lockfile>& lock, const Plan& plan, const fs::path& lock_path) {
  const std::string fix = "; run 'echo-build lock' to update it";
  if (!lock) throw Error(ErrorKind::recipe, "--locked: " + lock_path.string() + " does not exist" + fix);
  for (const auto& [name, pp] : plan.packages) {
    const auto& r = *pp.recipe;
    auto it = lock->packages.find(name + "@" + r.full_version());
    if (it == lock->packages.end()) {
      auto locked = lock->versions_of(name);
      throw Error(ErrorKind::recipe,
                  "--locked: " + lock_path.string() + " is stale: package '" + name + "' " + r.full_version() + " (" +
                      r.file.string() + ") is not in it" +
                      (locked.empty() ? std::string() : " (locked version: " + locked.front() + ")") + fix);
    }
    const LockedPackage now = lock_entry(r, lock_path.parent_path().empty() ? "." : lock_path.parent_path());
    if (it->second.recipe_sha256 != now.recipe_sha256)
      throw Error(ErrorKind::recipe, "--locked: " + lock_path.string() + " is stale: recipe '" + name + "' (" +
                                         r.file.string() + ") changed (locked sha256 " + it->second.recipe_sha256 +
                                         ", now " + now.recipe_sha256 + ")" + fix);
    if (!same(it->second.sources, now.sources) || !same(it->second.patches, now.patches))
      throw Error(ErrorKind::recipe, "--locked: " + lock_path.string() + " is stale: the sources or patches of '" +
                                         name + "' (" + r.file.string() + ") changed" + fix);
  }
  if (plan.image) {
    auto it = lock->images.find(plan.image->name);
    if (it == lock->images.end())
      throw Error(ErrorKind::recipe, "--locked: " + lock_path.string() + " is stale: image '" + plan.image->name +
                                         "' is not in it" + fix);
    if (it->second.recipe_sha256 != plan.image->content_sha256)
      throw Error(ErrorKind::recipe, "--locked: " + lock_path.string() + " is stale: image recipe '" +
                                         plan.image->name + "' (" + plan.image->file.string() + ") changed" + fix);
  }
}

} // namespace echo::resolve
