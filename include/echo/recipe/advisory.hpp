#pragma once
// Advisories beside the recipes (modelled on Wolfi's advisories): per package, per vulnerability, what we
// know — fixed in a release or by a patch, not affected (with an OpenVEX justification), or pending upstream.
// Files: <recipe dir>/advisories/<package>.yaml (docs/vulnerabilities.md).
#include "echo/recipe/diagnostic.hpp"
#include "echo/recipe/recipe.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace echo::recipe {

/// The justifications OpenVEX v0.2.0 allows for not_affected.
const std::vector<std::string>& vex_justifications();

struct AdvisoryEvent {
  enum class Type { fixed, not_affected, pending_upstream };
  Type type = Type::fixed;
  std::string timestamp;     ///< YYYY-MM-DD or RFC 3339
  std::string fixed_version; ///< fixed: full version of our package that has the fix (e.g. 1.2.3-r1)
  std::string patch;         ///< fixed: the patch of the recipe that carries the fix (optional)
  std::string justification; ///< not-affected: one of vex_justifications()
  std::string impact;        ///< not-affected: why (OpenVEX impact_statement)
  std::string note;          ///< pending-upstream (required) / any: free text
  std::string expires;       ///< optional YYYY-MM-DD: the event no longer counts after this date
  Location where;
};

struct Advisory {
  std::string id;                   ///< CVE-YYYY-NNNN, GHSA-xxxx-xxxx-xxxx or another OSV id
  std::vector<std::string> aliases;
  std::vector<AdvisoryEvent> events; ///< in time order; the last one that has not expired is the status
  Location where;
  /// The event that decides the status today (`today` = YYYY-MM-DD): the last one not expired; nullptr if none.
  const AdvisoryEvent* current(const std::string& today) const;
};

struct AdvisoryFile {
  std::string package;
  std::vector<Advisory> advisories;
  std::filesystem::path file;
};

/// True for CVE-YYYY-NNNN(N...), GHSA-xxxx-xxxx-xxxx and OSV-style ids (PREFIX-...) of letters, digits, - _ . :
bool valid_vulnerability_id(std::string_view id);

/// Parses one advisory file; problems go to `diags` (file:line:col). Checks syntax, ids, event types and their
/// required keys, justifications, date formats and time order. Cross-checks with recipes: check_advisories.
std::optional<AdvisoryFile> parse_advisory_file(std::string_view text, const std::filesystem::path& path,
                                                Diagnostics& diags);

/// Loads <dir>/advisories/*.yaml for each recipe directory (a missing advisories directory is fine).
std::vector<AdvisoryFile> load_advisories(const std::vector<std::filesystem::path>& recipe_dirs, Diagnostics& diags);

/// Lint's cross-checks: the package has a recipe and the file is named after it, each id appears once,
/// fixed-version is a version some recipe of the package has, a named patch is one of that recipe's patches,
/// and no event has expired before `today` (YYYY-MM-DD).
void check_advisories(const std::vector<AdvisoryFile>& files, const RecipeSet& set, const std::string& today,
                      Diagnostics& diags);

/// Today's date (UTC) as YYYY-MM-DD; $ECHO_TODAY overrides it (tests of expiry).
std::string today_utc();

} // namespace echo::recipe
