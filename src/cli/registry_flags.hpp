#pragma once
// CLI flags shared by every command that talks to a registry (push, pull, build --push, verify REF).
#include "echo/registry/client.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace echo::cli {

/// Values of the registry flags after parsing.
struct RegistryFlags {
  std::vector<std::string> insecure_registries; ///< --insecure-registry HOST:PORT (repeatable)
  std::string username;                         ///< --username USER
  bool password_stdin = false;                  ///< --password-stdin
};

/// Adds --insecure-registry, --username and --password-stdin to cmd. The returned object is filled in
/// by CLI11 during parsing; keep it (the callback's lambda can capture the shared_ptr).
std::shared_ptr<RegistryFlags> add_registry_flags(CLI::App& cmd);

/// registry::options_from_environment() overridden by the flags: insecure registries are added to
/// ECHO_INSECURE_REGISTRIES; --username with --password-stdin (password read from stdin, one trailing
/// newline dropped) replaces any other credentials; --username alone takes ECHO_REGISTRY_PASSWORD.
/// Throws Error(usage) for --password-stdin without --username or an empty password.
registry::ClientOptions registry_options(const RegistryFlags& flags);

/// The OCI 1.1 referrers a push wrote, for --json output: [{"digest", "artifactType", "ociSubject"}].
nlohmann::json referrers_json(const registry::PushResult& r);

} // namespace echo::cli
