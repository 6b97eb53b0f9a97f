#pragma once
// The server's Retry-After header (RFC 9110 10.2.3) and how it stretches the client's own backoff.
#include <chrono>
#include <optional>
#include <string_view>

namespace echo::registry {

/// Retry-After value -> how long the server asks us to wait, counted from `now`: delta-seconds ("120") or an
/// HTTP-date (IMF-fixdate, RFC 850 or asctime form). A date in the past is 0 s; a delta of more than nine
/// digits saturates at 24 h (the caller caps it). Empty or unparsable values (negative, fractional, words)
/// are std::nullopt. Never throws.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

/// The wait before the next attempt and whether the server's request was cut down to the cap.
struct RetryWait {
  std::chrono::milliseconds wait{0};
  std::optional<std::chrono::seconds> requested; ///< parsed Retry-After, when there was a usable one
  bool capped = false;                           ///< requested > cap, so wait == max(backoff, cap)
};

/// max(backoff, min(Retry-After, cap)); just `backoff` without a usable Retry-After. Never throws.
RetryWait retry_wait(std::chrono::milliseconds backoff, std::optional<std::string_view> retry_after,
                     std::chrono::milliseconds cap, std::chrono::system_clock::time_point now);

} // namespace echo::registry
