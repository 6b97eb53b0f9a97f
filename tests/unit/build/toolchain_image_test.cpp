// Toolchain roots from OCI image layouts written here (no registry): layers applied once per manifest digest
// into the cache, reused afterwards, refused whole when a blob or an entry is bad.
#include "echo/build/toolchain.hpp"

#include "echo/oci/layout.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"
#include "unit/source/archive_builder.hpp"

#include "unit/fs_helpers.hpp"
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <algorithm>

namespace fs = std::filesystem;
using namespace echo;
using echo::test::ArchiveEntry;

namespace {

using echo::test::list_dir;

ino_t inode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_ino;
}

// Writes an image with one layer per entry list (gzip, or zstd for the odd ones) under tag; returns the
// manifest digest and the layer digests.
struct Image {
  std::string manifest;
  std::vector<std::string> layers;
};
Image write_image(const fs::path& layout_dir, const std::string& tag, const std::vector<std::vector<ArchiveEntry>>& layers) {
  auto layout = oci::Layout::create(layout_dir);
  Image img;
  std::string layer_json;
  for (size_t i = 0; i < layers.size(); ++i) {
    const bool zstd = i % 2 == 1;
    const fs::path tmp = layout_dir / (zstd ? "layer.tar.zst" : "layer.tar.gz");
    test::write_archive(tmp, layers[i]);
    auto d = layout.write_blob(read_file(tmp), zstd ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                                    : "application/vnd.oci.image.layer.v1.tar+gzip");
    fs::remove(tmp);
    img.layers.push_back(d.digest);
    layer_json += (i ? "," : "") + oci::descriptor_json(d);
  }
  auto config = layout.write_blob(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})",
                                  "application/vnd.oci.image.config.v1+json");
  const std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                               oci::descriptor_json(config) + R"(,"layers":[)" + layer_json + "]}";
  auto md = layout.write_blob(manifest, "application/vnd.oci.image.manifest.v1+json");
  layout.put_manifest(md, tag);
  layout.save();
  img.manifest = md.digest;
  return img;
}

std::vector<std::vector<ArchiveEntry>> two_layers() {
  using namespace echo::test;
  return {{a_dir("./"), a_dir("usr/bin/"), a_file("usr/bin/gcc-12", "cc v1", 0755), a_symlink("usr/bin/cc", "gcc-12"),
           a_file("bin/sh", "sh", 0755), a_file("usr/share/doomed", "d"), a_dir("opt/"), a_file("opt/old", "o")},
          {a_file("usr/share/.wh.doomed", ""), a_file("usr/bin/gcc-12", "cc v2", 0755), a_file("opt/.wh..wh..opq", ""),
           a_file("opt/new", "n")}};
}

} // namespace

TEST_CASE("an image toolchain is unpacked once per manifest digest and reused", "[toolchain][image]") {
  TempDir tmp;
  const fs::path layout = tmp.path() / "layout", cache = tmp.path() / "cache";
  const Image img = write_image(layout, "t", two_layers());
  const std::string hex = img.manifest.substr(7);

  auto r = build::resolve_toolchain_root("oci:" + layout.string() + ":t", cache);
  CHECK(r.dir == cache / "toolchains" / hex);
  CHECK(r.manifest_hex == hex);
  CHECK(r.image == "oci:" + layout.string() + "@" + img.manifest);
  CHECK(read_file(r.dir / "usr/bin/gcc-12") == "cc v2");     // the later layer wins
  CHECK_FALSE(fs::exists(r.dir / "usr/share/doomed"));         // whiteout
  CHECK(list_dir(r.dir / "opt") == std::vector<std::string>{"new"}); // opaque dir
  CHECK(list_dir(cache / "toolchains") == std::vector<std::string>{hex}); // no staging left

  auto t = build::identify_toolchain(r, cache / "toolchain.json");
  CHECK(t.kind == "oci-image");
  CHECK(t.digest == hex);
  CHECK(t.image == r.image);
  CHECK(t.root == r.dir);
  REQUIRE_FALSE(t.components.empty());
  CHECK(t.components[0].name == "cc");
  CHECK(t.components[0].path == "/usr/bin/gcc-12");
  CHECK(t.components[0].sha256 == sha256_hex("cc v2"));

  // Again: the unpacked tree is reused without reading the layers. Damaging a layer blob proves it: a second
  // unpack would check it and fail.
  const ino_t ino = inode(r.dir / "usr/bin/gcc-12");
  write_file_atomic(layout / "blobs" / "sha256" / img.layers[0].substr(7), "damaged");
  auto again = build::resolve_toolchain_root("oci:" + layout.string() + ":t", cache);
  CHECK(again.dir == r.dir);
  CHECK(again.manifest_hex == hex);
  CHECK(inode(again.dir / "usr/bin/gcc-12") == ino);
  // Without a tag, the layout's only image; a relative layout path is made absolute.
  auto untagged = build::resolve_toolchain_root("oci:" + layout.string(), cache);
  CHECK(untagged.dir == r.dir);
}

TEST_CASE("another image (another manifest) gets its own tree", "[toolchain][image]") {
  TempDir tmp;
  const fs::path cache = tmp.path() / "cache";
  auto layers = two_layers();
  const Image a = write_image(tmp.path() / "a", "t", layers);
  layers[1].push_back(test::a_file("usr/bin/extra", "x"));
  const Image b = write_image(tmp.path() / "b", "t", layers);
  REQUIRE(a.manifest != b.manifest);
  auto ra = build::resolve_toolchain_root("oci:" + (tmp.path() / "a").string() + ":t", cache);
  auto rb = build::resolve_toolchain_root("oci:" + (tmp.path() / "b").string() + ":t", cache);
  CHECK(ra.dir != rb.dir);
  CHECK_FALSE(fs::exists(ra.dir / "usr/bin/extra"));
  CHECK(read_file(rb.dir / "usr/bin/extra") == "x");
  CHECK(list_dir(cache / "toolchains").size() == 2);
}

TEST_CASE("a bad blob or a hostile layer leaves nothing in the cache", "[toolchain][image]") {
  TempDir tmp;
  const fs::path layout = tmp.path() / "layout", cache = tmp.path() / "cache";
  const std::string spec = "oci:" + layout.string() + ":t";

  SECTION("a blob whose content does not match its digest") {
    const Image img = write_image(layout, "t", two_layers());
    const fs::path blob = layout / "blobs" / "sha256" / img.layers[1].substr(7);
    write_file_atomic(blob, "tampered");
    try {
      build::resolve_toolchain_root(spec, cache);
      FAIL("a tampered layer was accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::verify);
      CHECK(std::string(e.what()) == "toolchain root " + spec + ": blob " + img.layers[1] + " in " + layout.string() +
                                         ": digest mismatch (content is sha256:" + sha256_hex("tampered") + ")");
    }
  }
  SECTION("a whiteout naming '..'") {
    auto layers = two_layers();
    layers[1].insert(layers[1].begin(), test::a_file("usr/.wh...", ""));
    const Image img = write_image(layout, "t", layers);
    try {
      build::resolve_toolchain_root(spec, cache);
      FAIL("a hostile whiteout was accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::verify);
      CHECK(std::string(e.what()) == "toolchain root " + spec + ": layer " + img.layers[1] +
                                         ": entry 'usr/.wh...': invalid whiteout name '.wh...'");
    }
  }
  SECTION("an entry with '..'") {
    auto layers = two_layers();
    layers[0].push_back(test::a_file("usr/../../escape", "x"));
    const Image img = write_image(layout, "t", layers);
    try {
      build::resolve_toolchain_root(spec, cache);
      FAIL("a hostile entry was accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::verify);
      CHECK(std::string(e.what()) == "toolchain root " + spec + ": layer " + img.layers[0] +
                                         ": entry 'usr/../../escape' goes outside the root");
    }
    CHECK_FALSE(fs::exists(tmp.path() / "escape"));
  }
  CHECK(list_dir(cache / "toolchains").empty()); // neither a tree nor a staging dir
}

TEST_CASE("missing layouts, tags and caches are usage errors naming them", "[toolchain][image]") {
  TempDir tmp;
  const fs::path layout = tmp.path() / "layout";
  write_image(layout, "t", two_layers());
  const std::string no_tag = "oci:" + layout.string() + ":nosuch";
  CHECK_THROWS_WITH(build::resolve_toolchain_root(no_tag, tmp.path() / "cache"),
                    "toolchain root " + no_tag + ": no image tagged 'nosuch' (tags: t)");
  CHECK_THROWS_WITH(build::resolve_toolchain_root("oci:/nonexistent-layout", tmp.path() / "cache"),
                    "toolchain root oci:/nonexistent-layout: /nonexistent-layout is not a directory");
  CHECK_THROWS_WITH(build::resolve_toolchain_root("oci:" + layout.string(), {}),
                    "toolchain root oci:" + layout.string() + ": an image toolchain needs a cache directory");
  // A plain directory is used as it is.
  auto plain = build::resolve_toolchain_root(tmp.path().string(), {});
  CHECK(plain.dir == tmp.path());
  CHECK(plain.image.empty());
}
