// Hidden benchmark (not a timed test): `echo_unit_sandbox [.bench]`, driven by tests/bench/sandbox_bench.sh.
// Prints the median wall time of a namespace sandbox running /bin/true, start to reaped exit, in-process as
// the build uses it. ECHO_BENCH_RUNS sets the number of runs (default 200).
#include "echo/sandbox/runner.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace echo::sandbox;

TEST_CASE("bench: sandbox start+exit of /bin/true", "[.bench]") {
  int runs = 200;
  if (const char* env = std::getenv("ECHO_BENCH_RUNS")) runs = std::max(1, std::atoi(env));
  auto runner = make_namespace_runner();
  SandboxSpec spec;
  spec.argv = {"/bin/true"};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  REQUIRE(runner->run(spec).exit_code == 0); // warm-up (also compiles the seccomp filter once)
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = runner->run(spec);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    REQUIRE(r.exit_code == 0);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("echo-sandbox runs=%d median_ms=%.3f p90_ms=%.3f min_ms=%.3f\n", runs, ms[ms.size() / 2],
              ms[ms.size() * 9 / 10], ms.front());
}
