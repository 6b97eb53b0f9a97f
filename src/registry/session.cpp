#include "registry/session.hpp"
#include "registry/retry_after.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <thread>

namespace echo::registry {

bool is_retryable_status(long status) noexcept { return status == 429 || status >= 500; }

std::string url_encode(std::string_view s) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

Session::Session(HttpTransport& http, const ClientOptions& opts, std::string registry, std::string repository,
                 std::vector<std::string> scopes)
    : m_http(http), m_opts(opts), m_registry(std::move(registry)), m_repository(std::move(repository)),
      m_scopes(std::move(scopes)) {
  m_insecure = std::find(opts.insecure_registries.begin(), opts.insecure_registries.end(), m_registry) !=
               opts.insecure_registries.end();
  std::string host = m_registry == "docker.io" ? "registry-1.docker.io" : m_registry;
  m_base = (m_insecure ? "http://" : "https://") + host;
  if (opts.credentials) {
    m_creds = opts.credentials;
  } else {
    for (const auto& f : opts.auth_files) {
      if (!std::filesystem::exists(f)) continue;
      if ((m_creds = lookup_auth_file(f, m_registry))) {
        spdlog::debug("using credentials for {} from {}", m_registry, f.string());
        break;
      }
    }
  }
}

std::string Session::url(std::string_view path) const { return m_base + std::string(path); }

std::string Session::resolve(std::string_view location) const {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (!location.empty() && location.front() == '/') return m_base + std::string(location);
  return m_base + "/" + std::string(location);
}

namespace {

// 1500 ms -> "1.5 s", 60000 ms -> "60 s".
std::string seconds_text(std::chrono::milliseconds ms) {
  std::string out = std::to_string(ms.count() / 1000);
  if (auto frac = ms.count() % 1000; frac != 0) {
    std::string f = std::to_string(1000 + frac).substr(1);
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + " s";
}

} // namespace

void Session::backoff(int attempt, std::optional<std::string_view> retry_after) const {
  std::chrono::milliseconds delay = m_opts.first_backoff * (1LL << std::min(attempt - 1, 10));
  RetryWait w = retry_wait(delay, retry_after, m_opts.max_retry_after, std::chrono::system_clock::now());
  if (w.capped) {
    spdlog::warn("{} asked to wait {} before retrying (Retry-After: {}); waiting {} (the cap, "
                 "ECHO_REGISTRY_MAX_RETRY_AFTER)",
                 m_base, seconds_text(*w.requested), *retry_after, seconds_text(w.wait));
  } else if (retry_after) {
    spdlog::debug("{} sent Retry-After: {}{}; retrying in {} ms", m_base, *retry_after,
                  w.requested ? "" : " (not understood, ignored)", w.wait.count());
  } else {
    spdlog::debug("retrying in {} ms", w.wait.count());
  }
  std::this_thread::sleep_for(w.wait);
}

Error Session::transport_failure(const TransportError& e, int attempts) const {
  std::string msg = e.what();
  if (e.failure() == TransportFailure::tls && !m_insecure)
    msg += " (TLS failed; if " + m_registry + " serves plain http, allow it with --insecure-registry " + m_registry +
           " or ECHO_INSECURE_REGISTRIES=" + m_registry + ")";
  if (attempts > 1) msg += " (after " + std::to_string(attempts) + " attempts)";
  return Error(ErrorKind::registry, msg);
}

HttpResponse Session::send(const HttpRequest& req, Retry retry) {
  int attempts = retry == Retry::yes ? std::max(1, m_opts.max_attempts) : 1;
  bool auth_retried = false;
  for (int attempt = 1;; ++attempt) {
    try {
      HttpResponse resp = send_once(req, auth_retried);
      if (is_retryable_status(resp.status) && attempt < attempts) {
        spdlog::warn("{} {}: {} {} (attempt {} of {})", req.method, strip_query(req.url), resp.status, resp.reason,
                     attempt, attempts);
        backoff(attempt, resp.header("retry-after"));
        continue;
      }
      resp.attempts = attempt;
      return resp;
    } catch (const TransportError& e) {
      if (retry == Retry::no) throw; // the caller retries a whole sequence (blob uploads)
      if (e.failure() == TransportFailure::connection && attempt < attempts) {
        spdlog::warn("{} (attempt {} of {})", e.what(), attempt, attempts);
        backoff(attempt);
        continue;
      }
      throw transport_failure(e, attempt);
    }
  }
}

HttpResponse Session::send_once(const HttpRequest& req, bool& auth_retried) {
  while (true) {
    HeaderList auth;
    if (!m_auth_header.empty()) auth.emplace_back("Authorization", m_auth_header);
    HttpResponse resp = m_http.send(req, auth);
    spdlog::debug("{} {} -> {}", req.method, strip_query(req.url), resp.status);
    if (resp.status != 401 || auth_retried) return resp;
    auto header = resp.header("www-authenticate");
    if (!header) return resp;
    auto challenges = parse_www_authenticate(*header);
    bool had_auth = !m_auth_header.empty();
    authenticate(challenges, req, had_auth);
    auth_retried = true;
    if (m_auth_header.empty()) return resp; // nothing to answer with
  }
}

void Session::authenticate(const std::vector<Challenge>& challenges, const HttpRequest& req, bool force_refresh) {
  for (const auto& c : challenges) {
    if (c.scheme == "bearer") {
      auto realm = c.params.find("realm");
      if (realm == c.params.end())
        throw Error(ErrorKind::registry, req.method + " " + strip_query(req.url) +
                                             ": 401 with a Bearer challenge that has no realm");
      std::set<std::string> scope_set(m_scopes.begin(), m_scopes.end());
      if (auto s = c.params.find("scope"); s != c.params.end()) {
        std::string_view all = s->second;
        while (!all.empty()) {
          auto sp = all.find(' ');
          if (sp != 0) scope_set.insert(std::string(all.substr(0, sp)));
          if (sp == std::string_view::npos) break;
          all.remove_prefix(sp + 1);
        }
      }
      std::vector<std::string> scopes(scope_set.begin(), scope_set.end());
      std::string key = c.params.count("service") ? c.params.at("service") : "";
      for (const auto& s : scopes) key += " " + s;
      auto it = m_tokens.find(key);
      if (it == m_tokens.end() || force_refresh) it = m_tokens.insert_or_assign(key, fetch_token(c, scopes)).first;
      m_auth_header = "Bearer " + it->second;
      return;
    }
  }
  for (const auto& c : challenges) {
    if (c.scheme == "basic" && m_creds) {
      m_auth_header = "Basic " + base64_encode(m_creds->username + ":" + m_creds->password);
      return;
    }
  }
  m_auth_header.clear();
}

std::string Session::fetch_token(const Challenge& c, const std::vector<std::string>& scopes) {
  std::string realm = c.params.at("realm");
  if (realm.rfind("https://", 0) != 0 && !(m_insecure && realm.rfind("http://", 0) == 0))
    throw Error(ErrorKind::registry, "registry " + m_registry + " sent token realm '" + strip_query(realm) +
                                         "', which is not https (allow plain http with --insecure-registry " +
                                         m_registry + ")");
  std::string url = realm;
  char sep = realm.find('?') == std::string::npos ? '?' : '&';
  if (auto s = c.params.find("service"); s != c.params.end()) {
    url += sep + std::string("service=") + url_encode(s->second);
    sep = '&';
  }
  for (const auto& s : scopes) {
    url += sep + std::string("scope=") + url_encode(s);
    sep = '&';
  }
  HttpRequest req;
  req.url = url;
  if (m_creds) req.headers.emplace_back("Authorization", "Basic " + base64_encode(m_creds->username + ":" + m_creds->password));
  spdlog::debug("getting a token from {} for {}", strip_query(realm), m_registry);
  HttpResponse resp;
  int attempts = std::max(1, m_opts.max_attempts);
  for (int attempt = 1;; ++attempt) {
    try {
      resp = m_http.send(req, {});
    } catch (const TransportError& e) {
      if (e.failure() == TransportFailure::connection && attempt < attempts) {
        backoff(attempt);
        continue;
      }
      throw transport_failure(e, attempt).with_context("getting a token for " + m_registry + "/" + m_repository);
    }
    if (is_retryable_status(resp.status) && attempt < attempts) {
      backoff(attempt, resp.header("retry-after"));
      continue;
    }
    break;
  }
  if (resp.status != 200) {
    Error e = failure(req, resp);
    throw e.with_context("getting a token for " + m_registry + "/" + m_repository);
  }
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  for (const char* k : {"token", "access_token"})
    if (j.is_object() && j.contains(k) && j[k].is_string() && !j[k].get<std::string>().empty()) return j[k].get<std::string>();
  throw Error(ErrorKind::registry, "token endpoint " + strip_query(realm) + " for " + m_registry +
                                       " answered without a token");
}

Error Session::failure(const HttpRequest& req, const HttpResponse& resp) const {
  std::string msg = req.method + " " + strip_query(req.url) + ": " + std::to_string(resp.status);
  if (!resp.reason.empty()) msg += " " + resp.reason;
  std::string detail = parse_error_body(resp.body);
  if (detail.empty() && !resp.body.empty() && resp.body.size() < 300 &&
      resp.body.find('\n') >= resp.body.find_last_not_of("\r\n"))
    detail = resp.body.substr(0, resp.body.find_last_not_of("\r\n") + 1);
  if (!detail.empty()) msg += ": " + detail;
  if (resp.attempts > 1) msg += " (after " + std::to_string(resp.attempts) + " attempts)";
  if (resp.status == 401 || resp.status == 403) {
    msg += " (" + m_registry + " denied access to repository " + m_repository;
    msg += m_creds ? "; the credentials were rejected or lack permission)"
                   : "; no credentials found: use --username/--password-stdin, ECHO_REGISTRY_USERNAME/"
                     "ECHO_REGISTRY_PASSWORD or an auth file)";
  }
  return Error(ErrorKind::registry, msg);
}

} // namespace echo::registry
