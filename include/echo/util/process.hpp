#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace echo {

/// Runs argv (explicit, no shell; argv[0] looked up in PATH) in cwd with stdin /dev/null and stderr discarded;
/// returns its stdout when it exits 0, nullopt otherwise (including when it cannot be started).
std::optional<std::string> capture_output(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {});

} // namespace echo
