#pragma once
#include <string>
#include <string_view>

namespace echo::registry {

/// An image reference `host[:port]/path[:tag][@sha256:<hex>]` (distribution reference grammar).
/// The host is required (a first component with '.' or ':', "localhost" or an IP); no implicit docker.io.
struct Reference {
  std::string registry;   ///< "host" or "host:port" as written ("[::1]:5000" for IPv6)
  std::string repository; ///< path components, lower case: "library/alpine"
  std::string tag;        ///< "latest" when neither tag nor digest is given; empty when only a digest is
  std::string digest;     ///< "sha256:<64 lower-case hex>" or empty

  /// Parses text; throws Error(usage) "invalid image reference '<text>': <reason>".
  static Reference parse(std::string_view text);
  /// registry/repository[:tag][@digest]
  std::string str() const;
  /// registry/repository
  std::string repo_str() const;
  /// The digest when set, else the tag: what goes after /manifests/ in a URL.
  std::string manifest_ref() const { return digest.empty() ? tag : digest; }
};

/// True for a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool is_valid_tag(std::string_view tag) noexcept;

} // namespace echo::registry
