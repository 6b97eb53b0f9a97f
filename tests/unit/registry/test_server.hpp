#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1 for client tests: one request per connection, handler decides.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace echo::test {

struct ServerRequest {
  std::string method, target;               // target = path?query
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
};

struct ServerResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class TestServer {
public:
  using Handler = std::function<ServerResponse(const ServerRequest&)>;

  explicit TestServer(Handler h) : m_handler(std::move(h)) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(m_fd, 16) != 0)
      throw std::runtime_error("test server: bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len);
    m_port = ntohs(a.sin_port);
    m_thread = std::thread([this] { loop(); });
  }
  ~TestServer() {
    m_stop = true;
    ::shutdown(m_fd, SHUT_RDWR);
    ::close(m_fd);
    m_thread.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(m_port); }
  std::vector<ServerRequest> requests() const {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_requests;
  }

private:
  void loop() {
    while (!m_stop) {
      int c = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (m_stop) return;
        continue;
      }
      serve(c);
      ::close(c);
    }
  }

  void serve(int c) {
    std::string data;
    char buf[65536];
    std::size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<std::size_t>(n));
      if (data[0] == '\x16') { // a TLS ClientHello: answer like an http-only server does
        const char reply[] = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
        (void)!::write(c, reply, sizeof reply - 1);
        return;
      }
    }
    ServerRequest req;
    std::string head = data.substr(0, end);
    std::size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    auto sp1 = first.find(' '), sp2 = first.rfind(' ');
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      auto e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string k = line.substr(0, colon);
        for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        req.headers[k] = v;
      }
      pos = e + 2;
    }
    req.body = data.substr(end + 4);
    std::size_t want = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    while (req.body.size() < want) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.body.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(m_mu);
      m_requests.push_back(req);
    }
    ServerResponse resp = m_handler(req);
    static const std::map<int, std::string> k_reasons{{200, "OK"}, {201, "Created"}, {202, "Accepted"},
        {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"}, {429, "Too Many Requests"},
        {500, "Internal Server Error"}, {503, "Service Unavailable"}};
    auto reason = k_reasons.count(resp.status) ? k_reasons.at(resp.status) : std::string("Other");
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + reason + "\r\nConnection: close\r\n";
    bool has_len = false;
    for (const auto& [k, v] : resp.headers) {
      out += k + ": " + v + "\r\n";
      if (k == "Content-Length") has_len = true;
    }
    if (!has_len) out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
    out += "\r\n";
    if (req.method != "HEAD") out += resp.body;
    std::size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::write(c, out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  }

  Handler m_handler;
  int m_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  mutable std::mutex m_mu;
  std::vector<ServerRequest> m_requests;
};

} // namespace echo::test
