#include "registry/http.hpp"
#include "echo/util/c_handle.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>

namespace echo::registry {

namespace {

using CurlPtr = CHandle<CURL, curl_easy_cleanup>;
using SlistPtr = CHandle<curl_slist, curl_slist_free_all>;

struct Transfer {
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  CURL* curl = nullptr;
  std::exception_ptr error;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response (after a redirect or 100 Continue): start over.
    t->resp->headers.clear();
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    t->resp->reason = sp2 == std::string_view::npos ? std::string() : trim(line.substr(sp2 + 1));
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    t->resp->headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  try {
    if (t->req->sink && status >= 200 && status < 300)
      t->req->sink(std::string_view(data, size * n));
    else
      t->resp->body.append(data, size * n);
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
  return size * n;
}

TransportFailure classify(CURLcode rc) {
  switch (rc) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return TransportFailure::connection;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
    return TransportFailure::tls;
  default:
    return TransportFailure::other;
  }
}

void check(CURLcode rc, std::string_view what) {
  if (rc != CURLE_OK)
    throw Error(ErrorKind::internal, std::string(what) + ": " + curl_easy_strerror(rc));
}

class CurlTransport final : public HttpTransport {
public:
  CurlTransport() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    m_curl.reset(curl_easy_init());
    if (!m_curl) throw Error(ErrorKind::internal, "curl_easy_init failed");
  }

  HttpResponse send(const HttpRequest& req, const HeaderList& extra) override {
    CURL* c = m_curl.get();
    curl_easy_reset(c); // keeps the connection cache
    HttpResponse resp;
    Transfer t{&req, &resp, c, nullptr};
    char errbuf[CURL_ERROR_SIZE] = {0};
    SlistPtr headers;
    auto add_header = [&](const std::string& h) {
      curl_slist* l = curl_slist_append(headers.get(), h.c_str());
      if (!l) throw Error(ErrorKind::internal, "curl_slist_append failed");
      (void)headers.release();
      headers.reset(l);
    };
    for (const auto& [k, v] : req.headers) add_header(k + ": " + v);
    for (const auto& [k, v] : extra) add_header(k + ": " + v);
    add_header("Expect:"); // no 100-continue round trip

    check(curl_easy_setopt(c, CURLOPT_URL, req.url.c_str()), "CURLOPT_URL");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "echo-build");
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    if (req.follow_redirects) {
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    }
    if (req.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req.method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      bool has_type = std::any_of(req.headers.begin(), req.headers.end(),
                                  [](const auto& h) { return lower(h.first) == "content-type"; });
      if (!has_type) add_header("Content-Type:"); // not curl's form default
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

    CURLcode rc = curl_easy_perform(c);
    if (t.error) std::rethrow_exception(t.error);
    if (rc != CURLE_OK) {
      std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
      throw TransportError(classify(rc), req.method + " " + strip_query(req.url) + ": " + why);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    if (resp.reason.empty()) resp.reason = std::string(reason_phrase(resp.status));
    return resp;
  }

private:
  CurlPtr m_curl;
};

} // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return std::nullopt;
}

std::string_view reason_phrase(long status) noexcept {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 307: return "Temporary Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 416: return "Range Not Satisfiable";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "";
  }
}

std::string strip_query(std::string_view url) { return std::string(url.substr(0, url.find('?'))); }

std::unique_ptr<HttpTransport> make_curl_transport() { return std::make_unique<CurlTransport>(); }

} // namespace echo::registry
