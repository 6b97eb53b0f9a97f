#include "echo/oci/layer_writer.hpp"

#include "oci_test_util.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>

namespace fs = std::filesystem;
using namespace echo;
using namespace echo::oci;
using namespace echo::oci::test;

namespace {

LayerEntry file_entry(std::string path, std::string content, unsigned mode = 0644) {
  LayerEntry e;
  e.path = std::move(path);
  e.type = LayerEntry::Type::file;
  e.mode = mode;
  e.content = std::move(content);
  return e;
}

std::vector<LayerEntry> sample_entries(const fs::path& big_file) {
  std::vector<LayerEntry> v;
  v.push_back(file_entry("/usr/bin/hello", "#!/bin/sh\necho hi\n", 0755));
  LayerEntry big;
  big.path = "usr/lib/big.bin";
  big.source = big_file;
  v.push_back(big);
  LayerEntry link;
  link.path = "usr/bin/hi";
  link.type = LayerEntry::Type::symlink;
  link.mode = 0777;
  link.link_target = "hello";
  v.push_back(link);
  LayerEntry hard;
  hard.path = "usr/bin/zhello";
  hard.type = LayerEntry::Type::hardlink;
  hard.link_target = "usr/bin/hello";
  v.push_back(hard);
  LayerEntry home;
  home.path = "home/nonroot";
  home.type = LayerEntry::Type::dir;
  home.uid = home.gid = 65532;
  v.push_back(home);
  v.push_back(file_entry("etc/a-b", "x"));  // "etc/a" < "etc/a-b" < "etc/a/b" bytewise
  v.push_back(file_entry("etc/a/b", "y"));
  return v;
}

} // namespace

TEST_CASE("layer entries are sorted, parent-complete, with fixed headers", "[layer]") {
  TempDir tmp;
  put(tmp.path() / "big.bin", sample_bytes(3 * 1024 * 1024 + 17, 1));
  Layout layout = Layout::create(tmp.path() / "layout");
  LayerInfo info = write_layer(sample_entries(tmp.path() / "big.bin"), Compression::gzip, 1700000000, 2, layout);
  CHECK(info.media_type == k_media_layer_gzip);
  CHECK(fs::file_size(layout.blob_path(info.digest)) == info.size);

  auto entries = read_tar(layout.blob_path(info.digest));
  std::vector<std::string> paths;
  for (const auto& e : entries) paths.push_back(e.path);
  CHECK(paths == std::vector<std::string>{"etc/", "etc/a/", "etc/a-b", "etc/a/b", "home/", "home/nonroot/", "usr/",
                                          "usr/bin/", "usr/bin/hello", "usr/bin/hi", "usr/bin/zhello", "usr/lib/",
                                          "usr/lib/big.bin"});
  for (const auto& e : entries) {
    INFO(e.path);
    CHECK(e.mtime == 1700000000);
    CHECK(e.uname.empty());
    CHECK(e.gname.empty());
    CHECK_FALSE(e.atime);
    CHECK_FALSE(e.ctime);
    bool home = e.path == "home/nonroot/";
    CHECK(e.uid == (home ? 65532 : 0));
    CHECK(e.gid == (home ? 65532 : 0));
  }
  CHECK(entries[0].mode == 0755);  // auto-created parent
  CHECK(entries[8].mode == 0755);
  CHECK(entries[8].content == "#!/bin/sh\necho hi\n");
  CHECK(entries[9].symlink == "hello");
  CHECK(entries[10].hardlink == "usr/bin/hello");
  CHECK(entries[12].content == read_file(tmp.path() / "big.bin"));

  // diff_id is the digest of the uncompressed stream; the blob is a valid (multi-member) gzip file.
  auto blob = layout.blob_path(info.digest).string();
  auto sum = run("gzip -dc " + blob + " | sha256sum");
  CHECK(sum.output.substr(0, 64) == info.diff_id.substr(7));
  CHECK(run("gzip -t " + blob).status == 0);
  auto py = run("python3 -c 'import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())' " + blob);
  CHECK(py.output.substr(0, 64) == info.diff_id.substr(7));
  // Gzip header of the first member: MTIME 0, no FLG bits (no FNAME), OS 255.
  std::string head = read_file(blob).substr(0, 10);
  CHECK(head.substr(3, 5) == std::string(5, '\0'));
  CHECK(static_cast<unsigned char>(head[9]) == 255);
}

TEST_CASE("layer digests do not depend on thread count or input order", "[layer]") {
  TempDir tmp;
  put(tmp.path() / "big.bin", sample_bytes(5 * 1024 * 1024 + 3, 2));
  Layout layout = Layout::create(tmp.path() / "layout");
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    auto entries = sample_entries(tmp.path() / "big.bin");
    LayerInfo one = write_layer(entries, c, 0, 1, layout);
    std::reverse(entries.begin(), entries.end());
    LayerInfo two = write_layer(entries, c, 0, 2, layout);
    LayerInfo four = write_layer(entries, c, 0, 4, layout);
    CHECK(one.digest == two.digest);
    CHECK(one.digest == four.digest);
    CHECK(one.diff_id == two.diff_id);
    LayerInfo other_mtime = write_layer(entries, c, 1, 2, layout);
    CHECK(other_mtime.diff_id != one.diff_id);
    if (c == Compression::zstd) {
      CHECK(one.media_type == k_media_layer_zstd);
      if (have("zstd")) {
        auto sum = run("zstd -dc " + layout.blob_path(one.digest).string() + " | sha256sum");
        CHECK(sum.output.substr(0, 64) == one.diff_id.substr(7));
      }
      CHECK(read_tar(layout.blob_path(one.digest)).size() == 13);
    }
  }
}

TEST_CASE("layer writer reports per-file digests and rejects bad entries", "[layer]") {
  TempDir tmp;
  Layout layout = Layout::create(tmp.path() / "layout");
  std::map<std::string, std::string> digests;
  write_layer({file_entry("a/b", "hello")}, Compression::gzip, 0, 1, layout, &digests);
  CHECK(digests == std::map<std::string, std::string>{{"a/b", sha256_hex("hello")}});

  auto message = [&](std::vector<LayerEntry> v) {
    try {
      write_layer(std::move(v), Compression::gzip, 0, 1, layout);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message({file_entry("a/b", "1"), file_entry("/a/./b", "2")}) == "layer entry 'a/b': duplicate path");
  CHECK(message({file_entry("a", "1"), file_entry("a/b", "2")}) == "layer entry 'a/b': parent 'a' is not a directory");
  CHECK(message({file_entry("../x", "1")}) == "layer entry '../x': '..' in path");
  LayerEntry hard;
  hard.path = "a";
  hard.type = LayerEntry::Type::hardlink;
  hard.link_target = "b";
  CHECK(message({hard, file_entry("b", "1")}) ==
        "layer entry 'a': hard link target 'b' is not a regular file earlier in the layer");
  LayerEntry missing;
  missing.path = "m";
  missing.source = tmp.path() / "nope";
  CHECK(message({missing}) == (tmp.path() / "nope").string() + ": No such file or directory");
  // No temporary files are left behind on failure.
  for (auto& e : fs::directory_iterator(layout.dir() / "blobs" / "sha256"))
    CHECK(e.path().filename().string().rfind(".tmp", 0) != 0);
}

// Benchmark driver (hidden): ECHO_BENCH_DIR=dir [ECHO_BENCH_COMPRESSION=zstd] [ECHO_BENCH_THREADS=n]
// prints "layer <c>: <seconds> s, <size> bytes, digest, diff_id". Used by tests/bench/layer_bench.sh.
TEST_CASE("layer benchmark", "[.bench]") {
  const char* dir = std::getenv("ECHO_BENCH_DIR");
  if (!dir) {
    WARN("ECHO_BENCH_DIR is not set; nothing to measure");
    return;
  }
  const char* comp = std::getenv("ECHO_BENCH_COMPRESSION");
  Compression c = comp && std::string(comp) == "zstd" ? Compression::zstd : Compression::gzip;
  const char* th = std::getenv("ECHO_BENCH_THREADS");
  int threads = th ? std::atoi(th) : 0;
  const char* out = std::getenv("ECHO_BENCH_LAYOUT");
  TempDir tmp;
  fs::path layout_dir = out ? fs::path(out) : tmp.path() / "layout";

  auto start = std::chrono::steady_clock::now();
  std::vector<LayerEntry> entries;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    LayerEntry e;
    e.path = it->path().lexically_relative(dir).string();
    auto st = it->symlink_status();
    e.mode = static_cast<unsigned>(st.permissions()) & 07777;
    if (fs::is_symlink(st)) {
      e.type = LayerEntry::Type::symlink;
      e.link_target = fs::read_symlink(it->path()).string();
    } else if (fs::is_directory(st)) {
      e.type = LayerEntry::Type::dir;
    } else {
      e.source = it->path();
    }
    entries.push_back(std::move(e));
  }
  Layout layout = Layout::create(layout_dir);
  LayerInfo info = write_layer(std::move(entries), c, 0, threads, layout);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "layer " << (c == Compression::gzip ? "gzip" : "zstd") << ": " << secs << " s, " << info.size
            << " bytes, " << info.digest << ", diff_id " << info.diff_id << "\n";
}

TEST_CASE("long names, big ids and non-ASCII names round-trip through PAX records", "[layer]") {
  TempDir tmp;
  Layout layout = Layout::create(tmp.path() / "layout");
  std::string long_dir(120, 'd');
  LayerEntry big = file_entry(long_dir + "/" + std::string(110, 'f'), "long");
  big.uid = 3000000;  // more than ustar's 7 octal digits
  big.gid = 3000001;
  LayerInfo info = write_layer({big, file_entry("caf\xc3\xa9.txt", "utf8"), file_entry("short", "s")},
                               Compression::gzip, 0, 1, layout);
  auto entries = read_tar(layout.blob_path(info.digest));
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].path == "caf\xc3\xa9.txt");
  CHECK(entries[1].path == long_dir + "/");
  CHECK(entries[2].path == big.path);
  CHECK(entries[2].uid == 3000000);
  CHECK(entries[2].gid == 3000001);
  CHECK(entries[2].uname.empty());
  CHECK(entries[3].path == "short");
  // PAX extended headers appear only for the entries that need them, and carry no PID.
  std::string tar = run("gzip -dc " + layout.blob_path(info.digest).string()).output;
  CHECK(tar.find("PaxHeader") != std::string::npos);
  CHECK(tar.find("PaxHeaders.") == std::string::npos);
  CHECK(tar.find(" mtime=") == std::string::npos);
  CHECK(tar.find(" atime=") == std::string::npos);
  CHECK(tar.find(" ctime=") == std::string::npos);
}
