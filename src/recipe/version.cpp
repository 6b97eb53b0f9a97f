#include "echo/recipe/version.hpp"

#include <cctype>
#include <charconv>

namespace echo::recipe {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Debian's ordering for non-digit runs: '~' sorts before everything, even the end of the string; letters
// before non-letters.
int order(int c) {
  if (c == '~') return -1;
  if (c == 0) return 0;
  if (std::isalpha(c)) return c;
  return c + 256;
}

int compare_fragment(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int ac = i < a.size() && !is_digit(a[i]) ? order(static_cast<unsigned char>(a[i])) : 0;
      int bc = j < b.size() && !is_digit(b[j]) ? order(static_cast<unsigned char>(b[j])) : 0;
      if (ac != bc) return ac < bc ? -1 : 1;
      if (i < a.size() && !is_digit(a[i])) ++i;
      if (j < b.size() && !is_digit(b[j])) ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && is_digit(a[i]) && j < b.size() && is_digit(b[j])) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && is_digit(a[i])) return 1;
    if (j < b.size() && is_digit(b[j])) return -1;
    if (first_diff) return first_diff < 0 ? -1 : 1;
  }
  return 0;
}

struct Parts {
  unsigned long epoch = 0;
  std::string_view upstream;
  std::string_view release;
};

Parts split(std::string_view v) {
  Parts p;
  if (auto colon = v.find(':'); colon != std::string_view::npos) {
    std::from_chars(v.data(), v.data() + colon, p.epoch);
    v.remove_prefix(colon + 1);
  }
  if (auto r = v.rfind("-r"); r != std::string_view::npos && r + 2 < v.size()) {
    bool digits = true;
    for (char c : v.substr(r + 2)) digits = digits && is_digit(c);
    if (digits) {
      p.release = v.substr(r + 2);
      v = v.substr(0, r);
    }
  }
  p.upstream = v;
  return p;
}

} // namespace

int compare_versions(std::string_view a, std::string_view b) {
  Parts pa = split(a), pb = split(b);
  if (pa.epoch != pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
  if (int c = compare_fragment(pa.upstream, pb.upstream)) return c;
  return compare_fragment(pa.release, pb.release);
}

bool is_valid_version(std::string_view v) {
  Parts p = split(v);
  if (v.find(':') != std::string_view::npos) {
    auto e = v.substr(0, v.find(':'));
    if (e.empty()) return false;
    for (char c : e)
      if (!is_digit(c)) return false;
  }
  if (p.upstream.empty() || !is_digit(p.upstream[0])) return false;
  for (char c : p.upstream)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '~' || c == '_')) return false;
  return true;
}

bool Constraint::satisfied_by(std::string_view version) const {
  for (const auto& t : terms) {
    int c = compare_versions(version, t.version);
    bool ok = false;
    switch (t.op) {
    case Comparison::Op::eq: ok = c == 0; break;
    case Comparison::Op::ne: ok = c != 0; break;
    case Comparison::Op::ge: ok = c >= 0; break;
    case Comparison::Op::le: ok = c <= 0; break;
    case Comparison::Op::gt: ok = c > 0; break;
    case Comparison::Op::lt: ok = c < 0; break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string Constraint::str() const {
  std::string s;
  for (const auto& t : terms) {
    if (!s.empty()) s += ", ";
    switch (t.op) {
    case Comparison::Op::eq: s += "="; break;
    case Comparison::Op::ne: s += "!="; break;
    case Comparison::Op::ge: s += ">="; break;
    case Comparison::Op::le: s += "<="; break;
    case Comparison::Op::gt: s += ">"; break;
    case Comparison::Op::lt: s += "<"; break;
    }
    s += t.version;
  }
  return s;
}

std::optional<Constraint> parse_constraint(std::string_view text, std::string& error, std::size_t& error_offset) {
  Constraint c;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skip_ws();
  if (i == text.size()) return c;
  for (;;) {
    skip_ws();
    std::size_t start = i;
    Comparison cmp;
    auto take = [&](std::string_view op, Comparison::Op o) {
      if (text.substr(i, op.size()) == op) {
        i += op.size();
        cmp.op = o;
        return true;
      }
      return false;
    };
    if (!(take(">=", Comparison::Op::ge) || take("<=", Comparison::Op::le) || take("==", Comparison::Op::eq) ||
          take("!=", Comparison::Op::ne) || take(">", Comparison::Op::gt) || take("<", Comparison::Op::lt) ||
          take("=", Comparison::Op::eq))) {
      error = "expected one of = == != >= <= > < before a version";
      error_offset = start;
      return std::nullopt;
    }
    skip_ws();
    std::size_t vstart = i;
    while (i < text.size() && text[i] != ',' && text[i] != ' ' && text[i] != '\t') ++i;
    cmp.version = std::string(text.substr(vstart, i - vstart));
    if (!is_valid_version(cmp.version)) {
      error = cmp.version.empty() ? "missing version after operator" : "invalid version '" + cmp.version + "'";
      error_offset = vstart;
      return std::nullopt;
    }
    c.terms.push_back(std::move(cmp));
    skip_ws();
    if (i == text.size()) break;
    if (text[i] != ',') {
      error = "expected ',' between comparisons";
      error_offset = i;
      return std::nullopt;
    }
    ++i;
  }
  return c;
}

} // namespace echo::recipe
