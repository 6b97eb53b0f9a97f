#include "registry/auth.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace echo::registry {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

// "https://host:port/v1/" -> "host:port"
std::string normalize_key(std::string_view key) {
  if (auto p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
  return std::string(key.substr(0, key.find('/')));
}

} // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view h) {
  std::vector<Challenge> out;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  while (true) {
    skip_ws();
    std::size_t start = i;
    while (i < h.size() && is_token_char(h[i])) ++i;
    if (i == start) break;
    std::string word(h.substr(start, i - start));
    std::size_t after_word = i;
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
    if (i < h.size() && h[i] == '=' && !out.empty()) {
      // auth-param of the current challenge
      ++i;
      while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i++];
        }
        if (i < h.size()) ++i;
      } else {
        while (i < h.size() && h[i] != ',' && h[i] != ' ' && h[i] != '\t') value += h[i++];
      }
      out.back().params[lower(word)] = value;
    } else {
      i = after_word;
      out.push_back(Challenge{lower(word), {}});
    }
  }
  return out;
}

std::string parse_error_body(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array()) return {};
  std::string out;
  for (const auto& e : j["errors"]) {
    if (!e.is_object()) continue;
    std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    std::string msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    if (code.empty() && msg.empty()) continue;
    if (!out.empty()) out += "; ";
    out += code.empty() ? msg : msg.empty() ? code : code + ": " + msg;
  }
  return out;
}

std::optional<Credentials> lookup_auth_file(const std::filesystem::path& file, std::string_view registry) {
  auto j = nlohmann::json::parse(read_file(file), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorKind::usage, file.string() + ": not a JSON object");
  if (!j.contains("auths") || !j["auths"].is_object()) return std::nullopt;
  std::string want(registry);
  if (want == "docker.io") want = "index.docker.io";
  for (const auto& [key, entry] : j["auths"].items()) {
    std::string host = normalize_key(key);
    if (host == "registry-1.docker.io" || host == "docker.io") host = "index.docker.io";
    if (host != want) continue;
    auto bad = [&](std::string_view why) {
      return Error(ErrorKind::usage, file.string() + ": auths entry \"" + key + "\": " + std::string(why));
    };
    if (!entry.is_object()) throw bad("not an object");
    if (entry.contains("auth") && entry["auth"].is_string() && !entry["auth"].get<std::string>().empty()) {
      std::string decoded;
      try {
        decoded = base64_decode(entry["auth"].get<std::string>());
      } catch (const Error&) {
        throw bad("\"auth\" is not valid base64");
      }
      auto colon = decoded.find(':');
      if (colon == std::string::npos) throw bad("\"auth\" does not decode to user:password");
      return Credentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
    }
    if (entry.contains("username") && entry["username"].is_string() && entry.contains("password") &&
        entry["password"].is_string())
      return Credentials{entry["username"].get<std::string>(), entry["password"].get<std::string>()};
    if (entry.contains("identitytoken") && entry["identitytoken"].is_string())
      return Credentials{"<token>", entry["identitytoken"].get<std::string>()};
    throw bad("needs \"auth\" or \"username\" and \"password\"");
  }
  return std::nullopt;
}

std::string base64_encode(std::string_view in) {
  static constexpr char k_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += k_chars[(v >> 18) & 63];
    out += k_chars[(v >> 12) & 63];
    out += k_chars[(v >> 6) & 63];
    out += k_chars[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += k_chars[(v >> 18) & 63];
    out += k_chars[(v >> 12) & 63];
    out += i + 1 < in.size() ? k_chars[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) throw Error(ErrorKind::usage, "invalid base64");
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) throw Error(ErrorKind::usage, "invalid base64");
  return out;
}

} // namespace echo::registry
