// keygen, sign, verify: the CLI over echo::attest.
#include "cli/commands.hpp"
#include "cli/registry_flags.hpp"
#include "echo/registry/client.hpp"
#include "echo/registry/reference.hpp"

#include "echo/attest/attach.hpp"
#include "echo/attest/signer.hpp"
#include "echo/attest/verify.hpp"
#include "echo/oci/layout.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <regex>
#include <termios.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace echo::cli {

namespace {

/// Reads a line from /dev/tty with echo off; the caller wipes the result.
std::string prompt_hidden(const char* prompt) {
  FILE* tty = std::fopen("/dev/tty", "r+e");
  if (!tty) throw Error(ErrorKind::usage, "--passphrase-prompt needs a terminal (/dev/tty cannot be opened)");
  int fd = fileno(tty);
  termios old{};
  bool restore = tcgetattr(fd, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::fputs(prompt, tty);
  std::fflush(tty);
  std::string line;
  for (int c; (c = std::fgetc(tty)) != EOF && c != '\n';) line += static_cast<char>(c);
  std::fputs("\n", tty);
  if (restore) tcsetattr(fd, TCSAFLUSH, &old);
  std::fclose(tty);
  return line;
}

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

struct KeygenOptions {
  std::string out_key = "cosign.key", out_pub = "cosign.pub", passphrase_env;
  bool prompt = false;
};

void run_keygen(const KeygenOptions& o, const GlobalOptions& g) {
  std::optional<std::string> pass;
  if (!o.passphrase_env.empty()) {
    const char* p = std::getenv(o.passphrase_env.c_str());
    if (!p || !*p) throw Error(ErrorKind::usage, "passphrase variable $" + o.passphrase_env + " is not set or empty");
    pass = p;
  } else if (o.prompt) {
    std::string a = prompt_hidden("Passphrase for the new key: ");
    std::string b = prompt_hidden("Repeat the passphrase: ");
    bool same = a == b;
    wipe(b);
    if (!same) {
      wipe(a);
      throw Error(ErrorKind::usage, "the passphrases differ");
    }
    pass = std::move(a);
    wipe(a);
  }
  try {
    attest::keygen(o.out_key, o.out_pub, pass);
  } catch (...) {
    if (pass) wipe(*pass);
    throw;
  }
  if (pass) wipe(*pass);
  if (g.json)
    std::cout << nlohmann::json{{"privateKey", o.out_key}, {"publicKey", o.out_pub},
                                {"keyId", attest::public_key_id(read_file(o.out_pub))}}.dump() << std::endl;
  else
    std::cout << "wrote private key " << o.out_key << " (0600) and public key " << o.out_pub << "\n";
}

struct SignOptions {
  std::string layout, key, key_env, passphrase_env, provenance, sbom, ref, repository;
};

/// The image manifest to sign: --ref, or the only image in the layout.
oci::Descriptor pick_image(const oci::Layout& l, const std::string& ref) {
  std::string why;
  auto d = attest::pick_image(l, ref, why);
  if (!d) throw Error(ErrorKind::usage, why);
  return *d;
}

void run_sign(const SignOptions& o, const GlobalOptions& g) {
  if (o.key.empty() == o.key_env.empty()) throw Error(ErrorKind::usage, "sign needs exactly one of --key or --key-env");
  oci::Layout layout = oci::Layout::open(o.layout);
  oci::Descriptor image = pick_image(layout, o.ref);
  attest::Attachments a;
  a.provenance_statement = read_file(o.provenance);
  std::string repository = o.repository;
  nlohmann::json st = nlohmann::json::parse(a.provenance_statement, nullptr, false);
  if (st.is_discarded()) throw Error(ErrorKind::usage, o.provenance + ": not JSON");
  if (repository.empty() && st.contains("subject") && st["subject"].is_array() && !st["subject"].empty())
    repository = st["subject"][0].value("name", "");
  if (repository.empty()) throw Error(ErrorKind::usage, "no --repository and no subject name in " + o.provenance);
  if (!o.sbom.empty()) {
    a.sbom = read_file(o.sbom);
    nlohmann::json sb = nlohmann::json::parse(a.sbom, nullptr, false);
    if (sb.is_discarded()) throw Error(ErrorKind::usage, o.sbom + ": not JSON");
    if (sb.contains("bomFormat")) a.sbom_media_type = attest::k_media_cyclonedx;
  }
  auto signer = attest::load_signer({o.key, o.key_env, o.passphrase_env});
  with_context("signing " + image.digest + " in " + o.layout,
               [&] { attest::attach(layout, image, repository, *signer, a); });
  if (g.json) {
    nlohmann::json tags = {attest::attachment_tag(image.digest, "sig"), attest::attachment_tag(image.digest, "att")};
    if (!a.sbom.empty()) tags.push_back(attest::attachment_tag(image.digest, "sbom"));
    std::cout << nlohmann::json{{"repository", repository}, {"digest", image.digest}, {"attachments", tags}}.dump()
              << std::endl;
    return;
  }
  std::cout << "signed " << repository << "@" << image.digest << ": " << attest::attachment_tag(image.digest, "sig")
            << ", " << attest::attachment_tag(image.digest, "att")
            << (a.sbom.empty() ? "" : ", " + attest::attachment_tag(image.digest, "sbom")) << "\n";
}

struct VerifyOptions {
  std::string layout, key;
  std::shared_ptr<RegistryFlags> registry;
  attest::Expectations e;
  std::vector<std::string> params;
};

void run_verify(VerifyOptions& o, const GlobalOptions& g) {
  for (const auto& p : o.params) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) throw Error(ErrorKind::usage, "--param '" + p + "' is not KEY=VALUE");
    o.e.params[p.substr(0, eq)] = p.substr(eq + 1);
  }
  std::string pem;
  try {
    pem = read_file(o.key);
  } catch (const Error& err) {
    throw Error(ErrorKind::usage, err.what());
  }
  with_context(o.key, [&] { return attest::public_key_id(pem); }); // bad key: Error(signature) naming the file
  // REF form: pull the image and its cosign attachments into a private layout, then verify that.
  std::optional<TempDir> pulled;
  std::string layout = o.layout;
  if (!fs::is_directory(o.layout)) {
    auto ref = registry::Reference::parse(o.layout);
    pulled.emplace();
    layout = (pulled->path() / "layout").string();
    with_context("pulling " + ref.str(), [&] { return registry::pull(ref, layout, registry_options(*o.registry)); });
    if (o.e.ref.empty() && !ref.tag.empty()) o.e.ref = ref.tag;
  }
  auto checks = attest::verify_layout(layout, pem, o.e);
  if (g.json) {
    nlohmann::ordered_json out;
    out["layout"] = o.layout;
    out["ok"] = attest::all_ok(checks);
    out["checks"] = nlohmann::ordered_json::array();
    for (const auto& c : checks) out["checks"].push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << attest::format_checks(checks) << std::flush;
  }
  attest::throw_if_failed(checks);
}

} // namespace

void add_attest_commands(CLI::App& app, GlobalOptions& g) {
  auto kg = std::make_shared<KeygenOptions>();
  auto* k = app.add_subcommand("keygen", "Generate an ECDSA P-256 signing key pair (PKCS#8 PEM, cosign-compatible)");
  k->add_option("--out-key", kg->out_key, "Private key file to create (mode 0600; never overwritten)")
      ->capture_default_str()->type_name("FILE");
  k->add_option("--out-pub", kg->out_pub, "Public key file (PKIX PEM)")->capture_default_str()->type_name("FILE");
  auto* pe = k->add_option("--passphrase-env", kg->passphrase_env,
                           "Encrypt the private key (AES-256) with the passphrase in this environment variable")
                 ->type_name("VAR");
  k->add_flag("--passphrase-prompt", kg->prompt, "Ask for the passphrase on the terminal")->excludes(pe);
  k->callback([kg, &g] { run_keygen(*kg, g); });

  auto so = std::make_shared<SignOptions>();
  auto* s = app.add_subcommand("sign", "Sign an image in an OCI layout and attach provenance and SBOM, cosign-style");
  s->add_option("LAYOUT", so->layout, "OCI image layout directory")->required()->type_name("DIR");
  auto* kf = s->add_option("--key", so->key, "Private key PEM file")->type_name("FILE");
  s->add_option("--key-env", so->key_env, "Environment variable holding the private key PEM (e.g. a CI secret)")
      ->type_name("VAR")->excludes(kf);
  s->add_option("--passphrase-env", so->passphrase_env, "Environment variable holding the key's passphrase")
      ->type_name("VAR");
  s->add_option("--provenance", so->provenance, "in-toto statement (SLSA provenance v1) to sign into .att")
      ->required()->type_name("FILE");
  s->add_option("--sbom", so->sbom, "SPDX or CycloneDX JSON to attach as .sbom")->type_name("FILE");
  s->add_option("--ref", so->ref, "Image tag in the layout (default: the only image)")->type_name("TAG");
  s->add_option("--repository", so->repository,
                "docker-reference to sign, e.g. registry.example/app (default: the statement's subject name)")
      ->type_name("NAME");
  s->callback([so, &g] { run_sign(*so, g); });

  auto vo = std::make_shared<VerifyOptions>();
  auto* v = app.add_subcommand("verify", "Verify an image (an OCI layout, or a registry reference that is pulled "
                                         "first): blobs, signature, provenance, expectations");
  v->add_option("IMAGE", vo->layout, "OCI image layout directory, or REGISTRY/REPO[:TAG|@DIGEST]")->required()
      ->type_name("DIR|REF");
  vo->registry = add_registry_flags(*v);
  v->add_option("--key", vo->key, "Public key PEM file")->required()->type_name("FILE");
  v->add_option("--ref", vo->e.ref, "Image tag in the layout (default: the only image)")->type_name("TAG");
  v->add_option("--builder-id", vo->e.builder_id, "Required provenance builder.id")->type_name("URI");
  v->add_option("--source", vo->e.sources, "URI that must be among resolvedDependencies (repeatable)")->type_name("URI");
  v->add_option("--param", vo->params, "KEY=VALUE that must be in externalParameters; KEY may be dotted (repeatable)")
      ->type_name("KEY=VALUE");
  v->callback([vo, &g] { run_verify(*vo, g); });
}

} // namespace echo::cli
