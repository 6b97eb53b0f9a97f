#include "echo/build/toolchain.hpp"

#include "echo/oci/layout.hpp"
#include "echo/util/c_handle.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <nlohmann/json.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <set>

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

using ArchiveReadPtr = CHandle<archive, archive_read_free>;
using ArchiveWritePtr = CHandle<archive, archive_write_free>;

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

std::string join(const std::vector<std::string>& comps) {
  std::string out;
  for (const auto& c : comps) out += (out.empty() ? "" : "/") + c;
  return out;
}

// A tar entry name as components ("./usr/bin/x" and "/usr/bin/x" give {usr, bin, x}); ".." is refused.
std::vector<std::string> entry_components(const std::string& layer, const std::string& raw) {
  std::vector<std::string> comps;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string::npos) end = raw.size();
    std::string c = raw.substr(start, end - start);
    if (c == "..") throw Error(ErrorKind::verify, "layer " + layer + ": entry '" + raw + "' goes outside the root");
    if (!c.empty() && c != ".") comps.push_back(c);
    start = end + 1;
  }
  return comps;
}

// Resolves the parents of comps inside root as a chroot would (an absolute symlink target starts again at root,
// ".." stops at root); the last component is kept as is. The result has no symlink among its parents.
std::vector<std::string> resolve_parents(const fs::path& root, const std::vector<std::string>& comps,
                                         const std::string& layer) {
  std::vector<std::string> done;
  std::deque<std::string> todo(comps.begin(), comps.end() - 1);
  int hops = 0;
  while (!todo.empty()) {
    std::string c = todo.front();
    todo.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    fs::path p = root / join(done) / c;
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (++hops > 255)
        throw Error(ErrorKind::verify, "layer " + layer + ": too many symlinks resolving '" + join(comps) + "'");
      std::error_code ec;
      fs::path target = fs::read_symlink(p, ec);
      if (ec) throw Error(ErrorKind::build, "cannot read symlink " + p.string() + ": " + ec.message());
      if (target.is_absolute()) done.clear();
      std::vector<std::string> parts;
      for (const auto& part : target.relative_path()) parts.push_back(part.string());
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    done.push_back(c);
  }
  done.push_back(comps.back());
  return done;
}

void copy_data(archive* in, archive* out, const std::string& where) {
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(in, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return;
    if (r < ARCHIVE_WARN) throw Error(ErrorKind::build, where + ": " + archive_error_string(in));
    if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN)
      throw Error(ErrorKind::build, where + ": " + archive_error_string(out));
  }
}

// Applies one layer (a tar, maybe gzip/zstd-compressed) onto root, with OCI whiteouts.
void apply_layer(const fs::path& blob, const std::string& layer, const fs::path& root) {
  ArchiveReadPtr in(archive_read_new());
  archive* a = in.get();
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  if (archive_read_open_filename(a, blob.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(ErrorKind::build, "layer " + layer + ": " + archive_error_string(a));
  ArchiveWritePtr out(archive_write_disk_new());
  // Entry paths are resolved inside root first (resolve_parents), so no symlink lies on the written path and
  // libarchive's secure flags hold as a second line of defence.
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  std::set<std::string> written; // paths this layer wrote (an opaque whiteout keeps them)
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) throw Error(ErrorKind::build, "layer " + layer + ": " + archive_error_string(a));
    const char* raw_c = archive_entry_pathname(e);
    if (!raw_c) throw Error(ErrorKind::build, "layer " + layer + ": an entry has a name that cannot be decoded");
    const std::string raw = raw_c, where = "layer " + layer + ": entry '" + raw + "'";
    auto comps = entry_components(layer, raw);
    const mode_t type = archive_entry_filetype(e);
    const char* hardlink = archive_entry_hardlink(e);
    if (comps.empty() || (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)) {
      archive_read_data_skip(a); // the root itself, device nodes, fifos, sockets
      continue;
    }
    auto resolved = resolve_parents(root, comps, layer);
    const std::string name = resolved.back();
    resolved.pop_back();
    const fs::path parent = root / join(resolved);
    if (name == ".wh..wh..opq") { // opaque directory: drop what lower layers put there
      std::error_code ec;
      for (const auto& de : fs::directory_iterator(parent, ec)) {
        std::string rel = de.path().lexically_relative(root).string();
        if (!written.count(rel)) remove_tree(de.path());
      }
      archive_read_data_skip(a);
      continue;
    }
    if (name.rfind(".wh.", 0) == 0) { // whiteout: NAME is deleted
      remove_tree(parent / name.substr(4));
      archive_read_data_skip(a);
      continue;
    }
    resolved.push_back(name);
    const fs::path full = root / join(resolved);
    struct stat st {};
    if (::lstat(full.c_str(), &st) == 0 && !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !hardlink)) remove_tree(full);
    if (hardlink) {
      auto tcomps = entry_components(layer, hardlink);
      if (tcomps.empty()) throw Error(ErrorKind::verify, where + ": hard link to the root");
      archive_entry_set_hardlink(e, (root / join(resolve_parents(root, tcomps, layer))).c_str());
    }
    archive_entry_set_pathname(e, full.c_str());
    const mode_t perm = archive_entry_perm(e) & 0777; // no setuid/setgid/sticky in a toolchain
    archive_entry_set_perm(e, type == AE_IFDIR ? (perm | 0700) : perm);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    written.insert(join(resolved));
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN)
      throw Error(ErrorKind::build, where + ": " + archive_error_string(out.get()));
    if (archive_entry_size(e) > 0) copy_data(a, out.get(), where);
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN)
      throw Error(ErrorKind::build, where + ": " + archive_error_string(out.get()));
  }
  if (archive_write_close(out.get()) < ARCHIVE_WARN)
    throw Error(ErrorKind::build, "layer " + layer + ": " + archive_error_string(out.get()));
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
      apply_layer(layout.blob_path(ld), ld, root);
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
