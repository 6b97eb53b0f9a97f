#include "http_download.hpp"

#include "echo/util/error.hpp"
#include "echo/util/c_handle.hpp"
#include "echo/util/sha256.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

namespace echo::source::detail {
namespace {

using CurlPtr = std::unique_ptr<CURL, CDeleter<curl_easy_cleanup>>;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Error(ErrorKind::internal, "curl_global_init failed");
  });
}

// State shared with the C callbacks of one attempt. Exceptions never cross into libcurl: the
// callbacks store them here and return an error code; download() rethrows after perform().
struct Transfer {
  CURL* curl = nullptr;
  int fd = -1;
  Sha256 hash;
  std::uint64_t size = 0;
  std::string status_line;                 // of the last response ("HTTP/1.1 404 Not Found")
  std::optional<std::string> retry_after;  // header value of the last response
  std::exception_ptr error;
};

bool is_success_code(long code) { return code == 0 || (code >= 200 && code < 300); }

size_t write_cb(char* data, size_t one, size_t n, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  size_t len = one * n;
  try {
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (!is_success_code(code)) return len; // an error page is not the file: drop it
    const char* p = data;
    size_t left = len;
    while (left > 0) {
      ssize_t w = ::write(t->fd, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw_errno(ErrorKind::source, "cannot write the download to the cache");
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    t->hash.update(data, len);
    t->size += len;
    return len;
  } catch (...) {
    t->error = std::current_exception();
    return CURL_WRITEFUNC_ERROR;
  }
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

size_t header_cb(char* data, size_t one, size_t n, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  size_t len = one * n;
  try {
    std::string_view line(data, len);
    if (line.rfind("HTTP/", 0) == 0) { // a new response (redirects, 100 Continue) starts
      t->status_line = trim(line);
      t->retry_after.reset();
      return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "retry-after") t->retry_after = trim(line.substr(colon + 1));
    return len;
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
}

// Retry-After is either delta-seconds or an HTTP-date.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& v) {
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (v.size() > 9) return std::chrono::hours(24); // absurd; the cap applies
    return std::chrono::seconds(std::stol(v));
  }
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

// "HTTP/1.1 404 Not Found" -> "HTTP 404 Not Found"; HTTP/2 has no reason phrase -> "HTTP 404".
std::string http_reason(long code, const std::string& status_line) {
  std::string out = "HTTP " + std::to_string(code);
  auto sp1 = status_line.find(' ');
  if (sp1 != std::string::npos) {
    auto sp2 = status_line.find(' ', sp1 + 1);
    if (sp2 != std::string::npos && sp2 + 1 < status_line.size()) out += " " + status_line.substr(sp2 + 1);
  }
  return out;
}

bool retryable_curl_error(CURLcode rc) {
  switch (rc) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
    return true;
  default:
    return false;
  }
}

bool retryable_http_code(long code) { return code == 408 || code == 429 || (code >= 500 && code < 600); }

void reset_file(int fd) {
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
    throw_errno(ErrorKind::source, "cannot truncate the download file");
}

std::string seconds_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

} // namespace

std::string human_size(std::uint64_t bytes) {
  static const char* k_units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, k_units[u]);
  return buf;
}

Downloaded download(const std::string& url, int fd, const FetchOptions& opts) {
  global_init();
  const int attempts = std::max(1, opts.max_attempts);
  std::chrono::milliseconds backoff = opts.first_backoff;
  for (int attempt = 1;; ++attempt) {
    reset_file(fd);
    CurlPtr curl(curl_easy_init());
    if (!curl) throw Error(ErrorKind::internal, "curl_easy_init failed");
    Transfer t;
    t.curl = curl.get();
    t.fd = fd;
    char errbuf[CURL_ERROR_SIZE] = {0};
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(opts.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts.stall_timeout.count()));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "echo-build");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);

    CURLcode rc = curl_easy_perform(c);
    if (t.error) std::rethrow_exception(t.error);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);

    std::string reason;
    bool retry = false;
    std::optional<std::chrono::milliseconds> server_wait;
    if (rc == CURLE_OK && is_success_code(code)) {
      return Downloaded{t.hash.finish_hex(), t.size};
    } else if (rc == CURLE_OK) {
      reason = http_reason(code, t.status_line);
      retry = retryable_http_code(code);
      if (retry && t.retry_after) server_wait = parse_retry_after(*t.retry_after);
    } else {
      reason = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
      std::string generic = curl_easy_strerror(rc);
      if (reason.find(generic) == std::string::npos) reason = generic + ": " + reason;
      retry = retryable_curl_error(rc);
    }
    if (!retry) throw Error(ErrorKind::source, reason);
    if (attempt >= attempts) {
      throw Error(ErrorKind::source,
                  reason + " (gave up after " + std::to_string(attempt) + (attempt == 1 ? " attempt)" : " attempts)"));
    }
    std::chrono::milliseconds wait = backoff;
    if (server_wait) wait = std::max(wait, std::min(*server_wait, opts.max_retry_after));
    if (opts.progress) opts.progress("retrying " + url + " in " + seconds_text(wait) + " (" + reason + ")");
    std::this_thread::sleep_for(wait);
    backoff *= 2;
  }
}

} // namespace echo::source::detail
