#pragma once
// Matching an image's packages against OSV records, and what advisories / VEX statements say about each match.
#include "echo/vuln/osv.hpp"

#include <string>
#include <vector>

namespace echo::vuln {

/// A package of the image as the SBOM names it.
struct ScanPackage {
  std::string name;    ///< SPDX package name (our recipe name)
  std::string version; ///< full version (versionInfo, e.g. 1.2.3-r1)
  std::string purl;    ///< with version; its version is the upstream one the OSV ranges are compared with
  std::string cpe;
};

enum class Status { affected, pending_upstream, fixed, not_affected };
const char* to_string(Status s) noexcept; ///< "affected", "pending-upstream", "fixed", "not-affected"

/// What an advisory or a VEX statement says about one vulnerability of one package.
struct Statement {
  std::string vulnerability;          ///< id
  std::vector<std::string> aliases;
  std::string package;                ///< package name ("" = match by purl_base)
  std::string purl_base;              ///< pkg:type/ns/name ("" = match by package)
  Status status = Status::affected;
  std::string fixed_version;          ///< advisory 'fixed': counts only if the installed version >= this
  std::string justification, impact, note;
  std::string source;                 ///< "recipes/advisories/zlib.yaml:4:5" or "vex.json: statements[2]"
  std::string timestamp;              ///< RFC 3339, when the statement was made ("" = unknown)
};

struct Finding {
  std::string id;                     ///< the preferred id of the de-duplicated group (CVE first)
  std::vector<std::string> aliases;   ///< every other id of the group, sorted
  std::string package, installed, upstream_version, purl;
  std::string fixed;                  ///< fixed upstream version ("" = none known)
  std::string last_affected;
  std::string summary;
  std::vector<std::string> severity, references;
  std::vector<std::string> origins;   ///< database files of the records
  Status status = Status::affected;
  std::string justification, statement, status_source;
  bool acknowledged() const noexcept { return status != Status::affected; }
};

/// Every (vulnerability, package) pair where an OSV record's affected[] names the package — by purl
/// (type/namespace/name equal) or, for ecosystem "echo-build", by name (the purl's name or the package name)
/// — and its ranges contain the package's upstream version. Withdrawn records are skipped; records that share
/// an id or alias are one finding (id: the CVE id if there is one, else the smallest). Sorted by package, id.
/// `git_only` receives "ID (package)" for records whose only ranges are GIT (not decidable from a version).
std::vector<Finding> match(const std::vector<OsvRecord>& records, const std::vector<ScanPackage>& packages,
                           std::vector<std::string>* git_only = nullptr);

/// Applies statements (later ones win): a statement covers a finding when one of its ids is one of the
/// finding's ids and it names the finding's package (or purl). A 'fixed' statement whose fixed_version is
/// higher than the installed version does not count (the fix is not in this build) and is noted.
void apply(std::vector<Finding>& findings, const std::vector<Statement>& statements);

/// Counts by status.
struct Summary {
  std::size_t affected = 0, pending = 0, fixed = 0, not_affected = 0;
  std::size_t open() const noexcept { return affected + pending; }
};
Summary summarize(const std::vector<Finding>& findings);

/// Upstream version of a package: the purl's version, else the full version without -rN and epoch.
std::string upstream_version(const ScanPackage& p);

} // namespace echo::vuln
