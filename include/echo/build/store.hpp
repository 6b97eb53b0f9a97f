#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace echo::build {

/// The content-addressed package store: <dir>/<key>/{root/, meta.json, build.log}.
/// An entry appears only by rename() of a complete temporary directory, so a build killed at any moment
/// (even with kill -9) leaves at most a `.tmp-*` directory that no lookup ever returns.
class Store {
public:
  explicit Store(std::filesystem::path dir);
  const std::filesystem::path& dir() const noexcept { return m_dir; }
  /// The entry for key, if complete.
  std::optional<std::filesystem::path> find(const std::string& key) const;
  /// A fresh temporary directory inside the store for building `key` (same file system as the entries).
  std::filesystem::path make_temp(const std::string& key) const;
  /// Publishes a finished temporary directory as the entry for key (atomic rename). If another process
  /// published the same key first, the temporary directory is removed and the existing entry is kept.
  std::filesystem::path commit(const std::filesystem::path& temp, const std::string& key) const;
  /// Removes `.tmp-*` leftovers of builds that died (those whose owning process is gone).
  void clean_stale() const;

private:
  std::filesystem::path m_dir;
};

} // namespace echo::build
