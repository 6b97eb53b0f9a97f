#pragma once
// Scanning an image's packages against an offline OSV database, shared by `echo-build scan` and the build gate.
// Reports as a table, JSON and SARIF 2.1.0 (docs/vulnerabilities.md).
#include "echo/attest/sbom.hpp"
#include "echo/recipe/advisory.hpp"
#include "echo/vuln/database.hpp"
#include "echo/vuln/scan.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace echo::cli {

/// The database to scan with: `flag` if set, else $ECHO_VULN_DB, else "" (none configured).
std::string vuln_db_path(const std::string& flag);

/// The packages an SBOM document names (SPDX 2.3 JSON: packages[] with their purl and cpe23Type externalRefs;
/// CycloneDX JSON: components[]), without the image itself (SPDX primaryPackagePurpose CONTAINER, CycloneDX
/// type container, purl type oci). Throws Error(vulndb) naming `origin` if it is neither format.
std::vector<vuln::ScanPackage> packages_from_sbom(std::string_view text, const std::string& origin);

/// The same packages as the SBOM that echo-build writes for them.
std::vector<vuln::ScanPackage> scan_packages(const std::vector<attest::SbomPackage>& packages);

struct ScanReport {
  std::string target;          ///< what was scanned (layout, SBOM file, recipe, reference)
  std::string database;        ///< path
  std::string database_digest; ///< vuln::database_digest
  vuln::DatabaseStats stats;
  std::vector<vuln::ScanPackage> packages;
  std::vector<vuln::Finding> findings;
  std::vector<std::string> not_evaluated; ///< records with only GIT ranges
  std::vector<std::string> statement_sources; ///< advisory files and VEX documents applied
  vuln::Summary summary;
  double seconds = 0;
};

/// Reads the records of `database` for the packages, matches them, applies the statements (advisories first,
/// then VEX documents: later ones win). Throws Error(vulndb) for an unreadable database.
ScanReport scan(const std::string& database, std::vector<vuln::ScanPackage> packages,
                const std::vector<vuln::Statement>& statements, std::string target);

/// Statements of the advisory files beside the recipes for these packages (today's, expired ones left out).
std::vector<vuln::Statement> advisory_statements(const std::vector<std::filesystem::path>& recipe_dirs,
                                                 const std::vector<vuln::ScanPackage>& packages,
                                                 std::vector<std::string>* files_used = nullptr);

/// One line per open finding, for errors and warnings: "CVE-X in musl-libc 1.2.3-r0 (fixed in 1.2.6): ...;
/// write an advisory in DIR/advisories/musl-libc.yaml or update the package".
std::string open_findings_text(const ScanReport& r, const std::filesystem::path& advisory_dir);

/// Human table: one row per finding (open ones first), then a summary line.
std::string report_table(const ScanReport& r);
/// `--json`: target, database {path, digest, files, parsed}, packages, findings, summary, notEvaluated.
nlohmann::ordered_json report_json(const ScanReport& r);
/// SARIF 2.1.0 for code-scanning upload: one rule per vulnerability, one result per finding located at the
/// package's recipe file (`recipe_files`: package name -> path relative to the repository) or the target;
/// acknowledged findings carry a suppression with the advisory's justification.
nlohmann::ordered_json report_sarif(const ScanReport& r, const std::map<std::string, std::string>& recipe_files);
/// What provenance records about the scan (internalParameters.vulnerabilityScan).
nlohmann::json provenance_record(const ScanReport& r);

} // namespace echo::cli
