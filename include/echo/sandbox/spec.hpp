#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace echo::sandbox {

/// Whether a bind mount may be written from inside the sandbox.
enum class Access { read_only, read_write };

/// What the step reads as stdin: /dev/null (builds) or the caller's stdin (`echo-build shell`).
enum class Stdin { null, inherit };

/// A host path made visible inside the sandbox at `target` (absolute, normalized).
struct Bind {
  std::filesystem::path source;
  std::filesystem::path target;
  Access access = Access::read_only;
};

/// Resource limits of one step. RLIMIT_NPROC counts processes per (user namespace, uid) on this kernel, so an
/// unprivileged sandbox is limited on its own; as real root (mapped to uid 0) the kernel exempts uid 0 from
/// RLIMIT_NPROC and the runner uses a pids cgroup with the same limit instead (docs/sandbox.md).
struct Limits {
  std::chrono::seconds timeout{3600};
  std::uint64_t max_processes = 1024;
  std::uint64_t max_open_files = 4096;
  std::uint64_t max_file_size = 16ull << 30;
};

/// Everything one sandboxed step needs; pure data (docs/sandbox.md describes what each field becomes).
struct SandboxSpec {
  std::vector<std::string> argv;                  ///< argv[0]: absolute path inside the sandbox (no PATH search)
  std::map<std::string, std::string> env;         ///< the complete environment; nothing is inherited
  std::filesystem::path toolchain_root = "/";     ///< host directory providing the read-only toolchain
  std::vector<std::filesystem::path> overlays;    ///< host dirs overlaid read-only at / (earlier wins)
  std::vector<Bind> binds;                        ///< e.g. {work, "/build", read_write}, {dest, "/dest", read_write}
  std::filesystem::path cwd = "/";                ///< working directory inside the sandbox
  std::string hostname = "echo-build";
  Limits limits;
  int output_fd = -1;                             ///< stdout+stderr of the step; -1 = inherit
  Stdin stdin_mode = Stdin::null;                 ///< inherit for `echo-build shell`
};

/// One step of the sandbox's mount plan. Targets are paths inside the sandbox; sources are host paths.
/// - tmpfs:   target, data = mount options (e.g. "mode=1777"); read_only for the final root remount.
/// - bind:    source (host dir or file) -> target.
/// - overlay: source = the lower dirs joined by ':' (highest priority first), always read-only.
/// - proc:    a new proc for the sandbox's pid namespace at target.
/// - symlink: source = link text, target = where the link is created.
/// - dev:     host device node `source` bound at `target`.
/// - file:    generated file at target with contents `data` (read-only once the root is sealed).
struct MountOp {
  enum class Kind { tmpfs, bind, overlay, proc, symlink, dev, file };
  Kind kind;
  std::string source;
  std::string target;
  bool read_only;
  std::string data;
};

/// Validates the spec and returns the ordered mount plan (the first op is the root tmpfs). Reads the host
/// filesystem only to look at the toolchain root, overlays and bind sources (lstat/readlink); needs no
/// namespaces. Throws Error(ErrorKind::sandbox) naming the field or path at fault.
std::vector<MountOp> plan_mounts(const SandboxSpec& spec);

/// Human-readable name of a kind ("tmpfs", "bind", ...), for logs and tests.
const char* to_string(MountOp::Kind kind) noexcept;

} // namespace echo::sandbox
