// Retry-After parsing (delta-seconds, the three HTTP-date forms, garbage) and the wait it yields under the cap.
#include "registry/retry_after.hpp"

#include <catch2/catch.hpp>

using namespace echo::registry;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

namespace {
// Wed, 21 Oct 2015 07:28:00 GMT
const Clock::time_point k_date = Clock::from_time_t(1445412480);
} // namespace

TEST_CASE("retry-after: delta-seconds") {
  auto now = Clock::now();
  CHECK(parse_retry_after("2", now) == 2s);
  CHECK(parse_retry_after("0", now) == 0s);
  CHECK(parse_retry_after(" 120 ", now) == 120s);
  CHECK(parse_retry_after("3600", now) == 3600s);
  CHECK(parse_retry_after("99999999999999999999", now) == std::chrono::seconds(24h)); // saturates, no overflow
}

TEST_CASE("retry-after: HTTP-date in the future, in the past, in all three forms") {
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", k_date - 30s) == 30s);
  CHECK(parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", k_date - 30s) == 30s);
  CHECK(parse_retry_after("Wed Oct 21 07:28:00 2015", k_date - 30s) == 30s);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", k_date - 500ms) == 1s); // "not before then": round up
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", k_date) == 0s);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", k_date + 1h) == 0s); // past: retry now
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", Clock::now()) == 0s);
}

TEST_CASE("retry-after: garbage is ignored") {
  auto now = Clock::now();
  for (const char* v : {"", "   ", "soon", "-5", "+5", "1.5", "2 s", "2s", "0x10", "now", "tomorrow", "12:00"}) {
    INFO(v);
    CHECK_FALSE(parse_retry_after(v, now));
  }
}

TEST_CASE("retry-after: wait is max(backoff, Retry-After) and never more than the cap") {
  auto now = Clock::now();
  auto w = retry_wait(200ms, "2", 60s, now);
  CHECK(w.wait == 2000ms);
  CHECK(w.requested == 2s);
  CHECK_FALSE(w.capped);

  w = retry_wait(5000ms, "1", 60s, now); // our backoff is longer: keep it
  CHECK(w.wait == 5000ms);
  CHECK_FALSE(w.capped);

  w = retry_wait(200ms, "0", 60s, now);
  CHECK(w.wait == 200ms);

  w = retry_wait(200ms, "3600", 60s, now);
  CHECK(w.wait == 60000ms);
  CHECK(w.requested == 3600s);
  CHECK(w.capped);

  w = retry_wait(200ms, "Wed, 21 Oct 2015 07:30:00 GMT", 60s, k_date); // 120 s away, over the cap
  CHECK(w.wait == 60000ms);
  CHECK(w.requested == 120s);
  CHECK(w.capped);

  w = retry_wait(200ms, "Wed, 21 Oct 2015 07:28:10 GMT", 60s, k_date);
  CHECK(w.wait == 10000ms);
  CHECK_FALSE(w.capped);

  w = retry_wait(90s, "3600", 60s, now); // the cap limits the server's request, not our own backoff
  CHECK(w.wait == 90s);
  CHECK(w.capped);

  w = retry_wait(200ms, "soon", 60s, now);
  CHECK(w.wait == 200ms);
  CHECK_FALSE(w.requested);
  CHECK_FALSE(w.capped);

  w = retry_wait(200ms, std::nullopt, 60s, now);
  CHECK(w.wait == 200ms);
  CHECK_FALSE(w.requested);
}
