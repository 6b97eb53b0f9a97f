// The package store: entries appear only by an atomic rename of a complete temporary directory; leftovers of
// dead builds are cleaned, live ones are not.
#include "echo/build/store.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace fs = std::filesystem;
using echo::build::Store;

namespace {

const std::string k_key = std::string(64, 'a');
const std::string k_key2 = std::string(64, 'b');

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

// A finished build in a temporary directory: root/, meta.json.
fs::path build_into(const Store& store, const std::string& key, const std::string& content) {
  fs::path t = store.make_temp(key);
  fs::create_directories(t / "root" / "bin");
  echo::write_file_atomic(t / "root" / "bin" / "tool", content, 0755);
  echo::write_file_atomic(t / "meta.json", "{\"key\":\"" + key + "\"}");
  return t;
}

// The pid of a process that has exited (and been reaped): a build that died.
pid_t dead_pid() {
  pid_t p = ::fork();
  REQUIRE(p >= 0);
  if (p == 0) ::_exit(0);
  int st = 0;
  REQUIRE(::waitpid(p, &st, 0) == p);
  return p;
}

} // namespace

TEST_CASE("an entry is found only once committed, by an atomic rename", "[store]") {
  echo::TempDir tmp;
  Store store(tmp.path() / "store" / "nested"); // created
  CHECK(fs::is_directory(tmp.path() / "store" / "nested"));
  CHECK_FALSE(store.find(k_key));

  fs::path t = build_into(store, k_key, "v1");
  CHECK(t.parent_path() == store.dir()); // same file system as the entries: rename, not copy
  const std::string tname = t.filename();
  CHECK(tname.rfind(".tmp-" + std::to_string(::getpid()) + "-" + k_key.substr(0, 16) + "-", 0) == 0);
  CHECK_FALSE(store.find(k_key)); // a temporary directory is never an entry
  struct stat before {};
  REQUIRE(::stat((t / "root" / "bin" / "tool").c_str(), &before) == 0);

  fs::path e = store.commit(t, k_key);
  CHECK(e == store.dir() / k_key);
  REQUIRE(store.find(k_key));
  CHECK(*store.find(k_key) == e);
  CHECK(echo::read_file(e / "root" / "bin" / "tool") == "v1");
  struct stat after {};
  REQUIRE(::stat((e / "root" / "bin" / "tool").c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino); // moved, not copied
  CHECK(list_dir(store.dir()) == std::vector<std::string>{k_key});
  CHECK_FALSE(store.find(k_key2));
}

TEST_CASE("a directory named by the key but without meta.json is not an entry", "[store]") {
  echo::TempDir tmp;
  Store store(tmp.path());
  fs::create_directories(tmp.path() / k_key / "root");
  CHECK_FALSE(store.find(k_key));
  echo::write_file_atomic(tmp.path() / k_key / "meta.json", "{}");
  CHECK(store.find(k_key) == tmp.path() / k_key);
}

TEST_CASE("committing a key published meanwhile keeps the first entry and drops the temporary one", "[store]") {
  echo::TempDir tmp;
  Store store(tmp.path());
  fs::path t1 = build_into(store, k_key, "first");
  fs::path t2 = build_into(store, k_key, "second");
  CHECK(t1 != t2);
  fs::path e1 = store.commit(t1, k_key);
  fs::path e2 = store.commit(t2, k_key);
  CHECK(e1 == e2);
  CHECK(echo::read_file(e1 / "root" / "bin" / "tool") == "first");
  CHECK_FALSE(fs::exists(t2));
  CHECK(list_dir(store.dir()) == std::vector<std::string>{k_key});
}

TEST_CASE("many threads racing to publish one key end with one complete entry", "[store]") {
  echo::TempDir tmp;
  Store store(tmp.path());
  std::vector<fs::path> temps;
  for (int i = 0; i < 8; ++i) temps.push_back(build_into(store, k_key, "build " + std::to_string(i)));
  std::vector<std::thread> threads;
  std::vector<fs::path> results(temps.size());
  for (size_t i = 0; i < temps.size(); ++i)
    threads.emplace_back([&, i] { results[i] = store.commit(temps[i], k_key); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) CHECK(r == store.dir() / k_key);
  CHECK(list_dir(store.dir()) == std::vector<std::string>{k_key});
  CHECK_THAT(echo::read_file(store.dir() / k_key / "root" / "bin" / "tool"), Catch::StartsWith("build "));
}

TEST_CASE("commit of a missing temporary directory is an error naming both paths", "[store]") {
  echo::TempDir tmp;
  Store store(tmp.path());
  fs::path gone = tmp.path() / ".tmp-1-gone";
  try {
    store.commit(gone, k_key);
    FAIL("commit succeeded");
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::build);
    CHECK(std::string(e.what()) == "cannot publish " + gone.string() + " as " + (tmp.path() / k_key).string() +
                                       ": No such file or directory");
  }
}

TEST_CASE("a store that cannot be created is an error naming it", "[store]") {
  echo::TempDir tmp;
  echo::write_file_atomic(tmp.path() / "file", "x");
  CHECK_THROWS_WITH(Store(tmp.path() / "file" / "store"),
                    Catch::StartsWith("cannot create the store " + (tmp.path() / "file" / "store").string() + ": "));
}

TEST_CASE("clean_stale removes what dead builds left, never a live build's directory or an entry", "[store]") {
  echo::TempDir tmp;
  Store store(tmp.path());
  store.commit(build_into(store, k_key, "done"), k_key);

  // A build killed with SIGKILL in the middle of writing its output.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    fs::path t = Store(tmp.path()).make_temp(k_key2);
    fs::create_directories(t / "root" / "ro");
    echo::write_file_atomic(t / "root" / "half", std::string(1 << 16, 'x'));
    ::chmod((t / "root" / "ro").c_str(), 0555); // a read-only dir (remove_tree must chmod it)
    ::raise(SIGKILL);
    ::_exit(1);
  }
  int st = 0;
  REQUIRE(::waitpid(child, &st, 0) == child);
  REQUIRE(WIFSIGNALED(st));
  const fs::path killed = [&] {
    for (const auto& e : fs::directory_iterator(tmp.path()))
      if (e.path().filename().string().rfind(".tmp-" + std::to_string(child) + "-", 0) == 0) return e.path();
    return fs::path();
  }();
  REQUIRE_FALSE(killed.empty());
  CHECK_FALSE(store.find(k_key2)); // the half-built output is never returned

  // Another dead build's leftover, a live process's one, ours, and a file that is not a temp dir.
  const fs::path dead = tmp.path() / (".tmp-" + std::to_string(dead_pid()) + "-" + k_key2.substr(0, 16) + "-x");
  fs::create_directories(dead / "root");
  pid_t sleeper = ::fork();
  REQUIRE(sleeper >= 0);
  if (sleeper == 0) {
    ::pause();
    ::_exit(0);
  }
  const fs::path live = tmp.path() / (".tmp-" + std::to_string(sleeper) + "-" + k_key2.substr(0, 16) + "-y");
  fs::create_directories(live);
  const fs::path mine = store.make_temp(k_key2);
  echo::write_file_atomic(tmp.path() / ".other", "not ours to clean");

  store.clean_stale();
  CHECK_FALSE(fs::exists(killed));
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::is_directory(live));
  CHECK(fs::is_directory(mine));
  CHECK(fs::exists(tmp.path() / ".other"));
  CHECK(store.find(k_key));
  CHECK(echo::read_file(tmp.path() / k_key / "root" / "bin" / "tool") == "done");

  ::kill(sleeper, SIGKILL);
  ::waitpid(sleeper, &st, 0);
  store.clean_stale(); // now that it is dead, its directory goes too
  CHECK_FALSE(fs::exists(live));
  CHECK(fs::is_directory(mine));
}
