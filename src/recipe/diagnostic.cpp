#include "echo/recipe/diagnostic.hpp"

#include "echo/util/error.hpp"

namespace echo::recipe {

std::string Diagnostic::render() const {
  std::string s = where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + message;
  if (!line_text.empty()) {
    s += "\n    " + line_text + "\n    ";
    // Keep tabs in the caret line so the caret stays under the spot.
    for (int i = 1; i < where.column && static_cast<std::size_t>(i - 1) < line_text.size(); ++i)
      s += line_text[static_cast<std::size_t>(i - 1)] == '\t' ? '\t' : ' ';
    s += "^";
  }
  return s;
}

std::string Diagnostics::render() const {
  std::string s;
  for (const auto& d : m_items) {
    if (!s.empty()) s += "\n";
    s += d.render();
  }
  return s;
}

void Diagnostics::throw_if_any() const {
  if (!m_items.empty()) throw Error(ErrorKind::recipe, render());
}

} // namespace echo::recipe
