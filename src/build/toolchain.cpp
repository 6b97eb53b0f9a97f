#include "echo/build/toolchain.hpp"

#include "echo/oci/layout.hpp"
#include "echo/source/unpack.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

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

constexpr std::string_view k_oci_prefix = "oci:";

struct OciSpec {
  std::string dir, tag;
};

OciSpec parse_oci(std::string_view spec) {
  std::string rest(spec.substr(k_oci_prefix.size()));
  auto pos = rest.rfind(':');
  if (pos != std::string::npos && pos > 0 && rest.find('/', pos) == std::string::npos)
    return {rest.substr(0, pos), rest.substr(pos + 1)};
  return {rest, ""};
}

fs::path absolute_against(const fs::path& p, const fs::path& base) {
  fs::path out = p.is_relative() && !base.empty() ? base / p : p;
  return fs::absolute(out).lexically_normal();
}

void check_blob(const oci::Layout& layout, const std::string& digest) {
  fs::path p = layout.blob_path(digest);
  if (!fs::exists(p)) throw Error(ErrorKind::verify, "blob " + digest + " is missing from " + layout.dir().string());
  std::string actual = "sha256:" + sha256_file(p);
  if (actual != digest)
    throw Error(ErrorKind::verify, "blob " + digest + " in " + layout.dir().string() +
                                       ": digest mismatch (content is " + actual + ")");
}

// The image manifest the spec names: by tag, or the only one; an index is followed to linux/amd64.
std::pair<std::string, nlohmann::json> find_manifest(const oci::Layout& layout, const OciSpec& spec,
                                                     const std::string& display) {
  std::optional<oci::Descriptor> d;
  if (!spec.tag.empty()) {
    d = layout.find_ref(spec.tag);
    if (!d) {
      std::string tags;
      for (const auto& m : layout.manifests())
        if (auto it = m.annotations.find(oci::k_annotation_ref_name); it != m.annotations.end())
          tags += (tags.empty() ? "" : ", ") + it->second;
      throw Error(ErrorKind::usage, display + ": no image tagged '" + spec.tag + "' (tags: " +
                                        (tags.empty() ? "none" : tags) + ")");
    }
  } else if (layout.manifests().size() == 1) {
    d = layout.manifests().front();
  } else {
    throw Error(ErrorKind::usage, display + ": the layout holds " + std::to_string(layout.manifests().size()) +
                                      " images; name one as oci:DIR:TAG");
  }
  for (int depth = 0; depth < 4; ++depth) {
    if (d->digest.rfind("sha256:", 0) != 0)
      throw Error(ErrorKind::verify, display + ": unsupported digest " + d->digest);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(layout.read_blob(d->digest));
    } catch (const nlohmann::json::exception& ex) {
      throw Error(ErrorKind::verify, display + ": manifest " + d->digest + ": " + ex.what());
    }
    if (!j.contains("manifests")) return {d->digest, j};
    std::optional<oci::Descriptor> next;
    for (const auto& m : j["manifests"]) {
      const auto& pl = m.value("platform", nlohmann::json::object());
      if (pl.value("os", "") == "linux" && pl.value("architecture", "") == "amd64") {
        next = oci::parse_descriptor(m.dump());
        break;
      }
    }
    if (!next) throw Error(ErrorKind::usage, display + ": index " + d->digest + " has no linux/amd64 image");
    d = next;
  }
  throw Error(ErrorKind::verify, display + ": indexes nested too deep");
}

} // namespace

bool is_oci_toolchain_spec(std::string_view spec) { return spec.substr(0, k_oci_prefix.size()) == k_oci_prefix; }

std::string absolute_toolchain_spec(std::string_view spec, const fs::path& base) {
  if (!is_oci_toolchain_spec(spec)) return absolute_against(fs::path(std::string(spec)), base).string();
  auto o = parse_oci(spec);
  return std::string(k_oci_prefix) + absolute_against(o.dir, base).string() + (o.tag.empty() ? "" : ":" + o.tag);
}

ToolchainRoot resolve_toolchain_root(std::string_view spec_text, const fs::path& cache_dir) {
  const std::string spec = absolute_toolchain_spec(spec_text, {});
  if (!is_oci_toolchain_spec(spec)) return {spec, "", ""};
  const std::string display = "toolchain root " + spec;
  auto o = parse_oci(spec);
  if (!fs::is_directory(o.dir)) throw Error(ErrorKind::usage, display + ": " + o.dir + " is not a directory");
  if (cache_dir.empty()) throw Error(ErrorKind::usage, display + ": an image toolchain needs a cache directory");
  auto layout = with_context(display, [&] { return oci::Layout::open(o.dir); });
  auto [digest, manifest] = find_manifest(layout, o, display);
  ToolchainRoot r;
  r.manifest_hex = digest.substr(7);
  r.image = std::string(k_oci_prefix) + o.dir + "@" + digest;
  const fs::path store = cache_dir / "toolchains";
  r.dir = store / r.manifest_hex;
  if (fs::is_directory(r.dir)) return r;
  fs::create_directories(store);
  TempDir staging(store, "." + r.manifest_hex.substr(0, 12) + ".unpack-");
  const fs::path root = fs::canonical(staging.path());
  with_context(display, [&] {
    for (const auto& l : manifest.value("layers", nlohmann::json::array())) {
      std::string ld = l.value("digest", ""), mt = l.value("mediaType", "");
      if (mt.find("tar") == std::string::npos)
        throw Error(ErrorKind::usage, "layer " + ld + ": media type '" + mt + "' is not a tar layer");
      check_blob(layout, ld);
      // Applied in place onto root, the staging tree of the whole image (moved into the cache only when every
      // layer applied). The one safe extractor, in its image-layer mode: whiteouts, opaque dirs, chroot-style paths.
      source::unpack(layout.blob_path(ld), root, source::UnpackOptions{0, source::UnpackMode::oci_layer}, "layer " + ld);
    }
  });
  ::chmod(root.c_str(), 0755);
  if (::rename(root.c_str(), r.dir.c_str()) != 0) {
    if ((errno == ENOTEMPTY || errno == EEXIST) && fs::is_directory(r.dir)) return r; // unpacked meanwhile
    throw_errno(ErrorKind::build, "cannot rename " + root.string() + " to " + r.dir.string());
  }
  return r;
}

Toolchain identify_toolchain(const ToolchainRoot& root, const fs::path& cache_file) {
  Toolchain t = identify_toolchain(root.dir, cache_file);
  if (!root.image.empty()) {
    t.kind = "oci-image";
    t.digest = root.manifest_hex;
    t.image = root.image;
  }
  return t;
}

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
