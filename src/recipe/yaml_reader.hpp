#pragma once
// Location-aware access to a yaml-cpp document: every problem becomes a Diagnostic at file:line:col.
#include "echo/recipe/diagnostic.hpp"

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::recipe::detail {

class YamlReader {
public:
  YamlReader(std::string_view text, std::string display_name, Diagnostics& diags);

  const std::string& file() const noexcept { return m_file; }
  std::string_view text() const noexcept { return m_text; }
  Location where(const YAML::Mark& m) const;
  Location where_offset(std::size_t pos) const;
  void error(const YAML::Mark& m, std::string message);
  void error_at(const Location& loc, std::string message);
  std::size_t error_count() const noexcept { return m_diags.size(); }

  /// Checks that `map` is a mapping whose keys are all in `known` (suggesting the nearest for unknown ones)
  /// and that every key in `required` is present. Returns false if `map` is not a mapping.
  bool check_map(const YAML::Node& map, std::string_view what, std::initializer_list<std::string_view> known,
                 std::initializer_list<std::string_view> required = {});

  std::optional<std::string> str(const YAML::Node& n, std::string_view what);
  std::optional<long long> integer(const YAML::Node& n, std::string_view what, long long min, long long max);
  std::optional<bool> boolean(const YAML::Node& n, std::string_view what);
  std::optional<unsigned> octal_mode(const YAML::Node& n, std::string_view what);
  std::vector<std::string> str_list(const YAML::Node& n, std::string_view what);
  std::map<std::string, std::string> str_map(const YAML::Node& n, std::string_view what);
  /// A string or a list of strings (a string is split on whitespace: no shell is involved).
  std::vector<std::string> command(const YAML::Node& n, std::string_view what);

  /// Location of byte `offset` inside scalar `n`'s value (handles quotes on single-line scalars; for block
  /// scalars it searches the source for `needle`, which must occur in the value).
  Location inside_scalar(const YAML::Node& n, std::string_view needle, std::size_t nth = 0) const;

private:
  std::string m_file;
  std::string_view m_text;
  std::vector<std::size_t> m_line_starts;
  Diagnostics& m_diags;
  std::string line_text(int line) const;
};

/// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// "a sequence", "a mapping", "a string", "null".
std::string_view kind_name(const YAML::Node& n);

} // namespace echo::recipe::detail
