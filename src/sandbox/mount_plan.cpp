// The sandbox's mount plan as data (bubblewrap's model): everything here is testable without namespaces.
#include "echo/sandbox/spec.hpp"
#include "echo/util/error.hpp"

#include <algorithm>
#include <set>
#include <system_error>

namespace echo::sandbox {
namespace fs = std::filesystem;

namespace {

using Kind = MountOp::Kind;

[[noreturn]] void fail(const std::string& msg) { throw Error(ErrorKind::sandbox, msg); }

// Top-level entries of the default toolchain root "/" (a compiler needs these and nothing else of the host).
const std::set<std::string> k_default_entries = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};
// Entries of a custom toolchain root that the sandbox never takes from it.
const std::set<std::string> k_never_entries = {"proc", "sys", "dev", "tmp", "run", "etc", "home", "root",
                                               "lost+found", "mnt", "media", "boot"};
// Entries of an overlay that never land in the sandbox (the sandbox makes its own).
const std::set<std::string> k_overlay_skip = {"proc", "sys", "dev", "tmp", "run"};
// Files of the toolchain's /etc the dynamic linker and alternatives need; the rest of /etc is generated.
const std::vector<std::string> k_etc_files = {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives"};
const std::set<std::string> k_generated_etc = {"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/hostname",
                                               "/etc/nsswitch.conf"};
const std::vector<std::string> k_dev_nodes = {"null", "zero", "full", "random", "urandom", "tty"};

fs::file_status lstatus(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec);
}

void check_inside_path(const fs::path& p, const std::string& what) {
  auto s = p.string();
  if (!p.is_absolute() || p.lexically_normal() != p || (s.size() > 1 && s.back() == '/'))
    fail(what + " '" + s + "' must be an absolute normalized path");
}

bool is_under(const fs::path& p, const fs::path& dir) {
  auto rel = p.lexically_relative(dir);
  return !rel.empty() && rel != "." && *rel.begin() != "..";
}

std::vector<fs::directory_entry> sorted_entries(const fs::path& dir) {
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e);
  if (ec) fail("sandbox spec: reading " + dir.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end());
  return entries;
}

// Where a toolchain top-level symlink points, as an absolute sandbox path ("lib" -> "usr/lib" gives "/usr/lib").
std::string resolve_link(const fs::path& link_path) {
  auto text = fs::read_symlink(link_path);
  fs::path resolved = text.is_absolute() ? text : fs::path("/") / text;
  return resolved.lexically_normal().string();
}

std::string generated_passwd() {
  return "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
}
std::string generated_group() { return "root:x:0:\nnogroup:x:65534:\n"; }
std::string generated_hosts(const std::string& hostname) {
  return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n";
}
std::string generated_nsswitch() {
  return "passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\nprotocols: files\n"
         "services: files\n";
}

void validate(const SandboxSpec& spec) {
  if (spec.argv.empty()) fail("sandbox spec: argv is empty");
  if (!fs::path(spec.argv[0]).is_absolute())
    fail("sandbox spec: argv[0] '" + spec.argv[0] + "' must be an absolute path inside the sandbox");
  for (const auto& [key, value] : spec.env)
    if (key.empty() || key.find('=') != std::string::npos)
      fail("sandbox spec: invalid environment variable name '" + key + "'");
  check_inside_path(spec.cwd, "sandbox spec: cwd");
  if (spec.hostname.empty() || spec.hostname.size() > 64)
    fail("sandbox spec: hostname '" + spec.hostname + "' must be 1 to 64 characters");
  if (!spec.toolchain_root.is_absolute() || !fs::is_directory(spec.toolchain_root))
    fail("sandbox spec: toolchain_root " + spec.toolchain_root.string() + ": not an absolute directory");
  for (const auto& o : spec.overlays) {
    if (!o.is_absolute()) fail("sandbox spec: overlay '" + o.string() + "' must be an absolute host path");
    if (!fs::is_directory(o)) fail("sandbox spec: overlay " + o.string() + ": not a directory");
  }
  for (const auto& b : spec.binds) {
    check_inside_path(b.target, "sandbox spec: bind target");
    if (b.target == "/") fail("sandbox spec: bind target '/' is not allowed");
    for (const char* reserved : {"/proc", "/dev", "/etc"})
      if (b.target == reserved || is_under(b.target, reserved))
        fail("sandbox spec: bind target " + b.target.string() + " is inside reserved " + reserved);
    if (!b.source.is_absolute()) fail("sandbox spec: bind source '" + b.source.string() + "' must be absolute");
    std::error_code ec;
    if (!fs::exists(b.source, ec))
      fail("sandbox spec: bind source " + b.source.string() + ": No such file or directory");
  }
}

void check_overlay_path(const fs::path& p) {
  if (p.string().find_first_of(":,\\\n") != std::string::npos)
    fail("sandbox spec: overlay source " + p.string() + " contains ':', ',' or '\\' which overlayfs cannot take");
}

} // namespace

const char* to_string(MountOp::Kind kind) noexcept {
  switch (kind) {
  case Kind::tmpfs: return "tmpfs";
  case Kind::bind: return "bind";
  case Kind::overlay: return "overlay";
  case Kind::proc: return "proc";
  case Kind::symlink: return "symlink";
  case Kind::dev: return "dev";
  case Kind::file: return "file";
  }
  return "?";
}

std::vector<MountOp> plan_mounts(const SandboxSpec& spec) {
  validate(spec);
  const fs::path root = spec.toolchain_root.lexically_normal();
  const bool default_root = root == "/";
  const size_t n_layers = spec.overlays.size() + 1; // overlays in order, toolchain last
  std::vector<MountOp> ops;
  ops.push_back({Kind::tmpfs, "tmpfs", "/", true, "mode=0755"});

  std::map<std::string, std::vector<std::vector<fs::path>>> dirs; // target -> layer -> host dirs
  std::map<std::string, std::string> links;                        // "/bin" -> "usr/bin"
  std::map<std::string, fs::path> files;                           // top-level regular files
  std::map<std::string, std::string> link_resolution;              // "lib" -> "/usr/lib"
  auto add_dir = [&](const std::string& target, size_t layer, const fs::path& host) {
    auto& v = dirs[target];
    v.resize(n_layers);
    v[layer].push_back(host);
  };

  for (const auto& e : sorted_entries(root)) {
    auto name = e.path().filename().string();
    if (default_root ? !k_default_entries.count(name) : k_never_entries.count(name) > 0) continue;
    auto st = lstatus(e.path());
    if (fs::is_symlink(st)) {
      links["/" + name] = fs::read_symlink(e.path()).string();
      link_resolution[name] = resolve_link(e.path());
    } else if (fs::is_directory(st)) {
      add_dir("/" + name, n_layers - 1, e.path());
    } else if (fs::is_regular_file(st)) {
      files["/" + name] = e.path();
    }
  }

  std::map<std::string, fs::path> etc_binds; // "/etc/x" -> host path (earlier overlay wins)
  for (size_t layer = 0; layer < spec.overlays.size(); ++layer) {
    for (const auto& e : sorted_entries(spec.overlays[layer])) {
      auto name = e.path().filename().string();
      if (k_overlay_skip.count(name)) continue;
      auto st = lstatus(e.path());
      if (name == "etc" && fs::is_directory(st)) {
        for (const auto& x : sorted_entries(e.path()))
          etc_binds.emplace("/etc/" + x.path().filename().string(), x.path());
      } else if (fs::is_directory(st)) {
        // A dependency's lib/ lands where the toolchain's /lib resolves (merged /usr: /usr/lib).
        auto it = link_resolution.find(name);
        add_dir(it != link_resolution.end() ? it->second : "/" + name, layer, e.path());
      } else if (!links.count("/" + name) && !dirs.count("/" + name) && !files.count("/" + name)) {
        if (fs::is_symlink(st)) links["/" + name] = fs::read_symlink(e.path()).string();
        else if (fs::is_regular_file(st)) files["/" + name] = e.path();
      }
    }
  }

  // Each target's lower dirs: per layer, its own dirs plus the matching subdirectory of every ancestor target's
  // dirs in that layer (so /usr/lib made from a dependency's lib/ still shows its usr/lib and the toolchain's).
  for (const auto& [target, layers] : dirs) {
    std::vector<fs::path> lowers;
    auto add = [&](const fs::path& p) {
      if (std::find(lowers.begin(), lowers.end(), p) == lowers.end()) lowers.push_back(p);
    };
    for (size_t layer = 0; layer < n_layers; ++layer) {
      for (const auto& d : layers[layer]) add(d);
      for (const auto& [other, other_layers] : dirs) {
        if (!is_under(target, other)) continue;
        auto rel = fs::path(target).lexically_relative(other);
        for (const auto& d : other_layers[layer])
          if (fs::is_directory(d / rel)) add(d / rel);
      }
    }
    if (lowers.size() == 1) {
      ops.push_back({Kind::bind, lowers[0].string(), target, true, ""});
      continue;
    }
    std::string joined;
    for (const auto& l : lowers) {
      check_overlay_path(l);
      joined += (joined.empty() ? "" : ":") + l.string();
    }
    ops.push_back({Kind::overlay, joined, target, true, ""});
  }
  for (const auto& [target, text] : links) ops.push_back({Kind::symlink, text, target, true, ""});
  for (const auto& [target, host] : files) ops.push_back({Kind::bind, host.string(), target, true, ""});

  // /etc: generated identity files plus the dynamic linker's configuration from the toolchain.
  ops.push_back({Kind::file, "", "/etc/passwd", true, generated_passwd()});
  ops.push_back({Kind::file, "", "/etc/group", true, generated_group()});
  ops.push_back({Kind::file, "", "/etc/hosts", true, generated_hosts(spec.hostname)});
  ops.push_back({Kind::file, "", "/etc/hostname", true, spec.hostname + "\n"});
  ops.push_back({Kind::file, "", "/etc/nsswitch.conf", true, generated_nsswitch()});
  for (const auto& name : k_etc_files) {
    auto host = root / "etc" / name;
    if (fs::exists(lstatus(host))) etc_binds.emplace("/etc/" + name, host);
  }
  for (const auto& [target, host] : etc_binds) {
    if (k_generated_etc.count(target)) continue;
    if (fs::is_symlink(lstatus(host))) ops.push_back({Kind::symlink, fs::read_symlink(host).string(), target, true, ""});
    else ops.push_back({Kind::bind, host.string(), target, true, ""});
  }

  ops.push_back({Kind::proc, "proc", "/proc", false, ""});
  ops.push_back({Kind::tmpfs, "tmpfs", "/dev", false, "mode=0755"});
  for (const auto& node : k_dev_nodes) {
    auto host = "/dev/" + node;
    if (fs::exists(lstatus(host))) ops.push_back({Kind::dev, host, host, false, ""});
  }
  ops.push_back({Kind::symlink, "/proc/self/fd", "/dev/fd", false, ""});
  ops.push_back({Kind::symlink, "/proc/self/fd/0", "/dev/stdin", false, ""});
  ops.push_back({Kind::symlink, "/proc/self/fd/1", "/dev/stdout", false, ""});
  ops.push_back({Kind::symlink, "/proc/self/fd/2", "/dev/stderr", false, ""});
  ops.push_back({Kind::tmpfs, "tmpfs", "/dev/shm", false, "mode=1777"});
  ops.push_back({Kind::tmpfs, "tmpfs", "/tmp", false, "mode=1777"});

  // The spec's binds last, parents before children (stable for equal depth).
  auto binds = spec.binds;
  std::stable_sort(binds.begin(), binds.end(), [](const Bind& a, const Bind& b) {
    return std::distance(a.target.begin(), a.target.end()) < std::distance(b.target.begin(), b.target.end());
  });
  for (const auto& b : binds)
    ops.push_back({Kind::bind, b.source.lexically_normal().string(), b.target.string(),
                   b.access == Access::read_only, ""});
  return ops;
}

} // namespace echo::sandbox
