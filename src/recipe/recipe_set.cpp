// Loading a whole recipe tree: files in sorted order (deterministic), parsed in parallel, then cross-checked.
#include "echo/recipe/loader.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "recipe/yaml_reader.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

namespace fs = std::filesystem;

namespace echo::recipe {

const ImageRecipe* RecipeSet::find_image(std::string_view name_or_path) const {
  if (auto it = images.find(std::string(name_or_path)); it != images.end()) return &it->second;
  std::error_code ec;
  fs::path want = fs::weakly_canonical(fs::path(name_or_path), ec);
  for (const auto& [name, img] : images)
    if (fs::weakly_canonical(img.file, ec) == want) return &img;
  return nullptr;
}

namespace {

std::vector<fs::path> recipe_files(const fs::path& dir, Diagnostics& diags) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    diags.add({{dir.string(), 1, 1}, "recipe directory not found", ""});
    return files;
  }
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    // <recipe dir>/advisories holds advisory files (recipe/advisory.hpp), not recipes.
    if (it.depth() == 0 && it->path().filename() == "advisories" && it->is_directory(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    auto ext = it->path().extension();
    if (ext == ".yaml" || ext == ".yml") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct Parsed {
  std::optional<AnyRecipe> recipe;
  Diagnostics diags;
};

std::vector<Parsed> parse_all(const std::vector<fs::path>& files) {
  std::vector<Parsed> out(files.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next++) < files.size();) out[i].recipe = load_file(files[i], out[i].diags);
  };
  unsigned n = std::min<unsigned>(std::max(1u, std::thread::hardware_concurrency()),
                                  static_cast<unsigned>(files.size() / 64 + 1));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  return out;
}

void check_deps(const RecipeSet& set, const std::vector<Dependency>& deps, std::string_view what, Diagnostics& diags,
                const std::function<std::string(int)>& line_of) {
  for (const auto& d : deps) {
    if (set.packages.count(d.name)) continue;
    std::string msg = std::string(what) + " on '" + d.name + "': no package recipe has that name";
    std::string best;
    std::size_t best_d = 1000;
    for (const auto& kv : set.packages)
      if (auto dist = detail::edit_distance(d.name, kv.first); dist < best_d) best_d = dist, best = kv.first;
    if (best_d <= std::max<std::size_t>(2, d.name.size() / 3)) msg += " (did you mean '" + best + "'?)";
    diags.add({d.where, msg, line_of(d.where.line)});
  }
}

std::string line_from_file(const fs::path& file, int line) {
  std::string text;
  try {
    text = read_file(file);
  } catch (const Error&) {
    return {};
  }
  std::size_t pos = 0;
  for (int l = 1; l < line && pos != std::string::npos; ++l) {
    pos = text.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  if (pos == std::string::npos) return {};
  std::string s = text.substr(pos, text.find('\n', pos) - pos);
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

} // namespace


RecipeSet load_dirs(const std::vector<fs::path>& dirs, Diagnostics& diags, const OverrideWarning& on_override) {
  RecipeSet set;
  std::map<std::string, std::size_t> image_dir; // name -> index of the directory that defined it
  for (std::size_t di = 0; di < dirs.size(); ++di) {
    auto files = recipe_files(dirs[di], diags);
    auto parsed = parse_all(files);
    for (std::size_t i = 0; i < files.size(); ++i) {
      for (const auto& d : parsed[i].diags.items()) diags.add(d);
      if (!parsed[i].recipe) continue;
      if (auto* p = std::get_if<PackageRecipe>(&*parsed[i].recipe)) {
        auto& versions = set.packages[p->name];
        auto same = std::find_if(versions.begin(), versions.end(),
                                 [&](const PackageRecipe& o) { return o.full_version() == p->full_version(); });
        if (same != versions.end()) {
          bool same_dir = same->file.parent_path().string().rfind(dirs[di].string(), 0) == 0 &&
                          std::find_if(dirs.begin(), dirs.begin() + static_cast<long>(di), [&](const fs::path& d) {
                            return same->file.string().rfind(d.string(), 0) == 0;
                          }) == dirs.begin() + static_cast<long>(di);
          if (same_dir) {
            diags.add({p->where, "duplicate package recipe '" + p->name + "' version " + p->full_version() +
                                     ": also defined in " + same->file.string(),
                       line_from_file(p->file, p->where.line)});
            continue;
          }
          if (on_override) on_override(same->file, p->file);
          *same = std::move(*p);
        } else
          versions.push_back(std::move(*p));
      } else {
        auto& img = std::get<ImageRecipe>(*parsed[i].recipe);
        auto it = set.images.find(img.name);
        if (it != set.images.end()) {
          if (image_dir[img.name] == di) {
            diags.add({img.where, "duplicate image recipe '" + img.name + "': also defined in " + it->second.file.string(),
                       line_from_file(img.file, img.where.line)});
            continue;
          }
          if (on_override) on_override(it->second.file, img.file);
        }
        image_dir[img.name] = di;
        set.images[img.name] = std::move(img);
      }
    }
  }
  for (auto& [name, versions] : set.packages)
    std::sort(versions.begin(), versions.end(), [](const PackageRecipe& a, const PackageRecipe& b) {
      return compare_versions(a.full_version(), b.full_version()) > 0;
    });
  for (const auto& [name, versions] : set.packages)
    for (const auto& p : versions) {
      auto line_of = [&](int line) { return line_from_file(p.file, line); };
      check_deps(set, p.build_deps, "build dependency", diags, line_of);
      check_deps(set, p.runtime_deps, "runtime dependency", diags, line_of);
    }
  for (const auto& [name, img] : set.images)
    check_deps(set, img.packages, "image package", diags, [&](int line) { return line_from_file(img.file, line); });
  return set;
}

} // namespace echo::recipe
