// Turning a plan into package outputs: keys, store lookups, sources, sandboxed steps, a small scheduler.
#include "echo/build/builder.hpp"

#include "echo/build/store.hpp"
#include "echo/recipe/loader.hpp"
#include "echo/sandbox/runner.hpp"
#include "echo/sandbox/spec.hpp"
#include "echo/source/fetcher.hpp"
#include "echo/source/patch.hpp"
#include "echo/source/unpack.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace echo::build {

namespace {

constexpr int k_key_version = 3; // 2: outputs carry SOURCE_DATE_EPOCH mtimes; 3: steps run with umask 022
constexpr const char* k_platform = "linux/amd64";

source::FetchOptions fetch_options(const BuildOptions& o) {
  source::FetchOptions f;
  f.cache_dir = o.cache_dir;
  f.distdirs = o.distdirs;
  f.offline = o.offline;
  if (o.on_event)
    f.progress = [cb = o.on_event](std::string_view line) {
      Event e;
      e.kind = Event::Kind::fetch;
      e.message = std::string(line);
      cb(e);
    };
  return f;
}

// Copies a local source directory (ours, beside the recipe) keeping modes and symlinks.
void copy_tree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing);
}

void prepare_sources(const recipe::PackageRecipe& r, const fs::path& work, const BuildOptions& opts) {
  fs::create_directories(work);
  auto fo = fetch_options(opts);
  for (const auto& s : r.sources) {
    fs::path dest = s.destination.empty() ? work : work / s.destination;
    if (s.is_local()) {
      // The recipe set hashed this tree when it was loaded; a change since then would make the key lie.
      if (hash_tree(s.local_path) != s.sha256)
        throw Error(ErrorKind::source, "local source " + s.local_path.string() + " changed while building " + r.name);
      copy_tree(s.local_path, dest);
      continue;
    }
    fs::path file = source::fetch({s.url, s.mirrors, s.sha256}, fo);
    source::unpack(file, dest, {s.strip_components}, s.url);
  }
  for (const auto& p : r.patches)
    with_context("package " + r.name, [&] { source::apply_patch(p.path, work, 1); });
}

// Sets every entry of the output tree to SOURCE_DATE_EPOCH (links themselves, never their targets), so the
// stored tree does not depend on when it was built, nor on mtimes a step copied from the sources.
void normalize_times(const fs::path& root, std::int64_t epoch) {
  const struct timespec times[2] = {{static_cast<time_t>(epoch), 0}, {static_cast<time_t>(epoch), 0}};
  auto set = [&](const fs::path& p) {
    if (::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      throw_errno(ErrorKind::build, "cannot set the time of " + p.string());
  };
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) set(it->path());
  if (ec) throw Error(ErrorKind::build, "cannot walk " + root.string() + ": " + ec.message());
  set(root); // last: setting the children's times does not touch a directory's own mtime, but be explicit
}

std::string tail_lines(const fs::path& log, int n) {
  std::string text;
  try {
    text = read_file(log);
  } catch (const Error&) {
    return {};
  }
  std::size_t pos = text.size();
  if (pos && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < n && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return text.substr(pos == std::string::npos ? 0 : pos + 1);
}

struct StepContext {
  const recipe::PackageRecipe& recipe;
  fs::path work, dest;
  std::vector<fs::path> overlays;
  const BuildOptions& opts;
};

sandbox::SandboxSpec step_spec(const StepContext& c, const recipe::Step* step, int output_fd) {
  const bool sandboxed = c.opts.isolation == Isolation::sandboxed;
  auto vars = recipe::package_variables(c.recipe, c.opts.jobs, c.opts.source_date_epoch);
  if (!sandboxed) { // no fixed paths without a mount namespace: point the variables at the real directories
    vars["targets.destdir"] = c.dest.string();
    vars["targets.srcdir"] = c.work.string();
  }
  sandbox::SandboxSpec spec;
  spec.env = {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
              {"HOME", "/build"},
              {"TZ", "UTC"},
              {"LANG", "C.UTF-8"},
              {"LC_ALL", "C.UTF-8"},
              {"SHELL", "/bin/sh"},
              {"TERM", "dumb"},
              {"SOURCE_DATE_EPOCH", std::to_string(c.opts.source_date_epoch)}};
  for (const auto& [k, v] : c.recipe.environment) spec.env[k] = recipe::expand_vars(v, vars);
  spec.toolchain_root =
      resolve_toolchain_root(toolchain_root_for(c.recipe, c.opts.toolchain_root).string(), c.opts.cache_dir).dir;
  spec.overlays = c.overlays;
  spec.binds = {{c.work, "/build", sandbox::Access::read_write}, {c.dest, "/dest", sandbox::Access::read_write}};
  spec.hostname = "echo-build";
  spec.limits.timeout = std::chrono::seconds(c.recipe.timeout_seconds);
  spec.output_fd = output_fd;
  spec.cwd = "/build";
  if (step) {
    for (const auto& [k, v] : step->environment) spec.env[k] = recipe::expand_vars(v, vars);
    if (!step->working_directory.empty())
      spec.cwd = fs::path("/build") / recipe::expand_vars(step->working_directory, vars);
    spec.argv = {"/bin/sh", "-e", "-c", recipe::expand_vars(step->run, vars)};
  }
  return spec;
}

std::unique_ptr<sandbox::Runner> make_runner(Isolation iso) {
  if (iso == Isolation::unsandboxed) return sandbox::make_unsandboxed_runner();
  if (auto missing = sandbox::check_support())
    throw Error(ErrorKind::sandbox, "cannot sandbox builds here: " + *missing +
                                        " (pass --unsandboxed to build without isolation; it is recorded in the provenance)");
  return sandbox::make_namespace_runner();
}

// The sandbox binds host paths by absolute name, and logs and outputs are reported to the user: resolve a
// relative --store / --cache-dir / --distdir / --toolchain-root against the current directory once, up front.
BuildOptions with_absolute_paths(BuildOptions o) {
  o.store_dir = fs::absolute(o.store_dir).lexically_normal();
  o.cache_dir = fs::absolute(o.cache_dir).lexically_normal();
  o.toolchain_root = absolute_toolchain_spec(o.toolchain_root.string(), {}); // a directory or oci:LAYOUT[:TAG]
  for (auto& d : o.distdirs) d = fs::absolute(d).lexically_normal();
  return o;
}

class Builder {
public:
  Builder(const resolve::Plan& plan, const BuildOptions& opts)
      : m_plan(plan), m_opts(with_absolute_paths(opts)), m_store(m_opts.store_dir) {}

  BuildResult run() {
    m_store.clean_stale();
    BuildResult result;
    result.isolation = m_opts.isolation;
    result.toolchain = identify_toolchain(resolve_toolchain_root(m_opts.toolchain_root.string(), m_opts.cache_dir),
                                          m_opts.cache_dir / "toolchain.json");
    m_keys = plan_keys(m_plan, result.toolchain, m_opts.source_date_epoch, m_opts.cache_dir / "toolchain.json",
                       &result.own_toolchains);
    m_total = static_cast<int>(m_plan.packages.size());
    std::deque<std::string> todo;
    for (const auto& wave : m_plan.waves)
      for (const auto& name : wave) {
        if (auto hit = m_store.find(m_keys.at(name))) {
          m_outputs[name] = load_output(name, *hit, true);
          ++m_finished;
          emit(Event::Kind::cached, name, 0, "");
        } else
          todo.push_back(name);
      }
    if (!todo.empty()) schedule(todo);
    result.outputs = m_outputs;
    return result;
  }

private:
  const resolve::Plan& m_plan;
  const BuildOptions m_opts;
  Store m_store;
  std::map<std::string, std::string> m_keys;
  std::map<std::string, PackageOutput> m_outputs;
  std::unique_ptr<sandbox::Runner> m_runner;
  std::mutex m_mu;
  std::condition_variable m_cv;
  int m_total = 0, m_finished = 0, m_running = 0;
  std::exception_ptr m_error;

  void emit(Event::Kind kind, const std::string& name, double secs, std::string msg) {
    if (!m_opts.on_event) return;
    Event e;
    e.kind = kind;
    e.package = name;
    e.version = m_plan.packages.at(name).recipe->full_version();
    e.key = m_keys.at(name);
    e.seconds = secs;
    e.finished = m_finished;
    e.total = m_total;
    e.message = std::move(msg);
    m_opts.on_event(e);
  }

  PackageOutput load_output(const std::string& name, const fs::path& entry, bool cached) {
    PackageOutput o;
    o.recipe = m_plan.packages.at(name).recipe;
    o.key = m_keys.at(name);
    o.root = entry / "root";
    o.log = entry / "build.log";
    o.cached = cached;
    try {
      auto meta = nlohmann::json::parse(read_file(entry / "meta.json"));
      o.log_sha256 = meta.value("logSha256", "");
      o.seconds = meta.value("seconds", 0.0);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::build, (entry / "meta.json").string() + ": " + e.what());
    }
    return o;
  }

  bool ready(const std::string& name) {
    for (const auto& d : m_plan.packages.at(name).build_closure)
      if (!m_outputs.count(d)) return false;
    return true;
  }

  void schedule(std::deque<std::string> todo) {
    m_runner = make_runner(m_opts.isolation);
    const int workers = std::max(1, std::min<int>(m_opts.jobs, static_cast<int>(todo.size())));
    auto worker = [&] {
      std::unique_lock lk(m_mu);
      for (;;) {
        m_cv.wait(lk, [&] {
          if (m_error || todo.empty()) return true;
          for (const auto& n : todo)
            if (ready(n)) return true;
          return false;
        });
        if (!m_error && sandbox::interrupt_requested())
          m_error = std::make_exception_ptr(Error(ErrorKind::build, "build interrupted"));
        if (m_error || todo.empty()) return;
        auto it = std::find_if(todo.begin(), todo.end(), [&](const std::string& n) { return ready(n); });
        std::string name = *it;
        todo.erase(it);
        ++m_running;
        emit(Event::Kind::start, name, 0, "");
        std::vector<fs::path> overlays;
        for (const auto& d : m_plan.packages.at(name).build_closure) overlays.push_back(m_outputs.at(d).root);
        lk.unlock();
        std::optional<PackageOutput> out;
        std::exception_ptr err;
        auto t0 = std::chrono::steady_clock::now();
        try {
          out = build_one(name, overlays);
        } catch (...) { // handed to the main thread, which rethrows it
          err = std::current_exception();
        }
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        lk.lock();
        --m_running;
        if (err) {
          if (!m_error) m_error = err;
          emit(Event::Kind::failed, name, secs, "");
        } else {
          m_outputs[name] = *out;
          ++m_finished;
          emit(Event::Kind::done, name, secs, "");
        }
        m_cv.notify_all();
      }
    };
    std::vector<std::thread> threads;
    for (int i = 1; i < workers; ++i) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    if (m_error) std::rethrow_exception(m_error);
  }

  PackageOutput build_one(const std::string& name, const std::vector<fs::path>& overlays) {
    const auto& r = *m_plan.packages.at(name).recipe;
    const std::string& key = m_keys.at(name);
    fs::path temp = m_store.make_temp(key);
    try {
      fs::path work = temp / "work", dest = temp / "root", log = temp / "build.log";
      fs::create_directories(dest);
      // Not left to the umask: a parallel libarchive extraction sets the process umask to 0 for an instant.
      fs::permissions(dest, fs::perms(0755));
      with_context("preparing the sources of " + name, [&] { prepare_sources(r, work, m_opts); });
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) throw_errno(ErrorKind::build, "cannot create " + log.string());
      StepContext ctx{r, work, dest, overlays, m_opts};
      auto t0 = std::chrono::steady_clock::now();
      for (const auto& step : r.pipeline) {
        if (sandbox::interrupt_requested())
          throw Error(ErrorKind::build, "building " + name + " " + r.full_version() + ": interrupted before step '" +
                                            step.name + "'");
        std::string banner = "==> " + step.name + "\n";
        (void)!::write(fd, banner.data(), banner.size());
        auto res = m_runner->run(step_spec(ctx, &step, fd));
        if (res.exit_code == 0 && !res.timed_out && !res.cancelled) continue;
        ::close(fd);
        std::string why = res.cancelled    ? "was interrupted"
                          : res.timed_out  ? "ran longer than the time limit (" + std::to_string(r.timeout_seconds) + " s) and was killed"
                          : res.term_signal ? "was killed by signal " + std::to_string(res.term_signal)
                                            : "failed with exit code " + std::to_string(res.exit_code);
        fs::path kept = keep_log(name, key, log);
        throw Error(ErrorKind::build, "building " + name + " " + r.full_version() + ": step '" + step.name + "' (" +
                                          r.file.string() + ":" + std::to_string(step.where.line) + ") " + why +
                                          "\n--- last lines of the log ---\n" + tail_lines(kept, 20) +
                                          "--- full log: " + kept.string());
      }
      ::close(fd);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      remove_tree(work);
      normalize_times(dest, m_opts.source_date_epoch);
      std::string log_sha = sha256_file(log);
      nlohmann::json meta = {{"name", r.name},           {"version", r.full_version()}, {"key", key},
                             {"recipeSha256", r.content_sha256}, {"logSha256", log_sha}, {"seconds", secs},
                             {"isolation", m_opts.isolation == Isolation::sandboxed ? "sandbox" : "none"}};
      write_file_atomic(temp / "meta.json", meta.dump(2) + "\n");
      fs::path entry = m_store.commit(temp, key);
      return load_output(name, entry, false);
    } catch (...) { // clean the temporary entry, then let the error travel on
      try {
        remove_tree(temp);
      } catch (const Error&) { // clean_stale() will take it next time
      }
      throw;
    }
  }

  fs::path keep_log(const std::string& name, const std::string& key, const fs::path& log) {
    fs::path dir = m_opts.cache_dir / "logs";
    fs::create_directories(dir);
    fs::path kept = dir / (name + "-" + key.substr(0, 12) + ".log");
    fs::copy_file(log, kept, fs::copy_options::overwrite_existing);
    return kept;
  }
};

} // namespace

std::string store_key(const recipe::PackageRecipe& r, const std::map<std::string, std::string>& closure_keys,
                      const Toolchain& toolchain, std::int64_t source_date_epoch) {
  nlohmann::json j;
  j["sourceDateEpoch"] = source_date_epoch;
  j["keyVersion"] = k_key_version;
  j["name"] = r.name;
  j["version"] = r.full_version();
  j["recipe"] = r.content_sha256;
  j["sources"] = nlohmann::json::array();
  for (const auto& s : r.sources)
    j["sources"].push_back({{"sha256", s.sha256}, {"strip", s.strip_components}, {"destination", s.destination},
                            {"local", s.is_local()}});
  j["patches"] = nlohmann::json::array();
  for (const auto& p : r.patches) j["patches"].push_back(p.sha256);
  j["deps"] = closure_keys;
  j["toolchain"] = toolchain.digest;
  j["platform"] = k_platform;
  return sha256_hex(j.dump());
}

fs::path toolchain_root_for(const recipe::PackageRecipe& r, const fs::path& fallback) {
  if (r.toolchain_root.empty()) return fallback;
  return absolute_toolchain_spec(r.toolchain_root, r.file.parent_path()); // a directory or oci:LAYOUT[:TAG]
}

std::map<std::string, std::string> plan_keys(const resolve::Plan& plan, const Toolchain& toolchain,
                                             std::int64_t source_date_epoch, const fs::path& toolchain_cache,
                                             std::map<std::string, Toolchain>* own_toolchains) {
  std::map<std::string, std::string> keys;
  std::map<std::string, Toolchain> custom;
  for (const auto& wave : plan.waves)
    for (const auto& name : wave) {
      const auto& pp = plan.packages.at(name);
      std::map<std::string, std::string> deps;
      for (const auto& d : pp.build_closure) deps[d] = keys.at(d);
      const Toolchain* tc = &toolchain;
      if (!pp.recipe->toolchain_root.empty()) {
        const std::string root = toolchain_root_for(*pp.recipe, toolchain.root).string();
        if (!is_oci_toolchain_spec(root) && !fs::is_directory(root))
          throw Error(ErrorKind::build, pp.recipe->file.string() + ": options.toolchain-root " + root +
                                            " is not a directory");
        auto it = custom.find(root);
        if (it == custom.end()) {
          auto resolved = with_context(pp.recipe->file.string() + ": options.toolchain-root", [&] {
            return resolve_toolchain_root(root, toolchain_cache.empty() ? fs::path() : toolchain_cache.parent_path());
          });
          it = custom.emplace(root, identify_toolchain(resolved, toolchain_cache)).first;
        }
        tc = &it->second;
        if (own_toolchains) (*own_toolchains)[name] = *tc;
      }
      keys[name] = store_key(*pp.recipe, deps, *tc, source_date_epoch);
    }
  return keys;
}

BuildResult build(const resolve::Plan& plan, const BuildOptions& opts) { return Builder(plan, opts).run(); }

std::size_t fetch_sources(const resolve::Plan& plan, const BuildOptions& options) {
  const BuildOptions opts = with_absolute_paths(options);
  Store store(opts.store_dir);
  auto keys = plan_keys(plan,
                        identify_toolchain(resolve_toolchain_root(opts.toolchain_root.string(), opts.cache_dir),
                                           opts.cache_dir / "toolchain.json"),
                        opts.source_date_epoch, opts.cache_dir / "toolchain.json");
  auto fo = fetch_options(opts);
  std::size_t n = 0;
  for (const auto& [name, pp] : plan.packages) {
    if (store.find(keys.at(name))) continue; // built already: its sources are not needed
    for (const auto& s : pp.recipe->sources)
      if (!s.is_local()) {
        with_context("fetching sources of " + name, [&] { source::fetch({s.url, s.mirrors, s.sha256}, fo); });
        ++n;
      }
  }
  return n;
}

int shell(const resolve::Plan& plan, const std::string& package, const BuildOptions& options) {
  const BuildOptions opts = with_absolute_paths(options);
  auto it = plan.packages.find(package);
  if (it == plan.packages.end()) throw Error(ErrorKind::usage, "package '" + package + "' is not in the plan");
  // Build the dependencies first (cached when already built).
  resolve::Plan deps_plan = plan;
  deps_plan.packages.erase(package);
  for (auto& w : deps_plan.waves) w.erase(std::remove(w.begin(), w.end(), package), w.end());
  auto built = build(deps_plan, opts);
  TempDir temp({}, "echo-shell-");
  fs::path work = temp.path() / "work", dest = temp.path() / "dest";
  fs::create_directories(dest);
  prepare_sources(*it->second.recipe, work, opts);
  std::vector<fs::path> overlays;
  for (const auto& d : it->second.build_closure) overlays.push_back(built.outputs.at(d).root);
  StepContext ctx{*it->second.recipe, work, dest, overlays, opts};
  auto spec = step_spec(ctx, nullptr, -1);
  spec.argv = {"/bin/sh", "-i"};
  spec.stdin_mode = sandbox::Stdin::inherit;
  spec.limits.timeout = std::chrono::hours(24);
  auto res = make_runner(opts.isolation)->run(spec);
  return res.exit_code < 0 ? 128 + res.term_signal : res.exit_code;
}

} // namespace echo::build
