#pragma once
// Location-aware access to a yaml-cpp document: every problem becomes a Diagnostic at file:line:col.
#include "echo/recipe/diagnostic.hpp"

#include "recipe/yaml_node.hpp"

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::recipe::detail {

namespace yaml = echo::recipe::yaml;

class YamlReader {
public:
  YamlReader(std::string_view text, std::string display_name, Diagnostics& diags);

  const std::string& file() const noexcept { return m_file; }
  std::string_view text() const noexcept { return m_text; }
  Location where(const yaml::Mark& m) const;
  Location where_offset(std::size_t pos) const;
  void error(const yaml::Mark& m, std::string message);
  void error_at(const Location& loc, std::string message);
  std::size_t error_count() const noexcept { return m_diags.size(); }

  /// Checks that `map` is a mapping whose keys are all in `known` (suggesting the nearest for unknown ones)
  /// and that every key in `required` is present. Returns false if `map` is not a mapping.
  bool check_map(const yaml::Node& map, std::string_view what, std::initializer_list<std::string_view> known,
                 std::initializer_list<std::string_view> required = {});

  std::optional<std::string> str(const yaml::Node& n, std::string_view what);
  std::optional<long long> integer(const yaml::Node& n, std::string_view what, long long min, long long max);
  std::optional<bool> boolean(const yaml::Node& n, std::string_view what);
  std::optional<unsigned> octal_mode(const yaml::Node& n, std::string_view what);
  std::vector<std::string> str_list(const yaml::Node& n, std::string_view what);
  std::map<std::string, std::string> str_map(const yaml::Node& n, std::string_view what);
  /// A string or a list of strings (a string is split on whitespace: no shell is involved).
  std::vector<std::string> command(const yaml::Node& n, std::string_view what);

  /// Location of byte `offset` inside scalar `n`'s value (handles quotes on single-line scalars; for block
  /// scalars it searches the source for `needle`, which must occur in the value).
  Location inside_scalar(const yaml::Node& n, std::string_view needle, std::size_t nth = 0) const;

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
std::string_view kind_name(const yaml::Node& n);

} // namespace echo::recipe::detail
