#include "cli/image_pipeline.hpp"
#include "echo/recipe/identity.hpp"

#include "echo/util/fs.hpp"
#include "echo/util/process.hpp"
#include "echo/util/sha256.hpp"
#include "echo/version.hpp"

#include <ctime>
#include <random>
#include <set>

namespace fs = std::filesystem;

namespace echo::cli {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string random_id() {
  std::random_device rd;
  std::uint8_t b[16];
  for (auto& x : b) x = static_cast<std::uint8_t>(rd());
  return to_hex(b, sizeof b);
}

// A recipe's path as the provenance names it: relative to the git checkout when there is one.
std::string display_path(const fs::path& p, const std::string& git_top) {
  fs::path abs = fs::absolute(p).lexically_normal();
  if (!git_top.empty()) return abs.lexically_relative(git_top).generic_string();
  return p.generic_string();
}

} // namespace

std::string utc_now() { return utc_at(std::time(nullptr)); }

std::string utc_at(std::int64_t epoch) {
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string recipe_set_digest(const resolve::Plan& plan) {
  Sha256 h;
  if (plan.image) h.update("image " + plan.image->name + " " + plan.image->content_sha256 + "\n");
  for (const auto& [name, pp] : plan.packages)
    h.update("package " + name + " " + pp.recipe->full_version() + " " + pp.recipe->content_sha256 + "\n");
  return "sha256:" + h.finish_hex();
}

oci::ImageSpec image_spec(const recipe::ImageRecipe& img, std::int64_t source_date_epoch, int threads) {
  oci::ImageSpec s;
  s.name = img.name;
  s.version = img.version;
  s.tags = img.tags;
  s.entrypoint = img.entrypoint;
  s.cmd = img.cmd;
  s.env = img.environment;
  s.workdir = img.work_dir;
  s.labels = img.labels;
  s.annotations = img.annotations;
  if (!img.version.empty()) s.annotations.emplace("org.opencontainers.image.version", img.version);
  if (!img.description.empty()) s.annotations.emplace("org.opencontainers.image.description", img.description);
  s.annotations.emplace("org.opencontainers.image.title", img.name);
  for (const auto& u : img.users) s.users.push_back({u.name, u.uid, u.gid, u.home, u.shell.empty() ? "/sbin/nologin" : u.shell});
  for (const auto& g : img.groups) s.groups.push_back({g.name, g.gid, g.members});
  // run-as: a user name from the accounts, or a numeric uid[:gid].
  s.user = img.run_as;
  for (const auto& u : img.users)
    if (u.name == img.run_as) s.user = std::to_string(u.uid) + ":" + std::to_string(u.gid);
  if (img.run_as == "root") s.user = "0:0";
  for (const auto& p : img.paths) {
    oci::PathSpec ps;
    ps.path = p.path;
    ps.type = p.type == "empty-file" ? oci::PathSpec::Type::empty_file
              : p.type == "symlink"  ? oci::PathSpec::Type::symlink
                                     : oci::PathSpec::Type::directory;
    ps.mode = p.mode;
    ps.uid = p.uid;
    ps.gid = p.gid;
    ps.target = p.target;
    s.paths.push_back(ps);
  }
  s.nsswitch = img.nsswitch;
  s.source_date_epoch = source_date_epoch;
  s.compression = img.compression == "zstd" ? oci::Compression::zstd : oci::Compression::gzip;
  s.layering = img.layering == "per-package" ? oci::Layering::per_package : oci::Layering::single;
  s.layer_budget = img.layer_budget;
  auto flag = [&](const char* k, bool& v) {
    if (auto it = img.hardening.find(k); it != img.hardening.end()) v = it->second;
  };
  flag("strip", s.hardening.strip);
  flag("docs", s.hardening.drop_docs);
  flag("headers", s.hardening.drop_headers);
  flag("static", s.hardening.drop_static);
  flag("pkgconfig", s.hardening.drop_pkgconfig);
  flag("libtool", s.hardening.drop_libtool);
  flag("dev-symlinks", s.hardening.drop_dev_symlinks);
  s.hardening.allowed_setuid = img.allow_setuid;
  s.threads = threads;
  return s;
}

std::vector<oci::PackageTree> image_packages(const resolve::Plan& plan, const build::BuildResult& built) {
  std::vector<oci::PackageTree> out;
  for (const auto& name : plan.runtime_closure) {
    const auto& o = built.outputs.at(name);
    out.push_back({name, o.recipe->full_version(), o.recipe->license, o.root});
  }
  return out;
}

attest::ProvenanceInput provenance_input(const ProvenanceContext& c) {
  const auto& plan = c.resolved->plan;
  auto top = capture_output({"git", "rev-parse", "--show-toplevel"}, plan.image->file.parent_path());
  std::string git_top = top ? trim(*top) : "";
  attest::ImageBuildParameters params;
  params.recipe = display_path(plan.image->file, git_top);
  params.recipe_set_digest = recipe_set_digest(plan);
  if (fs::exists(c.lockfile)) params.lockfile_digest = "sha256:" + sha256_file(c.lockfile);
  params.image = c.repository;
  params.tags = plan.image->tags;
  params.platform = "linux/amd64";
  if (!git_top.empty()) {
    if (auto url = capture_output({"git", "config", "--get", "remote.origin.url"}, git_top)) params.source_repository = trim(*url);
    if (params.source_repository.empty()) params.source_repository = "file://" + git_top;
    if (auto commit = capture_output({"git", "rev-parse", "HEAD"}, git_top)) params.source_commit = trim(*commit);
  }
  params.source_date_epoch = c.source_date_epoch;
  params.unsandboxed = c.built->isolation == build::Isolation::unsandboxed;

  attest::ProvenanceInput in;
  in.subject_name = c.repository;
  in.subject_digest = c.image->manifest.digest;
  in.external_parameters = attest::external_parameters(params);
  in.internal_parameters = {{"storeKeyVersion", 1},
                            {"sandbox", params.unsandboxed ? "none" : "linux-namespaces"},
                            {"toolchain", c.built->toolchain.kind}};
  if (c.allow_vulnerable) in.external_parameters["allowVulnerable"] = true;
  if (!c.vulnerability_scan.is_null()) in.internal_parameters["vulnerabilityScan"] = c.vulnerability_scan;
  for (const auto& [name, pp] : plan.packages) {
    const auto& r = *pp.recipe;
    int n = 0;
    for (const auto& s : r.sources) {
      attest::ResourceDescriptor d;
      d.name = name + "/source/" + std::to_string(n++);
      d.uri = s.is_local() ? "file:" + display_path(s.local_path, git_top) : s.url;
      d.digest = {{"sha256", s.sha256}};
      if (s.is_local()) d.annotations = {{"digestOf", "echo-build tree hash (docs/provenance.md)"}};
      in.resolved_dependencies.push_back(d);
    }
    for (const auto& p : r.patches) {
      attest::ResourceDescriptor d;
      d.name = name + "/patch/" + p.name;
      d.uri = "file:" + display_path(p.path, git_top);
      d.digest = {{"sha256", p.sha256}};
      in.resolved_dependencies.push_back(d);
    }
    const auto& out = c.built->outputs.at(name);
    attest::ResourceDescriptor pkg;
    pkg.name = "pkg:generic/" + name + "@" + r.full_version();
    pkg.uri = "file:" + display_path(r.file, git_top);
    pkg.digest = {{"sha256", r.content_sha256}};
    pkg.annotations = {{"storeKey", out.key}, {"version", r.full_version()}};
    in.resolved_dependencies.push_back(pkg);
  }
  attest::ResourceDescriptor tc;
  auto toolchain_uri = [](const build::Toolchain& t) {
    return t.kind == "host"        ? std::string("file:///")
           : !t.image.empty()      ? t.image // oci:DIR@sha256:<manifest>
                                   : "file://" + fs::absolute(t.root).string();
  };
  tc.name = "toolchain";
  tc.uri = toolchain_uri(c.built->toolchain);
  tc.digest = {{"sha256", c.built->toolchain.digest}};
  tc.annotations = {{"kind", c.built->toolchain.kind}};
  // Packages whose recipe names its own toolchain root (options.toolchain-root) built against that one.
  for (const auto& [name, own] : c.built->own_toolchains) {
    attest::ResourceDescriptor d;
    d.name = "toolchain/" + name;
    d.uri = toolchain_uri(own);
    d.digest = {{"sha256", own.digest}};
    d.annotations = {{"kind", own.kind}, {"package", name}};
    in.resolved_dependencies.push_back(d);
  }
  in.resolved_dependencies.push_back(tc);
  // The OSV database the build gate scanned with (docs/vulnerabilities.md).
  if (c.vulnerability_scan.is_object() && c.vulnerability_scan.contains("database")) {
    std::string d = c.vulnerability_scan["database"].get<std::string>();
    attest::ResourceDescriptor db;
    db.name = "vulnerability-database";
    db.digest = {{"sha256", d.rfind("sha256:", 0) == 0 ? d.substr(7) : d}};
    db.annotations = {{"kind", "osv"}};
    in.resolved_dependencies.push_back(db);
  }
  in.builder_id = c.builder_id;
  in.builder_version = k_version;
  for (const auto& comp : c.built->toolchain.components) {
    attest::ResourceDescriptor d;
    d.name = comp.name;
    d.uri = "file://" + comp.path;
    d.digest = {{"sha256", comp.sha256}};
    in.builder_dependencies.push_back(d);
  }
  in.invocation_id = random_id();
  in.started_on = c.started_on;
  in.finished_on = c.finished_on;
  for (const auto& [name, out] : c.built->outputs) {
    attest::ResourceDescriptor d;
    d.name = "build-log/" + name;
    d.digest = {{"sha256", out.log_sha256}};
    d.annotations = {{"cached", out.cached ? "true" : "false"}};
    in.byproducts.push_back(d);
  }
  return in;
}

std::vector<attest::SbomPackage> sbom_packages(const resolve::Plan& plan) {
  std::vector<attest::SbomPackage> out;
  for (const auto& name : plan.runtime_closure) {
    const auto& r = *plan.packages.at(name).recipe;
    attest::SbomPackage p;
    p.name = name;
    p.version = r.full_version();
    p.license = r.license;
    p.homepage = r.homepage;
    p.supplier = r.supplier;
    p.purl = recipe::package_purl(r);
    p.cpe = recipe::package_cpe(r);
    for (const auto& s : r.sources) p.sources.push_back({s.is_local() ? "NOASSERTION" : s.url, s.sha256});
    p.depends_on = plan.packages.at(name).runtime_deps;
    out.push_back(std::move(p));
  }
  return out;
}

attest::SbomInput sbom_input(const ProvenanceContext& c) {
  const auto& plan = c.resolved->plan;
  attest::SbomInput in;
  in.image_name = plan.image->name;
  in.image_version = plan.image->version;
  in.image_digest = c.image->manifest.digest;
  in.created = utc_at(c.source_date_epoch);  // the image's creation time: the SBOM is reproducible too
  in.tool_version = k_version;
  in.packages = sbom_packages(plan);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < in.packages.size(); ++i) index[in.packages[i].name] = i;
  for (const auto& f : c.image->files) {
    if (f.sha256.empty()) continue; // directories and symlinks carry no content
    if (f.package.empty())
      in.generated_files.push_back({f.path, f.sha256});
    else if (auto it = index.find(f.package); it != index.end())
      in.packages[it->second].files.push_back({f.path, f.sha256});
  }
  return in;
}

} // namespace echo::cli
