// Auth flows, retries and error messages of Session against a real HTTP server in the test process.
#include "registry/session.hpp"
#include "unit/registry/test_server.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>

using namespace echo::registry;
using echo::test::ServerRequest;
using echo::test::ServerResponse;
using echo::test::TestServer;

namespace {

ClientOptions fast_options(const std::string& host) {
  ClientOptions o;
  o.insecure_registries = {host};
  o.first_backoff = std::chrono::milliseconds(1);
  return o;
}

HttpRequest get(const Session& s, const std::string& path) {
  HttpRequest r;
  r.url = s.url(path);
  return r;
}

std::string query_of(const std::string& target) {
  auto q = target.find('?');
  return q == std::string::npos ? "" : target.substr(q + 1);
}

} // namespace

TEST_CASE("session: basic auth answers the challenge once, then sends credentials up front") {
  std::string want = "Basic " + base64_encode("alice:pa55word");
  TestServer server([&](const ServerRequest& r) {
    auto it = r.headers.find("authorization");
    if (it == r.headers.end() || it->second != want)
      return ServerResponse{401, {{"WWW-Authenticate", R"(Basic realm="test")"}}, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"};
    return ServerResponse{200, {}, "ok"};
  });
  auto opts = fast_options(server.host());
  opts.credentials = Credentials{"alice", "pa55word"};
  auto http = make_curl_transport();
  Session s(*http, opts, server.host(), "app", {"repository:app:pull"});
  CHECK(s.send(get(s, "/v2/")).status == 200);
  CHECK(s.send(get(s, "/v2/app/tags/list")).status == 200);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].headers.count("authorization") == 0);
  CHECK(reqs[1].headers.at("authorization") == want);
  CHECK(reqs[2].headers.at("authorization") == want);
}

TEST_CASE("session: wrong credentials give a 401 error naming registry and repository, never the password") {
  TestServer server([&](const ServerRequest&) {
    return ServerResponse{401, {{"WWW-Authenticate", R"(Basic realm="test")"}},
                          R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"};
  });
  auto opts = fast_options(server.host());
  opts.credentials = Credentials{"alice", "SECRET-PW-123"};
  auto http = make_curl_transport();
  Session s(*http, opts, server.host(), "team/app", {"repository:team/app:pull"});
  HttpRequest req = get(s, "/v2/team/app/manifests/1.0");
  HttpResponse resp = s.send(req);
  CHECK(resp.status == 401);
  std::string msg = s.failure(req, resp).what();
  CHECK(msg == "GET http://" + server.host() + "/v2/team/app/manifests/1.0: 401 Unauthorized: UNAUTHORIZED: "
                                              "authentication required (" + server.host() +
                   " denied access to repository team/app; the credentials were rejected or lack permission)");
  CHECK(msg.find("SECRET-PW-123") == std::string::npos);
  CHECK(server.requests().size() == 2); // one retry with credentials, no loop
}

TEST_CASE("session: anonymous 401 hints where credentials come from") {
  TestServer server([&](const ServerRequest&) { return ServerResponse{401, {}, ""}; });
  auto opts = fast_options(server.host());
  auto http = make_curl_transport();
  Session s(*http, opts, server.host(), "app", {});
  HttpRequest req = get(s, "/v2/app/blobs/sha256:00");
  std::string msg = s.failure(req, s.send(req)).what();
  CHECK(msg == "GET http://" + server.host() + "/v2/app/blobs/sha256:00: 401 Unauthorized (" + server.host() +
                   " denied access to repository app; no credentials found: use --username/--password-stdin, "
                   "ECHO_REGISTRY_USERNAME/ECHO_REGISTRY_PASSWORD or an auth file)");
}

TEST_CASE("session: bearer token from the realm with service, scopes and basic creds; cached per scope") {
  int token_requests = 0;
  std::string token_query, token_auth;
  std::string host;
  TestServer server([&](const ServerRequest& r) {
    if (r.target.rfind("/token", 0) == 0) {
      ++token_requests;
      token_query = query_of(r.target);
      token_auth = r.headers.count("authorization") ? r.headers.at("authorization") : "";
      return ServerResponse{200, {{"Content-Type", "application/json"}}, R"({"access_token":"tok-XYZ","expires_in":300})"};
    }
    auto it = r.headers.find("authorization");
    if (it == r.headers.end() || it->second != "Bearer tok-XYZ")
      return ServerResponse{401,
                            {{"WWW-Authenticate", "Bearer realm=\"http://" + host +
                                                      "/token\",service=\"test-svc\",scope=\"repository:app:pull\""}},
                            ""};
    return ServerResponse{200, {}, "manifest"};
  });
  host = server.host();
  auto opts = fast_options(host);
  opts.credentials = Credentials{"bob", "hunter2"};
  auto http = make_curl_transport();
  Session s(*http, opts, host, "app", {"repository:app:pull,push", "repository:base:pull"});
  auto r1 = s.send(get(s, "/v2/app/manifests/1"));
  CHECK(r1.status == 200);
  CHECK(r1.body == "manifest");
  CHECK(s.send(get(s, "/v2/app/manifests/2")).status == 200);
  CHECK(token_requests == 1);
  CHECK(token_query == "service=test-svc&scope=repository%3Aapp%3Apull&scope=repository%3Aapp%3Apull%2Cpush&"
                       "scope=repository%3Abase%3Apull");
  CHECK(token_auth == "Basic " + base64_encode("bob:hunter2"));
}

TEST_CASE("session: an expired token is fetched again once") {
  int token_requests = 0;
  std::string host;
  TestServer server([&](const ServerRequest& r) {
    if (r.target.rfind("/token", 0) == 0) {
      ++token_requests;
      return ServerResponse{200, {}, "{\"token\":\"t" + std::to_string(token_requests) + "\"}"};
    }
    auto it = r.headers.find("authorization");
    if (it == r.headers.end() || it->second != "Bearer t2") // the first token is already "expired"
      return ServerResponse{401, {{"WWW-Authenticate", "Bearer realm=\"http://" + host + "/token\""}}, ""};
    return ServerResponse{200, {}, ""};
  });
  host = server.host();
  auto opts = fast_options(host);
  auto http = make_curl_transport();
  Session s(*http, opts, host, "app", {"repository:app:pull"});
  CHECK(s.send(get(s, "/v2/")).status == 401); // anonymous: t1 rejected, one auth retry per request
  CHECK(s.send(get(s, "/v2/")).status == 200); // refreshed to t2
  CHECK(token_requests == 2);
}

TEST_CASE("session: token realm must be https unless the registry is allowed insecure") {
  TestServer server([&](const ServerRequest&) {
    return ServerResponse{401, {{"WWW-Authenticate", R"(Bearer realm="http://127.0.0.1:1/token")"}}, ""};
  });
  ClientOptions opts; // registry not in the insecure list: https to a plain http server fails first
  opts.max_attempts = 1;
  auto http = make_curl_transport();
  Session s(*http, opts, server.host(), "app", {});
  try {
    s.send(get(s, "/v2/"));
    FAIL("no error");
  } catch (const echo::Error& e) {
    std::string msg = e.what();
    CHECK(msg.rfind("GET https://" + server.host() + "/v2/: ", 0) == 0);
    CHECK(msg.find("(TLS failed; if " + server.host() + " serves plain http, allow it with --insecure-registry " +
                   server.host() + " or ECHO_INSECURE_REGISTRIES=" + server.host() + ")") != std::string::npos);
  }
}

TEST_CASE("session: 5xx and 429 are retried with backoff, then the last answer is returned") {
  int calls = 0;
  TestServer server([&](const ServerRequest&) {
    ++calls;
    if (calls == 1) return ServerResponse{503, {}, ""};
    if (calls == 2) return ServerResponse{429, {}, ""};
    return ServerResponse{200, {}, "fine"};
  });
  auto opts = fast_options(server.host());
  auto http = make_curl_transport();
  Session s(*http, opts, server.host(), "app", {});
  auto r = s.send(get(s, "/v2/"));
  CHECK(r.status == 200);
  CHECK(calls == 3);

  TestServer always([&](const ServerRequest&) {
    return ServerResponse{500, {}, R"({"errors":[{"code":"UNKNOWN","message":"disk on fire"}]})"};
  });
  auto opts2 = fast_options(always.host());
  opts2.max_attempts = 3;
  Session s2(*http, opts2, always.host(), "app", {});
  HttpRequest req = get(s2, "/v2/app/blobs/sha256:ab");
  auto r2 = s2.send(req);
  CHECK(always.requests().size() == 3);
  CHECK(std::string(s2.failure(req, r2).what()) == "GET http://" + always.host() +
                                                       "/v2/app/blobs/sha256:ab: 500 Internal Server Error: UNKNOWN: "
                                                       "disk on fire (after 3 attempts)");
}

TEST_CASE("session: Retry-After on 429/503 stretches the backoff, up to max_retry_after") {
  using Clock = std::chrono::steady_clock;
  int calls = 0;
  TestServer server([&](const ServerRequest&) {
    ++calls;
    if (calls == 1) return ServerResponse{429, {{"Retry-After", "1"}}, ""};
    return ServerResponse{200, {}, "fine"};
  });
  auto opts = fast_options(server.host()); // first_backoff 1 ms: any longer wait is the server's
  auto http = make_curl_transport();
  Session s(*http, opts, server.host(), "app", {});
  auto t0 = Clock::now();
  auto r = s.send(get(s, "/v2/"));
  auto took = Clock::now() - t0;
  CHECK(r.status == 200);
  CHECK(calls == 2);
  CHECK(took >= std::chrono::milliseconds(1000));
  CHECK(took < std::chrono::milliseconds(5000));

  // 503 asking for an hour: waits the cap (300 ms here), not an hour.
  int calls2 = 0;
  TestServer busy([&](const ServerRequest&) {
    ++calls2;
    if (calls2 == 1) return ServerResponse{503, {{"Retry-After", "3600"}}, ""};
    return ServerResponse{200, {}, "fine"};
  });
  auto opts2 = fast_options(busy.host());
  opts2.max_retry_after = std::chrono::milliseconds(300);
  Session s2(*http, opts2, busy.host(), "app", {});
  t0 = Clock::now();
  CHECK(s2.send(get(s2, "/v2/")).status == 200);
  took = Clock::now() - t0;
  CHECK(calls2 == 2);
  CHECK(took >= std::chrono::milliseconds(300));
  CHECK(took < std::chrono::milliseconds(3000));
}

TEST_CASE("session: no Retry-After sleep when no retry follows") {
  using Clock = std::chrono::steady_clock;
  TestServer server([&](const ServerRequest&) { return ServerResponse{429, {{"Retry-After", "30"}}, ""}; });
  auto opts = fast_options(server.host());
  opts.max_attempts = 1;
  auto http = make_curl_transport();
  Session s(*http, opts, server.host(), "app", {});
  auto t0 = Clock::now();
  CHECK(s.send(get(s, "/v2/")).status == 429);
  CHECK(s.send(get(s, "/v2/"), Retry::no).status == 429);
  CHECK(Clock::now() - t0 < std::chrono::milliseconds(5000));
  CHECK(server.requests().size() == 2);
}

TEST_CASE("session: connection refused is retried, then reported with the attempt count") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::string host = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  ::close(fd); // nothing listens there now
  auto opts = fast_options(host);
  opts.max_attempts = 2;
  auto http = make_curl_transport();
  Session s(*http, opts, host, "app", {});
  try {
    s.send(get(s, "/v2/"));
    FAIL("no error");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::registry);
    std::string msg = e.what();
    CHECK(msg.rfind("GET http://" + host + "/v2/: ", 0) == 0);
    CHECK(msg.find("(after 2 attempts)") != std::string::npos);
  }
}

TEST_CASE("session: Location headers, absolute or relative") {
  ClientOptions opts;
  opts.insecure_registries = {"r:1"};
  auto http = make_curl_transport();
  Session s(*http, opts, "r:1", "app", {});
  CHECK(s.resolve("/v2/app/blobs/uploads/u?_state=x") == "http://r:1/v2/app/blobs/uploads/u?_state=x");
  CHECK(s.resolve("https://other/up/1") == "https://other/up/1");
  Session tls(*http, ClientOptions{}, "r:2", "app", {});
  CHECK(tls.url("/v2/") == "https://r:2/v2/");
}
