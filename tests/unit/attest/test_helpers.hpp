#pragma once
// Shared helpers for the attest unit tests: run real tools (openssl, python3), build a small layout by hand.
#include "echo/attest/provenance.hpp"
#include "echo/oci/layout.hpp"
#include "echo/util/fs.hpp"

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace echo::attest::test {

struct RunResult {
  int status;
  std::string output; ///< stdout and stderr
};

/// Runs a shell command line (test-only; arguments are our own temp paths), capturing output and exit status.
inline RunResult run(const std::string& cmd) {
  RunResult r{-1, ""};
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) r.output.append(buf.data(), n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline bool have(const std::string& tool) { return run("command -v " + tool + " >/dev/null").status == 0; }

/// A one-layer image written by hand with echo::oci::Layout, tagged "1.0".
struct TestImage {
  oci::Descriptor config, layer, manifest;
};
inline TestImage make_image(oci::Layout& l, const std::string& layer_bytes = "layer bytes: not a real tar") {
  TestImage t;
  t.layer = l.write_blob(layer_bytes, oci::k_media_layer_gzip);
  t.config = l.write_blob(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
                              t.layer.digest + R"("]}})",
                          oci::k_media_config);
  std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                  oci::descriptor_json(t.config) + R"(,"layers":[)" + oci::descriptor_json(t.layer) + "]}";
  t.manifest = l.write_blob(m, oci::k_media_manifest);
  l.put_manifest(t.manifest, "1.0");
  l.save();
  return t;
}

inline ProvenanceInput sample_provenance(const std::string& digest) {
  ProvenanceInput in;
  in.subject_name = "127.0.0.1:5000/example";
  in.subject_digest = digest;
  ImageBuildParameters p;
  p.recipe = "images/example.yaml";
  p.recipe_set_digest = "sha256:" + std::string(64, 'a');
  p.image = "127.0.0.1:5000/example";
  p.tags = {"1.0", "latest"};
  p.platform = "linux/amd64";
  p.source_repository = "https://git.example/recipes.git";
  p.source_commit = "0123456789abcdef0123456789abcdef01234567";
  p.source_date_epoch = 1700000000;
  in.external_parameters = external_parameters(p);
  in.resolved_dependencies = {
      {"zlib-1.3.1.tar.gz", "https://zlib.net/zlib-1.3.1.tar.gz", {{"sha256", std::string(64, 'b')}}, {}},
      {"zlib", "", {{"sha256", std::string(64, 'c')}}, {{"storeKey", "zlib-1.3.1-abc"}}}};
  in.builder_id = k_builder_local;
  in.builder_version = "0.1.0";
  in.invocation_id = "inv-1";
  in.started_on = "2026-01-01T00:00:00Z";
  in.finished_on = "2026-01-01T00:01:00Z";
  return in;
}

inline void flip_byte(const std::filesystem::path& p, std::size_t at = 0) {
  std::string s = read_file(p);
  s[at] = static_cast<char>(s[at] ^ 1);
  std::filesystem::permissions(p, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  write_file_atomic(p, s);
}

} // namespace echo::attest::test
