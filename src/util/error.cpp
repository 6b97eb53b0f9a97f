#include "echo/util/error.hpp"

#include <cerrno>
#include <cstring>

namespace echo {

int exit_code(ErrorKind kind) noexcept {
  switch (kind) {
  case ErrorKind::usage: return 2;
  case ErrorKind::recipe: return 3;
  case ErrorKind::source: return 4;
  case ErrorKind::sandbox: return 5;
  case ErrorKind::build: return 6;
  case ErrorKind::registry: return 7;
  case ErrorKind::signature: return 8;
  case ErrorKind::verify: return 9;
  case ErrorKind::vulnerable: return 10;
  case ErrorKind::vulndb: return 11;
  case ErrorKind::internal: return 70;
  }
  return 70;
}

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
  case ErrorKind::usage: return "usage";
  case ErrorKind::recipe: return "recipe";
  case ErrorKind::source: return "source";
  case ErrorKind::sandbox: return "sandbox";
  case ErrorKind::build: return "build";
  case ErrorKind::registry: return "registry";
  case ErrorKind::signature: return "signature";
  case ErrorKind::verify: return "verify";
  case ErrorKind::vulnerable: return "vulnerable";
  case ErrorKind::vulndb: return "vulndb";
  case ErrorKind::internal: return "internal";
  }
  return "internal";
}

void throw_errno(ErrorKind kind, std::string_view what) {
  int err = errno;
  throw Error(kind, std::string(what) + ": " + std::strerror(err));
}

} // namespace echo
