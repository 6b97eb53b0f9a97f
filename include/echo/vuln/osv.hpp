#pragma once
// OSV records (https://ossf.github.io/osv-schema/) and the range semantics echo-build matches them with.
#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::vuln {

struct OsvEvent {
  enum class Kind { introduced, fixed, last_affected, limit };
  Kind kind = Kind::introduced;
  std::string version;
};

struct OsvRange {
  enum class Type { semver, ecosystem, git };
  Type type = Type::ecosystem;
  std::vector<OsvEvent> events; ///< as written; evaluation sorts them
};

struct OsvAffected {
  std::string ecosystem, name; ///< affected[].package.ecosystem / .name
  std::string purl_base;       ///< affected[].package.purl without version/qualifiers ("" when absent)
  std::vector<OsvRange> ranges;
  std::vector<std::string> versions; ///< affected[].versions: exact versions, compared as strings
};

struct OsvRecord {
  std::string id, summary, modified, published, withdrawn;
  std::vector<std::string> aliases;
  std::vector<OsvAffected> affected;
  std::vector<std::string> severity;   ///< severity[].score (e.g. CVSS vectors)
  std::vector<std::string> references; ///< references[].url
  std::string origin;                  ///< where it was read: "DB/FILE" or "ZIP!ENTRY"
};

/// Parses one OSV JSON record. Checks what matching relies on: id, affected[].package, every range has a
/// known type, events each with exactly one of introduced/fixed/last_affected/limit, at least one introduced,
/// SEMVER versions that are semantic versions. Throws Error(vulndb) naming `origin`, the record id and the
/// JSON path of the fault (e.g. "db/MUSL-1.json: record CVE-1: affected[0].ranges[1].events[2]: ...").
OsvRecord parse_osv(const nlohmann::json& j, const std::string& origin);
OsvRecord parse_osv_text(std::string_view text, const std::string& origin);

/// SemVer 2.0.0 precedence (build metadata ignored). Returns nullopt if either is not a semantic version
/// (a leading "v" is accepted).
std::optional<int> compare_semver(std::string_view a, std::string_view b);
bool is_semver(std::string_view v);

/// Result of evaluating one affected[] entry against a version.
struct RangeMatch {
  bool affected = false;
  std::string fixed;          ///< the fixed event that ends the range containing the version ("" = none)
  std::string last_affected;  ///< or its last_affected event
  bool unevaluated_git = false; ///< only GIT ranges (no versions[] hit): cannot be decided from a version
};

/// OSV evaluation (the schema's "Evaluation" section): the version is affected if it is listed in versions[]
/// or some SEMVER/ECOSYSTEM range contains it. Within a range, events sorted by version (introduced "0" first);
/// introduced <= v turns it on, fixed <= v or last_affected < v turns it off; limit events bound the range
/// (v must be below one of them). ECOSYSTEM versions compare with echo-build's one ordering
/// (recipe::compare_versions), SEMVER ones with SemVer precedence.
RangeMatch evaluate(const OsvAffected& a, std::string_view version);

} // namespace echo::vuln
