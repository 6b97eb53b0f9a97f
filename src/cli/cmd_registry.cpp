#include "cli/commands.hpp"
#include "cli/registry_flags.hpp"

#include "echo/registry/client.hpp"
#include "echo/registry/reference.hpp"
#include "echo/util/error.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <iterator>

namespace echo::cli {

std::shared_ptr<RegistryFlags> add_registry_flags(CLI::App& cmd) {
  auto f = std::make_shared<RegistryFlags>();
  cmd.add_option("--insecure-registry", f->insecure_registries,
                 "Allow plain http (no TLS) for this registry host:port (repeatable; also $ECHO_INSECURE_REGISTRIES, "
                 "comma-separated)")
      ->allow_extra_args(false)
      ->type_name("HOST:PORT");
  cmd.add_option("--username", f->username,
                 "Registry user name (password from --password-stdin or $ECHO_REGISTRY_PASSWORD); overrides "
                 "$ECHO_REGISTRY_USERNAME and auth files")
      ->type_name("USER");
  cmd.add_flag("--password-stdin", f->password_stdin, "Read the registry password (or token) from stdin");
  return f;
}

nlohmann::json referrers_json(const registry::PushResult& r) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& ref : r.referrers)
    out.push_back({{"digest", ref.digest}, {"artifactType", ref.artifact_type}, {"ociSubject", ref.oci_subject}});
  return out;
}

registry::ClientOptions registry_options(const RegistryFlags& flags) {
  registry::ClientOptions o = registry::options_from_environment();
  for (const auto& h : flags.insecure_registries) o.insecure_registries.push_back(h);
  if (flags.password_stdin) {
    if (flags.username.empty()) throw Error(ErrorKind::usage, "--password-stdin needs --username");
    std::string pw((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (!pw.empty() && pw.back() == '\n') pw.pop_back();
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    if (pw.empty()) throw Error(ErrorKind::usage, "--password-stdin: no password on stdin");
    o.credentials = registry::Credentials{flags.username, pw};
  } else if (!flags.username.empty()) {
    const char* pw = std::getenv("ECHO_REGISTRY_PASSWORD");
    if (!pw || !*pw) throw Error(ErrorKind::usage, "--username needs --password-stdin or $ECHO_REGISTRY_PASSWORD");
    o.credentials = registry::Credentials{flags.username, pw};
  }
  return o;
}

namespace {

struct PushArgs {
  std::string layout, ref;
  std::vector<std::string> tags;
  std::string mount_from;
  std::uint64_t chunk_size = 16ull << 20;
};

struct PullArgs {
  std::string ref, dir;
};

void progress_to_log(registry::ClientOptions& o) {
  o.progress = [](std::string_view line) { spdlog::info("{}", line); };
}

} // namespace

void add_registry_commands(CLI::App& app, GlobalOptions& g) {
  {
    auto args = std::make_shared<PushArgs>();
    auto* cmd = app.add_subcommand(
        "push", "Push the image of an OCI layout (then its cosign .sig/.att/.sbom attachments) to a registry.\n"
                "The image is the index.json entry whose ref name is REF's tag, else the only image.\n"
                "Prints the manifest digest (--json: digest, tags, attachments, blob counts).");
    cmd->add_option("LAYOUT", args->layout, "OCI image layout directory")->required()->type_name("DIR");
    cmd->add_option("REF", args->ref, "Destination host[:port]/repo[:tag] (tag defaults to latest)")->required();
    cmd->add_option("--tag", args->tags, "Also tag the image with this tag (repeatable)")
        ->allow_extra_args(false)
        ->type_name("TAG");
    cmd->add_option("--mount-from,--from-repo", args->mount_from,
                    "Try cross-repository mounts of blobs from this repository of the same registry")
        ->type_name("REPO");
    cmd->add_option("--chunk-size", args->chunk_size,
                    "Blobs larger than this many bytes are uploaded in chunks of this size (PATCH)")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40))
        ->type_name("BYTES");
    auto flags = add_registry_flags(*cmd);
    cmd->callback([args, flags, &g] {
      auto ref = registry::Reference::parse(args->ref);
      auto opts = registry_options(*flags);
      opts.mount_from = args->mount_from;
      opts.chunk_size = args->chunk_size;
      progress_to_log(opts);
      auto r = registry::push(args->layout, ref, args->tags, opts);
      if (g.json) {
        nlohmann::ordered_json j;
        j["digest"] = r.digest;
        j["tags"] = r.tags;
        j["attachments"] = r.attachments;
        j["referrers"] = referrers_json(r);
        if (!r.referrers_tag.empty()) j["referrersTag"] = r.referrers_tag;
        j["blobs"] = {{"uploaded", r.uploaded}, {"skipped", r.skipped}, {"mounted", r.mounted}};
        std::cout << j.dump() << std::endl;
      } else {
        spdlog::info("pushed {}@{} (blobs: {} uploaded, {} skipped, {} mounted)", ref.repo_str(), r.digest, r.uploaded,
                     r.skipped, r.mounted);
        std::cout << r.digest << std::endl;
      }
    });
  }
  {
    auto args = std::make_shared<PullArgs>();
    auto* cmd = app.add_subcommand(
        "pull", "Pull REF (tag or @sha256:digest; for an index, its linux/amd64 image) and its cosign\n"
                "attachments into an OCI layout, verifying every digest. Prints the image manifest digest.");
    cmd->add_option("REF", args->ref, "Source host[:port]/repo[:tag][@sha256:hex]")->required();
    cmd->add_option("DIR", args->dir, "OCI layout directory to write (created if needed)")->required()->type_name("DIR");
    auto flags = add_registry_flags(*cmd);
    cmd->callback([args, flags, &g] {
      auto ref = registry::Reference::parse(args->ref);
      auto opts = registry_options(*flags);
      progress_to_log(opts);
      std::string digest = registry::pull(ref, args->dir, opts);
      if (g.json)
        std::cout << nlohmann::ordered_json{{"digest", digest}, {"layout", args->dir}}.dump() << std::endl;
      else
        std::cout << digest << std::endl;
    });
  }
}

} // namespace echo::cli
