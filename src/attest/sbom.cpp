// SPDX 2.3 and CycloneDX 1.5 JSON for an image and its packages. Output depends only on the input values:
// packages and files are sorted, ids are derived from names and paths, the namespace from the image digest.
#include "echo/attest/sbom.hpp"

#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <tuple>
#include <map>
#include <set>

namespace echo::attest {

namespace {

using ojson = nlohmann::ordered_json;
constexpr const char* k_default_supplier = "Organization: echo-build";

std::string digest_hex(const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0 || !is_sha256_hex(digest.substr(7)))
    throw Error(ErrorKind::internal, "SBOM image digest '" + digest + "' is not sha256:<hex>");
  return digest.substr(7);
}

/// purl percent-encoding: keep unreserved characters, encode the rest.
std::string pct(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string spdx_id_part(std::string_view s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '-';
  return out.empty() ? "x" : out;
}

std::string file_path(std::string_view p) {
  while (p.substr(0, 2) == "./") p.remove_prefix(2);
  return p.empty() || p.front() != '/' ? "/" + std::string(p) : std::string(p);
}

std::string default_purl(const SbomPackage& p) {
  std::string purl = "pkg:generic/" + pct(p.name);
  if (!p.version.empty()) purl += "@" + pct(p.version);
  if (!p.sources.empty()) purl += "?download_url=" + pct(p.sources.front().url);
  return purl;
}

std::string image_purl(const SbomInput& in, const std::string& hex) {
  // pkg:oci/<last path element>@sha256%3A<hex>?repository_url=<full repository>
  std::string name = in.image_name;
  auto slash = name.rfind('/');
  std::string last = slash == std::string::npos ? name : name.substr(slash + 1);
  std::string purl = "pkg:oci/" + pct(last) + "@sha256%3A" + hex;
  if (slash != std::string::npos) purl += "?repository_url=" + pct(name);
  return purl;
}

std::string supplier_of(const SbomPackage& p) {
  if (p.supplier.empty()) return k_default_supplier;
  if (p.supplier.rfind("Organization:", 0) == 0 || p.supplier.rfind("Person:", 0) == 0) return p.supplier;
  return "Organization: " + p.supplier;
}

/// Sorted copy of the packages with their SPDX ids, checked for unknown dependencies and duplicate files.
struct Prepared {
  std::vector<SbomPackage> packages;
  std::vector<std::string> ids;
  std::map<std::string, std::string> id_by_name;
};

Prepared prepare(const SbomInput& in) {
  Prepared p;
  p.packages = in.packages;
  std::sort(p.packages.begin(), p.packages.end(), [](const SbomPackage& a, const SbomPackage& b) {
    return std::tie(a.name, a.version) < std::tie(b.name, b.version);
  });
  std::set<std::string> used;
  for (auto& pkg : p.packages) {
    std::string id = "SPDXRef-Package-" + spdx_id_part(pkg.name);
    for (int n = 2; used.count(id); ++n) id = "SPDXRef-Package-" + spdx_id_part(pkg.name) + "-" + std::to_string(n);
    used.insert(id);
    p.ids.push_back(id);
    p.id_by_name.emplace(pkg.name, id);
    std::sort(pkg.files.begin(), pkg.files.end(), [](const SbomFile& a, const SbomFile& b) { return a.path < b.path; });
  }
  std::map<std::string, std::string> owner;
  auto claim = [&](const SbomFile& f, const std::string& who) {
    auto [it, fresh] = owner.emplace(file_path(f.path), who);
    if (!fresh)
      throw Error(ErrorKind::internal, "SBOM: file " + file_path(f.path) + " is listed by both " + it->second +
                                           " and " + who);
    if (!is_sha256_hex(f.sha256))
      throw Error(ErrorKind::internal, "SBOM: file " + file_path(f.path) + " has no valid sha256");
  };
  for (const auto& pkg : p.packages) {
    for (const auto& f : pkg.files) claim(f, "package " + pkg.name);
    for (const auto& d : pkg.depends_on)
      if (!p.id_by_name.count(d))
        throw Error(ErrorKind::internal, "SBOM: package " + pkg.name + " depends on unknown package " + d);
  }
  for (const auto& f : in.generated_files) claim(f, "the image");
  return p;
}

ojson relationship(const std::string& a, const char* type, const std::string& b) {
  return ojson{{"spdxElementId", a}, {"relationshipType", type}, {"relatedSpdxElement", b}};
}

} // namespace

std::string make_spdx(const SbomInput& in) {
  std::string hex = digest_hex(in.image_digest);
  Prepared prep = prepare(in);
  const std::string image_id = "SPDXRef-Image";

  ojson doc;
  doc["spdxVersion"] = "SPDX-2.3";
  doc["dataLicense"] = "CC0-1.0";
  doc["SPDXID"] = "SPDXRef-DOCUMENT";
  doc["name"] = in.image_name + (in.image_version.empty() ? "" : ":" + in.image_version);
  doc["documentNamespace"] = "https://echo-build.dev/spdx/" + spdx_id_part(in.image_name) + "/sha256-" + hex;
  doc["creationInfo"] = {{"created", in.created},
                         {"creators", {"Tool: echo-build" + (in.tool_version.empty() ? "" : "-" + in.tool_version),
                                       k_default_supplier}}};

  ojson packages = ojson::array();
  ojson image;
  image["name"] = in.image_name;
  image["SPDXID"] = image_id;
  if (!in.image_version.empty()) image["versionInfo"] = in.image_version;
  image["supplier"] = k_default_supplier;
  image["downloadLocation"] = "NOASSERTION";
  image["filesAnalyzed"] = false;
  image["checksums"] = ojson::array({{{"algorithm", "SHA256"}, {"checksumValue", hex}}});
  image["licenseConcluded"] = "NOASSERTION";
  image["licenseDeclared"] = "NOASSERTION";
  image["copyrightText"] = "NOASSERTION";
  image["externalRefs"] = ojson::array(
      {{{"referenceCategory", "PACKAGE-MANAGER"}, {"referenceType", "purl"}, {"referenceLocator", image_purl(in, hex)}}});
  image["primaryPackagePurpose"] = "CONTAINER";
  packages.push_back(image);

  ojson files = ojson::array();
  ojson rels = ojson::array();
  rels.push_back(relationship("SPDXRef-DOCUMENT", "DESCRIBES", image_id));
  auto add_file = [&](const SbomFile& f, const std::string& owner_id) {
    std::string path = file_path(f.path);
    std::string id = "SPDXRef-File-" + sha256_hex(path).substr(0, 24);
    files.push_back(ojson{{"fileName", path},
                          {"SPDXID", id},
                          {"checksums", ojson::array({{{"algorithm", "SHA256"}, {"checksumValue", f.sha256}}})},
                          {"licenseConcluded", "NOASSERTION"},
                          {"copyrightText", "NOASSERTION"}});
    rels.push_back(relationship(owner_id, "CONTAINS", id));
  };

  for (std::size_t i = 0; i < prep.packages.size(); ++i) {
    const auto& pkg = prep.packages[i];
    const auto& id = prep.ids[i];
    std::string license = pkg.license.empty() ? "NOASSERTION" : pkg.license;
    ojson j;
    j["name"] = pkg.name;
    j["SPDXID"] = id;
    if (!pkg.version.empty()) j["versionInfo"] = pkg.version;
    j["supplier"] = supplier_of(pkg);
    j["downloadLocation"] = pkg.sources.empty() ? "NOASSERTION" : pkg.sources.front().url;
    j["filesAnalyzed"] = false;
    if (!pkg.sources.empty() && is_sha256_hex(pkg.sources.front().sha256))
      j["checksums"] = ojson::array({{{"algorithm", "SHA256"}, {"checksumValue", pkg.sources.front().sha256}}});
    if (!pkg.homepage.empty()) j["homepage"] = pkg.homepage;
    j["licenseConcluded"] = license;
    j["licenseDeclared"] = license;
    j["copyrightText"] = "NOASSERTION";
    j["externalRefs"] = ojson::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                       {"referenceType", "purl"},
                                       {"referenceLocator", pkg.purl.empty() ? default_purl(pkg) : pkg.purl}}});
    // What grype and trivy match by when the purl type has no vulnerability feed (pkg:generic).
    if (!pkg.cpe.empty())
      j["externalRefs"].push_back(
          {{"referenceCategory", "SECURITY"}, {"referenceType", "cpe23Type"}, {"referenceLocator", pkg.cpe}});
    // Every source (the first one is also downloadLocation) as an annotation "source <url> sha256:<hex>".
    if (!pkg.sources.empty()) {
      ojson notes = ojson::array();
      for (const auto& s : pkg.sources)
        notes.push_back(ojson{{"annotationDate", in.created},
                              {"annotationType", "OTHER"},
                              {"annotator", "Tool: echo-build"},
                              {"comment", "source " + s.url + " sha256:" + s.sha256}});
      j["annotations"] = notes;
    }
    j["primaryPackagePurpose"] = "LIBRARY";
    packages.push_back(j);
    rels.push_back(relationship(image_id, "CONTAINS", id));
    std::vector<std::string> deps = pkg.depends_on;
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    for (const auto& d : deps) rels.push_back(relationship(id, "DEPENDS_ON", prep.id_by_name.at(d)));
    for (const auto& f : pkg.files) add_file(f, id);
  }
  std::vector<SbomFile> generated = in.generated_files;
  std::sort(generated.begin(), generated.end(), [](const SbomFile& a, const SbomFile& b) { return a.path < b.path; });
  for (const auto& f : generated) add_file(f, image_id);

  doc["packages"] = packages;
  if (!files.empty()) doc["files"] = files;
  doc["relationships"] = rels;
  return doc.dump();
}

std::string make_cyclonedx(const SbomInput& in) {
  std::string hex = digest_hex(in.image_digest);
  Prepared prep = prepare(in);
  // serialNumber: a UUID-shaped string from the digest (version nibble 5-like), stable per image.
  std::string u = sha256_hex("echo-build cyclonedx " + hex).substr(0, 32);
  u[12] = '5';
  u[16] = "89ab"[std::stoi(u.substr(16, 1), nullptr, 16) & 3];
  std::string serial = "urn:uuid:" + u.substr(0, 8) + "-" + u.substr(8, 4) + "-" + u.substr(12, 4) + "-" +
                       u.substr(16, 4) + "-" + u.substr(20, 12);

  ojson bom;
  bom["bomFormat"] = "CycloneDX";
  bom["specVersion"] = "1.5";
  bom["serialNumber"] = serial;
  bom["version"] = 1;
  ojson image{{"type", "container"}, {"bom-ref", "image"}, {"name", in.image_name}};
  if (!in.image_version.empty()) image["version"] = in.image_version;
  image["hashes"] = ojson::array({{{"alg", "SHA-256"}, {"content", hex}}});
  image["purl"] = image_purl(in, hex);
  ojson tool{{"type", "application"}, {"name", "echo-build"}};
  if (!in.tool_version.empty()) tool["version"] = in.tool_version;
  bom["metadata"] = {{"timestamp", in.created}, {"tools", {{"components", ojson::array({tool})}}}, {"component", image}};

  ojson comps = ojson::array();
  ojson deps = ojson::array();
  ojson image_deps = ojson::array();
  for (std::size_t i = 0; i < prep.packages.size(); ++i) {
    const auto& pkg = prep.packages[i];
    const auto& ref = prep.ids[i];
    ojson c{{"type", "library"}, {"bom-ref", ref}, {"name", pkg.name}};
    if (!pkg.version.empty()) c["version"] = pkg.version;
    c["supplier"] = {{"name", supplier_of(pkg).substr(supplier_of(pkg).find(':') + 2)}};
    if (!pkg.license.empty()) c["licenses"] = ojson::array({{{"expression", pkg.license}}});
    c["purl"] = pkg.purl.empty() ? default_purl(pkg) : pkg.purl;
    if (!pkg.cpe.empty()) c["cpe"] = pkg.cpe;
    ojson refs = ojson::array();
    for (const auto& s : pkg.sources)
      refs.push_back(ojson{{"type", "distribution"},
                           {"url", s.url},
                           {"hashes", ojson::array({{{"alg", "SHA-256"}, {"content", s.sha256}}})}});
    if (!pkg.homepage.empty()) refs.push_back(ojson{{"type", "website"}, {"url", pkg.homepage}});
    if (!refs.empty()) c["externalReferences"] = refs;
    comps.push_back(c);
    image_deps.push_back(ref);
    ojson on = ojson::array();
    std::vector<std::string> names = pkg.depends_on;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const auto& d : names) on.push_back(prep.id_by_name.at(d));
    deps.push_back(ojson{{"ref", ref}, {"dependsOn", on}});
  }
  deps.insert(deps.begin(), ojson{{"ref", "image"}, {"dependsOn", image_deps}});
  bom["components"] = comps;
  bom["dependencies"] = deps;
  return bom.dump();
}

} // namespace echo::attest
