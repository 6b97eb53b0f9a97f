#include "cli/recipes.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <spdlog/spdlog.h>

namespace fs = std::filesystem;

namespace echo::cli {

std::unique_ptr<recipe::RecipeSet> load_recipes(const GlobalOptions& g) {
  // Local source trees (`sources[].path`) are hashed when recipes load and again before they are built; the
  // digest cache makes an unchanged tree cost one lstat per file.
  set_tree_digest_cache(g.effective_cache_dir() / "tree-digests");
  recipe::Diagnostics diags;
  auto set = std::make_unique<recipe::RecipeSet>(recipe::load_dirs(
      g.effective_recipe_dirs(), diags, [](const fs::path& earlier, const fs::path& later) {
        spdlog::warn("{} overrides {}", later.string(), earlier.string());
      }));
  diags.throw_if_any();
  return set;
}

Resolved resolve_target(const GlobalOptions& g, const std::string& target) {
  Resolved r;
  r.set = load_recipes(g);
  r.lock = resolve::Lockfile::read(g.lockfile);
  const resolve::Lockfile* lock = r.lock ? &*r.lock : nullptr;
  std::error_code ec;
  // "package:NAME" / "image:NAME" pick one kind when an image and a package share a name (a bare NAME means
  // the image).
  enum class Kind { any, package, image } kind = Kind::any;
  std::string wanted = target;
  for (auto [prefix, k] : {std::pair{std::string_view("package:"), Kind::package}, {"image:", Kind::image}})
    if (target.rfind(prefix, 0) == 0) {
      kind = k;
      wanted = target.substr(prefix.size());
    }
  if (kind == Kind::image) r.image = r.set->find_image(wanted);
  if (auto it = r.set->packages.find(wanted); kind == Kind::package && it != r.set->packages.end())
    r.package = &it->second.front();
  // A recipe file path outside the recipe directories is loaded on its own and added to the set.
  if (kind == Kind::any && fs::is_regular_file(target, ec) && !r.set->find_image(target)) {
    recipe::Diagnostics diags;
    auto any = recipe::load_file(target, diags);
    diags.throw_if_any();
    if (auto* img = std::get_if<recipe::ImageRecipe>(&*any)) {
      if (!r.set->find_image(img->name)) r.set->images[img->name] = *img;
    } else {
      auto& pkg = std::get<recipe::PackageRecipe>(*any);
      bool present = false;
      for (const auto& p : r.set->packages[pkg.name])
        present = present || fs::weakly_canonical(p.file, ec) == fs::weakly_canonical(pkg.file, ec);
      if (!present) r.set->packages[pkg.name].insert(r.set->packages[pkg.name].begin(), pkg);
      r.package = &r.set->packages[pkg.name].front();
    }
  }
  if (kind == Kind::any && !r.package) r.image = r.set->find_image(target);
  if (kind == Kind::any && !r.image && !r.package) {
    auto it = r.set->packages.find(target);
    if (it != r.set->packages.end()) r.package = &it->second.front();
    for (const auto& [name, versions] : r.set->packages)
      for (const auto& p : versions)
        if (!r.package && fs::weakly_canonical(p.file, ec) == fs::weakly_canonical(target, ec)) r.package = &p;
  }
  if (r.image) {
    r.plan = resolve::plan_image(*r.set, *r.image, lock);
  } else if (r.package) {
    recipe::Dependency root;
    root.name = r.package->name;
    root.constraint.terms.push_back({recipe::Comparison::Op::eq, r.package->full_version()});
    root.text = root.name;
    r.plan = resolve::plan_package(*r.set, root, lock);
  } else {
    std::string dirs;
    for (const auto& d : g.effective_recipe_dirs()) dirs += (dirs.empty() ? "" : ", ") + d.string();
    const char* what = kind == Kind::image ? "image" : kind == Kind::package ? "package" : "image or package";
    throw Error(ErrorKind::usage, std::string("no ") + what + " recipe named '" + wanted + "' in " + dirs);
  }
  if (g.locked) resolve::check_locked(r.lock, r.plan, g.lockfile);
  return r;
}

} // namespace echo::cli
