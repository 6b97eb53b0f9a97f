#include "echo/sandbox/spec.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

using namespace echo::sandbox;
namespace fs = std::filesystem;

namespace {

const MountOp* find(const std::vector<MountOp>& ops, const std::string& target) {
  auto it = std::find_if(ops.begin(), ops.end(), [&](const MountOp& op) { return op.target == target; });
  return it == ops.end() ? nullptr : &*it;
}

size_t index_of(const std::vector<MountOp>& ops, const std::string& target) {
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].target == target) return i;
  return ops.size();
}

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

SandboxSpec spec_with(std::vector<std::string> argv = {"/bin/true"}) {
  SandboxSpec s;
  s.argv = std::move(argv);
  return s;
}

std::string plan_error(const SandboxSpec& spec) {
  try {
    plan_mounts(spec);
  } catch (const echo::Error& e) {
    CHECK(e.kind() == echo::ErrorKind::sandbox);
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("plan_mounts: default root binds the toolchain read-only and builds the rest", "[plan]") {
  auto ops = plan_mounts(spec_with());
  REQUIRE(!ops.empty());
  CHECK(ops[0].kind == MountOp::Kind::tmpfs);
  CHECK(ops[0].target == "/");
  CHECK(ops[0].read_only);

  auto usr = find(ops, "/usr");
  REQUIRE(usr);
  CHECK(usr->kind == MountOp::Kind::bind);
  CHECK(usr->source == "/usr");
  CHECK(usr->read_only);
  for (const char* name : {"/bin", "/lib", "/sbin", "/lib64"}) {
    INFO(name);
    auto op = find(ops, name);
    REQUIRE(op);
    if (fs::is_symlink(name)) {
      CHECK(op->kind == MountOp::Kind::symlink);
      CHECK(op->source == fs::read_symlink(name).string());
    } else {
      CHECK(op->kind == MountOp::Kind::bind);
    }
  }
  for (const char* absent : {"/home", "/root", "/var", "/etc/shadow", "/etc/resolv.conf", "/opt", "/work"}) {
    INFO(absent);
    CHECK(find(ops, absent) == nullptr);
  }
  auto hosts = find(ops, "/etc/hosts");
  REQUIRE(hosts);
  CHECK(hosts->kind == MountOp::Kind::file);
  CHECK(hosts->data == "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\techo-build\n");
  auto passwd = find(ops, "/etc/passwd");
  REQUIRE(passwd);
  CHECK(passwd->data.rfind("root:x:0:0:", 0) == 0);
  if (fs::exists("/etc/ld.so.cache")) {
    auto cache = find(ops, "/etc/ld.so.cache");
    REQUIRE(cache);
    CHECK(cache->kind == MountOp::Kind::bind);
    CHECK(cache->read_only);
  }
  auto proc = find(ops, "/proc");
  REQUIRE(proc);
  CHECK(proc->kind == MountOp::Kind::proc);
  auto tmp = find(ops, "/tmp");
  REQUIRE(tmp);
  CHECK(tmp->kind == MountOp::Kind::tmpfs);
  CHECK_FALSE(tmp->read_only);
  CHECK(tmp->data == "mode=1777");
  auto null = find(ops, "/dev/null");
  REQUIRE(null);
  CHECK(null->kind == MountOp::Kind::dev);
  CHECK(find(ops, "/dev/kmsg") == nullptr);
  CHECK(find(ops, "/dev/loop0") == nullptr);
  CHECK(index_of(ops, "/dev") < index_of(ops, "/dev/null"));
}

TEST_CASE("plan_mounts: a custom toolchain root provides the tree", "[plan]") {
  echo::TempDir root;
  fs::create_directories(root.path() / "usr/bin");
  fs::create_directories(root.path() / "usr/lib");
  fs::create_directories(root.path() / "opt/tool");
  fs::create_directories(root.path() / "home/someone");
  fs::create_directory_symlink("usr/lib", root.path() / "lib");
  touch(root.path() / "etc/ld.so.conf");
  touch(root.path() / "etc/shadow");
  auto spec = spec_with();
  spec.toolchain_root = root.path();
  auto ops = plan_mounts(spec);

  auto usr = find(ops, "/usr");
  REQUIRE(usr);
  CHECK(usr->kind == MountOp::Kind::bind);
  CHECK(usr->source == (root.path() / "usr").string());
  auto opt = find(ops, "/opt");
  REQUIRE(opt);
  CHECK(opt->source == (root.path() / "opt").string());
  auto lib = find(ops, "/lib");
  REQUIRE(lib);
  CHECK(lib->kind == MountOp::Kind::symlink);
  CHECK(lib->source == "usr/lib");
  CHECK(find(ops, "/home") == nullptr);
  CHECK(find(ops, "/etc/shadow") == nullptr);
  auto conf = find(ops, "/etc/ld.so.conf");
  REQUIRE(conf);
  CHECK(conf->source == (root.path() / "etc/ld.so.conf").string());
}

TEST_CASE("plan_mounts: overlays land at their paths, through the toolchain's merged-/usr links", "[plan]") {
  echo::TempDir root, dep1, dep2;
  fs::create_directories(root.path() / "usr/lib");
  fs::create_directories(root.path() / "usr/bin");
  fs::create_directory_symlink("usr/lib", root.path() / "lib");
  fs::create_directories(dep1.path() / "usr/lib/musl");
  touch(dep1.path() / "lib/ld-musl-x86_64.so.1");
  touch(dep1.path() / "etc/ld-musl-x86_64.path");
  fs::create_directories(dep2.path() / "usr/include");
  fs::create_directories(dep2.path() / "opt/only");
  auto spec = spec_with();
  spec.toolchain_root = root.path();
  spec.overlays = {dep1.path(), dep2.path()};
  auto ops = plan_mounts(spec);

  auto usr = find(ops, "/usr");
  REQUIRE(usr);
  CHECK(usr->kind == MountOp::Kind::overlay);
  CHECK(usr->read_only);
  CHECK(usr->source == (dep1.path() / "usr").string() + ":" + (dep2.path() / "usr").string() + ":" +
                           (root.path() / "usr").string());
  auto usr_lib = find(ops, "/usr/lib");
  REQUIRE(usr_lib);
  CHECK(usr_lib->kind == MountOp::Kind::overlay);
  CHECK(usr_lib->source == (dep1.path() / "lib").string() + ":" + (dep1.path() / "usr/lib").string() + ":" +
                               (root.path() / "usr/lib").string());
  CHECK(index_of(ops, "/usr") < index_of(ops, "/usr/lib"));
  auto lib = find(ops, "/lib");
  REQUIRE(lib);
  CHECK(lib->kind == MountOp::Kind::symlink);
  auto opt = find(ops, "/opt");
  REQUIRE(opt);
  CHECK(opt->kind == MountOp::Kind::bind);
  CHECK(opt->source == (dep2.path() / "opt").string());
  auto musl_path = find(ops, "/etc/ld-musl-x86_64.path");
  REQUIRE(musl_path);
  CHECK(musl_path->kind == MountOp::Kind::bind);
  CHECK(musl_path->read_only);
}

TEST_CASE("plan_mounts: binds come last, parents first, with their access", "[plan]") {
  echo::TempDir a, b;
  auto spec = spec_with();
  spec.binds = {{a.path(), "/build/sub", Access::read_only}, {b.path(), "/build", Access::read_write}};
  auto ops = plan_mounts(spec);
  auto build = index_of(ops, "/build");
  auto sub = index_of(ops, "/build/sub");
  REQUIRE(build < ops.size());
  REQUIRE(sub < ops.size());
  CHECK(build < sub);
  CHECK(index_of(ops, "/tmp") < build);
  CHECK_FALSE(ops[build].read_only);
  CHECK(ops[build].source == b.path().string());
  CHECK(ops[sub].read_only);
}

TEST_CASE("plan_mounts: invalid specs are refused with the field at fault", "[plan]") {
  echo::TempDir a;
  CHECK(plan_error(spec_with({})) == "sandbox spec: argv is empty");
  CHECK(plan_error(spec_with({"sh"})) == "sandbox spec: argv[0] 'sh' must be an absolute path inside the sandbox");
  auto s = spec_with();
  s.cwd = "build";
  CHECK(plan_error(s) == "sandbox spec: cwd 'build' must be an absolute normalized path");
  s = spec_with();
  s.binds = {{a.path(), "/proc/x", Access::read_write}};
  CHECK(plan_error(s) == "sandbox spec: bind target /proc/x is inside reserved /proc");
  s.binds = {{a.path(), "/build/../etc", Access::read_write}};
  CHECK(plan_error(s) == "sandbox spec: bind target '/build/../etc' must be an absolute normalized path");
  s.binds = {{a.path() / "missing", "/build", Access::read_write}};
  CHECK(plan_error(s) == "sandbox spec: bind source " + (a.path() / "missing").string() +
                             ": No such file or directory");
  s = spec_with();
  s.overlays = {a.path() / "nope"};
  CHECK(plan_error(s) == "sandbox spec: overlay " + (a.path() / "nope").string() + ": not a directory");
  s = spec_with();
  s.env = {{"A=B", "c"}};
  CHECK(plan_error(s) == "sandbox spec: invalid environment variable name 'A=B'");
}
