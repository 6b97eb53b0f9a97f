#pragma once
// HTTP transport behind a small interface so tests can drive the client against fakes or a local server.
#include "echo/util/error.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace echo::registry {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::string body; ///< sent for POST/PUT/PATCH (Content-Length always set)
  /// When set, the body of a 2xx response is handed here piece by piece instead of kept in memory.
  /// It may throw; the transport stops the transfer and rethrows.
  std::function<void(std::string_view)> sink;
  bool follow_redirects = false; ///< GET/HEAD of blobs may be redirected to storage
};

struct HttpResponse {
  long status = 0;
  std::string reason; ///< "Not Found"; from the status line or a table
  HeaderList headers; ///< names lower-cased, in order
  std::string body;   ///< empty when a sink took it
  int attempts = 1;   ///< set by Session::send when it retried
  /// First header with that (lower-case) name.
  std::optional<std::string> header(std::string_view name) const;
};

/// What went wrong below HTTP: connect/timeout/reset failures are worth retrying, TLS failures are not.
enum class TransportFailure { connection, tls, other };

/// A request that got no HTTP response. Message: "<METHOD> <url>: <curl's reason>".
class TransportError : public Error {
public:
  TransportError(TransportFailure failure, std::string message)
      : Error(ErrorKind::registry, std::move(message)), m_failure(failure) {}
  TransportFailure failure() const noexcept { return m_failure; }

private:
  TransportFailure m_failure;
};

/// Sends one request, no retries, no auth logic. Throws TransportError when no response came back.
class HttpTransport {
public:
  virtual ~HttpTransport() = default;
  /// `extra` headers are sent after req.headers (auth, without copying the request body).
  virtual HttpResponse send(const HttpRequest& req, const HeaderList& extra) = 0;
};

/// libcurl transport: TLS verification on, http/https only, keeps connections between requests.
std::unique_ptr<HttpTransport> make_curl_transport();

/// "Not Found" for 404 etc.; "" for unknown codes.
std::string_view reason_phrase(long status) noexcept;
/// url without its query string (for messages).
std::string strip_query(std::string_view url);

} // namespace echo::registry
