#pragma once
// Pure parsing for registry auth and errors: WWW-Authenticate, error bodies, docker config.json.
#include "echo/registry/client.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::registry {

/// One challenge of a WWW-Authenticate header: scheme lower-cased ("bearer", "basic"), params by lower-case name.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};

/// Parses `Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push", Basic realm="r"`.
/// Quoted values may contain commas and \-escapes. Malformed input yields what could be parsed.
std::vector<Challenge> parse_www_authenticate(std::string_view header);

/// distribution-spec error body `{"errors":[{"code":..,"message":..}]}` as "CODE: message; CODE2: message2";
/// "" when the body is not such a document.
std::string parse_error_body(std::string_view body);

/// Credentials for `registry` ("host:port") from a docker config.json-style file: `auths` keys may be
/// "host:port", "https://host:port", "http://host:port/v1/"; values {"auth": base64(user:pass)} or
/// {"username","password"}. nullopt when the file has no entry. Throws Error(usage) naming the file if
/// it is not valid JSON or an entry is malformed (never quoting secrets).
std::optional<Credentials> lookup_auth_file(const std::filesystem::path& file, std::string_view registry);

std::string base64_encode(std::string_view bytes);
/// Throws Error(usage) on invalid input.
std::string base64_decode(std::string_view text);

} // namespace echo::registry
