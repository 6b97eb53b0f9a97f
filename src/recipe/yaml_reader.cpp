#include "recipe/yaml_reader.hpp"

#include <algorithm>
#include <charconv>

namespace echo::recipe::detail {

YamlReader::YamlReader(std::string_view text, std::string display_name, Diagnostics& diags)
    : m_file(std::move(display_name)), m_text(text), m_diags(diags) {
  m_line_starts.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') m_line_starts.push_back(i + 1);
}

std::string YamlReader::line_text(int line) const {
  if (line < 1 || static_cast<std::size_t>(line) > m_line_starts.size()) return {};
  std::size_t start = m_line_starts[static_cast<std::size_t>(line - 1)];
  std::size_t end = m_text.find('\n', start);
  if (end == std::string_view::npos) end = m_text.size();
  std::string s(m_text.substr(start, end - start));
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

Location YamlReader::where(const yaml::Mark& m) const {
  if (m.line < 0) return {m_file, 1, 1};
  return {m_file, m.line + 1, m.column + 1};
}

Location YamlReader::where_offset(std::size_t pos) const {
  auto it = std::upper_bound(m_line_starts.begin(), m_line_starts.end(), pos);
  std::size_t line = static_cast<std::size_t>(it - m_line_starts.begin());
  return {m_file, static_cast<int>(line), static_cast<int>(pos - m_line_starts[line - 1] + 1)};
}

void YamlReader::error_at(const Location& loc, std::string message) {
  m_diags.add({loc, std::move(message), line_text(loc.line)});
}

void YamlReader::error(const yaml::Mark& m, std::string message) { error_at(where(m), std::move(message)); }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string_view kind_name(const yaml::Node& n) {
  switch (n.Type()) {
  case yaml::NodeType::Sequence: return "a sequence";
  case yaml::NodeType::Map: return "a mapping";
  case yaml::NodeType::Scalar: return "a string";
  case yaml::NodeType::Null: return "null";
  case yaml::NodeType::Undefined: return "nothing";
  }
  return "nothing";
}

bool YamlReader::check_map(const yaml::Node& map, std::string_view what, std::initializer_list<std::string_view> known,
                           std::initializer_list<std::string_view> required) {
  if (!map.IsMap()) {
    error(map.mark(), std::string(what) + " must be a mapping, not " + std::string(kind_name(map)));
    return false;
  }
  for (const auto& kv : map) {
    std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string_view best;
    std::size_t best_d = 1000;
    for (auto k : known) {
      std::size_t d = edit_distance(key, k);
      if (d < best_d) {
        best_d = d;
        best = k;
      }
    }
    std::string msg = "unknown key '" + key + "' in " + std::string(what);
    if (!best.empty() && best_d <= std::max<std::size_t>(2, key.size() / 3))
      msg += " (did you mean '" + std::string(best) + "'?)";
    else {
      msg += " (known keys:";
      for (auto k : known) msg += " " + std::string(k);
      msg += ")";
    }
    error(kv.first.mark(), msg);
  }
  for (auto r : required)
    if (!map[std::string(r)]) error(map.mark(), "missing required key '" + std::string(r) + "' in " + std::string(what));
  return true;
}

std::optional<std::string> YamlReader::str(const yaml::Node& n, std::string_view what) {
  if (!n.IsScalar()) {
    error(n.mark(), std::string(what) + " must be a string, not " + std::string(kind_name(n)));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<long long> YamlReader::integer(const yaml::Node& n, std::string_view what, long long min, long long max) {
  auto s = str(n, what);
  if (!s) return std::nullopt;
  long long v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size() || v < min || v > max) {
    error(n.mark(), std::string(what) + " must be an integer from " + std::to_string(min) + " to " +
                        std::to_string(max) + ", got '" + *s + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> YamlReader::boolean(const yaml::Node& n, std::string_view what) {
  auto s = str(n, what);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  error(n.mark(), std::string(what) + " must be true or false, got '" + *s + "'");
  return std::nullopt;
}

std::optional<unsigned> YamlReader::octal_mode(const yaml::Node& n, std::string_view what) {
  auto s = str(n, what);
  if (!s) return std::nullopt;
  std::string_view v = *s;
  if (v.substr(0, 2) == "0o") v.remove_prefix(2);
  unsigned mode = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), mode, 8);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || mode > 07777) {
    error(n.mark(), std::string(what) + " must be an octal mode such as 0o755 or 1777, got '" + *s + "'");
    return std::nullopt;
  }
  return mode;
}

std::vector<std::string> YamlReader::str_list(const yaml::Node& n, std::string_view what) {
  std::vector<std::string> out;
  if (!n.IsSequence()) {
    error(n.mark(), std::string(what) + " must be a sequence, not " + std::string(kind_name(n)));
    return out;
  }
  for (const auto& item : n)
    if (auto s = str(item, std::string("each item of ") + std::string(what))) out.push_back(*s);
  return out;
}

std::map<std::string, std::string> YamlReader::str_map(const yaml::Node& n, std::string_view what) {
  std::map<std::string, std::string> out;
  if (!n.IsMap()) {
    error(n.mark(), std::string(what) + " must be a mapping, not " + std::string(kind_name(n)));
    return out;
  }
  for (const auto& kv : n)
    if (auto s = str(kv.second, std::string(what) + "." + kv.first.Scalar())) out[kv.first.Scalar()] = *s;
  return out;
}

std::vector<std::string> YamlReader::command(const yaml::Node& n, std::string_view what) {
  if (n.IsSequence()) return str_list(n, what);
  std::vector<std::string> out;
  if (auto s = str(n, what)) {
    std::size_t i = 0;
    while (i < s->size()) {
      while (i < s->size() && (*s)[i] == ' ') ++i;
      std::size_t j = s->find(' ', i);
      if (j == std::string::npos) j = s->size();
      if (j > i) out.push_back(s->substr(i, j - i));
      i = j;
    }
  }
  return out;
}

Location YamlReader::inside_scalar(const yaml::Node& n, std::string_view needle, std::size_t nth) const {
  const yaml::Mark m = n.mark();
  if (m.pos < 0) return {m_file, 1, 1};
  std::size_t pos = static_cast<std::size_t>(m.pos);
  for (std::size_t k = 0;; ++k) {
    std::size_t found = m_text.find(needle, pos);
    if (found == std::string_view::npos) return where(m);
    if (k == nth) return where_offset(found);
    pos = found + 1;
  }
}

} // namespace echo::recipe::detail
