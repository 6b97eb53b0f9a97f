// Plan renderings: text for people, JSON for machines, dot for graphviz. All deterministic.
#include "echo/resolve/plan.hpp"

#include <nlohmann/json.hpp>

namespace echo::resolve {

std::string plan_text(const Plan& plan) {
  std::string s;
  if (plan.image) s += "image " + plan.image->name + " (" + plan.image->file.string() + ")\n";
  s += "packages in the image:";
  for (const auto& n : plan.runtime_closure) s += " " + n + "@" + plan.packages.at(n).recipe->full_version();
  s += "\n";
  for (std::size_t w = 0; w < plan.waves.size(); ++w) {
    s += "wave " + std::to_string(w + 1) + " (" + std::to_string(plan.waves[w].size()) + " in parallel):\n";
    for (const auto& n : plan.waves[w]) {
      const auto& p = plan.packages.at(n);
      s += "  " + n + " " + p.recipe->full_version();
      if (!p.build_closure.empty()) {
        s += "  [build with:";
        for (const auto& d : p.build_closure) s += " " + d;
        s += "]";
      }
      s += "\n";
    }
  }
  s += std::to_string(plan.packages.size()) + " packages to build in " + std::to_string(plan.waves.size()) + " waves\n";
  return s;
}

std::string plan_json(const Plan& plan) {
  nlohmann::json j;
  if (plan.image) j["image"] = {{"name", plan.image->name}, {"recipe", plan.image->file.string()},
                                {"recipeSha256", plan.image->content_sha256}, {"tags", plan.image->tags}};
  j["roots"] = plan.roots;
  j["runtimeClosure"] = plan.runtime_closure;
  j["waves"] = plan.waves;
  nlohmann::json pkgs = nlohmann::json::array();
  for (const auto& [name, p] : plan.packages) {
    nlohmann::json sources = nlohmann::json::array();
    for (const auto& src : p.recipe->sources)
      sources.push_back({{"uri", src.is_local() ? "path:" + src.local_name : src.url}, {"sha256", src.sha256}});
    pkgs.push_back({{"name", name},
                    {"version", p.recipe->full_version()},
                    {"recipe", p.recipe->file.string()},
                    {"recipeSha256", p.recipe->content_sha256},
                    {"buildDeps", p.build_deps},
                    {"runtimeDeps", p.runtime_deps},
                    {"buildClosure", p.build_closure},
                    {"sources", sources},
                    {"wave", p.wave + 1}});
  }
  j["packages"] = pkgs;
  return j.dump(2) + "\n";
}

std::string plan_dot(const Plan& plan) {
  auto q = [](const std::string& s) { return "\"" + s + "\""; };
  std::string s = "digraph echo {\n  rankdir=LR;\n  node [shape=box];\n";
  if (plan.image) {
    s += "  " + q("image:" + plan.image->name) + " [shape=doubleoctagon];\n";
    for (const auto& r : plan.roots) s += "  " + q("image:" + plan.image->name) + " -> " + q(r) + ";\n";
  }
  for (const auto& [name, p] : plan.packages) {
    s += "  " + q(name) + " [label=" + q(name + "\\n" + p.recipe->full_version()) + "];\n";
    for (const auto& d : p.build_deps) s += "  " + q(name) + " -> " + q(d) + " [label=build];\n";
    for (const auto& d : p.runtime_deps) s += "  " + q(name) + " -> " + q(d) + " [style=dashed,label=runtime];\n";
  }
  return s + "}\n";
}

} // namespace echo::resolve
