// purl (https://github.com/package-url/purl-spec) and CPE 2.3 (NISTIR 7695, formatted string binding) of a
// package recipe. Only what the SBOM needs and what the scanner matches on.
#include "echo/recipe/identity.hpp"

#include <cctype>
#include <vector>

namespace echo::recipe {

namespace {

bool purl_segment_ok(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '+' || c == '%' || c == '~')) return false;
  return true;
}

/// Percent-encodes a purl version or qualifier value; ':' and '/' stay as they are (the spec's examples).
std::string purl_encode(std::string_view s, bool keep_colon_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_colon_slash && (c == ':' || c == '/'))) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// Splits a CPE formatted string on ':' that are not backslash-escaped.
std::vector<std::string> cpe_components(std::string_view cpe) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < cpe.size(); ++i) {
    if (cpe[i] == '\\' && i + 1 < cpe.size()) {
      parts.back() += cpe[i];
      parts.back() += cpe[++i];
    } else if (cpe[i] == ':') {
      parts.emplace_back();
    } else {
      parts.back() += cpe[i];
    }
  }
  return parts;
}

} // namespace

std::optional<std::string> check_purl_base(std::string_view purl) {
  if (purl.rfind("pkg:", 0) != 0) return "a purl starts with 'pkg:' (e.g. pkg:generic/zlib)";
  if (purl.find_first_of("@?#") != std::string_view::npos)
    return "write the purl without @version, ?qualifiers or #subpath: echo-build adds the version and the "
           "download_url and checksum of the first source";
  std::string_view rest = purl.substr(4);
  std::vector<std::string_view> segs;
  for (std::size_t start = 0;;) {
    auto slash = rest.find('/', start);
    segs.push_back(rest.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (segs.size() < 2) return "a purl needs a type and a name: pkg:TYPE/NAME or pkg:TYPE/NAMESPACE/NAME";
  for (unsigned char c : segs.front())
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '+') || std::isupper(c))
      return "purl type '" + std::string(segs.front()) + "' must be lower-case letters, digits and . + -";
  for (std::size_t i = 1; i < segs.size(); ++i)
    if (!purl_segment_ok(segs[i])) return "empty or invalid purl segment '" + std::string(segs[i]) + "'";
  return std::nullopt;
}

std::optional<std::string> check_cpe(std::string_view cpe, std::string_view version) {
  if (cpe.rfind("cpe:2.3:", 0) != 0)
    return "a CPE 2.3 name starts with 'cpe:2.3:' (e.g. cpe:2.3:a:zlib:zlib:*:*:*:*:*:*:*:*)";
  auto parts = cpe_components(cpe);
  if (parts.size() != 13)
    return "a CPE 2.3 name has 13 ':'-separated components (cpe:2.3:part:vendor:product:version:update:edition:"
           "language:sw_edition:target_sw:target_hw:other), this one has " +
           std::to_string(parts.size());
  if (parts[2] != "a" && parts[2] != "o" && parts[2] != "h") return "CPE part '" + parts[2] + "' must be a, o or h";
  for (int i : {3, 4})
    if (parts[i].empty() || parts[i] == "*" || parts[i] == "-")
      return std::string("CPE ") + (i == 3 ? "vendor" : "product") + " must be named, not '" + parts[i] + "'";
  for (const auto& p : parts)
    if (p.empty()) return "empty CPE component (use * for any)";
  if (parts[5] != "*" && parts[5] != cpe_escape(version))
    return "CPE version '" + parts[5] + "' is not the package version '" + std::string(version) +
           "' (write * and echo-build fills it in)";
  return std::nullopt;
}

std::string cpe_escape(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) out += '\\';
    out += static_cast<char>(c);
  }
  return out;
}

std::string package_purl(const PackageRecipe& p) {
  std::string purl = p.purl.empty() ? "pkg:generic/" + purl_encode(p.name, false) : p.purl;
  if (!p.version.empty()) purl += "@" + purl_encode(p.version, false);
  const Source* first = nullptr;
  for (const auto& s : p.sources)
    if (!s.is_local()) {
      first = &s;
      break;
    }
  if (first) {
    purl += "?checksum=sha256:" + first->sha256;
    purl += "&download_url=" + purl_encode(first->url, true);
  }
  return purl;
}

std::string package_cpe(const PackageRecipe& p) {
  if (p.cpe.empty())
    return "cpe:2.3:a:" + cpe_escape(p.name) + ":" + cpe_escape(p.name) + ":" + cpe_escape(p.version) +
           ":*:*:*:*:*:*:*";
  if (p.cpe == "none") return "";
  auto parts = cpe_components(p.cpe);
  if (parts.size() != 13) return p.cpe; // lint reports it
  parts[5] = cpe_escape(p.version);
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ":" : "") + parts[i];
  return out;
}

std::optional<PurlParts> split_purl(std::string_view purl) {
  if (purl.rfind("pkg:", 0) != 0) return std::nullopt;
  if (auto h = purl.find('#'); h != std::string_view::npos) purl = purl.substr(0, h);
  if (auto q = purl.find('?'); q != std::string_view::npos) purl = purl.substr(0, q);
  PurlParts out;
  // The version follows the last '@' after the name (a namespace may not contain '@' unencoded).
  auto at = purl.rfind('@');
  auto slash = purl.rfind('/');
  if (at != std::string_view::npos && (slash == std::string_view::npos || at > slash)) {
    out.version = percent_decode(purl.substr(at + 1));
    purl = purl.substr(0, at);
  }
  std::string base(purl);
  while (base.size() > 4 && base.back() == '/') base.pop_back();
  auto type_end = base.find('/', 4);
  if (type_end == std::string::npos || type_end == 4) return std::nullopt;
  for (std::size_t i = 4; i < type_end; ++i) base[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(base[i])));
  out.base = base;
  return out;
}

} // namespace echo::recipe
