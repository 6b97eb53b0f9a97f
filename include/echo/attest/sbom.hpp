#pragma once
#include <string>
#include <vector>

namespace echo::attest {

/// One source archive / patch of a package: its URL and lower-case hex SHA-256.
struct SbomSource { std::string url; std::string sha256; };
/// A regular file in the image: absolute or image-relative path, lower-case hex SHA-256 of its content.
struct SbomFile { std::string path; std::string sha256; };
/// A package in the image. Empty license -> NOASSERTION; empty supplier -> "Organization: echo-build";
/// empty purl -> pkg:generic/<name>@<version>?download_url=<first source> (docs/provenance.md, SBOM section).
struct SbomPackage {
  std::string name, version, license, homepage, supplier, purl;
  std::vector<SbomSource> sources;      ///< first is the downloadLocation
  std::vector<std::string> depends_on;  ///< names of other packages in `packages`
  std::vector<SbomFile> files;          ///< files this package put into the image
  std::string cpe;                      ///< CPE 2.3 formatted string ("" = none): SECURITY/cpe23Type externalRef
};
/// The image: name (repository), version (tag), manifest digest "sha256:<hex>", creation time (RFC 3339,
/// SOURCE_DATE_EPOCH for reproducible output), packages, and files no package owns (generated files).
struct SbomInput {
  std::string image_name, image_version, image_digest, created;
  std::vector<SbomPackage> packages;
  std::vector<SbomFile> generated_files;
  std::string tool_version; ///< echo-build version for creationInfo.creators (optional)
};

/// SPDX 2.3 JSON document. Deterministic: packages sorted by name/version, files by path; documentNamespace
/// derived from the image digest. Throws Error(internal) for a bad digest, an unknown depends_on name or a
/// file path listed twice.
std::string make_spdx(const SbomInput& in);
/// CycloneDX 1.5 JSON (image as metadata.component, packages as components, dependencies; no per-file list).
/// Same errors as make_spdx.
std::string make_cyclonedx(const SbomInput& in);

} // namespace echo::attest
