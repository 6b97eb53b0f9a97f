// Recipe files -> PackageRecipe / ImageRecipe, with every problem reported at file:line:col.
#include "echo/recipe/loader.hpp"
#include "echo/recipe/identity.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"
#include "recipe/yaml_reader.hpp"

#include <algorithm>
#include <regex>

namespace fs = std::filesystem;

namespace echo::recipe {

using detail::YamlReader;

namespace {

bool valid_name(std::string_view s) {
  if (s.empty() || !(std::islower(static_cast<unsigned char>(s[0])) || std::isdigit(static_cast<unsigned char>(s[0]))))
    return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '_' || c == '+' || c == '-'))
      return false;
  return true;
}

// Offset of a scalar's value within its source line: 1 for a single- or double-quoted scalar.
std::size_t quote_shift(YamlReader& r, const yaml::Node& n) {
  auto pos = n.mark().pos;
  if (pos < 0 || static_cast<std::size_t>(pos) >= r.text().size()) return 0;
  char c = r.text()[static_cast<std::size_t>(pos)];
  return (c == '"' || c == '\'') ? 1 : 0;
}

std::optional<Dependency> parse_dependency(YamlReader& r, const yaml::Node& n, std::string_view what) {
  auto s = r.str(n, what);
  if (!s) return std::nullopt;
  Dependency d;
  d.text = *s;
  d.where = r.where(n.mark());
  std::size_t i = 0;
  while (i < s->size() && (*s)[i] != ' ' && (*s)[i] != '=' && (*s)[i] != '<' && (*s)[i] != '>' && (*s)[i] != '!') ++i;
  d.name = s->substr(0, i);
  Location at = d.where;
  at.column += static_cast<int>(quote_shift(r, n));
  if (!valid_name(d.name)) {
    r.error_at(at, "invalid package name '" + d.name + "' in " + std::string(what) +
                       " (use lower-case letters, digits and . _ + -)");
    return std::nullopt;
  }
  std::string err;
  std::size_t off = 0;
  auto c = parse_constraint(std::string_view(*s).substr(i), err, off);
  if (!c) {
    Location l = at;
    l.column += static_cast<int>(i + off);
    r.error_at(l, "bad version constraint in '" + *s + "': " + err);
    return std::nullopt;
  }
  d.constraint = *c;
  return d;
}

std::vector<Dependency> parse_deps(YamlReader& r, const yaml::Node& n, std::string_view what) {
  std::vector<Dependency> out;
  if (!n.IsSequence()) {
    r.error(n.mark(), std::string(what) + " must be a sequence, not " + std::string(detail::kind_name(n)));
    return out;
  }
  for (const auto& item : n)
    if (auto d = parse_dependency(r, item, what)) out.push_back(std::move(*d));
  return out;
}

// A path written in a recipe that must stay inside the recipe's directory.
std::optional<fs::path> local_path(YamlReader& r, const yaml::Node& n, const fs::path& recipe_dir, std::string_view what,
                                   bool want_dir) {
  auto s = r.str(n, what);
  if (!s) return std::nullopt;
  fs::path p(*s);
  bool escapes = p.is_absolute();
  for (const auto& part : p)
    if (part == "..") escapes = true;
  if (s->empty() || escapes) {
    r.error(n.mark(), std::string(what) + " '" + *s + "' must be a relative path inside the recipe's directory");
    return std::nullopt;
  }
  fs::path full = recipe_dir / p;
  std::error_code ec;
  if (want_dir ? !fs::is_directory(full, ec) : !fs::is_regular_file(full, ec)) {
    r.error(n.mark(), std::string(what) + " '" + *s + "' not found: no " + (want_dir ? "directory " : "file ") +
                          full.string());
    return std::nullopt;
  }
  return fs::absolute(full).lexically_normal();
}

void parse_source(YamlReader& r, const yaml::Node& n, const fs::path& dir, PackageRecipe& p) {
  if (!r.check_map(n, "source", {"url", "sha256", "mirrors", "strip-components", "destination", "path"})) return;
  Source src;
  src.where = r.where(n.mark());
  if (n["destination"]) {
    if (auto d = r.str(n["destination"], "destination")) {
      fs::path dp(*d);
      bool bad = dp.is_absolute();
      for (const auto& part : dp) bad = bad || part == "..";
      if (bad)
        r.error(n["destination"].mark(), "destination '" + *d + "' must be a relative path inside the work directory");
      else
        src.destination = *d;
    }
  }
  if (n["path"]) {
    if (n["url"] || n["sha256"]) r.error(n.mark(), "a source has either 'path' (a local directory) or 'url' and 'sha256', not both");
    if (auto lp = local_path(r, n["path"], dir, "source path", true)) {
      src.local_path = *lp;
      src.local_name = n["path"].Scalar();
      src.sha256 = hash_tree(*lp);
    }
    p.sources.push_back(std::move(src));
    return;
  }
  if (!n["url"]) {
    r.error(n.mark(), "a source needs 'url' (with 'sha256') or 'path'");
    return;
  }
  if (auto u = r.str(n["url"], "url")) {
    src.url = *u;
    if (u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0 && u->rfind("file://", 0) != 0)
      r.error(n["url"].mark(), "url '" + *u + "' must start with https://, http:// or file://");
  }
  if (!n["sha256"])
    r.error(n.mark(), "missing required key 'sha256' in source (every remote source is pinned by its sha256)");
  else if (auto h = r.str(n["sha256"], "sha256")) {
    if (!is_sha256_hex(*h))
      r.error(n["sha256"].mark(), "sha256 must be 64 hexadecimal digits, got '" + *h + "' (" +
                                      std::to_string(h->size()) + " characters)");
    else {
      src.sha256 = *h;
      std::transform(src.sha256.begin(), src.sha256.end(), src.sha256.begin(), ::tolower);
    }
  }
  if (n["mirrors"]) src.mirrors = r.str_list(n["mirrors"], "mirrors");
  if (n["strip-components"])
    if (auto v = r.integer(n["strip-components"], "strip-components", 0, 64)) src.strip_components = static_cast<int>(*v);
  p.sources.push_back(std::move(src));
}

const std::vector<std::string>& builtin_variables() {
  static const std::vector<std::string> k_vars = {
      "package.name", "package.version", "package.full-version", "package.epoch", "targets.destdir",
      "targets.srcdir", "build.jobs", "build.arch", "build.source-date-epoch"};
  return k_vars;
}

// Diagnoses every ${{...}} in a scalar that is not a known variable.
void check_vars(YamlReader& r, const yaml::Node& n, const std::map<std::string, std::string>& vars) {
  if (!n.IsScalar()) return;
  const std::string& s = n.Scalar();
  std::size_t pos = 0;
  std::map<std::string, std::size_t> seen;
  while ((pos = s.find("${{", pos)) != std::string::npos) {
    std::size_t end = s.find("}}", pos);
    if (end == std::string::npos) {
      r.error_at(r.inside_scalar(n, "${{", seen["${{"]++), "unterminated variable: missing '}}'");
      return;
    }
    std::string token = s.substr(pos, end + 2 - pos);
    std::string name = s.substr(pos + 3, end - pos - 3);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    bool known = std::find(builtin_variables().begin(), builtin_variables().end(), name) != builtin_variables().end() ||
                 (name.rfind("vars.", 0) == 0 && vars.count(name.substr(5)));
    if (!known) {
      std::string msg = "unknown variable '" + name + "'";
      std::string best;
      std::size_t best_d = 1000;
      std::vector<std::string> all = builtin_variables();
      for (const auto& kv : vars) all.push_back("vars." + kv.first);
      for (const auto& k : all)
        if (auto d = detail::edit_distance(name, k); d < best_d) best_d = d, best = k;
      if (best_d <= std::max<std::size_t>(2, name.size() / 3)) msg += " (did you mean '" + best + "'?)";
      r.error_at(r.inside_scalar(n, token, seen[token]), msg);
    }
    seen[token]++;
    pos = end + 2;
  }
}

std::optional<PackageRecipe> parse_package(YamlReader& r, const yaml::Node& doc, const fs::path& path) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  PackageRecipe p;
  p.file = path;
  p.where = r.where(doc.mark());
  r.check_map(doc, "package recipe",
              {"package", "sources", "patches", "dependencies", "vars", "environment", "pipeline", "options"},
              {"package", "pipeline"});
  const yaml::Node pkg = doc["package"];
  if (pkg && r.check_map(pkg, "'package'",
                         {"name", "version", "epoch", "release", "description", "license", "homepage", "supplier",
                          "purl", "cpe"},
                         {"name", "version", "license"})) {
    if (pkg["name"])
      if (auto s = r.str(pkg["name"], "name")) {
        if (!valid_name(*s))
          r.error(pkg["name"].mark(), "invalid package name '" + *s + "' (use lower-case letters, digits and . _ + -)");
        p.name = *s;
      }
    if (pkg["version"])
      if (auto s = r.str(pkg["version"], "version")) {
        if (!is_valid_version(*s) || s->find(':') != std::string::npos || s->find("-r") != std::string::npos)
          r.error(pkg["version"].mark(), "invalid version '" + *s +
                                             "' (a version starts with a digit and uses letters, digits and . + ~ _; "
                                             "epoch and release have their own keys)");
        p.version = *s;
      }
    if (pkg["epoch"])
      if (auto v = r.integer(pkg["epoch"], "epoch", 0, 1000000)) p.epoch = static_cast<int>(*v);
    if (pkg["release"])
      if (auto v = r.integer(pkg["release"], "release", 0, 1000000)) p.release = static_cast<int>(*v);
    if (pkg["description"]) p.description = r.str(pkg["description"], "description").value_or("");
    if (pkg["license"]) p.license = r.str(pkg["license"], "license").value_or("");
    if (pkg["homepage"]) p.homepage = r.str(pkg["homepage"], "homepage").value_or("");
    if (pkg["supplier"]) p.supplier = r.str(pkg["supplier"], "supplier").value_or("");
    if (pkg["purl"])
      if (auto s = r.str(pkg["purl"], "purl")) {
        if (auto err = check_purl_base(*s)) r.error(pkg["purl"].mark(), "invalid package.purl '" + *s + "': " + *err);
        p.purl = *s;
      }
    if (pkg["cpe"])
      if (auto s = r.str(pkg["cpe"], "cpe")) {
        if (*s == "none") {
        } else if (auto err = check_cpe(*s, p.version)) r.error(pkg["cpe"].mark(), "invalid package.cpe '" + *s + "': " + *err);
        p.cpe = *s;
      }
  }
  if (doc["vars"]) p.vars = r.str_map(doc["vars"], "vars");
  if (const yaml::Node srcs = doc["sources"]) {
    if (!srcs.IsSequence())
      r.error(srcs.mark(), "sources must be a sequence, not " + std::string(detail::kind_name(srcs)));
    else
      for (const auto& s : srcs) parse_source(r, s, dir, p);
  }
  if (const yaml::Node patches = doc["patches"]) {
    if (!patches.IsSequence())
      r.error(patches.mark(), "patches must be a sequence, not " + std::string(detail::kind_name(patches)));
    else
      for (const auto& item : patches)
        if (auto lp = local_path(r, item, dir, "patch", false))
          p.patches.push_back({item.Scalar(), *lp, sha256_file(*lp), r.where(item.mark())});
  }
  if (const yaml::Node deps = doc["dependencies"]; deps && r.check_map(deps, "'dependencies'", {"build", "runtime"})) {
    if (deps["build"]) p.build_deps = parse_deps(r, deps["build"], "dependencies.build");
    if (deps["runtime"]) p.runtime_deps = parse_deps(r, deps["runtime"], "dependencies.runtime");
  }
  if (doc["environment"]) {
    p.environment = r.str_map(doc["environment"], "environment");
    for (const auto& kv : doc["environment"]) check_vars(r, kv.second, p.vars);
  }
  if (const yaml::Node opts = doc["options"];
      opts && r.check_map(opts, "'options'", {"timeout", "toolchain-root"})) {
    if (opts["timeout"])
      if (auto v = r.integer(opts["timeout"], "timeout", 1, 7 * 24 * 3600)) p.timeout_seconds = static_cast<int>(*v);
    if (opts["toolchain-root"]) p.toolchain_root = r.str(opts["toolchain-root"], "toolchain-root").value_or("");
  }
  if (const yaml::Node pl = doc["pipeline"]) {
    if (!pl.IsSequence() || pl.size() == 0)
      r.error(pl.mark(), "pipeline must be a non-empty sequence of steps");
    else
      for (const auto& st : pl) {
        if (!r.check_map(st, "pipeline step", {"name", "runs", "working-directory", "environment"}, {"runs"})) continue;
        Step step;
        step.where = r.where(st.mark());
        if (st["name"]) step.name = r.str(st["name"], "name").value_or("");
        if (st["runs"]) {
          step.run = r.str(st["runs"], "runs").value_or("");
          check_vars(r, st["runs"], p.vars);
        }
        if (st["working-directory"]) {
          step.working_directory = r.str(st["working-directory"], "working-directory").value_or("");
          check_vars(r, st["working-directory"], p.vars);
        }
        if (st["environment"]) {
          step.environment = r.str_map(st["environment"], "environment");
          for (const auto& kv : st["environment"]) check_vars(r, kv.second, p.vars);
        }
        if (step.name.empty()) step.name = "step " + std::to_string(p.pipeline.size() + 1);
        p.pipeline.push_back(std::move(step));
      }
  }
  return p;
}

void parse_accounts(YamlReader& r, const yaml::Node& acc, ImageRecipe& img) {
  if (!r.check_map(acc, "'accounts'", {"run-as", "users", "groups"})) return;
  if (acc["run-as"]) img.run_as = r.str(acc["run-as"], "run-as").value_or(img.run_as);
  if (const yaml::Node users = acc["users"]) {
    if (!users.IsSequence()) r.error(users.mark(), "accounts.users must be a sequence");
    else
      for (const auto& u : users) {
        if (!r.check_map(u, "user", {"username", "uid", "gid", "home", "shell"}, {"username", "uid"})) continue;
        UserEntry e;
        if (u["username"]) e.name = r.str(u["username"], "username").value_or("");
        if (u["uid"]) e.uid = static_cast<unsigned>(r.integer(u["uid"], "uid", 0, 4294967294).value_or(0));
        e.gid = e.uid;
        if (u["gid"]) e.gid = static_cast<unsigned>(r.integer(u["gid"], "gid", 0, 4294967294).value_or(0));
        if (u["home"]) e.home = r.str(u["home"], "home").value_or("");
        if (u["shell"]) e.shell = r.str(u["shell"], "shell").value_or("");
        img.users.push_back(std::move(e));
      }
  }
  if (const yaml::Node groups = acc["groups"]) {
    if (!groups.IsSequence()) r.error(groups.mark(), "accounts.groups must be a sequence");
    else
      for (const auto& g : groups) {
        if (!r.check_map(g, "group", {"groupname", "gid", "members"}, {"groupname", "gid"})) continue;
        GroupEntry e;
        if (g["groupname"]) e.name = r.str(g["groupname"], "groupname").value_or("");
        if (g["gid"]) e.gid = static_cast<unsigned>(r.integer(g["gid"], "gid", 0, 4294967294).value_or(0));
        if (g["members"]) e.members = r.str_list(g["members"], "members");
        img.groups.push_back(std::move(e));
      }
  }
}

std::optional<ImageRecipe> parse_image(YamlReader& r, const yaml::Node& doc, const fs::path& path) {
  ImageRecipe img;
  img.file = path;
  img.where = r.where(doc.mark());
  r.check_map(doc, "image recipe",
              {"image", "contents", "accounts", "entrypoint", "cmd", "environment", "work-dir", "labels",
               "annotations", "paths", "layering", "hardening", "archs"},
              {"image", "contents"});
  const yaml::Node im = doc["image"];
  if (im && r.check_map(im, "'image'",
                        {"name", "version", "description", "tags", "source-date-epoch", "compression", "nsswitch"},
                        {"name"})) {
    if (im["name"])
      if (auto s = r.str(im["name"], "name")) {
        if (!valid_name(*s))
          r.error(im["name"].mark(), "invalid image name '" + *s + "' (use lower-case letters, digits and . _ + -)");
        img.name = *s;
      }
    if (im["version"]) img.version = r.str(im["version"], "version").value_or("");
    if (im["description"]) img.description = r.str(im["description"], "description").value_or("");
    if (im["tags"]) img.tags = r.str_list(im["tags"], "tags");
    if (im["source-date-epoch"])
      img.source_date_epoch = r.integer(im["source-date-epoch"], "source-date-epoch", 0, 253402300799);
    if (im["compression"])
      if (auto c = r.str(im["compression"], "compression")) {
        if (*c != "gzip" && *c != "zstd")
          r.error(im["compression"].mark(), "compression must be gzip or zstd, got '" + *c + "'");
        img.compression = *c;
      }
    if (im["nsswitch"]) img.nsswitch = r.boolean(im["nsswitch"], "nsswitch").value_or(false);
  }
  if (img.tags.empty()) img.tags.push_back(img.version.empty() ? "latest" : img.version);
  if (const yaml::Node c = doc["contents"]; c && r.check_map(c, "'contents'", {"packages"}, {"packages"}))
    if (c["packages"]) img.packages = parse_deps(r, c["packages"], "contents.packages");
  if (doc["accounts"]) parse_accounts(r, doc["accounts"], img);
  if (img.users.empty()) img.users.push_back({"nonroot", 65532, 65532, "/home/nonroot", "/sbin/nologin"});
  if (img.groups.empty())
    for (const auto& u : img.users) img.groups.push_back({u.name, u.gid, {u.name}});
  if (const yaml::Node ep = doc["entrypoint"]) {
    if (ep.IsMap()) {
      if (r.check_map(ep, "'entrypoint'", {"command"}, {"command"}) && ep["command"])
        img.entrypoint = r.command(ep["command"], "entrypoint.command");
    } else
      img.entrypoint = r.command(ep, "entrypoint");
  }
  if (doc["cmd"]) img.cmd = r.command(doc["cmd"], "cmd");
  if (doc["environment"]) img.environment = r.str_map(doc["environment"], "environment");
  if (doc["work-dir"]) img.work_dir = r.str(doc["work-dir"], "work-dir").value_or("");
  if (doc["labels"]) img.labels = r.str_map(doc["labels"], "labels");
  if (doc["annotations"]) img.annotations = r.str_map(doc["annotations"], "annotations");
  if (const yaml::Node paths = doc["paths"]) {
    if (!paths.IsSequence()) r.error(paths.mark(), "paths must be a sequence");
    else
      for (const auto& pe : paths) {
        if (!r.check_map(pe, "path entry", {"path", "type", "permissions", "uid", "gid", "source"}, {"path"})) continue;
        PathEntry e;
        e.where = r.where(pe.mark());
        if (pe["path"]) {
          e.path = r.str(pe["path"], "path").value_or("");
          if (e.path.empty() || e.path[0] != '/' || e.path.find("/../") != std::string::npos ||
              e.path.ends_with("/.."))
            r.error(pe["path"].mark(), "path '" + e.path + "' must be absolute and must not contain '..'");
        }
        if (pe["type"]) {
          e.type = r.str(pe["type"], "type").value_or("directory");
          if (e.type != "directory" && e.type != "empty-file" && e.type != "symlink")
            r.error(pe["type"].mark(), "type must be directory, empty-file or symlink, got '" + e.type + "'");
        }
        if (pe["permissions"]) e.mode = r.octal_mode(pe["permissions"], "permissions").value_or(0755);
        if (pe["uid"]) e.uid = static_cast<unsigned>(r.integer(pe["uid"], "uid", 0, 4294967294).value_or(0));
        if (pe["gid"]) e.gid = static_cast<unsigned>(r.integer(pe["gid"], "gid", 0, 4294967294).value_or(0));
        if (pe["source"]) e.target = r.str(pe["source"], "source").value_or("");
        if (e.type == "symlink" && e.target.empty()) r.error(pe.mark(), "a symlink path entry needs 'source' (its target)");
        img.paths.push_back(std::move(e));
      }
  }
  if (const yaml::Node l = doc["layering"]; l && r.check_map(l, "'layering'", {"strategy", "budget"})) {
    if (l["strategy"])
      if (auto s = r.str(l["strategy"], "strategy")) {
        if (*s != "single" && *s != "per-package" && *s != "origin")
          r.error(l["strategy"].mark(), "layering strategy must be single or per-package (or its alias origin), got '" + *s + "'");
        img.layering = *s == "origin" ? "per-package" : *s;
      }
    if (l["budget"]) img.layer_budget = static_cast<int>(r.integer(l["budget"], "budget", 2, 127).value_or(10));
  }
  if (const yaml::Node h = doc["hardening"];
      h && r.check_map(h, "'hardening'", {"strip", "docs", "headers", "static", "pkgconfig", "libtool", "dev-symlinks",
                                      "allow-setuid"})) {
    for (const char* k : {"strip", "docs", "headers", "static", "pkgconfig", "libtool", "dev-symlinks"})
      if (h[k])
        if (auto b = r.boolean(h[k], std::string("hardening.") + k)) img.hardening[k] = *b;
    if (h["allow-setuid"]) img.allow_setuid = r.str_list(h["allow-setuid"], "hardening.allow-setuid");
  }
  if (doc["archs"])
    for (const auto& a : r.str_list(doc["archs"], "archs"))
      if (a != "x86_64" && a != "amd64") r.error(doc["archs"].mark(), "unsupported architecture '" + a + "' (only x86_64)");
  return img;
}

// First invalid UTF-8 byte offset, or npos.
std::size_t invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || (n == 2 && c < 0xC2) || i + n > s.size()) return i;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return i;
    i += n;
  }
  return std::string_view::npos;
}

} // namespace

std::string PackageRecipe::full_version() const {
  std::string v = epoch ? std::to_string(epoch) + ":" + version : version;
  return v + "-r" + std::to_string(release);
}

std::string normalize_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else
      out += text[i];
  }
  return out;
}

std::optional<AnyRecipe> parse_recipe(std::string_view raw, const fs::path& path, Diagnostics& diags) {
  const std::string display = path.string();
  if (raw.find('\0') != std::string_view::npos) {
    diags.add({{display, 1, 1}, "binary file (contains NUL bytes), not a YAML recipe", ""});
    return std::nullopt;
  }
  const std::string text = normalize_newlines(raw);
  YamlReader r(text, display, diags);
  if (auto bad = invalid_utf8(text); bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    r.error_at(r.where_offset(bad), std::string("invalid UTF-8 (byte ") + hex + "): recipes must be UTF-8 text");
    return std::nullopt;
  }
  if (text.find_first_not_of(" \t\n") == std::string::npos) {
    diags.add({{display, 1, 1}, "empty recipe: expected a 'package' or 'image' mapping", ""});
    return std::nullopt;
  }
  yaml::Node doc;
  try {
    doc = yaml::Load(text);
  } catch (const yaml::Exception& e) {
    r.error(e.mark, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
  if (!doc.IsMap() || (!doc["package"] && !doc["image"])) {
    r.error(doc.mark(), "not a recipe: expected a top-level 'package' (package recipe) or 'image' (image recipe) key");
    return std::nullopt;
  }
  std::size_t before = diags.size();
  std::optional<AnyRecipe> out;
  if (doc["package"]) {
    auto p = parse_package(r, doc, path);
    if (p) {
      p->content_sha256 = sha256_hex(text);
      out = std::move(*p);
    }
  } else {
    auto i = parse_image(r, doc, path);
    if (i) {
      i->content_sha256 = sha256_hex(text);
      out = std::move(*i);
    }
  }
  if (diags.size() != before) return std::nullopt;
  return out;
}

std::optional<AnyRecipe> load_file(const fs::path& path, Diagnostics& diags) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    diags.add({{path.string(), 1, 1}, e.what(), ""});
    return std::nullopt;
  }
  return parse_recipe(text, path, diags);
}

std::string expand_vars(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t start = text.find("${{", pos);
    if (start == std::string_view::npos) break;
    std::size_t end = text.find("}}", start);
    if (end == std::string_view::npos) break;
    out.append(text.substr(pos, start - pos));
    std::string name(text.substr(start + 3, end - start - 3));
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    auto it = values.find(name);
    if (it == values.end()) throw Error(ErrorKind::internal, "unknown variable '" + name + "'");
    out += it->second;
    pos = end + 2;
  }
  out.append(text.substr(pos));
  return out;
}

std::map<std::string, std::string> package_variables(const PackageRecipe& p, int jobs, std::int64_t source_date_epoch) {
  std::map<std::string, std::string> v = {
      {"package.name", p.name},
      {"package.version", p.version},
      {"package.full-version", p.full_version()},
      {"package.epoch", std::to_string(p.epoch)},
      {"targets.destdir", "/dest"},
      {"targets.srcdir", "/build"},
      {"build.jobs", std::to_string(jobs)},
      {"build.arch", "x86_64"},
      {"build.source-date-epoch", std::to_string(source_date_epoch)},
  };
  for (const auto& kv : p.vars) v["vars." + kv.first] = kv.second;
  return v;
}

} // namespace echo::recipe
