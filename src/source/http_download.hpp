#pragma once
// Internal to the source module: one URL -> one open file, with retries. libcurl stays in the .cpp.
#include "echo/source/fetcher.hpp"

#include <cstdint>
#include <string>

namespace echo::source::detail {

struct Downloaded {
  std::string sha256; ///< lower-case hex of the bytes written
  std::uint64_t size = 0;
};

/// Downloads `url` (http, https or file) into the open file `fd` (truncated at every attempt), hashing as it
/// writes. Connection errors, timeouts, 408, 429 and 5xx are retried opts.max_attempts times with doubling backoff
/// (Retry-After honoured up to opts.max_retry_after). Throws Error(source) whose message is the reason only
/// ("HTTP 404 Not Found", "HTTP 503 Service Unavailable (gave up after 4 attempts)"); the caller names the URL.
Downloaded download(const std::string& url, int fd, const FetchOptions& opts);

/// "512 B", "3.4 KiB", "1.2 MiB", "2.0 GiB".
std::string human_size(std::uint64_t bytes);

} // namespace echo::source::detail
