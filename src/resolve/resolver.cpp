// Version selection and build ordering.
#include "echo/resolve/lockfile.hpp"
#include "echo/resolve/plan.hpp"
#include "echo/util/error.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <set>

namespace echo::resolve {

using recipe::Dependency;
using recipe::PackageRecipe;
using recipe::RecipeSet;

namespace {

struct Imposed {
  const Dependency* dep;
  std::string who; // "image 'example'" or "build dependency of 'foo' 1.0-r0"
};

std::string where(const recipe::Location& l) { return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column); }

class Resolver {
public:
  Resolver(const RecipeSet& set, const Lockfile* lock) : m_set(set), m_lock(lock) {}

  // Picks versions for everything reachable from roots; fixed point because a different version of a package
  // may bring different constraints.
  std::map<std::string, const PackageRecipe*> select(const std::vector<Dependency>& roots, const std::string& root_who) {
    std::map<std::string, const PackageRecipe*> chosen;
    for (int round = 0; round < 64; ++round) {
      std::map<std::string, std::vector<Imposed>> constraints;
      std::deque<std::string> queue;
      std::set<std::string> seen;
      auto impose = [&](const Dependency& d, std::string who) {
        constraints[d.name].push_back({&d, std::move(who)});
        if (seen.insert(d.name).second) queue.push_back(d.name);
      };
      for (const auto& r : roots) impose(r, root_who);
      while (!queue.empty()) {
        std::string name = queue.front();
        queue.pop_front();
        const PackageRecipe* p = chosen.count(name) ? chosen[name] : best(name, constraints[name]);
        if (!p) continue; // diagnosed below
        std::string id = "'" + p->name + "' " + p->full_version();
        for (const auto& d : p->build_deps) impose(d, "build dependency of " + id);
        for (const auto& d : p->runtime_deps) impose(d, "runtime dependency of " + id);
      }
      bool changed = false;
      std::map<std::string, const PackageRecipe*> next;
      for (const auto& [name, imposed] : constraints) {
        const PackageRecipe* b = best(name, imposed);
        if (!b) conflict(name, imposed);
        next[name] = b;
        if (!chosen.count(name) || chosen[name] != b) changed = true;
      }
      if (next.size() != chosen.size()) changed = true;
      chosen = std::move(next);
      if (!changed) return chosen;
    }
    throw Error(ErrorKind::recipe, "version selection did not settle after 64 rounds (constraints keep changing)");
  }

private:
  const RecipeSet& m_set;
  const Lockfile* m_lock;

  const PackageRecipe* best(const std::string& name, const std::vector<Imposed>& imposed) const {
    auto it = m_set.packages.find(name);
    if (it == m_set.packages.end()) return nullptr;
    auto ok = [&](const PackageRecipe& p) {
      return std::all_of(imposed.begin(), imposed.end(),
                         [&](const Imposed& i) { return i.dep->constraint.satisfied_by(p.full_version()); });
    };
    if (m_lock)
      for (const auto& v : m_lock->versions_of(name))
        for (const auto& p : it->second)
          if (p.full_version() == v && ok(p)) return &p;
    for (const auto& p : it->second) // highest first
      if (ok(p)) return &p;
    return nullptr;
  }

  [[noreturn]] void conflict(const std::string& name, const std::vector<Imposed>& imposed) const {
    auto it = m_set.packages.find(name);
    if (it == m_set.packages.end())
      throw Error(ErrorKind::recipe, "no package recipe named '" + name + "' (needed as " + imposed.front().who +
                                         ", " + where(imposed.front().dep->where) + ")");
    std::string msg = "no version of '" + name + "' satisfies every constraint:";
    for (const auto& i : imposed)
      msg += "\n  " + (i.dep->constraint.empty() ? std::string("any version") : i.dep->constraint.str()) + "  (" + i.who +
             ", " + where(i.dep->where) + ")";
    msg += "\navailable versions:";
    for (const auto& p : it->second) msg += " " + p.full_version();
    throw Error(ErrorKind::recipe, msg);
  }
};

std::vector<std::string> names(const std::vector<Dependency>& deps) {
  std::vector<std::string> out;
  for (const auto& d : deps) out.push_back(d.name);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Plan make_plan(const RecipeSet& set, const std::vector<Dependency>& roots, const std::string& root_who,
               const Lockfile* lock) {
  auto chosen = Resolver(set, lock).select(roots, root_who);
  Plan plan;
  plan.roots = names(roots);
  for (const auto& [name, p] : chosen) {
    PlannedPackage& pp = plan.packages[name];
    pp.recipe = p;
    pp.build_deps = names(p->build_deps);
    pp.runtime_deps = names(p->runtime_deps);
  }
  // Runtime closures (memoized; runtime cycles are fine for installing, so a visited set suffices).
  std::map<std::string, std::vector<std::string>> rt;
  auto runtime_closure = [&](const std::string& start) -> const std::vector<std::string>& {
    auto it = rt.find(start);
    if (it != rt.end()) return it->second;
    std::set<std::string> seen{start};
    std::vector<std::string> stack{start};
    while (!stack.empty()) {
      std::string n = stack.back();
      stack.pop_back();
      for (const auto& d : plan.packages.at(n).runtime_deps)
        if (seen.insert(d).second) stack.push_back(d);
    }
    return rt[start] = std::vector<std::string>(seen.begin(), seen.end());
  };
  for (auto& [name, pp] : plan.packages) {
    std::set<std::string> c;
    for (const auto& d : pp.build_deps)
      for (const auto& x : runtime_closure(d)) c.insert(x);
    pp.build_closure.assign(c.begin(), c.end());
  }
  {
    std::set<std::string> image;
    for (const auto& r : plan.roots)
      for (const auto& x : runtime_closure(r)) image.insert(x);
    plan.runtime_closure.assign(image.begin(), image.end());
  }
  // Waves by depth-first search over "must be built before" edges, reporting a cycle with its path.
  enum class Mark { none, active, done };
  std::map<std::string, Mark> mark;
  std::vector<std::string> path;
  std::function<int(const std::string&)> visit = [&](const std::string& n) -> int {
    Mark& m = mark[n];
    if (m == Mark::done) return plan.packages.at(n).wave;
    if (m == Mark::active) {
      // Print the cycle over direct edges (shortest, by BFS), so every link is a line in some recipe.
      std::map<std::string, std::string> parent;
      std::deque<std::string> q{n};
      std::string last;
      while (!q.empty() && last.empty()) {
        std::string cur = q.front();
        q.pop_front();
        const auto& pp = plan.packages.at(cur);
        std::vector<std::string> next = pp.build_deps;
        next.insert(next.end(), pp.runtime_deps.begin(), pp.runtime_deps.end());
        for (const auto& d : next) {
          if (d == n) { last = cur; break; }
          if (!parent.count(d)) { parent[d] = cur; q.push_back(d); }
        }
      }
      std::vector<std::string> chain{n};
      for (std::string c = last; !c.empty() && c != n; c = parent[c]) chain.push_back(c);
      std::reverse(chain.begin() + 1, chain.end());
      std::string cyc;
      for (const auto& c : chain) cyc += c + " -> ";
      cyc += n;
      throw Error(ErrorKind::recipe, "dependency cycle: " + cyc + " (a package cannot be built before itself; " +
                                         plan.packages.at(n).recipe->file.string() + ")");
    }
    m = Mark::active;
    path.push_back(n);
    int wave = 0;
    for (const auto& d : plan.packages.at(n).build_closure) wave = std::max(wave, visit(d) + 1);
    path.pop_back();
    mark[n] = Mark::done;
    plan.packages.at(n).wave = wave;
    return wave;
  };
  for (const auto& [name, pp] : plan.packages) visit(name);
  for (const auto& [name, pp] : plan.packages) {
    if (plan.waves.size() <= static_cast<std::size_t>(pp.wave)) plan.waves.resize(static_cast<std::size_t>(pp.wave) + 1);
    plan.waves[static_cast<std::size_t>(pp.wave)].push_back(name);
  }
  return plan;
}

} // namespace

Plan plan_image(const RecipeSet& set, const recipe::ImageRecipe& image, const Lockfile* lock) {
  Plan p = make_plan(set, image.packages, "image '" + image.name + "'", lock);
  p.image = &image;
  return p;
}

Plan plan_package(const RecipeSet& set, const Dependency& root, const Lockfile* lock) {
  return make_plan(set, {root}, "requested on the command line", lock);
}

} // namespace echo::resolve
