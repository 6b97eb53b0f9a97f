// TLS verification against a real HTTPS server (python3 + a self-signed certificate made by openssl).
#include "echo/source/fetcher.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"
#include "http_server.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <thread>

extern char** environ;
namespace fs = std::filesystem;

namespace {

const char* k_server = R"(
import http.server, ssl, sys, os
os.chdir(sys.argv[2])
srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
)";

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

} // namespace

TEST_CASE("https certificates are verified: a self-signed server is refused without retries", "[fetch][tls]") {
  if (std::system("command -v openssl >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: openssl or python3 is not installed");
    return;
  }
  echo::TempDir tmp;
  const std::string t = tmp.path().string();
  REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + t + "/key.pem -out " + t +
                       "/cert.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1")
                          .c_str()) == 0);
  fs::create_directories(tmp.path() / "www");
  echo::write_file_atomic(tmp.path() / "www" / "a.tar.gz", "payload");
  const int port = echo::test::closed_port();
  std::vector<std::string> args{"python3",          "-c", k_server, std::to_string(port), t + "/www",
                                t + "/cert.pem", t + "/key.pem"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  REQUIRE(::posix_spawnp(&pid, "python3", &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGTERM);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
  } reap{pid};
  for (int i = 0; i < 100 && !port_open(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(port_open(port));

  echo::source::FetchOptions opts;
  opts.cache_dir = tmp.path() / "cache";
  opts.first_backoff = std::chrono::milliseconds(5);
  std::vector<std::string> lines;
  opts.progress = [&](std::string_view l) { lines.emplace_back(l); };
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/a.tar.gz";
  try {
    echo::source::fetch(echo::source::RemoteFile{url, {}, echo::sha256_hex("payload")}, opts);
    FAIL("a self-signed certificate was accepted");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::source);
    CHECK_THAT(e.what(), Catch::StartsWith("cannot fetch " + url + ": "));
    CHECK_THAT(e.what(), Catch::Contains("SSL certificate problem: self-signed certificate"));
  }
  CHECK(lines == std::vector<std::string>{"fetching " + url}); // no "retrying" line
  CHECK(!fs::exists(tmp.path() / "cache" / "sources" / "sha256" / echo::sha256_hex("payload")));
}
