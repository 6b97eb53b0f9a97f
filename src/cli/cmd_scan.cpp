// scan: match an image's packages (from its SBOM, or from its recipe's plan) against an offline OSV database.
#include "cli/commands.hpp"
#include "cli/image_pipeline.hpp"
#include "cli/recipes.hpp"
#include "cli/registry_flags.hpp"
#include "cli/scan.hpp"
#include "echo/attest/attach.hpp"
#include "echo/attest/verify.hpp"
#include "echo/oci/layout.hpp"
#include "echo/recipe/identity.hpp"
#include "echo/registry/client.hpp"
#include "echo/registry/reference.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/vuln/vex.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <optional>

namespace fs = std::filesystem;
using nlohmann::json;

namespace echo::cli {

namespace {

struct ScanOptions {
  std::string target, db, ref, format = "table", output;
  std::vector<std::string> vex;
  bool no_advisories = false;
  std::shared_ptr<RegistryFlags> registry;
};

struct Target {
  std::vector<vuln::ScanPackage> packages;
  std::string image_name;                          ///< for messages
  std::map<std::string, std::string> recipe_files; ///< package -> recipe path (SARIF locations)
};

/// The SBOM of the image in a layout: the document of its cosign .sbom tag, else the side file
/// <layout>.spdx.json / <layout>.cdx.json that build and sign write.
std::string layout_sbom(const fs::path& dir, const std::string& ref, std::string& origin) {
  auto layout = oci::Layout::open(dir);
  std::string why;
  auto image = attest::pick_image(layout, ref, why);
  if (!image) throw Error(ErrorKind::usage, why);
  if (auto sb = layout.find_ref(attest::attachment_tag(image->digest, "sbom"))) {
    json m = json::parse(layout.read_blob(sb->digest), nullptr, false);
    if (!m.is_discarded() && m.contains("layers") && m["layers"].is_array() && !m["layers"].empty()) {
      origin = dir.string() + " (" + attest::attachment_tag(image->digest, "sbom") + ")";
      return layout.read_blob(m["layers"][0].value("digest", ""));
    }
  }
  for (const char* ext : {".spdx.json", ".cdx.json"}) {
    fs::path side = dir;
    side += ext;
    if (fs::exists(side)) {
      origin = side.string();
      return read_file(side);
    }
  }
  throw Error(ErrorKind::usage, dir.string() + ": image " + image->digest +
                                    " has no SBOM (build or sign it with a key to attach one, or scan its recipe "
                                    "by name: echo-build scan IMAGE)");
}

bool looks_like_recipe_file(const std::string& t) {
  auto ends = [&](const char* s) { return t.size() > std::strlen(s) && t.compare(t.size() - std::strlen(s), std::string::npos, s) == 0; };
  return ends(".yaml") || ends(".yml");
}

Target load_target(const GlobalOptions& g, const ScanOptions& o, std::optional<TempDir>& pulled, std::string& origin) {
  Target t;
  const std::string& s = o.target;
  if (fs::is_regular_file(s) && !looks_like_recipe_file(s)) {
    origin = s;
    t.packages = packages_from_sbom(read_file(s), s);
    t.image_name = s;
    return t;
  }
  if (fs::is_directory(s)) {
    std::string text = layout_sbom(s, o.ref, origin);
    t.packages = packages_from_sbom(text, origin);
    t.image_name = s;
    return t;
  }
  // A recipe name or file: the packages its image would contain, as its SBOM will name them.
  bool maybe_ref = s.find('/') != std::string::npos && !looks_like_recipe_file(s);
  if (!maybe_ref) {
    Resolved r = resolve_target(g, s);
    origin = r.image ? "image recipe " + r.image->name : "package recipe " + r.package->name;
    t.image_name = r.image ? r.image->name : r.package->name;
    if (r.image) {
      t.packages = scan_packages(sbom_packages(r.plan));
    } else {
      attest::SbomPackage p;
      p.name = r.package->name;
      p.version = r.package->full_version();
      p.purl = recipe::package_purl(*r.package);
      p.cpe = recipe::package_cpe(*r.package);
      t.packages = scan_packages({p});
    }
    for (const auto& [name, pp] : r.plan.packages) t.recipe_files[name] = pp.recipe->file.lexically_relative(fs::current_path()).string();
    return t;
  }
  auto ref = registry::Reference::parse(s);
  pulled.emplace();
  fs::path dir = pulled->path() / "layout";
  with_context("pulling " + ref.str(), [&] { return registry::pull(ref, dir, registry_options(*o.registry)); });
  std::string text = layout_sbom(dir, o.ref.empty() ? ref.tag : o.ref, origin);
  origin = ref.str();
  t.packages = packages_from_sbom(text, origin);
  t.image_name = ref.str();
  return t;
}

void run_scan(const GlobalOptions& g, const ScanOptions& o) {
  std::string db = vuln_db_path(o.db);
  if (db.empty())
    throw Error(ErrorKind::usage, "scan needs a vulnerability database in the OSV format: --db PATH (a directory of "
                                  "OSV JSON files or an osv.dev all.zip) or $ECHO_VULN_DB");
  std::optional<TempDir> pulled;
  std::string origin;
  Target t = load_target(g, o, pulled, origin);
  std::vector<vuln::Statement> statements;
  if (!o.no_advisories) statements = advisory_statements(g.effective_recipe_dirs(), t.packages);
  for (const auto& v : o.vex) {
    auto more = vuln::parse_openvex(read_file(v), v, t.packages);
    statements.insert(statements.end(), more.begin(), more.end());
  }
  if (!g.json && g.verbosity >= 0 && o.format == "table")
    std::cerr << "scanning " << t.packages.size() << " packages of " << origin << " against " << db << "\n";
  ScanReport r = scan(db, t.packages, statements, origin);
  std::string text;
  std::string format = g.json ? "json" : o.format;
  if (format == "json") text = report_json(r).dump(2) + "\n";
  else if (format == "sarif") text = report_sarif(r, t.recipe_files).dump(2) + "\n";
  else text = report_table(r);
  if (o.output.empty()) std::cout << text << std::flush;
  else write_file_atomic(o.output, text);
  if (r.summary.open() > 0) {
    fs::path adv = g.effective_recipe_dirs().empty() ? fs::path("recipes") : g.effective_recipe_dirs().front();
    throw Error(ErrorKind::vulnerable, std::to_string(r.summary.open()) + " open known vulnerabilit" +
                                           (r.summary.open() == 1 ? "y" : "ies") + " in " + t.image_name + ":\n" +
                                           open_findings_text(r, adv / "advisories"));
  }
}

} // namespace

void add_scan_commands(CLI::App& app, GlobalOptions& g) {
  auto o = std::make_shared<ScanOptions>();
  auto* cmd = app.add_subcommand(
      "scan", "Match an image's packages against an offline OSV vulnerability database; exit 10 if any known "
              "vulnerability is neither fixed nor covered by an advisory or VEX statement");
  cmd->add_option("TARGET", o->target,
                  "An image or package recipe (name or file), an OCI layout directory, an SBOM file (SPDX 2.3 or "
                  "CycloneDX JSON), or REGISTRY/REPO[:TAG|@DIGEST] (pulled)")
      ->required();
  cmd->add_option("--db", o->db, "OSV database: a directory of OSV JSON files or a zip (default $ECHO_VULN_DB)")
      ->type_name("PATH");
  cmd->add_option("--vex", o->vex, "OpenVEX document whose statements apply (repeatable; later ones win)")
      ->type_name("FILE");
  cmd->add_flag("--no-advisories", o->no_advisories,
                "Do not apply the advisory files beside the recipes (recipes/advisories/*.yaml)");
  cmd->add_option("--format", o->format, "Output: a table, JSON, or SARIF 2.1.0 for code-scanning upload (--json = json)")
      ->check(CLI::IsMember({"table", "json", "sarif"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", o->output, "Write the report to FILE instead of stdout")->type_name("FILE");
  cmd->add_option("--ref", o->ref, "Image tag in the layout (default: the only image)")->type_name("TAG");
  o->registry = add_registry_flags(*cmd);
  cmd->callback([&g, o] { run_scan(g, *o); });
}

} // namespace echo::cli
