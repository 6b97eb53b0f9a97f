#include "echo/source/unpack.hpp"

#include "archive_builder.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include "unit/fs_helpers.hpp"
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>

namespace fs = std::filesystem;
using echo::source::UnpackOptions;
using namespace echo::test;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

using echo::test::list_dir;

std::string unpack_error(const fs::path& archive, const fs::path& dest, const std::string& display, int strip = 0) {
  try {
    echo::source::unpack(archive, dest, UnpackOptions{strip}, display);
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::source);
    return e.what();
  }
  FAIL("unpack of " << display << " did not fail");
  return {};
}

std::vector<ArchiveEntry> sample_tree() {
  return {a_dir("pkg-1.0/"), a_file("pkg-1.0/README", "read me\n"), a_dir("pkg-1.0/bin/"),
          a_file("pkg-1.0/bin/run", "#!/bin/sh\necho hi\n", 0755), a_file("pkg-1.0/src/deep/a.c", "int a;\n", 0600)};
}

void check_sample(const fs::path& d) {
  CHECK(echo::read_file(d / "README") == "read me\n");
  CHECK(mode_of(d / "README") == 0644);
  CHECK(echo::read_file(d / "bin" / "run") == "#!/bin/sh\necho hi\n");
  CHECK(mode_of(d / "bin" / "run") == 0755);
  CHECK(mode_of(d / "src" / "deep" / "a.c") == 0600);
}

} // namespace

TEST_CASE("is_archive_name knows tar, compressed tar and zip names", "[unpack]") {
  using echo::source::is_archive_name;
  for (const char* n : {"a.tar", "a.tar.gz", "a.tar.xz", "a.tar.bz2", "a.tar.zst", "a.tgz", "a.tbz2", "a.txz", "a.zip",
                        "A-1.0.TAR.GZ"})
    CHECK(is_archive_name(n));
  for (const char* n : {"fix.patch", "a.gz", "tar", ".tar", "a.tar.", "README", "a.tarball", "x.whl"})
    CHECK_FALSE(is_archive_name(n));
}

TEST_CASE("every supported format unpacks with strip-components and keeps modes", "[unpack]") {
  auto name = GENERATE(as<std::string>{}, "p.tar", "p.tar.gz", "p.tgz", "p.tar.xz", "p.tar.bz2", "p.tar.zst", "p.zip");
  echo::TempDir tmp;
  write_archive(tmp.path() / name, sample_tree());
  // The cache names files by digest; the display name decides the format.
  fs::copy_file(tmp.path() / name, tmp.path() / "0123abcd");
  echo::source::unpack(tmp.path() / "0123abcd", tmp.path() / "out", UnpackOptions{1}, "https://example.org/" + name);
  check_sample(tmp.path() / "out");
  CHECK(list_dir(tmp.path() / "out") == std::vector<std::string>{"README", "bin", "src"});
  CHECK(mode_of(tmp.path() / "out") == 0755);
  std::vector<std::string> want{"0123abcd", name, "out"};
  std::sort(want.begin(), want.end());
  CHECK(list_dir(tmp.path()) == want); // no staging leftovers
}

TEST_CASE("without strip-components the top directory is kept", "[unpack]") {
  echo::TempDir tmp;
  write_archive(tmp.path() / "p.tar.gz", sample_tree());
  echo::source::unpack(tmp.path() / "p.tar.gz", tmp.path() / "out", {}, "p.tar.gz");
  check_sample(tmp.path() / "out" / "pkg-1.0");
}

TEST_CASE("archives made by the system tar and zip unpack too", "[unpack]") {
  if (std::system("command -v tar >/dev/null && command -v zip >/dev/null") != 0) {
    WARN("SKIPPED: tar or zip is not installed");
    return;
  }
  echo::TempDir tmp;
  fs::create_directories(tmp.path() / "t" / "proj-2" / "bin");
  echo::write_file_atomic(tmp.path() / "t" / "proj-2" / "bin" / "tool", "#!/bin/sh\n", 0755);
  echo::write_file_atomic(tmp.path() / "t" / "proj-2" / "notes.txt", "n\n", 0644);
  fs::create_symlink("bin/tool", tmp.path() / "t" / "proj-2" / "link");
  std::string t = tmp.path().string();
  REQUIRE(std::system(("cd " + t + "/t && tar cJf ../s.tar.xz proj-2 && zip -qry ../s.zip proj-2").c_str()) == 0);
  for (const char* n : {"s.tar.xz", "s.zip"}) {
    fs::path out = tmp.path() / (std::string("out-") + n);
    echo::source::unpack(tmp.path() / n, out, UnpackOptions{1}, n);
    CHECK(mode_of(out / "bin" / "tool") == 0755);
    CHECK(mode_of(out / "notes.txt") == 0644);
    CHECK(fs::read_symlink(out / "link") == "bin/tool");
  }
}

TEST_CASE("benign internal links are allowed", "[unpack]") {
  echo::TempDir tmp;
  write_archive(tmp.path() / "ok.tar", {a_dir("usr/lib/"), a_file("usr/lib/libz.so.1", "elf"), a_symlink("lib", "usr/lib"),
                                        a_symlink("usr/lib/libz.so", "libz.so.1"), a_symlink("usr/up", "../lib"),
                                        a_hardlink("usr/lib/libz-copy", "usr/lib/libz.so.1"), a_symlink("dangling", "nope")});
  fs::path out = tmp.path() / "out";
  echo::source::unpack(tmp.path() / "ok.tar", out, {}, "ok.tar");
  CHECK(fs::read_symlink(out / "lib") == "usr/lib");
  CHECK(fs::read_symlink(out / "usr" / "lib" / "libz.so") == "libz.so.1");
  CHECK(fs::read_symlink(out / "usr" / "up") == "../lib");
  CHECK(fs::equivalent(out / "usr" / "lib" / "libz-copy", out / "usr" / "lib" / "libz.so.1"));
  CHECK(fs::is_symlink(out / "dangling"));
}

TEST_CASE("hostile archives are rejected naming archive and entry, leaving nothing in dest", "[unpack]") {
  struct Case {
    const char* what;
    std::vector<ArchiveEntry> entries;
    std::string message; // after "cannot unpack evil.tar.gz: "
  };
  ArchiveEntry suid = a_file("suid", "x", 04755);
  ArchiveEntry sgid = a_file("sgid", "x", 02755);
  ArchiveEntry dev{"dev/null", ArchiveEntry::Type::chardev, {}, 0666};
  ArchiveEntry fifo{"pipe", ArchiveEntry::Type::fifo, {}, 0644};
  std::vector<Case> cases = {
      {"dot-dot", {a_file("ok", "x"), a_file("../evil", "x")}, "entry '../evil': path contains '..'"},
      {"inner dot-dot", {a_file("a/../../evil", "x")}, "entry 'a/../../evil': path contains '..'"},
      {"absolute", {a_file("/abs", "x")}, "entry '/abs': absolute path"},
      {"symlink to /etc then through it", {a_symlink("link", "/etc"), a_file("link/echo-evil-x", "x")},
       "entry 'link': symlink target '/etc' points outside the tree"},
      {"write through internal symlink", {a_dir("sub/"), a_symlink("a", "sub"), a_file("a/x", "x")},
       "entry 'a/x': path goes through symlink 'a'"},
      {"symlink up and out", {a_symlink("a", "../../x")}, "entry 'a': symlink target '../../x' points outside the tree"},
      {"nested symlink out", {a_dir("d/"), a_symlink("d/a", "../../x")},
       "entry 'd/a': symlink target '../../x' points outside the tree"},
      {"symlink chain escaping later", {a_dir("d/"), a_symlink("l2", "d/l1/.."), a_symlink("d/l1", "..")},
       "entry 'l2': symlink target 'd/l1/..' points outside the tree"},
      {"hard link to /etc/passwd", {a_hardlink("h", "/etc/passwd")},
       "entry 'h': hard link target '/etc/passwd' points outside the tree"},
      {"hard link to ../x", {a_hardlink("h", "../x")}, "entry 'h': hard link target '../x' points outside the tree"},
      {"hard link to a symlink", {a_symlink("s", "t"), a_hardlink("h", "s")},
       "entry 'h': hard link target 's' is not a file extracted before it"},
      {"char device", {dev}, "entry 'dev/null': character device not allowed"},
      {"fifo", {fifo}, "entry 'pipe': fifo not allowed"},
      {"setuid", {suid}, "entry 'suid': setuid bit not allowed"},
      {"setgid", {sgid}, "entry 'sgid': setgid bit not allowed"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.what) {
      echo::TempDir tmp;
      write_archive(tmp.path() / "evil.tar.gz", c.entries);
      fs::path work = tmp.path() / "work";
      fs::create_directories(work);
      CHECK(unpack_error(tmp.path() / "evil.tar.gz", work / "dest", "evil.tar.gz") ==
            "cannot unpack evil.tar.gz: " + c.message);
      CHECK(list_dir(work).empty()); // no dest, no staging dir

      // Into an existing, non-empty dest: left exactly as it was.
      fs::create_directories(work / "dest");
      echo::write_file_atomic(work / "dest" / "keep", "kept");
      std::string before = echo::hash_tree(work / "dest");
      CHECK(unpack_error(tmp.path() / "evil.tar.gz", work / "dest", "evil.tar.gz") ==
            "cannot unpack evil.tar.gz: " + c.message);
      CHECK(echo::hash_tree(work / "dest") == before);
      CHECK(list_dir(work) == std::vector<std::string>{"dest"});
    }
  }
  CHECK(!fs::exists("/etc/echo-evil-x")); // nothing was written through the link
}

TEST_CASE("strip-components applies to hard link targets and rejects what it would remove", "[unpack]") {
  echo::TempDir tmp;
  write_archive(tmp.path() / "h.tar", {a_file("top/a", "A"), a_hardlink("top/b", "top/a")});
  echo::source::unpack(tmp.path() / "h.tar", tmp.path() / "out", UnpackOptions{1}, "h.tar");
  CHECK(fs::equivalent(tmp.path() / "out" / "b", tmp.path() / "out" / "a"));

  write_archive(tmp.path() / "h2.tar", {a_file("a", "A"), a_hardlink("top/b", "a")});
  CHECK(unpack_error(tmp.path() / "h2.tar", tmp.path() / "out2", "h2.tar", 1) ==
        "cannot unpack h2.tar: entry 'top/b': hard link target 'a' is removed by strip-components");
}

TEST_CASE("unpacking merges into an existing dest, replacing only regular files", "[unpack]") {
  echo::TempDir tmp;
  fs::path dest = tmp.path() / "dest";
  fs::create_directories(dest);
  echo::write_file_atomic(dest / "keep", "kept");
  fs::create_directories(dest / "bin");
  echo::write_file_atomic(dest / "README", "old");
  write_archive(tmp.path() / "p.tar.gz", sample_tree());
  echo::source::unpack(tmp.path() / "p.tar.gz", dest, UnpackOptions{1}, "p.tar.gz");
  check_sample(dest);
  CHECK(echo::read_file(dest / "keep") == "kept");
  CHECK(list_dir(tmp.path()) == std::vector<std::string>{"dest", "p.tar.gz"}); // staging removed

  // A directory where the archive has a file: refused, dest untouched.
  echo::TempDir tmp2;
  fs::path d2 = tmp2.path() / "dest";
  fs::create_directories(d2 / "README");
  std::string before = echo::hash_tree(d2);
  CHECK(unpack_error(tmp.path() / "p.tar.gz", d2, "p.tar.gz", 1) ==
        "cannot unpack p.tar.gz: entry 'README': would replace a directory already in " + d2.string());
  CHECK(echo::hash_tree(d2) == before);

  // A symlink in dest where the archive has a directory: refused (we never merge through it).
  echo::TempDir tmp3;
  fs::path d3 = tmp3.path() / "dest";
  fs::create_directories(d3);
  fs::create_directory_symlink("/tmp", d3 / "bin");
  CHECK(unpack_error(tmp.path() / "p.tar.gz", d3, "p.tar.gz", 1) ==
        "cannot unpack p.tar.gz: entry 'bin': would replace a symlink already in " + d3.string());
}

TEST_CASE("a corrupt archive fails naming it and leaves nothing", "[unpack]") {
  echo::TempDir tmp;
  echo::write_file_atomic(tmp.path() / "bad.tar.gz", std::string(100, 'z'));
  fs::create_directories(tmp.path() / "work");
  std::string msg = unpack_error(tmp.path() / "bad.tar.gz", tmp.path() / "work" / "dest", "https://x.org/bad.tar.gz");
  CHECK_THAT(msg, Catch::StartsWith("cannot unpack https://x.org/bad.tar.gz: "));
  CHECK(list_dir(tmp.path() / "work").empty());

  // Truncated gzip: the first entries are fine, the tail is cut.
  write_archive(tmp.path() / "t.tar.gz", {a_file("a", std::string(200000, 'a')), a_file("b", std::string(300000, 'b'))});
  auto bytes = echo::read_file(tmp.path() / "t.tar.gz");
  echo::write_file_atomic(tmp.path() / "cut.tar.gz", bytes.substr(0, bytes.size() / 2));
  msg = unpack_error(tmp.path() / "cut.tar.gz", tmp.path() / "work" / "dest", "cut.tar.gz");
  CHECK_THAT(msg, Catch::StartsWith("cannot unpack cut.tar.gz: "));
  CHECK(list_dir(tmp.path() / "work").empty());
}

TEST_CASE("files that are not archives are copied under their name", "[unpack]") {
  echo::TempDir tmp;
  echo::write_file_atomic(tmp.path() / "cafe01", "--- a/x\n+++ b/x\n");
  echo::source::unpack(tmp.path() / "cafe01", tmp.path() / "out", {}, "https://example.org/p/fix-build.patch?raw=1");
  CHECK(echo::read_file(tmp.path() / "out" / "fix-build.patch") == "--- a/x\n+++ b/x\n");
  CHECK(list_dir(tmp.path() / "out") == std::vector<std::string>{"fix-build.patch"});
  // Again: a regular file is replaced.
  echo::write_file_atomic(tmp.path() / "cafe02", "v2");
  echo::source::unpack(tmp.path() / "cafe02", tmp.path() / "out", {}, "fix-build.patch");
  CHECK(echo::read_file(tmp.path() / "out" / "fix-build.patch") == "v2");
}
