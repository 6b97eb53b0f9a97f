#pragma once
#include <stdexcept>
#include <string>
#include <string_view>

namespace echo {

/// What kind of failure an Error is; main maps each kind to a documented exit code (docs/cli.md).
enum class ErrorKind { usage, recipe, source, sandbox, build, registry, signature, verify, vulnerable, vulndb, internal };

/// The one exception type of echo-build. Context is added while unwinding, outermost first:
/// `pushing layer sha256:ab..: PUT http://...: 401 Unauthorized`.
class Error : public std::runtime_error {
public:
  Error(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), m_kind(kind) {}
  ErrorKind kind() const noexcept { return m_kind; }
  /// A copy of this error with "context: " in front of the message.
  Error with_context(std::string_view context) const {
    return Error(m_kind, std::string(context) + ": " + what());
  }

private:
  ErrorKind m_kind;
};

/// Exit code of a failure of this kind: usage 2, recipe 3, source 4, sandbox 5, build 6, registry 7,
/// signature 8, verify 9, vulnerable 10, vulndb 11, internal 70. Success is 0.
int exit_code(ErrorKind kind) noexcept;

/// Name of the kind as printed in --json output ("usage", "recipe", ...).
const char* to_string(ErrorKind kind) noexcept;

/// Runs fn; rethrows any echo::Error with `context` prepended.
template <class Fn> decltype(auto) with_context(std::string_view context, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    throw e.with_context(context);
  }
}

/// Throws Error(kind, strerror-style message) for the current errno: "what: No such file or directory".
[[noreturn]] void throw_errno(ErrorKind kind, std::string_view what);

} // namespace echo
