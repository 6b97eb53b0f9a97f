#pragma once
// One registry + repository conversation: base URL (https unless allowed insecure), auth (basic, bearer
// tokens cached per scope set), retries with backoff, and error messages that name what failed.
#include "echo/registry/client.hpp"
#include "registry/auth.hpp"
#include "registry/http.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace echo::registry {

enum class Retry { no, yes };

/// True for statuses worth another attempt: 429 and 5xx.
bool is_retryable_status(long status) noexcept;

class Session {
public:
  /// `scopes` are token scopes to ask for, e.g. {"repository:app:pull,push"}. Credentials come from
  /// opts.credentials, else the first of opts.auth_files with an entry for `registry`.
  Session(HttpTransport& http, const ClientOptions& opts, std::string registry, std::string repository,
          std::vector<std::string> scopes);

  const std::string& registry() const noexcept { return m_registry; }
  const std::string& repository() const noexcept { return m_repository; }
  int max_attempts() const noexcept { return m_opts.max_attempts; }
  /// scheme://host[:port] + path ("/v2/...").
  std::string url(std::string_view path) const;
  /// A Location header value made absolute.
  std::string resolve(std::string_view location) const;

  /// Sends req with auth; answers a 401 challenge once (token or basic) and resends. With Retry::yes,
  /// connection errors, 5xx and 429 are retried up to max_attempts with doubling backoff (stretched by a
  /// Retry-After header up to max_retry_after); the last
  /// response is returned whatever its status. Throws Error(registry) when no response came (TLS
  /// failures carry an --insecure-registry hint); with Retry::no the TransportError itself.
  HttpResponse send(const HttpRequest& req, Retry retry = Retry::yes);
  /// Error(registry) "<METHOD> <url>: <status> <reason>: <registry error>" with an auth hint on 401/403.
  Error failure(const HttpRequest& req, const HttpResponse& resp) const;
  /// Sleeps before attempt `attempt` + 1 (attempt counts from 1): first_backoff doubled per attempt, or the
  /// server's Retry-After value (delta-seconds or HTTP-date) when longer, but never more than
  /// max_retry_after (a longer request is cut to the cap with a warning naming the registry URL).
  /// Call it only when another attempt follows.
  void backoff(int attempt, std::optional<std::string_view> retry_after = std::nullopt) const;
  /// Wraps a TransportError into the user-facing Error (adds the insecure hint for TLS failures).
  Error transport_failure(const TransportError& e, int attempts) const;

private:
  HttpResponse send_once(const HttpRequest& req, bool& auth_retried);
  void authenticate(const std::vector<Challenge>& challenges, const HttpRequest& req, bool force_refresh);
  std::string fetch_token(const Challenge& c, const std::vector<std::string>& scopes);

  HttpTransport& m_http;
  const ClientOptions& m_opts;
  std::string m_registry, m_repository;
  std::vector<std::string> m_scopes;
  std::string m_base;
  bool m_insecure = false;
  std::optional<Credentials> m_creds;
  std::string m_auth_header;                   ///< current "Authorization" value ("" = anonymous)
  std::map<std::string, std::string> m_tokens; ///< scope set -> bearer token
};

/// "a b" -> percent-encoded for a query value.
std::string url_encode(std::string_view s);

} // namespace echo::registry
