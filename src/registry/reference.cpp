#include "echo/registry/reference.hpp"

#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <cctype>

namespace echo::registry {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | "__" | "-"+
bool valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  for (std::size_t i = 0; i < c.size();) {
    if (is_lower_alnum(c[i])) { ++i; continue; }
    std::size_t j = i;
    while (j < c.size() && !is_lower_alnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// host := domain-component ('.' domain-component)* [':' port] | '[' ipv6 ']' [':' port]
bool valid_host(std::string_view h) {
  std::string_view name = h;
  std::string_view port;
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : h.substr(1, close - 1))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    std::string_view rest = h.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    port = rest.substr(1);
    name = {};
  } else {
    auto colon = h.rfind(':');
    if (colon != std::string_view::npos) {
      port = h.substr(colon + 1);
      name = h.substr(0, colon);
      if (port.empty()) return false;
    }
  }
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  if (port.size() > 5) return false;
  if (h.front() == '[') return true;
  if (name.empty()) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    auto dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool looks_like_host(std::string_view first) {
  return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
         first == "localhost" || (!first.empty() && first.front() == '[');
}

} // namespace

bool is_valid_tag(std::string_view tag) noexcept {
  if (tag.empty() || tag.size() > 128) return false;
  if (!(is_alnum(tag.front()) || tag.front() == '_')) return false;
  for (char c : tag)
    if (!(is_alnum(c) || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

Reference Reference::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorKind::usage, "invalid image reference '" + std::string(text) + "': " + std::string(why));
  };
  if (text.empty()) throw bad("empty");
  Reference r;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    std::string_view d = rest.substr(at + 1);
    if (d.substr(0, 7) != "sha256:") throw bad("digest must be sha256:<64 hex digits>");
    std::string_view hex = d.substr(7);
    if (!is_sha256_hex(hex)) throw bad("digest must be sha256:<64 hex digits>");
    for (char c : hex)
      if (std::isupper(static_cast<unsigned char>(c))) throw bad("digest must be lower-case hex");
    r.digest = std::string(d);
    rest = rest.substr(0, at);
  }
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || !looks_like_host(rest.substr(0, slash)))
    throw bad("missing registry host (write it out, e.g. localhost:5000/app:1.0 or docker.io/library/alpine)");
  std::string_view host = rest.substr(0, slash);
  if (!valid_host(host)) throw bad("bad registry host '" + std::string(host) + "'");
  r.registry = std::string(host);
  std::string_view path = rest.substr(slash + 1);
  // A tag is after the last ':' that follows the last '/'.
  auto last_slash = path.rfind('/');
  auto colon = path.rfind(':');
  if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    std::string_view tag = path.substr(colon + 1);
    if (!is_valid_tag(tag)) throw bad("bad tag '" + std::string(tag) + "' (allowed: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
    r.tag = std::string(tag);
    path = path.substr(0, colon);
  }
  if (path.empty()) throw bad("missing repository path");
  std::size_t start = 0;
  while (true) {
    auto s = path.find('/', start);
    std::string_view comp = path.substr(start, s == std::string_view::npos ? std::string_view::npos : s - start);
    if (!valid_component(comp))
      throw bad("bad path component '" + std::string(comp) + "' (lower-case letters, digits and separators . _ __ -)");
    if (s == std::string_view::npos) break;
    start = s + 1;
  }
  if (r.registry.size() + 1 + path.size() > 255) throw bad("name longer than 255 characters");
  r.repository = std::string(path);
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

std::string Reference::str() const {
  std::string s = repo_str();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::repo_str() const { return registry + "/" + repository; }

} // namespace echo::registry
