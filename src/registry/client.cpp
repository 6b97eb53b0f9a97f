#include "echo/registry/client.hpp"
#include "echo/util/error.hpp"

#include <algorithm>
#include <cstdlib>

namespace echo::registry {

bool is_attachment_name(std::string_view name) noexcept {
  if (name.substr(0, 7) != "sha256-" || name.size() < 7 + 64 + 4) return false;
  std::string_view hex = name.substr(7, 64);
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  std::string_view suffix = name.substr(71);
  return suffix == ".sig" || suffix == ".att" || suffix == ".sbom";
}

ClientOptions options_from_environment() {
  ClientOptions o;
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  std::string insecure = env("ECHO_INSECURE_REGISTRIES");
  std::size_t start = 0;
  while (start <= insecure.size()) {
    auto comma = insecure.find(',', start);
    std::string item = insecure.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) o.insecure_registries.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::string user = env("ECHO_REGISTRY_USERNAME"), pass = env("ECHO_REGISTRY_PASSWORD");
  if (!user.empty() || !pass.empty()) o.credentials = Credentials{user, pass};
  if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) o.auth_files.emplace_back(f);
  if (auto d = env("DOCKER_CONFIG"); !d.empty())
    o.auth_files.push_back(std::filesystem::path(d) / "config.json");
  else if (auto h = env("HOME"); !h.empty())
    o.auth_files.push_back(std::filesystem::path(h) / ".docker" / "config.json");
  if (auto cap = env("ECHO_REGISTRY_MAX_RETRY_AFTER"); !cap.empty()) {
    if (cap.size() > 9 || !std::all_of(cap.begin(), cap.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw Error(ErrorKind::usage, "ECHO_REGISTRY_MAX_RETRY_AFTER='" + cap +
                                        "': expected whole seconds (the cap on a registry's Retry-After)");
    o.max_retry_after = std::chrono::seconds(std::stol(cap));
  }
  return o;
}

} // namespace echo::registry
