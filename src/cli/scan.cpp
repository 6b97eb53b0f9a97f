// Scanning packages against an OSV database and reporting the result (table, JSON, SARIF).
#include "cli/scan.hpp"

#include "echo/recipe/identity.hpp"
#include "echo/util/error.hpp"
#include "echo/version.hpp"
#include "echo/vuln/vex.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace echo::cli {

std::string vuln_db_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* e = std::getenv("ECHO_VULN_DB"); e && *e) return e;
  return "";
}

namespace {

bool is_oci_purl(const std::string& purl) { return purl.rfind("pkg:oci/", 0) == 0; }

} // namespace

std::vector<vuln::ScanPackage> packages_from_sbom(std::string_view text, const std::string& origin) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw Error(ErrorKind::vulndb, origin + ": not a JSON SBOM document");
  std::vector<vuln::ScanPackage> out;
  if (doc.contains("spdxVersion")) {
    const json& pkgs = doc.value("packages", json::array());
    if (!pkgs.is_array()) throw Error(ErrorKind::vulndb, origin + ": SPDX 'packages' is not an array");
    for (std::size_t i = 0; i < pkgs.size(); ++i) {
      const json& p = pkgs[i];
      if (!p.is_object() || !p.contains("name") || !p["name"].is_string())
        throw Error(ErrorKind::vulndb, origin + ": packages[" + std::to_string(i) + "] has no name");
      if (p.value("primaryPackagePurpose", "") == "CONTAINER") continue;
      vuln::ScanPackage sp;
      sp.name = p["name"].get<std::string>();
      if (p.contains("versionInfo") && p["versionInfo"].is_string()) sp.version = p["versionInfo"].get<std::string>();
      if (p.contains("externalRefs") && p["externalRefs"].is_array())
        for (const auto& r : p["externalRefs"]) {
          if (!r.is_object()) continue;
          std::string type = r.value("referenceType", ""), loc = r.value("referenceLocator", "");
          if (type == "purl" && sp.purl.empty()) sp.purl = loc;
          else if (type == "cpe23Type" && sp.cpe.empty()) sp.cpe = loc;
        }
      if (is_oci_purl(sp.purl)) continue;
      out.push_back(std::move(sp));
    }
  } else if (doc.value("bomFormat", "") == "CycloneDX") {
    const json& comps = doc.value("components", json::array());
    if (!comps.is_array()) throw Error(ErrorKind::vulndb, origin + ": CycloneDX 'components' is not an array");
    for (std::size_t i = 0; i < comps.size(); ++i) {
      const json& c = comps[i];
      if (!c.is_object() || !c.contains("name") || !c["name"].is_string())
        throw Error(ErrorKind::vulndb, origin + ": components[" + std::to_string(i) + "] has no name");
      if (c.value("type", "") == "container") continue;
      vuln::ScanPackage sp{c["name"].get<std::string>(), c.value("version", ""), c.value("purl", ""), c.value("cpe", "")};
      if (is_oci_purl(sp.purl)) continue;
      out.push_back(std::move(sp));
    }
  } else {
    throw Error(ErrorKind::vulndb, origin + ": neither an SPDX 2.3 (spdxVersion) nor a CycloneDX (bomFormat) document");
  }
  return out;
}

std::vector<vuln::ScanPackage> scan_packages(const std::vector<attest::SbomPackage>& packages) {
  std::vector<vuln::ScanPackage> out;
  for (const auto& p : packages) out.push_back({p.name, p.version, p.purl, p.cpe});
  return out;
}

ScanReport scan(const std::string& database, std::vector<vuln::ScanPackage> packages,
                const std::vector<vuln::Statement>& statements, std::string target) {
  auto t0 = std::chrono::steady_clock::now();
  ScanReport r;
  r.target = std::move(target);
  r.database = database;
  std::set<std::string> names;
  for (const auto& p : packages) {
    names.insert(p.name);
    if (auto parts = recipe::split_purl(p.purl)) {
      auto slash = parts->base.rfind('/');
      names.insert(parts->base.substr(slash + 1));
    }
  }
  auto records = vuln::read_records(database, {names.begin(), names.end()}, r.stats);
  r.database_digest = vuln::database_digest(database);
  r.findings = vuln::match(records, packages, &r.not_evaluated);
  vuln::apply(r.findings, statements);
  r.summary = vuln::summarize(r.findings);
  r.packages = std::move(packages);
  std::set<std::string> sources;
  for (const auto& s : statements) sources.insert(s.source.substr(0, s.source.find(':')));
  r.statement_sources.assign(sources.begin(), sources.end());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::vector<vuln::Statement> advisory_statements(const std::vector<fs::path>& recipe_dirs,
                                                 const std::vector<vuln::ScanPackage>& packages,
                                                 std::vector<std::string>* files_used) {
  recipe::Diagnostics diags;
  auto files = recipe::load_advisories(recipe_dirs, diags);
  if (!diags.empty()) throw Error(ErrorKind::recipe, diags.render());
  if (files_used)
    for (const auto& f : files) files_used->push_back(f.file.string());
  return vuln::statements_from_advisories(files, packages, recipe::today_utc());
}

namespace {

std::string fixed_text(const vuln::Finding& f) {
  if (!f.fixed.empty()) return "fixed upstream in " + f.fixed;
  if (!f.last_affected.empty()) return "last affected " + f.last_affected + ", no fixed release known";
  return "no fixed release known";
}

bool open_first(const vuln::Finding& a, const vuln::Finding& b) {
  if (a.acknowledged() != b.acknowledged()) return !a.acknowledged();
  if (a.package != b.package) return a.package < b.package;
  return a.id < b.id;
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

} // namespace

std::string open_findings_text(const ScanReport& r, const fs::path& advisory_dir) {
  std::ostringstream o;
  for (const auto& f : r.findings) {
    if (f.acknowledged()) continue;
    o << "  " << f.id << " in " << f.package << " " << f.installed << " (" << fixed_text(f) << ")";
    if (f.status == vuln::Status::pending_upstream) o << " [pending-upstream: " << f.status_source << "]";
    if (!f.summary.empty()) o << ": " << f.summary;
    o << "\n    -> update " << f.package << ", or record it in " << (advisory_dir / (f.package + ".yaml")).string()
      << " (fixed / not-affected with a justification)\n";
  }
  return o.str();
}

std::string report_table(const ScanReport& r) {
  std::vector<vuln::Finding> rows = r.findings;
  std::sort(rows.begin(), rows.end(), open_first);
  std::size_t wid = 13, wpkg = 7, wver = 9, wfix = 5, wst = 6;
  for (const auto& f : rows) {
    wid = std::max(wid, f.id.size());
    wpkg = std::max(wpkg, f.package.size());
    wver = std::max(wver, f.installed.size());
    wfix = std::max(wfix, f.fixed.size());
    wst = std::max(wst, std::string(vuln::to_string(f.status)).size());
  }
  std::ostringstream o;
  if (!rows.empty()) {
    o << pad("VULNERABILITY", wid) << "  " << pad("PACKAGE", wpkg) << "  " << pad("INSTALLED", wver) << "  "
      << pad("FIXED", wfix) << "  " << pad("STATUS", wst) << "  WHY\n";
    for (const auto& f : rows) {
      std::string why = f.acknowledged() ? (f.justification.empty() ? f.statement : f.justification) : f.summary;
      if (!f.status_source.empty() && f.acknowledged()) why += " (" + f.status_source + ")";
      o << pad(f.id, wid) << "  " << pad(f.package, wpkg) << "  " << pad(f.installed, wver) << "  "
        << pad(f.fixed.empty() ? "-" : f.fixed, wfix) << "  " << pad(vuln::to_string(f.status), wst) << "  " << why
        << "\n";
    }
  }
  o << r.packages.size() << " packages, " << r.findings.size() << " known vulnerabilit"
    << (r.findings.size() == 1 ? "y" : "ies") << ": " << r.summary.open() << " open (" << r.summary.affected
    << " affected, " << r.summary.pending << " pending upstream), " << r.summary.fixed << " fixed, "
    << r.summary.not_affected << " not affected; database " << r.database << " (" << r.stats.files << " files, "
    << r.database_digest << ")\n";
  for (const auto& g : r.not_evaluated) o << "not evaluated (GIT ranges only): " << g << "\n";
  return o.str();
}

namespace {

ordered_json finding_json(const vuln::Finding& f) {
  ordered_json j;
  j["id"] = f.id;
  j["aliases"] = f.aliases;
  j["package"] = f.package;
  j["installed"] = f.installed;
  j["upstreamVersion"] = f.upstream_version;
  j["purl"] = f.purl;
  j["fixedVersion"] = f.fixed;
  if (!f.last_affected.empty()) j["lastAffected"] = f.last_affected;
  j["status"] = vuln::to_string(f.status);
  if (!f.justification.empty()) j["justification"] = f.justification;
  if (!f.statement.empty()) j["statement"] = f.statement;
  if (!f.status_source.empty()) j["statusSource"] = f.status_source;
  j["summary"] = f.summary;
  j["severity"] = f.severity;
  j["references"] = f.references;
  j["records"] = f.origins;
  return j;
}

ordered_json summary_json(const vuln::Summary& s) {
  return {{"open", s.open()}, {"affected", s.affected}, {"pendingUpstream", s.pending}, {"fixed", s.fixed},
          {"notAffected", s.not_affected}};
}

} // namespace

ordered_json report_json(const ScanReport& r) {
  ordered_json j;
  j["target"] = r.target;
  j["database"] = {{"path", r.database}, {"digest", r.database_digest}, {"files", r.stats.files},
                   {"parsed", r.stats.parsed}};
  j["packages"] = ordered_json::array();
  for (const auto& p : r.packages)
    j["packages"].push_back({{"name", p.name}, {"version", p.version}, {"purl", p.purl}, {"cpe", p.cpe}});
  j["statementSources"] = r.statement_sources;
  j["findings"] = ordered_json::array();
  for (const auto& f : r.findings) j["findings"].push_back(finding_json(f));
  j["summary"] = summary_json(r.summary);
  j["notEvaluated"] = r.not_evaluated;
  j["seconds"] = r.seconds;
  return j;
}

ordered_json report_sarif(const ScanReport& r, const std::map<std::string, std::string>& recipe_files) {
  ordered_json rules = ordered_json::array();
  std::map<std::string, std::size_t> rule_index;
  ordered_json results = ordered_json::array();
  for (const auto& f : r.findings) {
    if (!rule_index.count(f.id)) {
      rule_index[f.id] = rules.size();
      ordered_json rule;
      rule["id"] = f.id;
      rule["name"] = f.id;
      rule["shortDescription"] = {{"text", f.summary.empty() ? f.id : f.summary}};
      rule["fullDescription"] = {{"text", f.summary.empty() ? f.id : f.summary}};
      if (!f.references.empty()) rule["helpUri"] = f.references.front();
      rule["help"] = {{"text", "Known vulnerability " + f.id + ". Update the package or record an advisory "
                                                               "(docs/vulnerabilities.md)."}};
      rule["properties"] = {{"tags", {"security", "vulnerability"}}};
      rules.push_back(rule);
    }
    auto rf = recipe_files.find(f.package);
    std::string uri = rf != recipe_files.end() ? rf->second : r.target;
    ordered_json res;
    res["ruleId"] = f.id;
    res["ruleIndex"] = rule_index[f.id];
    res["level"] = f.acknowledged() ? "note" : "error";
    res["message"] = {{"text", f.id + " in " + f.package + " " + f.installed + " (" + fixed_text(f) + "), status " +
                                   vuln::to_string(f.status)}};
    res["locations"] = ordered_json::array(
        {{{"physicalLocation", {{"artifactLocation", {{"uri", uri}}}, {"region", {{"startLine", 1}}}}}}});
    res["partialFingerprints"] = {{"echoBuildFinding/v1", f.id + "/" + f.package + "/" + f.installed}};
    if (f.acknowledged()) {
      std::string why = std::string(vuln::to_string(f.status)) +
                        (f.justification.empty() ? "" : ": " + f.justification) +
                        (f.statement.empty() ? "" : " (" + f.statement + ")");
      res["suppressions"] = ordered_json::array({{{"kind", "external"}, {"justification", why}}});
    }
    res["properties"] = {{"package", f.package}, {"installed", f.installed}, {"fixedVersion", f.fixed},
                         {"purl", f.purl}, {"status", vuln::to_string(f.status)}};
    results.push_back(res);
  }
  ordered_json driver;
  driver["name"] = "echo-build";
  driver["version"] = k_version;
  driver["informationUri"] = "https://echo-build.dev/docs/vulnerabilities";
  driver["rules"] = rules;
  ordered_json run;
  run["tool"] = {{"driver", driver}};
  run["results"] = results;
  ordered_json doc;
  doc["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json";
  doc["version"] = "2.1.0";
  doc["runs"] = ordered_json::array({run});
  return doc;
}

json provenance_record(const ScanReport& r) {
  json open = json::array(), acknowledged = json::array();
  for (const auto& f : r.findings) {
    json e = {{"id", f.id}, {"package", f.package}, {"installed", f.installed}, {"status", vuln::to_string(f.status)}};
    (f.acknowledged() ? acknowledged : open).push_back(e);
  }
  return {{"database", r.database_digest}, {"open", open}, {"acknowledged", acknowledged},
          {"statementSources", r.statement_sources}};
}

} // namespace echo::cli
