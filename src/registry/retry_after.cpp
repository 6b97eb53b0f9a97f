#include "registry/retry_after.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <string>

namespace echo::registry {

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::hours(24);
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  // curl_getdate knows the three HTTP-date forms; -1 for anything else.
  std::string s(value);
  time_t when = curl_getdate(s.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  auto delta = std::chrono::system_clock::from_time_t(when) - now;
  if (delta <= std::chrono::system_clock::duration::zero()) return std::chrono::seconds(0);
  // Round up: a date one fraction of a second away still means "not before then".
  return std::chrono::ceil<std::chrono::seconds>(delta);
}

RetryWait retry_wait(std::chrono::milliseconds backoff, std::optional<std::string_view> retry_after,
                     std::chrono::milliseconds cap, std::chrono::system_clock::time_point now) {
  RetryWait w;
  w.wait = backoff;
  if (!retry_after) return w;
  w.requested = parse_retry_after(*retry_after, now);
  if (!w.requested) return w;
  std::chrono::milliseconds server = *w.requested;
  if (server > cap) {
    w.capped = true;
    server = cap;
  }
  w.wait = std::max(backoff, server);
  return w;
}

} // namespace echo::registry
