#pragma once
#include "cli/global.hpp"

#include <CLI/CLI.hpp>

namespace echo::cli {

// Each group of subcommands lives in its own cmd_<group>.cpp and registers itself here.
// A callback throws echo::Error on failure; main catches once and maps the kind to the exit code.
void add_recipe_commands(CLI::App& app, GlobalOptions& g);   ///< plan, graph, lock, lint
void add_build_commands(CLI::App& app, GlobalOptions& g);    ///< fetch, build, shell
void add_registry_commands(CLI::App& app, GlobalOptions& g); ///< push, pull
void add_attest_commands(CLI::App& app, GlobalOptions& g);   ///< keygen, sign, verify
void add_scan_commands(CLI::App& app, GlobalOptions& g);     ///< scan

} // namespace echo::cli
