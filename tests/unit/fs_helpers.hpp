#pragma once
// Small file-system helpers shared by the unit tests of several modules.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace echo::test {

/// Sorted names in dir (not recursive); empty when dir does not exist.
inline std::vector<std::string> list_dir(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace echo::test
