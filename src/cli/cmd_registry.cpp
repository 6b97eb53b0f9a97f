#include "cli/commands.hpp"

namespace echo::cli {

void add_registry_commands(CLI::App& app, GlobalOptions& g) {
  (void)app;
  (void)g;
}

} // namespace echo::cli
