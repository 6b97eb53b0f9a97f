#pragma once
// What scanners match a package by: its package URL (purl) and its CPE 2.3 name (docs/vulnerabilities.md).
#include "echo/recipe/recipe.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace echo::recipe {

/// Checks `package.purl` as written in a recipe: `pkg:TYPE[/NAMESPACE]/NAME` without version, qualifiers or
/// subpath (echo-build adds those). Returns an error message, or nullopt when it is fine.
std::optional<std::string> check_purl_base(std::string_view purl);

/// Checks `package.cpe`: a CPE 2.3 formatted string `cpe:2.3:PART:VENDOR:PRODUCT:VERSION:...` with all 13
/// components, PART one of a/o/h, VERSION `*` (filled in with the package version) or the package version.
/// Returns an error message, or nullopt when it is fine.
std::optional<std::string> check_cpe(std::string_view cpe, std::string_view version);

/// The package's purl: `package.purl` (default `pkg:generic/NAME`) + `@VERSION` (upstream version) + the
/// qualifiers `checksum=sha256:HEX` and `download_url=URL` of its first remote source (sorted by key).
std::string package_purl(const PackageRecipe& p);

/// The package's CPE 2.3: `package.cpe` with its version filled in, else `cpe:2.3:a:NAME:NAME:VERSION:*:*:*:*:*:*:*`;
/// "" for `cpe: none` (no CPE exists for it, e.g. data-only packages: none is emitted).
std::string package_cpe(const PackageRecipe& p);

/// Escapes a value for a CPE 2.3 formatted-string component (backslash before anything but [A-Za-z0-9._-]).
std::string cpe_escape(std::string_view value);

/// The parts of a purl: "pkg:generic/musl@1.2.3?x=y" -> base "pkg:generic/musl", version "1.2.3".
/// Percent-escapes in the version are decoded. Returns nullopt if `purl` is not `pkg:TYPE/...`.
struct PurlParts {
  std::string base;    ///< pkg:type[/namespace]/name, lower-cased type
  std::string version; ///< "" when absent
};
std::optional<PurlParts> split_purl(std::string_view purl);

} // namespace echo::recipe
