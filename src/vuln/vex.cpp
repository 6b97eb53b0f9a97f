// OpenVEX documents: made from advisories, checked against the spec's schema rules, read back for scan --vex.
#include "echo/vuln/vex.hpp"

#include "echo/recipe/identity.hpp"
#include "echo/recipe/version.hpp"
#include "echo/util/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>
#include <set>

namespace echo::vuln {

namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

std::string rfc3339(const std::string& ts) {
  return ts.size() == 10 ? ts + "T00:00:00Z" : ts;
}

const char* vex_status(Status s) {
  switch (s) {
  case Status::affected:
  case Status::pending_upstream: return "affected";
  case Status::fixed: return "fixed";
  case Status::not_affected: return "not_affected";
  }
  return "affected";
}

bool is_rfc3339(const std::string& s) {
  static const std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  return std::regex_match(s, re);
}

} // namespace

std::vector<Statement> statements_from_advisories(const std::vector<recipe::AdvisoryFile>& files,
                                                  const std::vector<ScanPackage>& packages, const std::string& today) {
  std::vector<Statement> out;
  for (const auto& f : files) {
    auto pkg = std::find_if(packages.begin(), packages.end(), [&](const ScanPackage& p) { return p.name == f.package; });
    if (pkg == packages.end()) continue;
    for (const auto& a : f.advisories) {
      const recipe::AdvisoryEvent* e = a.current(today);
      if (!e) continue;
      Statement s;
      s.vulnerability = a.id;
      s.aliases = a.aliases;
      s.package = f.package;
      s.source = e->where.file + ":" + std::to_string(e->where.line) + ":" + std::to_string(e->where.column);
      s.note = e->note;
      s.fixed_version = e->fixed_version;
      switch (e->type) {
      case recipe::AdvisoryEvent::Type::fixed:
        if (recipe::compare_versions(pkg->version, e->fixed_version) < 0) continue;
        s.status = Status::fixed;
        if (s.note.empty())
          s.note = "fixed in " + e->fixed_version + (e->patch.empty() ? "" : " by patch " + e->patch);
        break;
      case recipe::AdvisoryEvent::Type::not_affected:
        s.status = Status::not_affected;
        s.justification = e->justification;
        s.impact = e->impact;
        break;
      case recipe::AdvisoryEvent::Type::pending_upstream:
        s.status = Status::pending_upstream;
        break;
      }
      s.timestamp = rfc3339(e->timestamp);
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::string make_openvex(const std::string& doc_id, const std::string& image_purl, const std::string& timestamp,
                         const std::vector<Statement>& statements, const std::vector<ScanPackage>& packages,
                         const std::string& tool) {
  ojson doc;
  doc["@context"] = k_openvex_context;
  doc["@id"] = doc_id;
  doc["author"] = "echo-build";
  doc["role"] = "Document Creator";
  doc["timestamp"] = timestamp;
  doc["version"] = 1;
  doc["tooling"] = tool;
  ojson list = ojson::array();
  std::vector<Statement> sorted = statements;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Statement& a, const Statement& b) {
    return std::tie(a.package, a.vulnerability) < std::tie(b.package, b.vulnerability);
  });
  for (const auto& s : sorted) {
    auto pkg = std::find_if(packages.begin(), packages.end(), [&](const ScanPackage& p) { return p.name == s.package; });
    if (pkg == packages.end()) continue;
    ojson st;
    ojson vuln{{"name", s.vulnerability}};
    if (!s.aliases.empty()) vuln["aliases"] = s.aliases;
    st["vulnerability"] = vuln;
    st["timestamp"] = s.timestamp.empty() ? timestamp : s.timestamp;
    st["products"] = ojson::array({{{"@id", image_purl}, {"subcomponents", ojson::array({{{"@id", pkg->purl}}})}}});
    st["status"] = vex_status(s.status);
    if (s.status == Status::not_affected) {
      st["justification"] = s.justification;
      st["impact_statement"] = s.impact;
    } else if (s.status == Status::pending_upstream || s.status == Status::affected) {
      st["action_statement"] = "No fix is available yet; waiting for upstream: " + s.note;
    } else if (!s.note.empty()) {
      st["status_notes"] = s.note;
    }
    list.push_back(st);
  }
  doc["statements"] = list;
  return doc.dump(2) + "\n";
}

std::vector<std::string> openvex_violations(const json& doc) {
  std::vector<std::string> v;
  if (!doc.is_object()) return {"the document is not a JSON object"};
  auto need_string = [&](const json& obj, const char* key, const std::string& where) {
    if (!obj.contains(key)) v.push_back(where + ": missing required '" + key + "'");
    else if (!obj[key].is_string() || obj[key].get<std::string>().empty()) v.push_back(where + ": '" + key + "' must be a non-empty string");
  };
  need_string(doc, "@context", "document");
  if (doc.contains("@context") && doc["@context"].is_string() &&
      doc["@context"].get<std::string>().rfind("https://openvex.dev/ns", 0) != 0)
    v.push_back("document: '@context' must be an https://openvex.dev/ns URI");
  need_string(doc, "@id", "document");
  need_string(doc, "author", "document");
  need_string(doc, "timestamp", "document");
  if (doc.contains("timestamp") && doc["timestamp"].is_string() && !is_rfc3339(doc["timestamp"]))
    v.push_back("document: timestamp is not RFC 3339");
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"].get<long long>() < 1)
    v.push_back("document: 'version' must be an integer >= 1");
  if (!doc.contains("statements") || !doc["statements"].is_array()) {
    v.push_back("document: 'statements' must be an array");
    return v;
  }
  static const std::set<std::string> statuses = {"not_affected", "affected", "fixed", "under_investigation"};
  const auto& js = recipe::vex_justifications();
  for (std::size_t i = 0; i < doc["statements"].size(); ++i) {
    const json& s = doc["statements"][i];
    const std::string w = "statements[" + std::to_string(i) + "]";
    if (!s.is_object()) {
      v.push_back(w + ": not an object");
      continue;
    }
    if (!s.contains("vulnerability") || !s["vulnerability"].is_object()) v.push_back(w + ": 'vulnerability' must be an object");
    else need_string(s["vulnerability"], "name", w + ".vulnerability");
    if (s.contains("vulnerability") && s["vulnerability"].is_object() && s["vulnerability"].contains("aliases") &&
        !s["vulnerability"]["aliases"].is_array())
      v.push_back(w + ".vulnerability: 'aliases' must be an array");
    if (s.contains("timestamp") && (!s["timestamp"].is_string() || !is_rfc3339(s["timestamp"])))
      v.push_back(w + ": timestamp is not RFC 3339");
    if (s.contains("products")) {
      if (!s["products"].is_array()) v.push_back(w + ": 'products' must be an array");
      else
        for (std::size_t k = 0; k < s["products"].size(); ++k) {
          const json& p = s["products"][k];
          if (!p.is_object() || (!p.contains("@id") && !p.contains("identifiers")))
            v.push_back(w + ".products[" + std::to_string(k) + "]: a product needs '@id' or 'identifiers'");
          else if (p.contains("subcomponents") && !p["subcomponents"].is_array())
            v.push_back(w + ".products[" + std::to_string(k) + "]: 'subcomponents' must be an array");
        }
    }
    std::string status = s.contains("status") && s["status"].is_string() ? s["status"].get<std::string>() : "";
    if (!statuses.count(status)) {
      v.push_back(w + ": 'status' must be one of not_affected, affected, fixed, under_investigation");
      continue;
    }
    if (s.contains("justification") &&
        (!s["justification"].is_string() || std::find(js.begin(), js.end(), s["justification"].get<std::string>()) == js.end()))
      v.push_back(w + ": 'justification' is not one of the OpenVEX justifications");
    if (status == "not_affected" && !s.contains("justification") && !s.contains("impact_statement"))
      v.push_back(w + ": a not_affected statement needs 'justification' or 'impact_statement'");
    if (status == "affected" && !s.contains("action_statement"))
      v.push_back(w + ": an affected statement needs 'action_statement'");
  }
  return v;
}

std::vector<Statement> parse_openvex(std::string_view text, const std::string& origin,
                                     const std::vector<ScanPackage>& packages) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) throw Error(ErrorKind::vulndb, origin + ": not valid JSON (an OpenVEX document is expected)");
  if (auto v = openvex_violations(doc); !v.empty())
    throw Error(ErrorKind::vulndb, origin + ": not a valid OpenVEX document: " + v.front() +
                                       (v.size() > 1 ? " (and " + std::to_string(v.size() - 1) + " more)" : ""));
  std::vector<Statement> out;
  for (std::size_t i = 0; i < doc["statements"].size(); ++i) {
    const json& s = doc["statements"][i];
    const std::string where = origin + ": statements[" + std::to_string(i) + "]";
    Statement st;
    st.vulnerability = s["vulnerability"]["name"].get<std::string>();
    if (s["vulnerability"].contains("aliases"))
      for (const auto& a : s["vulnerability"]["aliases"])
        if (a.is_string()) st.aliases.push_back(a.get<std::string>());
    std::string status = s["status"].get<std::string>();
    st.status = status == "fixed" ? Status::fixed : status == "not_affected" ? Status::not_affected : Status::affected;
    if (s.contains("justification")) st.justification = s["justification"].get<std::string>();
    if (s.contains("impact_statement") && s["impact_statement"].is_string()) st.impact = s["impact_statement"].get<std::string>();
    if (s.contains("action_statement") && s["action_statement"].is_string()) st.note = s["action_statement"].get<std::string>();
    st.source = where;
    // Every purl among the products and their subcomponents that is not the image itself must be a package.
    std::vector<std::string> purls;
    if (s.contains("products"))
      for (const auto& p : s["products"]) {
        if (p.contains("@id") && p["@id"].is_string()) purls.push_back(p["@id"].get<std::string>());
        if (p.contains("subcomponents"))
          for (const auto& c : p["subcomponents"])
            if (c.is_object() && c.contains("@id") && c["@id"].is_string()) purls.push_back(c["@id"].get<std::string>());
      }
    bool named = false;
    for (const auto& purl : purls) {
      auto parts = recipe::split_purl(purl);
      if (!parts || parts->base.rfind("pkg:oci/", 0) == 0) continue; // the image (or not a purl)
      auto pkg = std::find_if(packages.begin(), packages.end(), [&](const ScanPackage& p) {
        auto pp = recipe::split_purl(p.purl);
        return pp && pp->base == parts->base && (parts->version.empty() || parts->version == pp->version);
      });
      if (pkg == packages.end())
        throw Error(ErrorKind::vulndb, where + " (" + st.vulnerability + "): " + purl + " is not a package of the image");
      Statement one = st;
      one.package = pkg->name;
      out.push_back(std::move(one));
      named = true;
    }
    if (!named)
      throw Error(ErrorKind::vulndb, where + " (" + st.vulnerability + "): names no package of the image "
                                                                      "(products/subcomponents need the package's purl)");
  }
  return out;
}

} // namespace echo::vuln
