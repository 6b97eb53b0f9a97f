// fetch, build, shell: the commands that run recipes.
#include "cli/commands.hpp"
#include "cli/image_pipeline.hpp"
#include "cli/recipes.hpp"
#include "cli/registry_flags.hpp"
#include "cli/scan.hpp"
#include "echo/attest/attach.hpp"
#include "echo/attest/signer.hpp"
#include "echo/build/builder.hpp"
#include "echo/oci/image.hpp"
#include "echo/oci/layout.hpp"
#include "echo/registry/client.hpp"
#include "echo/registry/reference.hpp"
#include "echo/sandbox/runner.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <unistd.h>

namespace fs = std::filesystem;

namespace echo::cli {

namespace {

struct BuildFlags {
  bool unsandboxed = false;
  bool offline = false;
  std::string output;           // image layout dir
  std::string oci_archive;
  std::string key_file, key_env, passphrase_env;
  std::string repository;       // identity in the signature / provenance subject
  std::string builder_id;
  std::string push_ref;
  std::vector<std::string> extra_tags;
  std::string sbom_format = "spdx";
  std::int64_t source_date_epoch = -1;
  std::string toolchain_root;
  std::string vuln_db;            // --vuln-db (default $ECHO_VULN_DB)
  bool allow_vulnerable = false;
};

/// Live progress on a terminal, plain lines otherwise, JSON lines with --json. Serialized by a mutex because
/// events come from worker threads.
class Progress {
public:
  explicit Progress(const GlobalOptions& g) : m_json(g.json), m_quiet(g.verbosity < 0), m_tty(::isatty(2)) {}
  ~Progress() { clear_line(); }

  void operator()(const build::Event& e) {
    std::lock_guard lk(m_mu);
    static const char* k_names[] = {"start", "cached", "done", "failed", "fetch"};
    if (m_json) {
      nlohmann::json j = {{"event", k_names[static_cast<int>(e.kind)]}, {"package", e.package}, {"version", e.version},
                          {"finished", e.finished}, {"total", e.total}};
      if (!e.key.empty()) j["key"] = e.key;
      if (e.seconds > 0) j["seconds"] = e.seconds;
      if (!e.message.empty()) j["message"] = e.message;
      std::cout << j.dump() << std::endl;
      return;
    }
    if (m_quiet) return;
    std::string line;
    switch (e.kind) {
    case build::Event::Kind::start:
      m_running.push_back(e.package);
      break;
    case build::Event::Kind::cached: line = "cached  " + e.package + " " + e.version; break;
    case build::Event::Kind::done:
      forget(e.package);
      line = "built   " + e.package + " " + e.version + " in " + seconds(e.seconds);
      break;
    case build::Event::Kind::failed:
      forget(e.package);
      line = "FAILED  " + e.package + " " + e.version + " after " + seconds(e.seconds);
      break;
    case build::Event::Kind::fetch: line = e.message; break;
    }
    m_finished = e.finished;
    m_total = e.total;
    clear_line();
    if (!line.empty()) std::fprintf(stderr, "[%d/%d] %s\n", e.finished, e.total, line.c_str());
    if (e.kind == build::Event::Kind::start && !m_tty)
      std::fprintf(stderr, "[%d/%d] building %s %s\n", e.finished, e.total, e.package.c_str(), e.version.c_str());
    status_line();
  }

private:
  std::mutex m_mu;
  bool m_json, m_quiet, m_tty;
  bool m_line_shown = false;
  int m_finished = 0, m_total = 0;
  std::vector<std::string> m_running;
  std::chrono::steady_clock::time_point m_t0 = std::chrono::steady_clock::now();

  static std::string seconds(double s) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1fs", s);
    return b;
  }
  void forget(const std::string& p) { m_running.erase(std::remove(m_running.begin(), m_running.end(), p), m_running.end()); }
  void clear_line() {
    if (m_line_shown) std::fputs("\r\033[K", stderr);
    m_line_shown = false;
  }
  void status_line() {
    if (!m_tty || m_running.empty()) return;
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_t0).count();
    std::string names;
    for (const auto& r : m_running) names += (names.empty() ? "" : ", ") + r;
    std::fprintf(stderr, "[%d/%d] building %s (%s elapsed)", m_finished, m_total, names.c_str(), seconds(el).c_str());
    m_line_shown = true;
  }
};

std::int64_t pick_epoch(const BuildFlags& f, const recipe::ImageRecipe* img) {
  if (f.source_date_epoch >= 0) return f.source_date_epoch;
  if (img && img->source_date_epoch) return *img->source_date_epoch;
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(e, e + std::strlen(e), v);
    if (ec != std::errc() || *p || v < 0) throw Error(ErrorKind::usage, "SOURCE_DATE_EPOCH='" + std::string(e) + "' is not a non-negative integer");
    return v;
  }
  return k_default_source_date_epoch;
}

build::BuildOptions build_options(const GlobalOptions& g, const BuildFlags& f, std::int64_t epoch) {
  build::BuildOptions o;
  o.store_dir = g.effective_store_dir();
  o.cache_dir = g.effective_cache_dir();
  o.distdirs = g.effective_distdirs();
  o.offline = f.offline;
  o.jobs = g.effective_jobs();
  o.isolation = f.unsandboxed ? build::Isolation::unsandboxed : build::Isolation::sandboxed;
  o.source_date_epoch = epoch;
  if (!f.toolchain_root.empty()) o.toolchain_root = f.toolchain_root;
  if (f.unsandboxed)
    spdlog::warn("UNSANDBOXED BUILD: recipe steps run directly on this host with your privileges; the provenance "
                 "records it (externalParameters.unsandboxed = true)");
  return o;
}

// Builds into a temporary layout beside the target, then swaps it in: never a half-written image.
fs::path fresh_layout_dir(const fs::path& out) {
  fs::create_directories(out.parent_path().empty() ? fs::path(".") : out.parent_path());
  fs::path tmp = out;
  tmp += ".tmp-" + std::to_string(::getpid());
  remove_tree(tmp);
  return tmp;
}

void swap_in(const fs::path& tmp, const fs::path& out) {
  fs::path old = out;
  old += ".old-" + std::to_string(::getpid());
  bool had = fs::exists(out);
  if (had) fs::rename(out, old);
  fs::rename(tmp, out);
  if (had) remove_tree(old);
}

// Scans the image's packages before the build; open findings stop it (exit 10) unless --allow-vulnerable, which
// says so loudly and is recorded in the provenance. No database: one line saying nothing was checked.
std::optional<ScanReport> vulnerability_gate(const GlobalOptions& g, const BuildFlags& f, const Resolved& r) {
  std::string db = vuln_db_path(f.vuln_db);
  if (db.empty()) {
    if (g.verbosity >= 0)
      spdlog::info("vulnerability gate: no database configured (--vuln-db or $ECHO_VULN_DB); image {} is NOT "
                   "checked for known vulnerabilities", r.image->name);
    return std::nullopt;
  }
  auto packages = scan_packages(sbom_packages(r.plan));
  auto statements = advisory_statements(g.effective_recipe_dirs(), packages);
  ScanReport rep = scan(db, packages, statements, "image " + r.image->name);
  fs::path adv = (g.effective_recipe_dirs().empty() ? fs::path("recipes") : g.effective_recipe_dirs().front()) / "advisories";
  std::size_t open = rep.summary.open();
  if (open > 0 && !f.allow_vulnerable)
    throw Error(ErrorKind::vulnerable,
                "image " + r.image->name + ": " + std::to_string(open) + " open known vulnerabilit" +
                    (open == 1 ? "y" : "ies") + " (database " + db + "); nothing was built, signed or pushed:\n" +
                    open_findings_text(rep, adv) +
                    "(--allow-vulnerable builds anyway and records it in the provenance)");
  if (open > 0) {
    spdlog::warn("--allow-vulnerable: image {} is built WITH {} open known vulnerabilit{}; the provenance records "
                 "externalParameters.allowVulnerable = true and the list:\n{}",
                 r.image->name, open, open == 1 ? "y" : "ies", open_findings_text(rep, adv));
  } else if (g.verbosity >= 0) {
    spdlog::info("vulnerability gate: image {}: {} packages, no open known vulnerability ({} fixed, {} not affected "
                 "by advisories; database {} {})",
                 r.image->name, rep.packages.size(), rep.summary.fixed, rep.summary.not_affected, db,
                 rep.database_digest);
  }
  return rep;
}

void run_build(const GlobalOptions& g, const BuildFlags& f, const RegistryFlags& rflags, const std::string& target) {
  std::string started = utc_now();
  auto t0 = std::chrono::steady_clock::now();
  Resolved r = resolve_target(g, target);
  const std::int64_t epoch = pick_epoch(f, r.image);
  // The gate runs on the plan, before anything is built: the packages are exactly those the SBOM will name.
  std::optional<ScanReport> gate;
  if (r.image) gate = vulnerability_gate(g, f, r);
  auto opts = build_options(g, f, epoch);
  Progress progress(g);
  opts.on_event = [&progress](const build::Event& e) { progress(e); };
  sandbox::install_interrupt_handlers();
  build::BuildResult built = build::build(r.plan, opts);
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  if (!r.image) {
    const auto& out = built.outputs.at(r.package->name);
    if (g.json)
      std::cout << nlohmann::json{{"package", r.package->name}, {"version", r.package->full_version()},
                                  {"key", out.key}, {"output", out.root.string()}, {"cached", out.cached},
                                  {"seconds", elapsed()}}.dump() << std::endl;
    else
      std::cout << r.package->name << " " << r.package->full_version() << ": " << out.root.string() << "\n";
    return;
  }

  // Image: assemble, sign, write, push.
  fs::path out = f.output.empty() ? fs::path("out") / r.image->name : fs::path(f.output);
  fs::path tmp = fresh_layout_dir(out);
  oci::BuiltImage image;
  try {
    image = oci::assemble(image_spec(*r.image, epoch, g.effective_jobs()), image_packages(r.plan, built), tmp);
    std::optional<registry::Reference> push_ref;
    if (!f.push_ref.empty()) push_ref = registry::Reference::parse(f.push_ref);
    std::string repository = !f.repository.empty() ? f.repository : push_ref ? push_ref->repo_str() : r.image->name;
    if (!f.key_file.empty() || !f.key_env.empty()) {
      // The signing key is read only here, after every sandboxed step has exited.
      ProvenanceContext pc;
      pc.resolved = &r;
      pc.built = &built;
      pc.image = &image;
      pc.repository = repository;
      const char* env_builder = std::getenv("ECHO_BUILDER_ID");
      pc.builder_id = !f.builder_id.empty() ? f.builder_id : (env_builder && *env_builder) ? env_builder : attest::k_builder_local;
      pc.started_on = started;
      pc.finished_on = utc_now();
      pc.source_date_epoch = epoch;
      pc.lockfile = g.lockfile;
      pc.allow_vulnerable = f.allow_vulnerable;
      if (gate) pc.vulnerability_scan = provenance_record(*gate);
      attest::Attachments a;
      a.provenance_statement = attest::make_provenance_statement(provenance_input(pc));
      auto sbom = sbom_input(pc);
      if (f.sbom_format == "cyclonedx") {
        a.sbom = attest::make_cyclonedx(sbom);
        a.sbom_media_type = attest::k_media_cyclonedx;
      } else
        a.sbom = attest::make_spdx(sbom);
      std::string pass_env = f.passphrase_env;
      if (const char* p = std::getenv("ECHO_KEY_PASSPHRASE"); pass_env.empty() && p && *p) pass_env = "ECHO_KEY_PASSPHRASE";
      auto signer = attest::load_signer({f.key_file, f.key_env, pass_env});
      auto layout = oci::Layout::open(tmp);
      attest::attach(layout, image.manifest, repository, *signer, a);
    }
    // attach() writes the side files beside the temporary layout; move them with it.
    for (const char* ext : {".intoto.jsonl", ".spdx.json", ".cdx.json"}) {
      fs::path side = tmp;
      side += ext;
      fs::path final_side = out;
      final_side += ext;
      if (fs::exists(side)) fs::rename(side, final_side);
    }
    swap_in(tmp, out);
  } catch (...) { // leave no half-written layout behind
    try {
      remove_tree(tmp);
    } catch (const Error&) { // best effort
    }
    throw;
  }
  image.layout = out;
  if (!f.oci_archive.empty()) oci::write_oci_archive(out, f.oci_archive);
  if (g.verbosity >= 0 && !g.json) {
    std::cerr << oci::format_report(image.report);
    std::cerr << "image " << r.image->name << " " << image.manifest.digest << " written to " << out.string() << "\n";
  }
  nlohmann::json summary = {{"image", r.image->name}, {"digest", image.manifest.digest}, {"layout", out.string()},
                            {"tags", r.image->tags}, {"files", image.report.files}, {"bytes", image.report.bytes},
                            {"compressedBytes", image.report.compressed_bytes}};
  // The hardening report, as format_report() prints it: removed entries counted by reason, stripped ELF files,
  // allowed setuid/setgid files, files per package ("" = generated by echo-build).
  std::map<std::string, std::uint64_t> removed;
  for (const auto& rm : image.report.removed) ++removed[rm.reason];
  summary["removed"] = removed;
  summary["stripped"] = image.report.stripped;
  summary["setuidFiles"] = image.report.setuid_files;
  summary["filesPerPackage"] = image.report.files_per_package;
  if (gate)
    summary["vulnerabilities"] = {{"scanned", true}, {"database", gate->database_digest},
                                  {"open", gate->summary.open()},
                                  {"acknowledged", gate->summary.fixed + gate->summary.not_affected},
                                  {"allowVulnerable", f.allow_vulnerable}};
  else
    summary["vulnerabilities"] = {{"scanned", false}};
  if (!f.push_ref.empty()) {
    auto ref = registry::Reference::parse(f.push_ref);
    auto ropts = registry_options(rflags);
    auto res = registry::push(out, ref, f.extra_tags, ropts);
    summary["pushed"] = {{"reference", ref.str()}, {"digest", res.digest}, {"tags", res.tags},
                         {"attachments", res.attachments}, {"referrers", referrers_json(res)}};
    if (!res.referrers_tag.empty()) summary["pushed"]["referrersTag"] = res.referrers_tag;
    if (!g.json && g.verbosity >= 0) std::cerr << "pushed " << ref.repo_str() << "@" << res.digest << "\n";
  }
  summary["seconds"] = elapsed();
  if (g.json) std::cout << summary.dump() << std::endl;
  else std::cout << image.manifest.digest << "\n";
}

} // namespace

void add_build_commands(CLI::App& app, GlobalOptions& g) {
  {
    auto target = std::make_shared<std::string>();
    auto flags = std::make_shared<BuildFlags>();
    auto* cmd = app.add_subcommand("fetch", "Download every source a build of RECIPE will need (and nothing more)");
    cmd->add_option("RECIPE", *target, "Image or package: a name or a recipe file path")->required();
    cmd->callback([&g, target, flags] {
      Resolved r = resolve_target(g, *target);
      auto opts = build_options(g, *flags, pick_epoch(*flags, r.image));
      if (!g.json && g.verbosity >= 0)
        opts.on_event = [](const build::Event& e) { std::fprintf(stderr, "%s\n", e.message.c_str()); };
      std::size_t n = build::fetch_sources(r.plan, opts);
      if (g.json) std::cout << nlohmann::json{{"files", n}, {"cache", opts.cache_dir.string()}}.dump() << std::endl;
      else if (g.verbosity >= 0) std::cout << n << " source files in " << (opts.cache_dir / "sources").string() << "\n";
    });
  }
  {
    auto target = std::make_shared<std::string>();
    auto f = std::make_shared<BuildFlags>();
    auto* cmd = app.add_subcommand("build", "Build a package, or an image recipe's whole closure and its OCI image; "
                                            "optionally sign it and push it");
    cmd->add_option("RECIPE", *target, "Image or package: a name or a recipe file path")->required();
    cmd->add_option("-o,--output", f->output, "OCI layout directory for an image (default out/<image>)")->type_name("DIR");
    cmd->add_option("--oci-archive", f->oci_archive, "Also write the layout as an oci-archive tar")->type_name("FILE");
    cmd->add_option("--key", f->key_file, "Sign with this private key (PEM); provenance and SBOM are attached")->type_name("FILE");
    cmd->add_option("--key-env", f->key_env, "Sign with the PEM key held in this environment variable")->type_name("VAR");
    cmd->add_option("--passphrase-env", f->passphrase_env,
                    "Variable holding the key's passphrase (default ECHO_KEY_PASSPHRASE when it is set)")->type_name("VAR");
    cmd->add_option("--repository", f->repository, "Repository named in the signature and provenance subject "
                                                   "(default: the --push repository, else the image name)");
    cmd->add_option("--builder-id", f->builder_id, "builder.id of the provenance (default $ECHO_BUILDER_ID, else "
                                                   "https://echo-build.dev/builders/local)")->type_name("URI");
    cmd->add_option("--sbom-format", f->sbom_format, "SBOM format")->check(CLI::IsMember({"spdx", "cyclonedx"}))->capture_default_str();
    cmd->add_option("--push", f->push_ref, "Push the image (and its signatures) to this reference")->type_name("REF");
    cmd->add_option("--tag", f->extra_tags, "Extra tag to push (repeatable)")->type_name("TAG");
    cmd->add_option("--source-date-epoch", f->source_date_epoch,
                    "Timestamp for every file and the image (default: recipe, then $SOURCE_DATE_EPOCH, then 315532800)");
    cmd->add_option("--toolchain-root", f->toolchain_root,
                    "Read-only toolchain root instead of the host's: a directory, or oci:LAYOUT_DIR[:TAG] (an OCI "
                    "image layout, e.g. from `echo-build pull`; unpacked once into the cache dir)")
        ->type_name("DIR|oci:DIR[:TAG]");
    cmd->add_option("--vuln-db", f->vuln_db, "OSV database for the vulnerability gate: an image with a known "
                                             "vulnerability not fixed or covered by an advisory fails (exit 10) "
                                             "before it is built (default $ECHO_VULN_DB)")
        ->type_name("PATH");
    cmd->add_flag("--allow-vulnerable", f->allow_vulnerable,
                  "Build, sign and push an image despite open known vulnerabilities (recorded in the provenance)");
    cmd->add_flag("--offline", f->offline, "Never download: sources must be in the cache or a --distdir");
    cmd->add_flag("--unsandboxed", f->unsandboxed, "Run steps WITHOUT isolation (only where namespaces are unavailable; "
                                                   "recorded in the provenance)");
    auto rflags = add_registry_flags(*cmd);
    cmd->callback([&g, target, f, rflags] {
      run_build(g, *f, *rflags, *target);
    });
  }
  {
    auto target = std::make_shared<std::string>();
    auto package = std::make_shared<std::string>();
    auto f = std::make_shared<BuildFlags>();
    auto* cmd = app.add_subcommand("shell", "Open an interactive shell in the sandbox a package's steps run in, with its "
                                            "sources unpacked and its build dependencies in place");
    cmd->add_option("RECIPE", *target, "Package (or image) recipe: a name or a path")->required();
    cmd->add_option("PACKAGE", *package, "Package of an image's plan (default: RECIPE itself)");
    cmd->add_flag("--unsandboxed", f->unsandboxed, "Without isolation (debugging only)");
    cmd->callback([&g, target, package, f] {
      Resolved r = resolve_target(g, *target);
      std::string name = !package->empty() ? *package : r.package ? r.package->name : "";
      if (name.empty()) throw Error(ErrorKind::usage, "shell: name the package of image '" + *target + "' to enter");
      int rc = build::shell(r.plan, name, build_options(g, *f, pick_epoch(*f, r.image)));
      if (rc != 0) throw Error(ErrorKind::build, "shell exited with status " + std::to_string(rc));
    });
  }
}

} // namespace echo::cli
