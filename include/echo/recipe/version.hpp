#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::recipe {

/// Compares two version strings with echo-build's one ordering (docs/recipes.md "Version ordering"):
/// `[epoch:]upstream[-rRELEASE]`; epochs numerically, then upstream and release piecewise like Debian:
/// runs of non-digits compare lexically with '~' before everything (1.0~rc1 < 1.0) and letters before
/// other characters, runs of digits numerically. Returns <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);

/// One comparison of a constraint ("op version").
struct Comparison {
  enum class Op { eq, ne, ge, le, gt, lt };
  Op op = Op::eq;
  std::string version;
};

/// A conjunction of comparisons: ">= 1.2, < 2" (a range), "= 1.4.2", or empty (anything).
struct Constraint {
  std::vector<Comparison> terms;
  bool satisfied_by(std::string_view version) const;
  bool empty() const noexcept { return terms.empty(); }
  std::string str() const; ///< canonical text, e.g. ">=1.2, <2"
};

/// Parses constraint text. On error returns nullopt and sets `error` (and `error_offset` within text).
std::optional<Constraint> parse_constraint(std::string_view text, std::string& error, std::size_t& error_offset);

/// True if `v` is a syntactically valid version: [epoch:]upstream[-rN], upstream starting with a digit and made
/// of [A-Za-z0-9.+~_].
bool is_valid_version(std::string_view v);

} // namespace echo::recipe
