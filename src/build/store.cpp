#include "echo/build/store.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <unistd.h>

namespace fs = std::filesystem;

namespace echo::build {

Store::Store(fs::path dir) : m_dir(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(m_dir, ec);
  if (ec) throw Error(ErrorKind::build, "cannot create the store " + m_dir.string() + ": " + ec.message());
}

std::optional<fs::path> Store::find(const std::string& key) const {
  fs::path p = m_dir / key;
  std::error_code ec;
  // meta.json is written before the rename, so a directory named by the key is always complete.
  if (fs::is_regular_file(p / "meta.json", ec)) return p;
  return std::nullopt;
}

fs::path Store::make_temp(const std::string& key) const {
  // The pid in the name lets clean_stale() tell a live build from a dead one.
  TempDir t(m_dir, ".tmp-" + std::to_string(::getpid()) + "-" + key.substr(0, 16) + "-");
  fs::path p = t.path();
  t.release();
  return p;
}

fs::path Store::commit(const fs::path& temp, const std::string& key) const {
  fs::path final_path = m_dir / key;
  if (::rename(temp.c_str(), final_path.c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) {
      remove_tree(temp); // somebody else built the same key: same inputs, keep theirs
      return final_path;
    }
    throw_errno(ErrorKind::build, "cannot publish " + temp.string() + " as " + final_path.string());
  }
  return final_path;
}

void Store::clean_stale() const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(m_dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(".tmp-", 0) != 0) continue;
    long pid = std::strtol(name.c_str() + 5, nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) && pid != ::getpid()) continue;
    if (pid == ::getpid()) continue;
    try {
      remove_tree(e.path());
    } catch (const Error&) { // a leftover we cannot remove is harmless: lookups never return it
    }
  }
}

} // namespace echo::build
