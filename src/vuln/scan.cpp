// Package <-> record matching, alias de-duplication and advisory/VEX statuses.
#include "echo/vuln/scan.hpp"

#include "echo/recipe/identity.hpp"
#include "echo/recipe/version.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <set>

namespace echo::vuln {

const char* to_string(Status s) noexcept {
  switch (s) {
  case Status::affected: return "affected";
  case Status::pending_upstream: return "pending-upstream";
  case Status::fixed: return "fixed";
  case Status::not_affected: return "not-affected";
  }
  return "affected";
}

std::string upstream_version(const ScanPackage& p) {
  if (auto parts = recipe::split_purl(p.purl); parts && !parts->version.empty()) return parts->version;
  std::string v = p.version;
  if (auto colon = v.find(':'); colon != std::string::npos) v = v.substr(colon + 1);
  if (auto r = v.rfind("-r"); r != std::string::npos && r + 2 < v.size() &&
                              std::all_of(v.begin() + static_cast<long>(r) + 2, v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    v = v.substr(0, r);
  return v;
}

namespace {

std::string purl_name(const std::string& base) {
  auto slash = base.rfind('/');
  return slash == std::string::npos ? base : base.substr(slash + 1);
}

bool names_package(const OsvAffected& a, const ScanPackage& p, const std::string& base) {
  if (!a.purl_base.empty()) return a.purl_base == base;
  if (a.ecosystem == "echo-build") return a.name == p.name || a.name == purl_name(base);
  return false;
}

bool better_id(const std::string& a, const std::string& b) {
  bool ca = a.rfind("CVE-", 0) == 0, cb = b.rfind("CVE-", 0) == 0;
  if (ca != cb) return ca;
  return a < b;
}

} // namespace

std::vector<Finding> match(const std::vector<OsvRecord>& records, const std::vector<ScanPackage>& packages,
                           std::vector<std::string>* git_only) {
  struct Hit {
    std::size_t record;
    std::size_t package;
    RangeMatch m;
  };
  std::vector<Hit> hits;
  for (std::size_t pi = 0; pi < packages.size(); ++pi) {
    const auto& p = packages[pi];
    auto parts = recipe::split_purl(p.purl);
    const std::string base = parts ? parts->base : "pkg:generic/" + p.name;
    const std::string version = upstream_version(p);
    for (std::size_t ri = 0; ri < records.size(); ++ri) {
      const auto& r = records[ri];
      if (!r.withdrawn.empty()) continue;
      for (const auto& a : r.affected) {
        if (!names_package(a, p, base)) continue;
        RangeMatch m = evaluate(a, version);
        if (m.affected) {
          hits.push_back({ri, pi, m});
          break;
        }
        if (m.unevaluated_git && git_only) git_only->push_back(r.id + " (" + p.name + ")");
      }
    }
  }
  // Group the hits of one package whose records share an id or alias (union-find over ids).
  std::map<std::string, std::string> parent;
  std::function<std::string(const std::string&)> find = [&](const std::string& x) {
    auto it = parent.find(x);
    if (it == parent.end() || it->second == x) return x;
    return it->second = find(it->second);
  };
  auto unite = [&](const std::string& a, const std::string& b) {
    std::string ra = find(a), rb = find(b);
    parent.emplace(ra, ra);
    parent.emplace(rb, rb);
    if (ra != rb) parent[rb] = ra;
  };
  auto key = [&](std::size_t pkg, const std::string& id) { return std::to_string(pkg) + "\n" + id; };
  for (const auto& h : hits) {
    const auto& r = records[h.record];
    unite(key(h.package, r.id), key(h.package, r.id));
    for (const auto& al : r.aliases) unite(key(h.package, r.id), key(h.package, al));
  }
  std::map<std::string, Finding> groups;
  std::map<std::string, std::set<std::string>> group_ids;
  for (const auto& h : hits) {
    const auto& r = records[h.record];
    const auto& p = packages[h.package];
    std::string root = find(key(h.package, r.id));
    auto [it, fresh] = groups.try_emplace(root);
    Finding& f = it->second;
    if (fresh) {
      f.package = p.name;
      f.installed = p.version;
      f.upstream_version = upstream_version(p);
      f.purl = p.purl;
    }
    auto& ids = group_ids[root];
    ids.insert(r.id);
    ids.insert(r.aliases.begin(), r.aliases.end());
    if (f.summary.empty()) f.summary = r.summary;
    if (f.fixed.empty()) f.fixed = h.m.fixed;
    if (f.last_affected.empty()) f.last_affected = h.m.last_affected;
    for (const auto& s : r.severity)
      if (std::find(f.severity.begin(), f.severity.end(), s) == f.severity.end()) f.severity.push_back(s);
    for (const auto& s : r.references)
      if (std::find(f.references.begin(), f.references.end(), s) == f.references.end()) f.references.push_back(s);
    f.origins.push_back(r.origin);
  }
  std::vector<Finding> out;
  for (auto& [root, f] : groups) {
    std::vector<std::string> ids(group_ids[root].begin(), group_ids[root].end());
    std::sort(ids.begin(), ids.end(), better_id);
    f.id = ids.front();
    f.aliases.assign(ids.begin() + 1, ids.end());
    std::sort(f.aliases.begin(), f.aliases.end());
    std::sort(f.origins.begin(), f.origins.end());
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.package, a.id) < std::tie(b.package, b.id);
  });
  return out;
}

void apply(std::vector<Finding>& findings, const std::vector<Statement>& statements) {
  for (auto& f : findings) {
    std::set<std::string> ids(f.aliases.begin(), f.aliases.end());
    ids.insert(f.id);
    auto base = recipe::split_purl(f.purl);
    for (const auto& s : statements) {
      bool id_match = ids.count(s.vulnerability) > 0;
      for (const auto& a : s.aliases) id_match = id_match || ids.count(a) > 0;
      if (!id_match) continue;
      bool pkg_match = (!s.package.empty() && s.package == f.package) ||
                       (!s.purl_base.empty() && base && s.purl_base == base->base);
      if (!pkg_match) continue;
      if (s.status == Status::fixed && !s.fixed_version.empty() &&
          recipe::compare_versions(f.installed, s.fixed_version) < 0) {
        f.statement = s.source + " says fixed in " + s.fixed_version + ", but " + f.installed + " is installed";
        continue;
      }
      f.status = s.status;
      f.justification = s.justification;
      f.statement = s.status == Status::not_affected ? s.impact : s.note;
      if (s.status == Status::fixed && f.statement.empty()) f.statement = "fixed in " + s.fixed_version;
      f.status_source = s.source;
    }
  }
}

Summary summarize(const std::vector<Finding>& findings) {
  Summary s;
  for (const auto& f : findings) {
    switch (f.status) {
    case Status::affected: ++s.affected; break;
    case Status::pending_upstream: ++s.pending; break;
    case Status::fixed: ++s.fixed; break;
    case Status::not_affected: ++s.not_affected; break;
    }
  }
  return s;
}

} // namespace echo::vuln
