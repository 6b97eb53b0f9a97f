// unpack() in UnpackMode::oci_layer: image layers applied in order onto one tree, with whiteouts, opaque
// directories and paths resolved inside the tree. The layers are written here with libarchive.
#include "echo/source/unpack.hpp"

#include "archive_builder.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include "unit/fs_helpers.hpp"
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <algorithm>

namespace fs = std::filesystem;
using echo::source::UnpackMode;
using echo::source::UnpackOptions;
using namespace echo::test;

namespace {

const UnpackOptions k_layer{0, UnpackMode::oci_layer};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool present(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

using echo::test::list_dir;

// Layers are named by digest in an image layout: no extension tells the format.
class Layers {
public:
  explicit Layers(fs::path dir) : m_dir(std::move(dir)) { fs::create_directories(m_dir / "root"); }
  const fs::path& dir() const { return m_dir; }
  fs::path root() const { return m_dir / "root"; }
  // Writes a layer (format by `ext`), applies it onto root(), returns its display name.
  std::string apply(const std::vector<ArchiveEntry>& entries, const std::string& ext = ".tar.gz") {
    fs::path blob = write(entries, ext);
    echo::source::unpack(blob, root(), k_layer, "layer " + blob.filename().string());
    return "layer " + blob.filename().string();
  }
  fs::path write(const std::vector<ArchiveEntry>& entries, const std::string& ext = ".tar.gz") {
    const std::string name = "l" + std::to_string(++m_n);
    write_archive(m_dir / (name + ext), entries);
    fs::rename(m_dir / (name + ext), m_dir / name);
    return m_dir / name;
  }
  // Applies a layer that must fail; returns the message, checking the kind.
  std::string apply_error(const std::vector<ArchiveEntry>& entries, echo::ErrorKind kind = echo::ErrorKind::verify) {
    fs::path blob = write(entries);
    try {
      echo::source::unpack(blob, root(), k_layer, "layer " + blob.filename().string());
    } catch (const echo::Error& e) {
      CHECK(e.kind() == kind);
      return e.what();
    }
    FAIL("layer " << blob.filename().string() << " applied without an error");
    return {};
  }

private:
  fs::path m_dir;
  int m_n = 0;
};

} // namespace

TEST_CASE("layers apply in order: later files replace earlier ones, whiteouts remove them", "[unpack][layer]") {
  echo::TempDir tmp;
  Layers l(tmp.path());
  ArchiveEntry suid = a_file("usr/bin/su", "su", 04755);
  ArchiveEntry dev{"dev/null", ArchiveEntry::Type::chardev, {}, 0666};
  ArchiveEntry fifo{"run/pipe", ArchiveEntry::Type::fifo, {}, 0644};
  l.apply({a_dir("./"), a_dir("usr/"), a_dir("usr/bin/"), a_file("usr/bin/tool", "v1", 0755), a_dir("usr/lib/"),
           a_file("usr/lib/libc.so.6", "libc"), a_symlink("lib", "usr/lib"), a_file("usr/share/doomed", "d"),
           a_dir("usr/share/gone/"), a_file("usr/share/gone/x", "x"), a_file("usr/share/keep", "k"),
           a_symlink("usr/bin/cc", "/usr/bin/tool"), suid, dev, fifo});
  CHECK(echo::read_file(l.root() / "usr/bin/tool") == "v1");
  CHECK(fs::read_symlink(l.root() / "usr/bin/cc") == "/usr/bin/tool"); // absolute targets kept (chroot view)
  CHECK(mode_of(l.root() / "usr/bin/su") == 0755);                     // setuid dropped, not refused
  CHECK_FALSE(present(l.root() / "dev/null"));                         // device nodes and fifos skipped
  CHECK_FALSE(present(l.root() / "run/pipe"));

  l.apply({a_file("usr/bin/tool", "v2", 0700), a_file("usr/share/.wh.doomed", ""), a_file("usr/share/.wh.gone", ""),
           a_file("usr/bin/.wh.cc", ""), a_file("lib/libm.so.6", "libm"), a_file("usr/share/.wh.never-there", "")},
          ".tar.zst");
  CHECK(echo::read_file(l.root() / "usr/bin/tool") == "v2");
  CHECK(mode_of(l.root() / "usr/bin/tool") == 0700);
  CHECK_FALSE(present(l.root() / "usr/share/doomed"));
  CHECK_FALSE(present(l.root() / "usr/share/gone")); // a whiteout removes a whole directory
  CHECK_FALSE(present(l.root() / "usr/bin/cc"));     // and a symlink (not what it points to)
  CHECK(echo::read_file(l.root() / "usr/share/keep") == "k");
  CHECK(fs::is_symlink(l.root() / "lib"));                                 // written through lib -> usr/lib
  CHECK(echo::read_file(l.root() / "usr/lib/libm.so.6") == "libm");
  CHECK(list_dir(l.root() / "usr/share") == std::vector<std::string>{"keep"}); // no .wh. file left

  // A file replaces a directory, a directory replaces a file or a symlink; plain tar works too.
  l.apply({a_file("usr/share", "now a file"), a_dir("lib/")}, ".tar");
  CHECK(echo::read_file(l.root() / "usr/share") == "now a file");
  CHECK(fs::is_directory(fs::symlink_status(l.root() / "lib")));
  CHECK(fs::is_empty(l.root() / "lib"));
  CHECK(echo::read_file(l.root() / "usr/lib/libc.so.6") == "libc"); // the old link's target is untouched
}

TEST_CASE("an opaque directory hides everything lower layers put in it", "[unpack][layer]") {
  echo::TempDir tmp;
  Layers l(tmp.path());
  l.apply({a_file("d/a", "a"), a_file("d/sub/old", "o"), a_file("e/lower", "l"), a_file("f/sub/old", "o"),
           a_file("f/other", "x"), a_file("g/x", "x"), a_symlink("d/link", "/g")});
  l.apply({a_dir("d/"), a_file("d/.wh..wh..opq", ""), a_file("d/new", "n"),
           // entries this layer wrote before the marker stay; lower ones go
           a_file("e/mine", "m"), a_file("e/.wh..wh..opq", ""),
           // a directory this layer re-creates keeps only this layer's contents
           a_dir("f/sub/"), a_file("f/sub/new", "n"), a_file("f/.wh..wh..opq", "")});
  CHECK(list_dir(l.root() / "d") == std::vector<std::string>{"new"});
  CHECK(list_dir(l.root() / "e") == std::vector<std::string>{"mine"});
  CHECK(list_dir(l.root() / "f") == std::vector<std::string>{"sub"});
  CHECK(list_dir(l.root() / "f/sub") == std::vector<std::string>{"new"});
  CHECK(echo::read_file(l.root() / "g/x") == "x"); // d/link pointed there: only the link went
}

TEST_CASE("whiteouts that aim outside the tree are refused or stay inside it", "[unpack][layer]") {
  echo::TempDir tmp;
  Layers l(tmp.path() / "img");
  // Files beside and above the tree that a careless implementation would delete.
  const fs::path outside = tmp.path() / "outside";
  fs::create_directories(outside);
  echo::write_file_atomic(outside / "victim", "keep me");
  echo::write_file_atomic(tmp.path() / "img" / "victim", "keep me too");
  l.apply({a_dir("d/"), a_file("d/f", "f"), a_file("victim", "in the tree"), a_dir("outside/"),
           a_file("outside/victim", "in the tree"), a_symlink("up", "../.."), a_symlink("abs", outside.string()),
           a_symlink("rel", "../../outside")});
  const std::string before = echo::hash_tree(l.root());

  SECTION("'..' in the whiteout's path") {
    CHECK(l.apply_error({a_file("d/../../.wh.victim", "")}) ==
          "layer l2: entry 'd/../../.wh.victim' goes outside the root");
  }
  SECTION("'..' as the whited-out name") {
    CHECK(l.apply_error({a_file("d/.wh...", "")}) == "layer l2: entry 'd/.wh...': invalid whiteout name '.wh...'");
    CHECK(l.apply_error({a_file("d/.wh..", "")}) == "layer l3: entry 'd/.wh..': invalid whiteout name '.wh..'");
    CHECK(l.apply_error({a_file("./.wh.", "")}) == "layer l4: entry './.wh.': invalid whiteout name '.wh.'");
  }
  // In every case nothing changed, inside or outside.
  CHECK(echo::hash_tree(l.root()) == before);
  CHECK(echo::read_file(outside / "victim") == "keep me");
  CHECK(echo::read_file(tmp.path() / "img" / "victim") == "keep me too");

  SECTION("an absolute path or a path through symlinks is resolved inside the tree, as in the container") {
    // "/<outside>/.wh.victim" names <root>/<outside>/victim, which does not exist: nothing happens.
    l.apply({a_file(outside.string() + "/.wh.victim", "")});
    CHECK(echo::hash_tree(l.root()) == before);
    // abs -> <outside> (an absolute host path) is <root>/<outside> inside the tree: nothing there either.
    l.apply({a_file("abs/.wh.victim", "")});
    CHECK(echo::hash_tree(l.root()) == before);
    // up -> ../.. stops at the root: up/.wh.victim is <root>/victim.
    l.apply({a_file("up/.wh.victim", "")});
    CHECK_FALSE(present(l.root() / "victim"));
    // rel -> ../../outside is <root>/outside: rel/.wh.victim removes <root>/outside/victim.
    l.apply({a_file("rel/.wh.victim", "")});
    CHECK_FALSE(present(l.root() / "outside/victim"));
    CHECK(fs::is_symlink(l.root() / "rel"));
    CHECK(echo::read_file(outside / "victim") == "keep me");
    CHECK(echo::read_file(tmp.path() / "img" / "victim") == "keep me too");
  }
}

TEST_CASE("layer entries are written inside the tree whatever symlinks lie on their path", "[unpack][layer]") {
  echo::TempDir tmp;
  Layers l(tmp.path() / "img");
  const fs::path outside = tmp.path() / "outside";
  fs::create_directories(outside);
  l.apply({a_symlink("up", "../.."), a_symlink("abs", outside.string()), a_symlink("hostetc", "/etc"),
           a_symlink("loop", "/loop")});
  l.apply({a_file("up/x", "1"), a_file("abs/y", "2"), a_file("/z", "3"), a_file("hostetc/echo-evil", "4"),
           a_hardlink("up/hx", "up/x")});
  CHECK(echo::read_file(l.root() / "x") == "1");
  CHECK(echo::read_file(l.root() / outside.relative_path() / "y") == "2");
  CHECK(echo::read_file(l.root() / "z") == "3");
  CHECK(echo::read_file(l.root() / "etc/echo-evil") == "4"); // hostetc -> /etc is <root>/etc
  CHECK(fs::is_symlink(l.root() / "hostetc"));
  CHECK(fs::equivalent(l.root() / "hx", l.root() / "x"));
  CHECK(fs::is_empty(outside));
  CHECK_FALSE(fs::exists("/etc/echo-evil"));
  CHECK_FALSE(fs::exists(tmp.path() / "x"));
  // loop -> /loop is itself inside the tree, as in the container (ELOOP).
  CHECK(l.apply_error({a_file("loop/x", "x")}) == "layer l3: too many symlinks resolving 'loop/x'");
}

TEST_CASE("hard links must point at a file already in the tree", "[unpack][layer]") {
  echo::TempDir tmp;
  Layers l(tmp.path());
  l.apply({a_file("a", "A"), a_file("keep", "K"), a_symlink("hostetc", "/etc"), a_dir("dir/")});
  // To a file of an earlier layer: fine.
  l.apply({a_hardlink("k2", "keep")});
  CHECK(fs::equivalent(l.root() / "k2", l.root() / "keep"));

  SECTION("to a file this layer whited out") {
    CHECK(l.apply_error({a_file(".wh.a", ""), a_hardlink("b", "a")}) ==
          "layer l3: entry 'b': hard link target 'a' is not a file in the tree");
    CHECK_FALSE(present(l.root() / "a"));
    CHECK_FALSE(present(l.root() / "b"));
  }
  SECTION("to a host file through a symlink (resolved inside the tree, where it does not exist)") {
    CHECK(l.apply_error({a_hardlink("h", "hostetc/passwd")}) ==
          "layer l3: entry 'h': hard link target 'hostetc/passwd' is not a file in the tree");
    CHECK(l.apply_error({a_hardlink("h", "/etc/passwd")}) ==
          "layer l4: entry 'h': hard link target '/etc/passwd' is not a file in the tree");
  }
  SECTION("outside with '..', to the root, to a directory") {
    CHECK(l.apply_error({a_hardlink("h", "../x")}) == "layer l3: entry 'h': hard link target '../x' goes outside the root");
    CHECK(l.apply_error({a_hardlink("h", "./")}) == "layer l4: entry 'h': hard link to the root");
    CHECK(l.apply_error({a_hardlink("h", "dir")}) == "layer l5: entry 'h': hard link target 'dir' is not a file in the tree");
  }
  CHECK_FALSE(present(l.root() / "h"));
}

TEST_CASE("a corrupt layer is a build error naming it; strip-components is refused", "[unpack][layer]") {
  echo::TempDir tmp;
  echo::write_file_atomic(tmp.path() / "bad", std::string(100, 'z'));
  try {
    echo::source::unpack(tmp.path() / "bad", tmp.path() / "root", k_layer, "layer sha256:bad");
    FAIL("a corrupt layer applied");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::build);
    CHECK_THAT(e.what(), Catch::StartsWith("layer sha256:bad: "));
  }
  // A zip is not a layer, even named .tar.
  write_archive(tmp.path() / "z.zip", {a_file("a", "a")});
  CHECK_THROWS_WITH(echo::source::unpack(tmp.path() / "z.zip", tmp.path() / "root", k_layer, "layer z"),
                    Catch::StartsWith("layer z: "));
  write_archive(tmp.path() / "ok.tar", {a_file("a", "a")});
  CHECK_THROWS_WITH(echo::source::unpack(tmp.path() / "ok.tar", tmp.path() / "root",
                                         UnpackOptions{1, UnpackMode::oci_layer}, "layer ok"),
                    "layer ok: strip-components does not apply to an image layer");
}

TEST_CASE("a source archive is still refused for what a layer may contain", "[unpack][layer]") {
  // The same symlink + whiteout layer, unpacked as a source archive: the source rules apply, not the layer rules.
  echo::TempDir tmp;
  write_archive(tmp.path() / "s.tar", {a_symlink("etc", "/etc"), a_file(".wh.x", "")});
  CHECK_THROWS_WITH(echo::source::unpack(tmp.path() / "s.tar", tmp.path() / "out", {}, "s.tar"),
                    "cannot unpack s.tar: entry 'etc': symlink target '/etc' points outside the tree");
  write_archive(tmp.path() / "w.tar", {a_file("a", "a"), a_file(".wh.a", "")});
  echo::source::unpack(tmp.path() / "w.tar", tmp.path() / "out", {}, "w.tar");
  CHECK(list_dir(tmp.path() / "out") == std::vector<std::string>{".wh.a", "a"}); // a plain file in a source tree
}

TEST_CASE("a directory replaced by a symlink cannot redirect the deferred chmod/utime of what it held",
          "[unpack][layer]") {
  // libarchive sets directory modes and times when the writer closes, by path. A layer that writes x/bin/ (0777)
  // and then replaces x with a symlink to a host directory must not change that host directory's bin/.
  for (const bool whiteout_first : {false, true}) {
    echo::TempDir tmp;
    Layers l(tmp.path() / "layers");
    const fs::path victim = tmp.path() / "host";
    fs::create_directories(victim / "bin");
    fs::permissions(victim / "bin", fs::perms(0755));
    const auto before = fs::last_write_time(victim / "bin");
    std::vector<ArchiveEntry> evil = {a_dir("x"), a_dir("x/bin", 0777), a_file("x/bin/tool", "t")};
    if (whiteout_first) evil.push_back(a_file(".wh.x", ""));
    evil.push_back(a_symlink("x", victim.string()));
    l.apply(evil);
    CAPTURE(whiteout_first);
    CHECK(mode_of(victim / "bin") == 0755);
    CHECK(fs::last_write_time(victim / "bin") == before);
    CHECK(list_dir(victim / "bin").empty());
    CHECK(fs::read_symlink(l.root() / "x") == victim);
  }
}
