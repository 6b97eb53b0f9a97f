#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

namespace fs = std::filesystem;
using echo::hash_tree;
using echo::read_file;
using echo::write_file_atomic;

namespace {
// hash_tree with no cache, whatever the process-wide setting was.
std::string uncached(const fs::path& root) {
  echo::set_tree_digest_cache({});
  return hash_tree(root);
}

fs::path only_file(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  REQUIRE(files.size() == 1);
  return files[0];
}
} // namespace

TEST_CASE("hash_tree covers names, modes, contents and link targets", "[fs]") {
  echo::TempDir tmp;
  fs::path t = tmp.path() / "t";
  fs::create_directories(t / "sub");
  write_file_atomic(t / "a.txt", "alpha\n");
  write_file_atomic(t / "sub/run", "#!/bin/sh\n", 0755);
  fs::create_symlink("../a.txt", t / "sub/link");
  const std::string h0 = uncached(t);
  CHECK(echo::is_sha256_hex(h0));
  // The same tree elsewhere hashes the same.
  fs::copy(t, tmp.path() / "copy", fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  CHECK(uncached(tmp.path() / "copy") == h0);
  // Each kind of change changes it.
  write_file_atomic(t / "a.txt", "alphA\n");
  CHECK(uncached(t) != h0);
  write_file_atomic(t / "a.txt", "alpha\n");
  CHECK(uncached(t) == h0);
  fs::permissions(t / "sub/run", fs::perms(0644));
  CHECK(uncached(t) != h0);
  fs::permissions(t / "sub/run", fs::perms(0755));
  fs::remove(t / "sub/link");
  fs::create_symlink("a.txt", t / "sub/link");
  CHECK(uncached(t) != h0);
}

TEST_CASE("hash_tree's digest cache skips unchanged files and never hides a change", "[fs]") {
  echo::TempDir tmp;
  fs::path t = tmp.path() / "tree", cache = tmp.path() / "cache";
  fs::create_directories(t / "sub");
  write_file_atomic(t / "a.txt", "yyyy\n");
  write_file_atomic(t / "sub/b.bin", std::string(1 << 20, 'b'));
  fs::create_symlink("a.txt", t / "l");
  const std::string h0 = uncached(t);

  // Files changed in the last 2 seconds are never cached.
  echo::set_tree_digest_cache(cache);
  CHECK(hash_tree(t) == h0);
  CHECK((!fs::exists(cache) || fs::is_empty(cache) || read_file(only_file(cache)).empty()));
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  CHECK(hash_tree(t) == h0);
  const fs::path file = only_file(cache);
  std::string text = read_file(file);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);  // a.txt and sub/b.bin; the link is not a file
  const std::string a_digest = echo::sha256_hex("yyyy\n");
  REQUIRE(text.find(" " + a_digest + " a.txt\n") != std::string::npos);

  // Proof that the cached digest is what is used while the file's identity is unchanged: a planted digest
  // shows up in the tree hash.
  std::string planted = text;
  planted.replace(planted.find(a_digest), 64, std::string(64, '0'));
  write_file_atomic(file, planted);
  CHECK(hash_tree(t) != h0);

  // A change of content (same size) changes mtime/ctime: the file is hashed again, the plant is gone.
  write_file_atomic(file, planted);
  {
    std::FILE* f = std::fopen((t / "a.txt").c_str(), "r+");
    REQUIRE(f);
    std::fputs("zzzz\n", f);
    std::fclose(f);
  }
  const std::string h1 = uncached(t);
  CHECK(h1 != h0);
  echo::set_tree_digest_cache(cache);
  CHECK(hash_tree(t) == h1);
  // A corrupt cache file is ignored (and rewritten).
  write_file_atomic(file, "garbage\n");
  CHECK(hash_tree(t) == h1);
  CHECK(read_file(file) != "garbage\n");
  // A removed file drops out of the hash and the cache.
  fs::remove(t / "sub/b.bin");
  const std::string h2 = hash_tree(t);
  CHECK(h2 == uncached(t));
  echo::set_tree_digest_cache(cache);
  CHECK(hash_tree(t) == h2);
  CHECK(read_file(file).find("sub/b.bin") == std::string::npos);
  echo::set_tree_digest_cache({});
}
