// Advisory files: parsing with file:line:col diagnostics (same reader as recipes) and lint's cross-checks.
#include "echo/recipe/advisory.hpp"
#include "echo/recipe/loader.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "recipe/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace echo::recipe {

using detail::YamlReader;

const std::vector<std::string>& vex_justifications() {
  static const std::vector<std::string> list = {
      "component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
      "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist"};
  return list;
}

bool valid_vulnerability_id(std::string_view id) {
  static const std::regex cve(R"(CVE-\d{4}-\d{4,})");
  static const std::regex ghsa(R"(GHSA(-[23456789cfghjmpqrvwx]{4}){3})");
  static const std::regex other(R"([A-Z][A-Za-z0-9]*-[A-Za-z0-9_.:-]+)");
  std::string s(id);
  if (s.rfind("CVE-", 0) == 0) return std::regex_match(s, cve);
  if (s.rfind("GHSA-", 0) == 0) return std::regex_match(s, ghsa);
  return std::regex_match(s, other);
}

namespace {

bool valid_date(std::string_view d) {
  static const std::regex day(R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))");
  static const std::regex rfc3339(R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  std::string s(d);
  return std::regex_match(s, day) || std::regex_match(s, rfc3339);
}

void parse_event(YamlReader& r, const yaml::Node& n, Advisory& adv) {
  if (!r.check_map(n, "advisory event",
                   {"timestamp", "type", "fixed-version", "patch", "justification", "impact", "note", "expires"},
                   {"timestamp", "type"}))
    return;
  AdvisoryEvent e;
  e.where = r.where(n.mark());
  auto get = [&](const char* key, std::string& out) {
    if (n[key])
      if (auto s = r.str(n[key], key)) out = *s;
  };
  get("timestamp", e.timestamp);
  std::string type;
  get("type", type);
  get("fixed-version", e.fixed_version);
  get("patch", e.patch);
  get("justification", e.justification);
  get("impact", e.impact);
  get("note", e.note);
  get("expires", e.expires);
  if (n["timestamp"] && !e.timestamp.empty() && !valid_date(e.timestamp))
    r.error(n["timestamp"].mark(), "timestamp '" + e.timestamp + "' is not YYYY-MM-DD or RFC 3339");
  if (n["expires"] && !std::regex_match(e.expires, std::regex(R"(\d{4}-\d{2}-\d{2})")))
    r.error(n["expires"].mark(), "expires '" + e.expires + "' is not a date YYYY-MM-DD");
  auto forbid = [&](const char* key, const std::string& t) {
    if (n[key]) r.error(n[key].mark(), std::string("'") + key + "' does not belong to a '" + t + "' event");
  };
  if (type == "fixed") {
    e.type = AdvisoryEvent::Type::fixed;
    if (!n["fixed-version"]) r.error(n.mark(), "a 'fixed' event needs fixed-version (our full version with the fix, e.g. 1.2.3-r1)");
    else if (!is_valid_version(e.fixed_version) || e.fixed_version.find("-r") == std::string::npos)
      r.error(n["fixed-version"].mark(), "fixed-version '" + e.fixed_version +
                                             "' must be a full version VERSION-rRELEASE (e.g. 1.2.3-r1)");
    forbid("justification", type);
    forbid("impact", type);
  } else if (type == "not-affected") {
    e.type = AdvisoryEvent::Type::not_affected;
    if (!n["justification"]) {
      r.error(n.mark(), "a 'not-affected' event needs a justification (one of the OpenVEX justifications)");
    } else {
      const auto& allowed = vex_justifications();
      if (std::find(allowed.begin(), allowed.end(), e.justification) == allowed.end()) {
        std::string list;
        for (const auto& j : allowed) list += (list.empty() ? "" : ", ") + j;
        r.error(n["justification"].mark(), "justification '" + e.justification + "' is not an OpenVEX justification (" + list + ")");
      }
    }
    if (!n["impact"] || e.impact.empty()) r.error(n.mark(), "a 'not-affected' event needs an impact: the reason, in words");
    forbid("fixed-version", type);
    forbid("patch", type);
  } else if (type == "pending-upstream") {
    e.type = AdvisoryEvent::Type::pending_upstream;
    if (!n["note"] || e.note.empty()) r.error(n.mark(), "a 'pending-upstream' event needs a note (what we wait for)");
    forbid("fixed-version", type);
    forbid("justification", type);
  } else if (n["type"]) {
    r.error(n["type"].mark(), "unknown event type '" + type + "' (fixed, not-affected, pending-upstream)");
  }
  if (!adv.events.empty() && !e.timestamp.empty() && e.timestamp.substr(0, 10) < adv.events.back().timestamp.substr(0, 10))
    r.error(n["timestamp"].mark(), "events must be in time order: " + e.timestamp + " is before the previous event's " +
                                       adv.events.back().timestamp);
  adv.events.push_back(std::move(e));
}

} // namespace

const AdvisoryEvent* Advisory::current(const std::string& today) const {
  for (auto it = events.rbegin(); it != events.rend(); ++it)
    if (it->expires.empty() || it->expires >= today) return &*it;
  return nullptr;
}

std::optional<AdvisoryFile> parse_advisory_file(std::string_view raw, const fs::path& path, Diagnostics& diags) {
  const std::string text = normalize_newlines(raw);
  YamlReader r(text, path.string(), diags);
  std::size_t before = diags.size();
  yaml::Node doc;
  try {
    doc = yaml::Load(text);
  } catch (const yaml::Exception& e) {
    r.error(e.mark, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
  if (!r.check_map(doc, "advisory file", {"package", "advisories"}, {"package", "advisories"})) return std::nullopt;
  AdvisoryFile f;
  f.file = path;
  if (doc["package"]) f.package = r.str(doc["package"], "package").value_or("");
  const yaml::Node list = doc["advisories"];
  if (list && !list.IsSequence()) {
    r.error(list.mark(), "advisories must be a sequence");
  } else if (list) {
    std::set<std::string> seen;
    for (const auto& item : list) {
      if (!r.check_map(item, "advisory", {"id", "aliases", "events"}, {"id", "events"})) continue;
      Advisory a;
      a.where = r.where(item.mark());
      if (item["id"]) a.id = r.str(item["id"], "id").value_or("");
      if (item["id"] && !a.id.empty() && !valid_vulnerability_id(a.id))
        r.error(item["id"].mark(), "'" + a.id + "' is not a vulnerability id (CVE-YYYY-NNNN, GHSA-xxxx-xxxx-xxxx or an OSV id)");
      if (!a.id.empty() && !seen.insert(a.id).second) r.error(item["id"].mark(), "advisory " + a.id + " appears twice in this file");
      if (item["aliases"]) {
        a.aliases = r.str_list(item["aliases"], "aliases");
        for (const auto& al : a.aliases)
          if (!valid_vulnerability_id(al)) r.error(item["aliases"].mark(), "alias '" + al + "' is not a vulnerability id");
      }
      if (const yaml::Node ev = item["events"]) {
        if (!ev.IsSequence() || ev.size() == 0) r.error(ev.mark(), "events must be a non-empty sequence");
        else
          for (const auto& e : ev) parse_event(r, e, a);
      }
      f.advisories.push_back(std::move(a));
    }
  }
  if (diags.size() != before) return std::nullopt;
  return f;
}

std::vector<AdvisoryFile> load_advisories(const std::vector<fs::path>& recipe_dirs, Diagnostics& diags) {
  std::vector<AdvisoryFile> out;
  for (const auto& dir : recipe_dirs) {
    fs::path adir = dir / "advisories";
    std::error_code ec;
    if (!fs::is_directory(adir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(adir, ec))
      if (e.is_regular_file() && (e.path().extension() == ".yaml" || e.path().extension() == ".yml")) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& p : files) {
      std::string text;
      try {
        text = read_file(p);
      } catch (const Error& e) {
        diags.add({{p.string(), 1, 1}, e.what(), ""});
        continue;
      }
      if (auto f = parse_advisory_file(text, p, diags)) out.push_back(std::move(*f));
    }
  }
  return out;
}

void check_advisories(const std::vector<AdvisoryFile>& files, const RecipeSet& set, const std::string& today,
                      Diagnostics& diags) {
  for (const auto& f : files) {
    Location top{f.file.string(), 1, 1};
    auto it = set.packages.find(f.package);
    if (it == set.packages.end()) {
      diags.add({top, "advisories for unknown package '" + f.package + "': no package recipe has that name", ""});
      continue;
    }
    if (f.file.stem().string() != f.package)
      diags.add({top, "advisory file for package '" + f.package + "' must be named " + f.package + ".yaml", ""});
    for (const auto& a : f.advisories)
      for (const auto& e : a.events) {
        if (!e.expires.empty() && e.expires < today)
          diags.add({e.where, a.id + ": event expired on " + e.expires + " (review it: record a new event or extend 'expires')", ""});
        if (e.type != AdvisoryEvent::Type::fixed) continue;
        const PackageRecipe* match = nullptr;
        for (const auto& p : it->second)
          if (p.full_version() == e.fixed_version) match = &p;
        if (!match) {
          diags.add({e.where, a.id + ": fixed-version " + e.fixed_version + " is not a version of any recipe of " + f.package +
                                  " (have: " + it->second.front().full_version() + ")", ""});
          continue;
        }
        if (!e.patch.empty() &&
            std::none_of(match->patches.begin(), match->patches.end(), [&](const Patch& p) {
              return p.name == e.patch || fs::path(p.name).filename() == e.patch;
            }))
          diags.add({e.where, a.id + ": patch '" + e.patch + "' is not one of the patches of " + f.package + " " +
                                  e.fixed_version + " (" + match->file.string() + ")", ""});
      }
  }
}

std::string today_utc() {
  if (const char* t = std::getenv("ECHO_TODAY"); t && *t) return t;
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

} // namespace echo::recipe
