// OSV record parsing and range evaluation. The evaluation follows the OSV schema's reference algorithm;
// the checks in parse_osv are the ones a wrong answer would otherwise hide behind.
#include "echo/vuln/osv.hpp"

#include "echo/recipe/identity.hpp"
#include "echo/recipe/version.hpp"
#include "echo/util/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace echo::vuln {

namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& origin, const std::string& id, const std::string& path, const std::string& msg) {
  std::string where = origin;
  if (!id.empty()) where += ": record " + id;
  if (!path.empty()) where += ": " + path;
  throw Error(ErrorKind::vulndb, where + ": " + msg);
}

std::string str_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct SemVer {
  std::string_view core[3];
  std::vector<std::string_view> pre;
};

bool numeric(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<SemVer> parse_semver(std::string_view v) {
  if (!v.empty() && v.front() == 'v') v.remove_prefix(1);
  if (auto plus = v.find('+'); plus != std::string_view::npos) v = v.substr(0, plus);
  SemVer s;
  std::string_view pre;
  if (auto dash = v.find('-'); dash != std::string_view::npos) {
    pre = v.substr(dash + 1);
    v = v.substr(0, dash);
    if (pre.empty()) return std::nullopt;
  }
  for (int i = 0; i < 3; ++i) {
    auto dot = v.find('.');
    if ((i < 2) != (dot != std::string_view::npos)) return std::nullopt;
    s.core[i] = v.substr(0, dot);
    if (!numeric(s.core[i]) || (s.core[i].size() > 1 && s.core[i][0] == '0')) return std::nullopt;
    v = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
  }
  while (!pre.empty()) {
    auto dot = pre.find('.');
    auto id = pre.substr(0, dot);
    if (id.empty()) return std::nullopt;
    for (char c : id)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return std::nullopt;
    s.pre.push_back(id);
    if (dot == std::string_view::npos) break;
    pre = pre.substr(dot + 1);
    if (pre.empty()) return std::nullopt;
  }
  return s;
}

int cmp_numeric(std::string_view a, std::string_view b) {
  while (a.size() > 1 && a[0] == '0') a.remove_prefix(1);
  while (b.size() > 1 && b[0] == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int c = a.compare(b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

OsvEvent::Kind event_kind(const std::string& key, bool& ok) {
  ok = true;
  if (key == "introduced") return OsvEvent::Kind::introduced;
  if (key == "fixed") return OsvEvent::Kind::fixed;
  if (key == "last_affected") return OsvEvent::Kind::last_affected;
  if (key == "limit") return OsvEvent::Kind::limit;
  ok = false;
  return OsvEvent::Kind::introduced;
}

} // namespace

bool is_semver(std::string_view v) { return parse_semver(v).has_value(); }

std::optional<int> compare_semver(std::string_view a, std::string_view b) {
  auto x = parse_semver(a), y = parse_semver(b);
  if (!x || !y) return std::nullopt;
  for (int i = 0; i < 3; ++i)
    if (int c = cmp_numeric(x->core[i], y->core[i])) return c;
  // A pre-release has lower precedence than the release; then identifiers left to right.
  if (x->pre.empty() || y->pre.empty()) return x->pre.empty() == y->pre.empty() ? 0 : (x->pre.empty() ? 1 : -1);
  for (std::size_t i = 0; i < std::min(x->pre.size(), y->pre.size()); ++i) {
    bool nx = numeric(x->pre[i]), ny = numeric(y->pre[i]);
    int c = 0;
    if (nx && ny) c = cmp_numeric(x->pre[i], y->pre[i]);
    else if (nx != ny) c = nx ? -1 : 1; // numeric identifiers sort before alphanumeric ones
    else c = x->pre[i].compare(y->pre[i]) < 0 ? -1 : (x->pre[i] == y->pre[i] ? 0 : 1);
    if (c) return c;
  }
  if (x->pre.size() == y->pre.size()) return 0;
  return x->pre.size() < y->pre.size() ? -1 : 1;
}

OsvRecord parse_osv(const json& j, const std::string& origin) {
  if (!j.is_object()) bad(origin, "", "", "not an OSV record (a JSON object is expected)");
  OsvRecord r;
  r.origin = origin;
  r.id = str_at(j, "id");
  if (r.id.empty()) bad(origin, "", "id", "missing or not a string");
  r.summary = str_at(j, "summary");
  r.modified = str_at(j, "modified");
  r.published = str_at(j, "published");
  r.withdrawn = str_at(j, "withdrawn");
  if (auto it = j.find("aliases"); it != j.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string()) r.aliases.push_back(a.get<std::string>());
  if (auto it = j.find("severity"); it != j.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_object() && s.contains("score") && s["score"].is_string()) r.severity.push_back(s["score"].get<std::string>());
  if (auto it = j.find("references"); it != j.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_object() && s.contains("url") && s["url"].is_string()) r.references.push_back(s["url"].get<std::string>());
  auto aff = j.find("affected");
  if (aff == j.end()) return r; // a record may affect nothing we can name (e.g. only withdrawn notes)
  if (!aff->is_array()) bad(origin, r.id, "affected", "not a list");
  for (std::size_t ai = 0; ai < aff->size(); ++ai) {
    const json& a = (*aff)[ai];
    const std::string apath = "affected[" + std::to_string(ai) + "]";
    if (!a.is_object()) bad(origin, r.id, apath, "not an object");
    OsvAffected out;
    if (auto p = a.find("package"); p != a.end()) {
      if (!p->is_object()) bad(origin, r.id, apath + ".package", "not an object");
      out.ecosystem = str_at(*p, "ecosystem");
      out.name = str_at(*p, "name");
      if (auto purl = str_at(*p, "purl"); !purl.empty()) {
        auto parts = recipe::split_purl(purl);
        if (!parts) bad(origin, r.id, apath + ".package.purl", "'" + purl + "' is not a package URL (pkg:TYPE/NAME)");
        out.purl_base = parts->base;
      }
    }
    if (auto v = a.find("versions"); v != a.end()) {
      if (!v->is_array()) bad(origin, r.id, apath + ".versions", "not a list");
      for (const auto& s : *v) {
        if (!s.is_string()) bad(origin, r.id, apath + ".versions", "entries must be strings");
        out.versions.push_back(s.get<std::string>());
      }
    }
    if (auto rs = a.find("ranges"); rs != a.end()) {
      if (!rs->is_array()) bad(origin, r.id, apath + ".ranges", "not a list");
      for (std::size_t ri = 0; ri < rs->size(); ++ri) {
        const json& rj = (*rs)[ri];
        const std::string rpath = apath + ".ranges[" + std::to_string(ri) + "]";
        if (!rj.is_object()) bad(origin, r.id, rpath, "not an object");
        OsvRange range;
        std::string type = str_at(rj, "type");
        if (type == "SEMVER") range.type = OsvRange::Type::semver;
        else if (type == "ECOSYSTEM") range.type = OsvRange::Type::ecosystem;
        else if (type == "GIT") range.type = OsvRange::Type::git;
        else bad(origin, r.id, rpath + ".type", "'" + type + "' is not SEMVER, ECOSYSTEM or GIT");
        auto ev = rj.find("events");
        if (ev == rj.end() || !ev->is_array() || ev->empty())
          bad(origin, r.id, rpath + ".events", "a range needs a non-empty list of events");
        bool has_introduced = false;
        for (std::size_t ei = 0; ei < ev->size(); ++ei) {
          const json& e = (*ev)[ei];
          const std::string epath = rpath + ".events[" + std::to_string(ei) + "]";
          if (!e.is_object() || e.size() != 1)
            bad(origin, r.id, epath, "an event has exactly one of introduced, fixed, last_affected, limit");
          bool ok = false;
          OsvEvent event;
          event.kind = event_kind(e.begin().key(), ok);
          if (!ok) bad(origin, r.id, epath, "unknown event '" + e.begin().key() + "'");
          if (!e.begin()->is_string() || e.begin()->get<std::string>().empty())
            bad(origin, r.id, epath + "." + e.begin().key(), "the version must be a non-empty string");
          event.version = e.begin()->get<std::string>();
          has_introduced = has_introduced || event.kind == OsvEvent::Kind::introduced;
          if (range.type == OsvRange::Type::semver && event.version != "0" &&
              !(event.kind == OsvEvent::Kind::limit && event.version == "*") && !is_semver(event.version))
            bad(origin, r.id, epath + "." + e.begin().key(), "'" + event.version + "' is not a semantic version (SEMVER range)");
          range.events.push_back(std::move(event));
        }
        if (!has_introduced) bad(origin, r.id, rpath + ".events", "no 'introduced' event: the range affects nothing");
        out.ranges.push_back(std::move(range));
      }
    }
    r.affected.push_back(std::move(out));
  }
  return r;
}

OsvRecord parse_osv_text(std::string_view text, const std::string& origin) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) bad(origin, "", "", "not valid JSON");
  return parse_osv(j, origin);
}

RangeMatch evaluate(const OsvAffected& a, std::string_view version) {
  RangeMatch m;
  for (const auto& v : a.versions)
    if (v == version) m.affected = true;
  bool only_git = !a.ranges.empty();
  for (const auto& range : a.ranges) {
    if (range.type == OsvRange::Type::git) continue;
    only_git = false;
    const bool semver = range.type == OsvRange::Type::semver;
    auto cmp = [&](std::string_view x, std::string_view y) -> int {
      if (semver) return compare_semver(x, y).value_or(recipe::compare_versions(x, y));
      return recipe::compare_versions(x, y);
    };
    if (semver && !is_semver(version)) continue; // a non-semver version is in no SEMVER range
    std::vector<OsvEvent> events;
    std::vector<std::string> limits;
    for (const auto& e : range.events) {
      if (e.kind == OsvEvent::Kind::limit) limits.push_back(e.version);
      else events.push_back(e);
    }
    if (!limits.empty() && std::none_of(limits.begin(), limits.end(), [&](const std::string& l) {
          return l == "*" || cmp(version, l) < 0;
        }))
      continue;
    std::stable_sort(events.begin(), events.end(), [&](const OsvEvent& x, const OsvEvent& y) {
      bool x0 = x.kind == OsvEvent::Kind::introduced && x.version == "0";
      bool y0 = y.kind == OsvEvent::Kind::introduced && y.version == "0";
      if (x0 || y0) return x0 && !y0;
      return cmp(x.version, y.version) < 0;
    });
    bool vulnerable = false;
    std::string fixed, last;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      switch (e.kind) {
      case OsvEvent::Kind::introduced:
        if (e.version == "0" || cmp(version, e.version) >= 0) {
          vulnerable = true;
          // The end of this range: the next fixed / last_affected event after it.
          fixed.clear();
          last.clear();
          for (std::size_t k = i + 1; k < events.size(); ++k) {
            if (events[k].kind == OsvEvent::Kind::fixed) { fixed = events[k].version; break; }
            if (events[k].kind == OsvEvent::Kind::last_affected) { last = events[k].version; break; }
            if (events[k].kind == OsvEvent::Kind::introduced) break;
          }
        }
        break;
      case OsvEvent::Kind::fixed:
        if (cmp(version, e.version) >= 0) vulnerable = false;
        break;
      case OsvEvent::Kind::last_affected:
        if (cmp(version, e.version) > 0) vulnerable = false;
        break;
      case OsvEvent::Kind::limit: break;
      }
    }
    if (vulnerable) {
      m.affected = true;
      if (m.fixed.empty()) m.fixed = fixed;
      if (m.last_affected.empty()) m.last_affected = last;
    }
  }
  m.unevaluated_git = !m.affected && only_git;
  return m;
}

} // namespace echo::vuln
