// Our images as read by real tools: gzip, python, umoci, skopeo, and the official OCI JSON schemas.
#include "echo/oci/image.hpp"

#include "oci_test_util.hpp"

#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using namespace echo;
using namespace echo::oci;
using namespace echo::oci::test;

namespace {

fs::path schema_dir() {
  // tests/unit/oci/interop_test.cpp -> <source>/../shared/schemas/oci-image-spec-v1.1.1
  fs::path source = fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
  return (source.parent_path() / "shared/schemas/oci-image-spec-v1.1.1").lexically_normal();
}

const char* k_validate_py = R"(import json, os, sys, warnings
warnings.simplefilter("ignore")
import jsonschema
schema_dir = sys.argv[1]
# The schemas' ids are https URLs; every $ref is answered from the local folder, never from the network.
local = lambda url: json.load(open(os.path.join(schema_dir, url.split("#")[0].rstrip("/").rsplit("/", 1)[-1])))
def validate(name, doc):
    schema = json.load(open(os.path.join(schema_dir, name)))
    resolver = jsonschema.RefResolver(base_uri="file://" + schema_dir + "/", referrer=schema,
                                      handlers={"https": local, "http": local, "file": local})
    jsonschema.Draft4Validator(schema, resolver=resolver).validate(json.load(open(doc)))
for i in range(2, len(sys.argv), 2):
    validate(sys.argv[i], sys.argv[i + 1])
print("valid")
)";

struct Built {
  TempDir tmp;
  BuiltImage image;
};

std::unique_ptr<Built> build_image(Compression c) {
  auto b = std::make_unique<Built>();
  fs::path root = b->tmp.path() / "hello";
  put(b->tmp.path() / "hello.c", "#include <stdio.h>\nint main(void){puts(\"hello from echo\");return 0;}\n");
  fs::create_directories(root / "usr/bin");
  REQUIRE(run("cc -g -o " + (root / "usr/bin/hello").string() + " " + (b->tmp.path() / "hello.c").string()).status == 0);
  REQUIRE(::link((root / "usr/bin/hello").c_str(), (root / "usr/bin/hello-link").c_str()) == 0);
  put(b->tmp.path() / "lib/usr/share/lib/big.dat", sample_bytes(3 * 1024 * 1024, 7));
  ImageSpec spec;
  spec.name = "hello";
  spec.version = "1.0";
  spec.tags = {"1.0"};
  spec.source_date_epoch = 1700000000;
  spec.entrypoint = {"/usr/bin/hello"};
  spec.layering = Layering::per_package;
  spec.compression = c;
  spec.nsswitch = true;
  b->image = assemble(spec, {{"hello", "1.0", "MIT", root}, {"lib", "2", "BSD-3-Clause", b->tmp.path() / "lib"}},
                      b->tmp.path() / "layout");
  return b;
}

} // namespace

TEST_CASE("layers are multi-member gzip streams that gzip and python read", "[interop]") {
  auto b = build_image(Compression::gzip);
  REQUIRE(b->image.layers.size() == 3);
  Layout layout = Layout::open(b->image.layout);
  for (const auto& l : b->image.layers) {
    auto blob = layout.blob_path(l.digest).string();
    INFO(blob);
    CHECK(run("gzip -t " + blob).status == 0);
    CHECK(run("gzip -dc " + blob + " | sha256sum").output.substr(0, 64) == l.diff_id.substr(7));
    auto py = run("python3 -c 'import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())' " + blob);
    CHECK(py.output.substr(0, 64) == l.diff_id.substr(7));
  }
  // The 3 MiB package layer spans several gzip members.
  std::string big = read_file(layout.blob_path(b->image.layers[1].digest));
  CHECK(big.find(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8), 10) != std::string::npos);
}

TEST_CASE("config, manifest and index validate against the OCI schemas", "[interop][schema]") {
  fs::path schemas = schema_dir();
  if (!fs::exists(schemas / "config-schema.json")) {
    WARN("SKIP: " << schemas.string() << " is absent; cannot validate against the official schemas");
    return;
  }
  auto b = build_image(Compression::zstd);
  Layout layout = Layout::open(b->image.layout);
  fs::path dir = b->tmp.path();
  put(dir / "validate.py", k_validate_py);
  put(dir / "config.json", layout.read_blob(b->image.config_digest));
  put(dir / "manifest.json", layout.read_blob(b->image.manifest.digest));
  auto validate = [&](const std::string& args) {
    return run("python3 " + (dir / "validate.py").string() + " " + schemas.string() + " " + args);
  };
  auto ok = validate("config-schema.json " + (dir / "config.json").string() + " image-manifest-schema.json " +
                     (dir / "manifest.json").string() + " image-index-schema.json " +
                     (b->image.layout / "index.json").string() + " image-layout-schema.json " +
                     (b->image.layout / "oci-layout").string());
  INFO(ok.output);
  CHECK(ok.status == 0);
  CHECK(ok.output.find("valid") != std::string::npos);
  // The validator does reject a broken manifest (a layer without a digest).
  auto m = nlohmann::json::parse(read_file(dir / "manifest.json"));
  m["layers"][0].erase("digest");
  put(dir / "broken.json", m.dump());
  auto bad = validate("image-manifest-schema.json " + (dir / "broken.json").string());
  CHECK(bad.status != 0);
  CHECK(bad.output.find("'digest' is a required property") != std::string::npos);
}

TEST_CASE("umoci unpacks the image and checks its diff_ids", "[interop][umoci]") {
  if (!have("umoci")) {
    WARN("SKIP: umoci is not installed");
    return;
  }
  auto b = build_image(Compression::gzip);
  fs::path bundle = b->tmp.path() / "bundle";
  auto r = run("umoci unpack --rootless --image " + b->image.layout.string() + ":1.0 " + bundle.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(read_file(bundle / "rootfs/etc/passwd").find("nonroot:x:65532:65532:") != std::string::npos);
  CHECK(fs::file_size(bundle / "rootfs/usr/share/lib/big.dat") == 3 * 1024 * 1024);
  CHECK(fs::equivalent(bundle / "rootfs/usr/bin/hello", bundle / "rootfs/usr/bin/hello-link"));  // hard link kept
  // The stripped binary still runs (with the host's libc).
  CHECK(run((bundle / "rootfs/usr/bin/hello").string()).output == "hello from echo\n");
  auto config = nlohmann::json::parse(read_file(bundle / "config.json"));
  CHECK(config["process"]["user"]["uid"] == 65532);
}

TEST_CASE("skopeo reads the layout and the oci-archive", "[interop][skopeo]") {
  if (!have("skopeo")) {
    WARN("SKIP: skopeo is not installed");
    return;
  }
  auto b = build_image(Compression::gzip);
  auto r = run("skopeo inspect oci:" + b->image.layout.string() + ":1.0");
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.output);
  CHECK(j["Digest"] == b->image.manifest.digest);
  CHECK(j["Layers"].size() == 3);
  CHECK(j["Architecture"] == "amd64");

  fs::path tar1 = b->tmp.path() / "image.tar", tar2 = b->tmp.path() / "again.tar";
  write_oci_archive(b->image.layout, tar1);
  write_oci_archive(b->image.layout, tar2);
  CHECK(sha256_file(tar1) == sha256_file(tar2));
  auto entries = read_tar(tar1);
  REQUIRE(entries.size() >= 5);
  CHECK(entries[0].path == "blobs/");
  CHECK(entries[1].path == "blobs/sha256/");
  CHECK(entries.back().path == "oci-layout");
  for (const auto& e : entries) CHECK(e.mtime == 0);
  auto ra = run("skopeo inspect oci-archive:" + tar1.string() + ":1.0");
  INFO(ra.output);
  REQUIRE(ra.status == 0);
  CHECK(nlohmann::json::parse(ra.output)["Digest"] == b->image.manifest.digest);
}
