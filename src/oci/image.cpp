#include "echo/oci/image.hpp"

#include "image_parts.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <thread>

namespace fs = std::filesystem;

namespace echo::oci {

namespace {

struct Merged {
  LayerEntry entry;
  std::string package;  // "" = generated
  fs::path original;    // package file (for content comparison)
  std::uint64_t size = 0;
};

const char* type_name(LayerEntry::Type t) {
  switch (t) {
  case LayerEntry::Type::dir: return "directory";
  case LayerEntry::Type::symlink: return "symlink";
  case LayerEntry::Type::file:
  case LayerEntry::Type::hardlink: return "file";
  }
  return "?";
}

// True when both packages ship the same thing at a path (then the first one is kept).
bool same_content(const Merged& a, const TreeEntry& b) {
  if (std::string(type_name(a.entry.type)) != type_name(b.entry.type)) return false;
  if (a.entry.type == LayerEntry::Type::symlink) return a.entry.link_target == b.entry.link_target;
  return a.entry.mode == b.entry.mode && sha256_file(a.original) == sha256_file(b.original);
}

void merge_package(std::map<std::string, Merged>& merged, const ScannedPackage& pkg) {
  for (const auto& t : pkg.entries) {
    auto [it, fresh] = merged.try_emplace(t.entry.path, Merged{t.entry, pkg.tree->name, t.original, t.size});
    if (fresh) continue;
    const Merged& m = it->second;
    if (m.entry.type == LayerEntry::Type::dir && t.entry.type == LayerEntry::Type::dir) continue;
    if (m.entry.type == LayerEntry::Type::dir || t.entry.type == LayerEntry::Type::dir ||
        std::string(type_name(m.entry.type)) != type_name(t.entry.type))
      throw Error(ErrorKind::build, "packages '" + m.package + "' and '" + pkg.tree->name + "' both provide /" +
                                        t.entry.path + " (" + type_name(m.entry.type) + " vs " +
                                        type_name(t.entry.type) + ")");
    if (!same_content(m, t))
      throw Error(ErrorKind::build, "packages '" + m.package + "' and '" + pkg.tree->name + "' both provide /" +
                                        t.entry.path + " with different content");
  }
}

bool is_root_user(const std::string& user) {
  std::string u = user.substr(0, user.find(':'));
  return u == "0" || u == "root";
}

struct LayerGroup {
  std::vector<LayerEntry> entries;
  std::string created_by;
};

std::vector<LayerEntry> entries_of(const std::map<std::string, Merged>& m) {
  std::vector<LayerEntry> v;
  v.reserve(m.size());
  for (const auto& [path, e] : m) v.push_back(e.entry);
  return v;
}

std::string join_names(const std::vector<const ScannedPackage*>& pkgs) {
  std::string s;
  for (const auto* p : pkgs) s += (s.empty() ? "" : ", ") + p->tree->name;
  return s;
}

} // namespace

BuiltImage assemble(const ImageSpec& spec, const std::vector<PackageTree>& packages, const fs::path& layout_dir) {
  if (spec.layering == Layering::per_package && spec.layer_budget < 2)
    throw Error(ErrorKind::usage, "layer budget must be at least 2 for per-package layering (got " +
                                      std::to_string(spec.layer_budget) + ")");
  const int threads =
      spec.threads > 0 ? spec.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (is_root_user(spec.user))
    spdlog::warn("image '{}' runs as root (user '{}') because its spec asks for it", spec.name, spec.user);

  std::vector<const PackageTree*> order;
  for (const auto& p : packages) order.push_back(&p);
  std::sort(order.begin(), order.end(), [](const PackageTree* a, const PackageTree* b) { return a->name < b->name; });
  for (std::size_t i = 1; i < order.size(); ++i)
    if (order[i]->name == order[i - 1]->name)
      throw Error(ErrorKind::usage, "package '" + order[i]->name + "' is listed twice");

  BuiltImage image;
  ImageReport& report = image.report;
  TempDir work;
  std::vector<ScannedPackage> scanned;
  for (std::size_t i = 0; i < order.size(); ++i) {
    fs::path dir = work.path() / std::to_string(i);
    fs::create_directory(dir);
    scanned.push_back(scan_package(*order[i], spec.hardening, dir, threads, report));
  }

  std::map<std::string, Merged> merged;
  for (const auto& pkg : scanned) merge_package(merged, pkg);

  std::vector<LayerEntry> generated = generated_entries(spec);
  std::map<std::string, Merged> generated_merged;
  for (const auto& g : generated) {
    auto it = merged.find(g.path);
    if (it != merged.end()) {
      if (it->second.entry.type != LayerEntry::Type::dir || g.type != LayerEntry::Type::dir)
        throw Error(ErrorKind::build,
                    "package '" + it->second.package + "' provides /" + g.path + ", which the image generates");
      it->second.entry = g;  // a declared directory's mode and owner win
    } else {
      merged.emplace(g.path, Merged{g, "", {}, g.content.size()});
    }
  }

  // Layer plan.
  std::vector<LayerGroup> groups;
  if (spec.layering == Layering::single) {
    std::vector<const ScannedPackage*> all;
    for (const auto& p : scanned) all.push_back(&p);
    std::string names = join_names(all);
    groups.push_back({entries_of(merged), "echo-build: " + (names.empty() ? "" : names + ", ") + "image files"});
  } else {
    std::vector<const ScannedPackage*> by_size;
    for (const auto& p : scanned) by_size.push_back(&p);
    std::stable_sort(by_size.begin(), by_size.end(),
                     [](const ScannedPackage* a, const ScannedPackage* b) { return a->bytes > b->bytes; });
    const std::size_t package_layers = static_cast<std::size_t>(spec.layer_budget - 1);
    std::size_t own = by_size.size() <= package_layers ? by_size.size() : package_layers - 1;
    std::vector<const ScannedPackage*> own_layer(by_size.begin(), by_size.begin() + static_cast<long>(own));
    std::vector<const ScannedPackage*> rest(by_size.begin() + static_cast<long>(own), by_size.end());
    auto by_name = [](const ScannedPackage* a, const ScannedPackage* b) { return a->tree->name < b->tree->name; };
    std::sort(own_layer.begin(), own_layer.end(), by_name);
    std::sort(rest.begin(), rest.end(), by_name);
    for (const auto* p : own_layer) {
      std::vector<LayerEntry> v;
      for (const auto& t : p->entries) v.push_back(t.entry);
      groups.push_back({std::move(v), "echo-build: " + p->tree->name});
    }
    if (!rest.empty()) {
      std::map<std::string, Merged> m;
      for (const auto* p : rest) merge_package(m, *p);
      groups.push_back({entries_of(m), "echo-build: " + join_names(rest)});
    }
    groups.push_back({generated, "echo-build: image files"});
  }

  Layout layout = Layout::create(layout_dir);
  std::map<std::string, std::string> digests;
  for (auto& g : groups) {
    LayerInfo info = write_layer(std::move(g.entries), spec.compression, spec.source_date_epoch, threads, layout,
                                 &digests);
    info.created_by = g.created_by;
    report.compressed_bytes += info.size;
    image.layers.push_back(std::move(info));
  }

  Descriptor config = layout.write_blob(config_json(spec, image.layers), k_media_config);
  Descriptor manifest = layout.write_blob(manifest_json(spec, config, image.layers, packages), k_media_manifest);
  for (const auto& tag : spec.tags) layout.put_manifest(manifest, tag);
  if (spec.tags.empty()) layout.put_manifest(manifest, "");
  layout.save();

  image.layout = layout_dir;
  image.manifest = manifest;
  image.config_digest = config.digest;
  for (const auto& [path, m] : merged) {
    ImageFile f{"/" + path, m.package, {}, 0};
    if (m.entry.type != LayerEntry::Type::dir) {
      ++report.files;
      ++report.files_per_package[m.package];
    }
    if (m.entry.type == LayerEntry::Type::file) {
      auto it = digests.find(path);
      if (it != digests.end()) f.sha256 = it->second;
      f.size = m.size;
      report.bytes += m.size;
    } else if (m.entry.type == LayerEntry::Type::hardlink) {
      // Another name for a file of the image: same content, so the SBOM can list it with its digest.
      std::string target = m.entry.link_target;
      if (!target.empty() && target[0] == '/') target.erase(0, 1);
      if (auto it = digests.find(target); it != digests.end()) f.sha256 = it->second;
    }
    image.files.push_back(std::move(f));
  }
  return image;
}

} // namespace echo::oci
