#pragma once
// Internal to the source module: the path rules unpack() enforces, kept apart so tests can reach them.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace echo::source::detail {

/// Components of an archive entry path with "" and "." dropped. Throws Error(source) with the bare reason
/// ("absolute path", "path contains '..'") for paths that could leave the tree.
std::vector<std::string> entry_components(std::string_view raw);

/// Whether a symlink at `link` (components relative to `root`) with `target` stays inside `root`, resolving the
/// target relative to the link's own directory and following symlinks that already exist under `root`
/// (never outside it). Absolute targets are outside by definition.
bool symlink_stays_inside(const std::filesystem::path& root, const std::vector<std::string>& link,
                          std::string_view target);

/// First symlink under `root` (sorted walk) whose target leaves the tree, as a path relative to root; "" if none.
/// Catches chains that only escape once later entries exist (`l2 -> d/l1/..` before `d/l1 -> ..`).
std::string find_escaping_symlink(const std::filesystem::path& root);

/// First existing symlink among the proper prefixes of `comps` under `root` (relative path), "" if none.
std::string symlink_in_parents(const std::filesystem::path& root, const std::vector<std::string>& comps);

/// Joins components with '/'.
std::string join(const std::vector<std::string>& comps, size_t count);

} // namespace echo::source::detail
