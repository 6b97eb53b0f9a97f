#include "echo/source/fetcher.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"
#include "http_server.hpp"

#include "unit/fs_helpers.hpp"
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace fs = std::filesystem;
using echo::source::FetchOptions;
using echo::source::RemoteFile;
using echo::test::HttpResponse;
using echo::test::HttpServer;

namespace {

const std::string k_body = "hello source bytes\n";
const std::string k_hex = echo::sha256_hex(k_body);

FetchOptions fast_options(const fs::path& cache) {
  FetchOptions o;
  o.cache_dir = cache;
  o.first_backoff = std::chrono::milliseconds(5);
  return o;
}

using echo::test::list_dir;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::source);
    return e.what();
  }
  FAIL("no echo::Error thrown");
  return {};
}

HttpResponse ok(std::string body = k_body) { return HttpResponse{200, "OK", std::move(body), {}, {}}; }
HttpResponse status(int code, std::string reason) { return HttpResponse{code, std::move(reason), "error page", {}, {}}; }

} // namespace

TEST_CASE("url_file_name takes the last path component without query or fragment", "[fetch]") {
  using echo::source::url_file_name;
  CHECK(url_file_name("https://ftp.gnu.org/gnu/hello/hello-2.12.tar.gz") == "hello-2.12.tar.gz");
  CHECK(url_file_name("https://example.org/dl/x.tar.xz?raw=1#frag") == "x.tar.xz");
  CHECK(url_file_name("file:///srv/dist/zlib-1.3.tar.gz") == "zlib-1.3.tar.gz");
  CHECK(url_file_name("http://example.org") == "");
  CHECK(url_file_name("http://example.org/dir/") == "");
  CHECK(url_file_name("patches/fix.patch") == "fix.patch");
}

TEST_CASE("fetch downloads, verifies, caches; a second fetch is a cache hit", "[fetch]") {
  HttpServer server([](const std::string&, int) { return ok(); });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path() / "cache");
  std::vector<std::string> lines;
  opts.progress = [&](std::string_view l) { lines.emplace_back(l); };
  RemoteFile f{server.url("/hello-1.0.tar.gz"), {}, k_hex};

  fs::path p = echo::source::fetch(f, opts);
  CHECK(p == tmp.path() / "cache" / "sources" / "sha256" / k_hex);
  CHECK(p == echo::source::cache_path(opts, k_hex));
  CHECK(echo::read_file(p) == k_body);
  CHECK(list_dir(p.parent_path()) == std::vector<std::string>{k_hex});
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "fetching " + f.url);
  CHECK(lines[1] == "fetched " + f.url + " (19 B)");

  CHECK(echo::source::fetch(f, opts) == p);
  CHECK(server.count("/hello-1.0.tar.gz") == 1);
  CHECK(echo::source::find_local(f, opts) == p);
}

TEST_CASE("a sha256 mismatch names URL, expected and actual digest and leaves nothing in the cache", "[fetch]") {
  const std::string wrong = "tampered bytes\n";
  HttpServer server([&](const std::string&, int) { return ok(wrong); });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  RemoteFile f{server.url("/a.tar.gz"), {}, k_hex};
  std::string msg = error_of([&] { echo::source::fetch(f, opts); });
  CHECK(msg == "cannot fetch " + f.url + ": sha256 mismatch: expected " + k_hex + ", got " + echo::sha256_hex(wrong));
  CHECK(list_dir(tmp.path() / "sources" / "sha256").empty());
  CHECK(server.count("/a.tar.gz") == 1); // a mismatch is not retried
}

TEST_CASE("5xx responses are retried with backoff", "[fetch]") {
  HttpServer server([](const std::string&, int nth) {
    return nth <= 2 ? status(500, "Internal Server Error") : ok();
  });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  std::vector<std::string> lines;
  opts.progress = [&](std::string_view l) { lines.emplace_back(l); };
  RemoteFile f{server.url("/r.tar.gz"), {}, k_hex};
  CHECK(echo::read_file(echo::source::fetch(f, opts)) == k_body);
  CHECK(server.count("/r.tar.gz") == 3);
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("retrying ", 0) == 0; }) == 2);
  CHECK(lines[1] == "retrying " + f.url + " in 0.0 s (HTTP 500 Internal Server Error)");
}

TEST_CASE("retries give up after max_attempts with a clear error", "[fetch]") {
  HttpServer server([](const std::string&, int) { return status(503, "Service Unavailable"); });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  opts.max_attempts = 3;
  RemoteFile f{server.url("/down.tar.gz"), {}, k_hex};
  CHECK(error_of([&] { echo::source::fetch(f, opts); }) ==
        "cannot fetch " + f.url + ": HTTP 503 Service Unavailable (gave up after 3 attempts)");
  CHECK(server.count("/down.tar.gz") == 3);
  CHECK(list_dir(tmp.path() / "sources" / "sha256").empty());
}

TEST_CASE("404 fails at once without retries", "[fetch]") {
  HttpServer server([](const std::string&, int) { return status(404, "Not Found"); });
  echo::TempDir tmp;
  RemoteFile f{server.url("/missing.tar.gz"), {}, k_hex};
  CHECK(error_of([&] { echo::source::fetch(f, fast_options(tmp.path())); }) ==
        "cannot fetch " + f.url + ": HTTP 404 Not Found");
  CHECK(server.count("/missing.tar.gz") == 1);
}

TEST_CASE("429 honours Retry-After, capped by max_retry_after", "[fetch]") {
  HttpServer server([](const std::string& path, int nth) {
    if (nth > 1) return ok();
    HttpResponse r = status(429, "Too Many Requests");
    r.headers.emplace_back("Retry-After", path == "/slow" ? "1" : "3600");
    return r;
  });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  auto t0 = std::chrono::steady_clock::now();
  echo::source::fetch(RemoteFile{server.url("/slow"), {}, k_hex}, opts);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(950));
  CHECK(server.count("/slow") == 2);

  echo::TempDir tmp2;
  auto opts2 = fast_options(tmp2.path());
  opts2.max_retry_after = std::chrono::milliseconds(50);
  t0 = std::chrono::steady_clock::now();
  echo::source::fetch(RemoteFile{server.url("/capped"), {}, k_hex}, opts2);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(server.count("/capped") == 2);
}

TEST_CASE("redirects are followed", "[fetch]") {
  HttpServer server([&](const std::string& path, int) {
    if (path == "/new.tar.gz") return ok();
    HttpResponse r = status(302, "Found");
    r.headers.emplace_back("Location", "/new.tar.gz");
    return r;
  });
  echo::TempDir tmp;
  CHECK(echo::read_file(echo::source::fetch(RemoteFile{server.url("/old.tar.gz"), {}, k_hex},
                                            fast_options(tmp.path()))) == k_body);
  CHECK(server.count("/new.tar.gz") == 1);
}

TEST_CASE("mirrors are tried in order after the main URL", "[fetch]") {
  HttpServer server([](const std::string& path, int) {
    if (path == "/m2/x.tar.gz") return ok();
    if (path == "/m1/x.tar.gz") return ok("bad mirror content");
    return status(404, "Not Found");
  });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  RemoteFile f{server.url("/main/x.tar.gz"), {server.url("/m1/x.tar.gz"), server.url("/m2/x.tar.gz")}, k_hex};
  CHECK(echo::read_file(echo::source::fetch(f, opts)) == k_body);
  CHECK(server.count("/main/x.tar.gz") == 1);
  CHECK(server.count("/m1/x.tar.gz") == 1);
  CHECK(server.count("/m2/x.tar.gz") == 1);

  echo::TempDir tmp2;
  RemoteFile g{server.url("/main/y.tar.gz"), {server.url("/m1/x.tar.gz")}, k_hex};
  CHECK(error_of([&] { echo::source::fetch(g, fast_options(tmp2.path())); }) ==
        "cannot fetch y.tar.gz (sha256 " + k_hex + ") from any URL: " + g.url + ": HTTP 404 Not Found; " +
            g.mirrors[0] + ": sha256 mismatch: expected " + k_hex + ", got " + echo::sha256_hex("bad mirror content"));
}

TEST_CASE("connection refused is retried, then an error names the URL", "[fetch]") {
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  opts.max_attempts = 2;
  std::string url = "http://127.0.0.1:" + std::to_string(echo::test::closed_port()) + "/gone.tar.gz";
  std::string msg = error_of([&] { echo::source::fetch(RemoteFile{url, {}, k_hex}, opts); });
  CHECK_THAT(msg, Catch::StartsWith("cannot fetch " + url + ": Failed to connect to 127.0.0.1 port "));
  CHECK_THAT(msg, Catch::Contains("Couldn't connect to server"));
  CHECK_THAT(msg, Catch::EndsWith("(gave up after 2 attempts)"));
  CHECK(list_dir(tmp.path() / "sources" / "sha256").empty());
}

TEST_CASE("file:// URLs are fetched and verified", "[fetch]") {
  echo::TempDir tmp;
  echo::write_file_atomic(tmp.path() / "local.tar.gz", k_body);
  auto opts = fast_options(tmp.path() / "cache");
  RemoteFile f{"file://" + (tmp.path() / "local.tar.gz").string(), {}, k_hex};
  CHECK(echo::read_file(echo::source::fetch(f, opts)) == k_body);

  RemoteFile missing{"file://" + (tmp.path() / "nope.tar.gz").string(), {}, k_hex};
  echo::TempDir tmp2;
  CHECK_THAT(error_of([&] { echo::source::fetch(missing, fast_options(tmp2.path())); }),
             Catch::StartsWith("cannot fetch " + missing.url + ": Couldn't read a file:// file"));
}

TEST_CASE("distdirs are searched by file name and by sha256, offline", "[fetch]") {
  echo::TempDir tmp;
  fs::create_directories(tmp.path() / "d1");
  fs::create_directories(tmp.path() / "d2");
  auto opts = fast_options(tmp.path() / "cache");
  opts.offline = true;
  opts.distdirs = {tmp.path() / "d1", tmp.path() / "d2"};
  std::string url = "http://127.0.0.1:" + std::to_string(echo::test::closed_port()) + "/pkg-1.0.tar.gz?x=1";

  SECTION("by name, hard-linked into the cache") {
    echo::write_file_atomic(tmp.path() / "d2" / "pkg-1.0.tar.gz", k_body);
    fs::path p = echo::source::fetch(RemoteFile{url, {}, k_hex}, opts);
    CHECK(p == echo::source::cache_path(opts, k_hex));
    CHECK(echo::read_file(p) == k_body);
    struct stat a {}, b {};
    REQUIRE(::stat(p.c_str(), &a) == 0);
    REQUIRE(::stat((tmp.path() / "d2" / "pkg-1.0.tar.gz").c_str(), &b) == 0);
    CHECK(a.st_ino == b.st_ino);
  }
  SECTION("by sha256") {
    echo::write_file_atomic(tmp.path() / "d1" / k_hex, k_body);
    CHECK(echo::read_file(echo::source::fetch(RemoteFile{url, {}, k_hex}, opts)) == k_body);
  }
  SECTION("a file with the right name but wrong content is skipped and reported") {
    echo::write_file_atomic(tmp.path() / "d1" / "pkg-1.0.tar.gz", "other version\n");
    CHECK(!echo::source::find_local(RemoteFile{url, {}, k_hex}, opts));
    CHECK(error_of([&] { echo::source::fetch(RemoteFile{url, {}, k_hex}, opts); }) ==
          "offline: " + url + " (sha256 " + k_hex + ") is not in the source cache and not in any distdir (searched: " +
              (tmp.path() / "d1").string() + ", " + (tmp.path() / "d2").string() + "); " +
              (tmp.path() / "d1" / "pkg-1.0.tar.gz").string() + " has sha256 " + echo::sha256_hex("other version\n"));
    CHECK(list_dir(tmp.path() / "cache" / "sources" / "sha256").empty());
  }
}

TEST_CASE("offline without distdirs never touches the network", "[fetch]") {
  HttpServer server([](const std::string&, int) { return ok(); });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  opts.offline = true;
  RemoteFile f{server.url("/a.tar.gz"), {}, k_hex};
  CHECK(error_of([&] { echo::source::fetch(f, opts); }) ==
        "offline: " + f.url + " (sha256 " + k_hex + ") is not in the source cache and no distdir is configured");
  CHECK(!echo::source::find_local(f, opts));
  CHECK(server.count("/a.tar.gz") == 0);
}

TEST_CASE("a corrupt cache entry is replaced", "[fetch]") {
  HttpServer server([](const std::string&, int) { return ok(); });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  fs::create_directories(tmp.path() / "sources" / "sha256");
  echo::write_file_atomic(echo::source::cache_path(opts, k_hex), "bit rot");
  CHECK(echo::read_file(echo::source::fetch(RemoteFile{server.url("/a.tar.gz"), {}, k_hex}, opts)) == k_body);
  CHECK(server.count("/a.tar.gz") == 1);
}

TEST_CASE("an invalid sha256 is rejected before any work", "[fetch]") {
  echo::TempDir tmp;
  CHECK(error_of([&] { echo::source::fetch(RemoteFile{"http://127.0.0.1:1/x", {}, "ABC"}, fast_options(tmp.path())); }) ==
        "http://127.0.0.1:1/x: sha256 must be 64 lower-case hex digits, got 'ABC'");
}

TEST_CASE("concurrent fetches of the same file all succeed and leave one sound cache entry", "[fetch]") {
  const std::string big(3 << 20, 'x');
  const std::string hex = echo::sha256_hex(big);
  HttpServer server([&](const std::string&, int) {
    HttpResponse r = ok(big);
    r.delay = std::chrono::milliseconds(200); // all fetchers are in flight at once
    return r;
  });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  RemoteFile f{server.url("/big.tar.gz"), {}, hex};
  std::vector<std::thread> threads;
  std::vector<std::string> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      try {
        results[i] = echo::source::fetch(f, opts).string();
      } catch (const std::exception& e) {
        results[i] = std::string("error: ") + e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) CHECK(r == echo::source::cache_path(opts, hex).string());
  CHECK(server.count("/big.tar.gz") == 4);
  CHECK(list_dir(tmp.path() / "sources" / "sha256") == std::vector<std::string>{hex});
  CHECK(echo::sha256_file(echo::source::cache_path(opts, hex)) == hex);
}

TEST_CASE("concurrent fetches from separate processes share the cache safely", "[fetch]") {
  const std::string big(2 << 20, 'y');
  const std::string hex = echo::sha256_hex(big);
  HttpServer server([&](const std::string&, int) {
    HttpResponse r = ok(big);
    r.delay = std::chrono::milliseconds(300);
    return r;
  });
  echo::TempDir tmp;
  auto opts = fast_options(tmp.path());
  RemoteFile f{server.url("/p.tar.gz"), {}, hex};
  std::vector<pid_t> kids;
  for (int i = 0; i < 3; ++i) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) { // child: only async-signal-safe-ish work until _exit; no Catch macros here
      int rc = 1;
      try {
        rc = echo::source::fetch(f, opts) == echo::source::cache_path(opts, hex) ? 0 : 2;
      } catch (...) {
        rc = 3;
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    REQUIRE(::waitpid(k, &status, 0) == k);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(server.count("/p.tar.gz") == 3);
  CHECK(list_dir(tmp.path() / "sources" / "sha256") == std::vector<std::string>{hex});
  CHECK(echo::sha256_file(echo::source::cache_path(opts, hex)) == hex);
}
