// echo-build: rebuild container base images from source, hardened, with signed provenance.
#include "cli/commands.hpp"
#include "echo/util/error.hpp"
#include "echo/version.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

namespace {

void setup_logging(int verbosity) {
  auto logger = spdlog::stderr_color_mt("echo");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(verbosity >= 2 ? spdlog::level::trace
                    : verbosity == 1 ? spdlog::level::debug
                    : verbosity < 0  ? spdlog::level::warn
                                     : spdlog::level::info);
}

} // namespace

int main(int argc, char** argv) {
  echo::cli::GlobalOptions g;
  CLI::App app{"echo-build: rebuild container base images from source, hardened, signed and verifiable.\n"
               "Exit codes: 0 ok, 2 usage, 3 recipe, 4 source, 5 sandbox, 6 build, 7 registry, 8 signature,\n"
               "9 verification failed, 70 internal (docs/cli.md).",
               "echo-build"};
  app.set_version_flag("--version", std::string("echo-build ") + echo::k_version);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--recipes", g.recipe_dirs, "Recipe directory (repeatable; later ones override earlier ones)")
      ->type_name("DIR");
  app.add_option("--lockfile", g.lockfile, "Lockfile path")->capture_default_str()->type_name("FILE");
  app.add_flag("--locked", g.locked, "Fail when the lockfile is missing or does not match the recipes");
  app.add_flag("--json", g.json, "Machine-readable JSON on stdout");
  app.add_flag("-v,--verbose", [&g](std::int64_t n) { g.verbosity += static_cast<int>(n); }, "More output (repeatable)");
  app.add_flag("-q,--quiet", [&g](std::int64_t) { g.verbosity = -1; }, "Only warnings and errors");
  app.add_option("--distdir", g.distdirs, "Directory of pre-downloaded sources (repeatable; also $ECHO_DISTDIR)")
      ->type_name("DIR");
  app.add_option("--cache-dir", g.cache_dir, "Source cache (default ~/.cache/echo-build; $ECHO_CACHE_DIR)")->type_name("DIR");
  app.add_option("--store", g.store_dir, "Package store (default <cache-dir>/store; $ECHO_STORE)")->type_name("DIR");
  app.add_option("-j,--jobs", g.jobs, "Parallel builds (default: number of cores)")->type_name("N");
  app.parse_complete_callback([&g] { setup_logging(g.verbosity); });

  echo::cli::add_recipe_commands(app, g);
  echo::cli::add_build_commands(app, g);
  echo::cli::add_registry_commands(app, g);
  echo::cli::add_attest_commands(app, g);
  echo::cli::add_scan_commands(app, g);

  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "echo-build: error: %s\nRun with --help for usage.\n", e.what());
    return echo::exit_code(echo::ErrorKind::usage);
  } catch (const echo::Error& e) {
    std::fflush(stdout);
    if (g.json)
      std::cout << nlohmann::json{{"error", {{"kind", echo::to_string(e.kind())}, {"message", e.what()}}}}.dump()
                << std::endl;
    std::fprintf(stderr, "echo-build: error: %s\n", e.what());
    return echo::exit_code(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo-build: internal error: %s\n", e.what());
    return echo::exit_code(echo::ErrorKind::internal);
  }
}
