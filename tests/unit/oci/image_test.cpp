#include "echo/oci/image.hpp"

#include "oci_test_util.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace echo;
using namespace echo::oci;
using namespace echo::oci::test;

namespace {

// A package tree with a real (unstripped) ELF binary, a hard link, a symlink and everything hardening drops.
PackageTree hello_package(const fs::path& root, const std::string& name = "hello") {
  fs::create_directories(root / "usr/bin");
  put(root.parent_path() / (name + "-src.c"), "#include <stdio.h>\nint main(void){puts(\"hello\");return 0;}\n");
  auto cc = run("cc -g -O0 -o " + (root / "usr/bin/hello").string() + " " +
                (root.parent_path() / (name + "-src.c")).string());
  REQUIRE(cc.status == 0);
  REQUIRE(::link((root / "usr/bin/hello").c_str(), (root / "usr/bin/hello-again").c_str()) == 0);
  fs::create_symlink("hello", root / "usr/bin/hi");
  put(root / "usr/share/doc/hello/README", "read me\n");
  put(root / "usr/share/man/man1/hello.1", ".TH HELLO 1\n");
  put(root / "usr/share/hello/data.txt", "data\n");
  put(root / "usr/include/hello.h", "int hello(void);\n");
  put(root / "usr/lib/libhello.a", "!<arch>\n");
  put(root / "usr/lib/libhello.la", "# libtool\n");
  put(root / "usr/lib/pkgconfig/hello.pc", "Name: hello\n");
  put(root / "usr/lib/libhello.so.1", "not an ELF file\n");
  fs::create_symlink("libhello.so.1", root / "usr/lib/libhello.so");
  return {name, "1.0", "MIT", root};
}

PackageTree text_package(const fs::path& root, const std::string& name, const std::string& file,
                         const std::string& content) {
  put(root / file, content);
  return {name, "1", "Apache-2.0", root};
}

ImageSpec base_spec() {
  ImageSpec s;
  s.name = "hello-image";
  s.version = "1.2";
  s.tags = {"1.2", "latest"};
  s.source_date_epoch = 1700000000;
  s.entrypoint = {"/usr/bin/hello"};
  s.threads = 2;
  return s;
}

nlohmann::json blob_json(const BuiltImage& img, const std::string& digest) {
  return nlohmann::json::parse(Layout::open(img.layout).read_blob(digest));
}

std::map<std::string, TarEntry> layer_entries(const BuiltImage& img, std::size_t i) {
  std::map<std::string, TarEntry> m;
  for (auto& e : read_tar(Layout::open(img.layout).blob_path(img.layers.at(i).digest))) m[e.path] = e;
  return m;
}

std::string error_of(const ImageSpec& spec, const std::vector<PackageTree>& pkgs, const fs::path& out) {
  try {
    assemble(spec, pkgs, out);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::build);
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("image has generated accounts, os-release, declared paths", "[image]") {
  TempDir tmp;
  ImageSpec spec = base_spec();
  spec.nsswitch = true;
  spec.users = {{"app", 1000, 1000, "/home/app", "/bin/sh"}, {"nonroot", 65532, 65532, "/home/nonroot"}};
  spec.groups = {{"staff", 50, {"app", "nonroot"}}};
  spec.paths = {{"/var/lib/app", PathSpec::Type::directory, 0750, 1000, 1000, ""},
                {"/etc/mtab", PathSpec::Type::symlink, 0, 0, 0, "../proc/self/mounts"}};
  auto img = assemble(spec, {text_package(tmp.path() / "a", "a", "usr/share/a.txt", "a\n")}, tmp.path() / "out");
  REQUIRE(img.layers.size() == 1);
  auto files = layer_entries(img, 0);
  CHECK(files.at("etc/passwd").content ==
        "root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000:app:/home/app:/bin/sh\n"
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
  CHECK(files.at("etc/group").content == "root:x:0:\nstaff:x:50:app,nonroot\napp:x:1000:\nnonroot:x:65532:\n");
  CHECK(files.at("etc/os-release").content ==
        "ID=echo\nNAME=\"hello-image\"\nVERSION_ID=\"1.2\"\nPRETTY_NAME=\"hello-image 1.2\"\n");
  CHECK(files.at("etc/nsswitch.conf").content.rfind("passwd: files\n", 0) == 0);
  CHECK(files.at("tmp/").mode == 01777);
  CHECK(files.at("root/").mode == 0700);
  CHECK(files.at("home/nonroot/").uid == 65532);
  CHECK(files.at("home/nonroot/").gid == 65532);
  CHECK(files.at("home/nonroot/").mode == 0755);
  CHECK(files.at("home/app/").uid == 1000);
  CHECK(files.at("var/lib/app/").mode == 0750);
  CHECK(files.at("var/lib/app/").uid == 1000);
  CHECK(files.at("etc/mtab").symlink == "../proc/self/mounts");
  CHECK(files.at("usr/share/a.txt").content == "a\n");

  // Default account when none is declared.
  ImageSpec plain = base_spec();
  auto img2 = assemble(plain, {}, tmp.path() / "out2");
  auto files2 = layer_entries(img2, 0);
  CHECK(files2.at("etc/passwd").content ==
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
  CHECK(files2.at("etc/group").content == "root:x:0:\nnonroot:x:65532:\n");
  CHECK(files2.count("etc/nsswitch.conf") == 0);
}

TEST_CASE("config, manifest and index carry the spec", "[image]") {
  TempDir tmp;
  ImageSpec spec = base_spec();
  spec.cmd = {"--greet"};
  spec.env = {{"LANG", "C.UTF-8"}};
  spec.workdir = "/home/nonroot";
  spec.labels = {{"maintainer", "echo"}};
  spec.annotations = {{"org.opencontainers.image.source", "https://example.invalid/hello"},
                      {"org.opencontainers.image.revision", "abc123"}};
  auto img = assemble(spec, {text_package(tmp.path() / "a", "a", "usr/share/a.txt", "a\n")}, tmp.path() / "out");
  auto config = blob_json(img, img.config_digest);
  CHECK(config["created"] == "2023-11-14T22:13:20Z");
  CHECK(config["architecture"] == "amd64");
  CHECK(config["os"] == "linux");
  CHECK(config["config"]["User"] == "65532:65532");
  CHECK(config["config"]["Env"] ==
        nlohmann::json::array({"LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
  CHECK(config["config"]["Entrypoint"] == nlohmann::json::array({"/usr/bin/hello"}));
  CHECK(config["config"]["Cmd"] == nlohmann::json::array({"--greet"}));
  CHECK(config["config"]["WorkingDir"] == "/home/nonroot");
  CHECK(config["config"]["Labels"]["maintainer"] == "echo");
  CHECK(config["rootfs"]["diff_ids"] == nlohmann::json::array({img.layers[0].diff_id}));
  CHECK(config["history"] ==
        nlohmann::json::parse(R"([{"created":"2023-11-14T22:13:20Z","created_by":"echo-build: a, image files"}])"));
  std::string raw = Layout::open(img.layout).read_blob(img.manifest.digest);
  CHECK(raw.find(' ') == std::string::npos);
  CHECK(raw.find("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{") == 0);
  auto manifest = nlohmann::json::parse(raw);
  CHECK(manifest["annotations"] == nlohmann::json{{"org.opencontainers.image.created", "2023-11-14T22:13:20Z"},
                                                  {"org.opencontainers.image.licenses", "Apache-2.0"},
                                                  {"org.opencontainers.image.revision", "abc123"},
                                                  {"org.opencontainers.image.source", "https://example.invalid/hello"},
                                                  {"org.opencontainers.image.title", "hello-image"},
                                                  {"org.opencontainers.image.version", "1.2"}});
  CHECK(manifest["layers"][0]["digest"] == img.layers[0].digest);
  Layout layout = Layout::open(img.layout);
  REQUIRE(layout.find_ref("1.2"));
  CHECK(layout.find_ref("1.2")->digest == img.manifest.digest);
  CHECK(layout.find_ref("latest")->digest == img.manifest.digest);

  // Root only when asked.
  spec.user = "0:0";
  auto root_img = assemble(spec, {}, tmp.path() / "root");
  CHECK(blob_json(root_img, root_img.config_digest)["config"]["User"] == "0:0");
}

TEST_CASE("hardening strips binaries and drops docs, headers, static libs, pkg-config, libtool and dev symlinks",
          "[image]") {
  TempDir tmp;
  auto pkg = hello_package(tmp.path() / "hello");
  auto original_size = fs::file_size(pkg.root / "usr/bin/hello");
  auto img = assemble(base_spec(), {pkg}, tmp.path() / "out");
  auto files = layer_entries(img, 0);
  CHECK(files.at("usr/bin/hello").size < static_cast<long long>(original_size));
  CHECK(fs::file_size(pkg.root / "usr/bin/hello") == original_size);  // the package tree is untouched
  CHECK(files.at("usr/bin/hello-again").hardlink == "usr/bin/hello");
  CHECK(files.at("usr/bin/hi").symlink == "hello");
  CHECK(files.count("usr/share/hello/data.txt") == 1);
  CHECK(files.count("usr/lib/libhello.so.1") == 1);
  for (auto gone : {"usr/share/doc/", "usr/share/doc/hello/README", "usr/share/man/", "usr/include/hello.h",
                    "usr/lib/libhello.so", "usr/lib/libhello.a", "usr/lib/libhello.la", "usr/lib/pkgconfig/", "usr/lib/pkgconfig/hello.pc"})
    CHECK(files.count(gone) == 0);
  std::map<std::string, std::string> removed;
  for (const auto& r : img.report.removed) {
    CHECK(r.package == "hello");
    removed[r.path] = r.reason;
  }
  CHECK(removed == std::map<std::string, std::string>{{"/usr/include", "headers"},
                                                      {"/usr/include/hello.h", "headers"},
                                                      {"/usr/lib/libhello.a", "static"},
                                                      {"/usr/lib/libhello.la", "libtool"},
                                                      {"/usr/lib/libhello.so", "dev-symlinks"},
                                                      {"/usr/lib/pkgconfig", "pkgconfig"},
                                                      {"/usr/lib/pkgconfig/hello.pc", "pkgconfig"},
                                                      {"/usr/share/doc", "docs"},
                                                      {"/usr/share/doc/hello", "docs"},
                                                      {"/usr/share/doc/hello/README", "docs"},
                                                      {"/usr/share/man", "docs"},
                                                      {"/usr/share/man/man1", "docs"},
                                                      {"/usr/share/man/man1/hello.1", "docs"}});
  CHECK(img.report.stripped == 1);
  // hello, hello-again, hi, data.txt, libhello.so.1 + passwd, group, os-release
  CHECK(img.report.files == 8);
  CHECK(img.report.files_per_package == std::map<std::string, std::uint64_t>{{"", 3}, {"hello", 5}});
  CHECK(format_report(img.report).rfind("files: 8, bytes: ", 0) == 0);
  CHECK(format_report(img.report).find(
            ", removed: 13 (dev-symlinks 1, docs 6, headers 2, libtool 1, pkgconfig 2, static 1)\n") !=
        std::string::npos);
  // Every entry is listed with its package; regular files with their digest.
  auto it = std::find_if(img.files.begin(), img.files.end(), [](auto& f) { return f.path == "/usr/bin/hello"; });
  REQUIRE(it != img.files.end());
  CHECK(it->package == "hello");
  CHECK(it->sha256 == sha256_hex(files.at("usr/bin/hello").content));
  CHECK(it->size == static_cast<std::uint64_t>(files.at("usr/bin/hello").size));

  // Each switch turns its rule off.
  ImageSpec soft = base_spec();
  soft.hardening = Hardening{false, false, false, false, false, false, false, {}};
  auto img2 = assemble(soft, {pkg}, tmp.path() / "soft");
  auto files2 = layer_entries(img2, 0);
  CHECK(files2.at("usr/bin/hello").size == static_cast<long long>(original_size));
  for (auto kept : {"usr/share/doc/hello/README", "usr/include/hello.h", "usr/lib/libhello.a", "usr/lib/libhello.la",
                    "usr/lib/pkgconfig/hello.pc", "usr/share/man/man1/hello.1", "usr/lib/libhello.so"})
    CHECK(files2.count(kept) == 1);
  CHECK(img2.report.removed.empty());
}

TEST_CASE("setuid files are refused unless allowed", "[image]") {
  TempDir tmp;
  auto pkg = text_package(tmp.path() / "shadow", "shadow", "usr/bin/su", "su");
  ::chmod((pkg.root / "usr/bin/su").c_str(), 04755);
  CHECK(error_of(base_spec(), {pkg}, tmp.path() / "out") ==
        "package 'shadow': /usr/bin/su is setuid/setgid (mode 4755); list it in hardening.allow-setuid to allow it");
  ImageSpec spec = base_spec();
  spec.hardening.allowed_setuid = {"/usr/bin/su"};
  auto img = assemble(spec, {pkg}, tmp.path() / "out");
  CHECK(img.report.setuid_files == std::vector<std::string>{"/usr/bin/su"});
  CHECK(layer_entries(img, 0).at("usr/bin/su").mode == 04755);
}

TEST_CASE("two packages providing one path conflict unless identical", "[image]") {
  TempDir tmp;
  auto a = text_package(tmp.path() / "a", "alpha", "usr/bin/tool", "one");
  auto b = text_package(tmp.path() / "b", "beta", "usr/bin/tool", "two");
  CHECK(error_of(base_spec(), {b, a}, tmp.path() / "out") ==
        "packages 'alpha' and 'beta' both provide /usr/bin/tool with different content");
  auto c = text_package(tmp.path() / "c", "gamma", "usr/bin/tool", "one");
  auto img = assemble(base_spec(), {a, c}, tmp.path() / "out");
  CHECK(layer_entries(img, 0).at("usr/bin/tool").content == "one");
  fs::create_directories(tmp.path() / "d/usr/bin/tool");
  CHECK(error_of(base_spec(), {a, PackageTree{"delta", "1", "", tmp.path() / "d"}}, tmp.path() / "out") ==
        "packages 'alpha' and 'delta' both provide /usr/bin/tool (file vs directory)");
  auto e = text_package(tmp.path() / "e", "etc", "etc/passwd", "x");
  CHECK(error_of(base_spec(), {e}, tmp.path() / "out") == "package 'etc' provides /etc/passwd, which the image generates");
}

TEST_CASE("same inputs give the same image digest", "[image][determinism]") {
  TempDir tmp;
  auto p1 = hello_package(tmp.path() / "one/hello");
  // A second copy elsewhere, created in another order, other owners and mtimes.
  REQUIRE(run("cp -a " + (tmp.path() / "one").string() + " " + (tmp.path() / "two-elsewhere").string()).status == 0);
  PackageTree p2 = p1;
  p2.root = tmp.path() / "two-elsewhere/hello";
  set_mtimes(p1.root, 1000);
  set_mtimes(p2.root, 2000000000);
  REQUIRE(run("chown -hR 1000:1000 " + p2.root.string()).status == 0);
  auto extra1 = text_package(tmp.path() / "x1", "extra", "usr/share/extra/b", "b");
  put(extra1.root / "usr/share/extra/a", "a");
  auto extra2 = text_package(tmp.path() / "x2", "extra", "usr/share/extra/a", "a");
  put(extra2.root / "usr/share/extra/b", "b");

  ImageSpec spec = base_spec();
  spec.threads = 1;
  auto first = assemble(spec, {p1, extra1}, tmp.path() / "out1");
  auto again = assemble(spec, {p1, extra1}, tmp.path() / "out1");
  spec.threads = 2;
  auto moved = assemble(spec, {extra2, p2}, tmp.path() / "out2");
  CHECK(first.manifest.digest == again.manifest.digest);
  CHECK(first.manifest.digest == moved.manifest.digest);
  CHECK(first.layers[0].diff_id == moved.layers[0].diff_id);

  spec.compression = Compression::zstd;
  spec.threads = 1;
  auto z1 = assemble(spec, {p1, extra1}, tmp.path() / "z1");
  spec.threads = 2;
  auto z2 = assemble(spec, {p2, extra2}, tmp.path() / "z2");
  CHECK(z1.manifest.digest == z2.manifest.digest);
  CHECK(z1.layers[0].media_type == k_media_layer_zstd);
  CHECK(z1.layers[0].diff_id == first.layers[0].diff_id);  // same tar, other compression

  spec.source_date_epoch += 1;
  CHECK(assemble(spec, {p1, extra1}, tmp.path() / "z3").manifest.digest != z1.manifest.digest);
}

TEST_CASE("per-package layering shares package layers between images", "[image][layering]") {
  TempDir tmp;
  auto a = text_package(tmp.path() / "a", "a", "usr/lib/a.so", std::string(5000, 'a'));
  auto b = text_package(tmp.path() / "b", "b", "usr/lib/b.so", std::string(3000, 'b'));
  auto c = text_package(tmp.path() / "c", "c", "usr/lib/c.so", std::string(2000, 'c'));
  auto d = text_package(tmp.path() / "d", "d", "usr/lib/d.so", std::string(1000, 'd'));
  ImageSpec spec = base_spec();
  spec.layering = Layering::per_package;
  auto ab = assemble(spec, {a, b}, tmp.path() / "out");
  auto ac = assemble(spec, {c, a}, tmp.path() / "out");
  REQUIRE(ab.layers.size() == 3);
  REQUIRE(ac.layers.size() == 3);
  CHECK(ab.layers[0].digest == ac.layers[0].digest);  // a's layer
  CHECK(ab.layers[0].created_by == "echo-build: a");
  CHECK(ab.layers[1].created_by == "echo-build: b");
  CHECK(ac.layers[1].created_by == "echo-build: c");
  CHECK(ab.layers[2].created_by == "echo-build: image files");
  CHECK(ab.layers[2].digest == ac.layers[2].digest);
  CHECK(layer_entries(ab, 0).count("usr/lib/b.so") == 0);
  CHECK(layer_entries(ab, 2).count("etc/passwd") == 1);

  // Budget 3 with four packages: the largest gets its own layer, the rest share one, plus generated files.
  spec.layer_budget = 3;
  auto all = assemble(spec, {d, c, b, a}, tmp.path() / "out");
  REQUIRE(all.layers.size() == 3);
  CHECK(all.layers[0].digest == ab.layers[0].digest);
  CHECK(all.layers[1].created_by == "echo-build: b, c, d");
  CHECK(layer_entries(all, 1).count("usr/lib/d.so") == 1);
  auto config = blob_json(all, all.config_digest);
  CHECK(config["rootfs"]["diff_ids"].size() == 3);
  CHECK(config["history"].size() == 3);

  spec.layer_budget = 1;
  try {
    assemble(spec, {a}, tmp.path() / "out");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
    CHECK(std::string(e.what()) == "layer budget must be at least 2 for per-package layering (got 1)");
  }
}
