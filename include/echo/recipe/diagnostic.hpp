#pragma once
#include "echo/recipe/recipe.hpp"

#include <string>
#include <vector>

namespace echo::recipe {

/// One recipe error, rendered like a compiler's: `file:line:col: message`, the line, a caret under the spot.
struct Diagnostic {
  Location where;
  std::string message;
  std::string line_text; ///< the quoted source line ("" when there is none)
  std::string render() const;
};

/// Collects diagnostics while loading; lint reports them all, other commands throw on the first batch.
class Diagnostics {
public:
  void add(Diagnostic d) { m_items.push_back(std::move(d)); }
  bool empty() const noexcept { return m_items.empty(); }
  std::size_t size() const noexcept { return m_items.size(); }
  const std::vector<Diagnostic>& items() const noexcept { return m_items; }
  /// All rendered, separated by newlines.
  std::string render() const;
  /// Throws Error(recipe) with render() if any diagnostic was added.
  void throw_if_any() const;

private:
  std::vector<Diagnostic> m_items;
};

} // namespace echo::recipe
