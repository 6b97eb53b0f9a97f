#include "unit/attest/test_helpers.hpp"

#include "echo/attest/signer.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace echo;
using namespace echo::attest;
using echo::attest::test::run;

namespace {
std::string error_of(const KeySource& src) {
  try {
    load_signer(src);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::signature);
    return e.what();
  }
  return "no error";
}
} // namespace

TEST_CASE("keygen writes a 0600 PKCS#8 key and a PKIX public key that openssl reads", "[signer]") {
  TempDir d;
  keygen(d.path() / "k.pem", d.path() / "k.pub", std::nullopt);
  struct stat st {};
  REQUIRE(::stat((d.path() / "k.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string key = read_file(d.path() / "k.pem");
  CHECK(key.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  CHECK(run("openssl pkey -in " + (d.path() / "k.pem").string() + " -noout").status == 0);
  auto pub = run("openssl ec -pubin -in " + (d.path() / "k.pub").string() + " -noout -text");
  CHECK(pub.status == 0);
  CHECK(pub.output.find("prime256v1") != std::string::npos);

  // Never overwrites a key.
  CHECK_THROWS_WITH(keygen(d.path() / "k.pem", d.path() / "k2.pub", std::nullopt),
                    (d.path() / "k.pem").string() + " already exists; not overwriting a key");
}

TEST_CASE("encrypted key: openssl reads it with the passphrase, we load it, wrong passphrase is named", "[signer]") {
  TempDir d;
  fs::path key = d.path() / "enc.key";
  keygen(key, d.path() / "enc.pub", std::string("correct horse"));
  CHECK(read_file(key).rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) == 0);
  CHECK(run("openssl pkey -in " + key.string() + " -passin pass:'correct horse' -noout").status == 0);
  CHECK(run("openssl pkey -in " + key.string() + " -passin pass:wrong -noout").status != 0);

  ::setenv("ECHO_TEST_PASS", "correct horse", 1);
  auto s = load_signer({key, "", "ECHO_TEST_PASS"});
  CHECK(s->public_key_pem() == read_file(d.path() / "enc.pub"));
  CHECK(s->key_id() == public_key_id(read_file(d.path() / "enc.pub")));
  CHECK(s->key_id().size() == 64);

  ::setenv("ECHO_TEST_PASS", "wrong", 1);
  CHECK(error_of({key, "", "ECHO_TEST_PASS"}) ==
        "key file " + key.string() + ": cannot decrypt the private key (wrong passphrase?)");
  CHECK(error_of({key, "", ""}) ==
        "key file " + key.string() + ": the key is encrypted; give its passphrase with --passphrase-env VAR");
  ::unsetenv("ECHO_TEST_PASS");
}

TEST_CASE("load_signer errors name the file or variable and never print key material", "[signer]") {
  TempDir d;
  fs::path missing = d.path() / "nope.key";
  CHECK(error_of({missing, "", ""}) == "cannot read key file " + missing.string() + ": No such file or directory");

  fs::path p384 = d.path() / "p384.key";
  REQUIRE(run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out " + p384.string()).status == 0);
  std::string msg = error_of({p384, "", ""});
  CHECK(msg == "key file " + p384.string() + ": not an ECDSA P-256 key (echo-build and cosign sign with P-256)");
  CHECK(msg.find("BEGIN") == std::string::npos);

  fs::path junk = d.path() / "junk.key";
  write_file_atomic(junk, "hello");
  CHECK(error_of({junk, "", ""}) == "key file " + junk.string() + ": not a PEM private key");

  fs::path cosign_fmt = d.path() / "cosign.key";
  write_file_atomic(cosign_fmt, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n");
  CHECK(error_of({cosign_fmt, "", ""}) == "key file " + cosign_fmt.string() +
                                              ": cosign's own key format is not supported; use 'echo-build keygen' or a PKCS#8 PEM key");

  ::unsetenv("ECHO_TEST_KEY");
  CHECK(error_of({"", "ECHO_TEST_KEY", ""}) == "key in $ECHO_TEST_KEY: environment variable is not set or empty");
}

TEST_CASE("key from an environment variable signs; openssl verifies the DER signature", "[signer]") {
  TempDir d;
  keygen(d.path() / "k.pem", d.path() / "k.pub", std::nullopt);
  ::setenv("ECHO_TEST_KEY", read_file(d.path() / "k.pem").c_str(), 1);
  auto s = load_signer({"", "ECHO_TEST_KEY", ""});
  ::unsetenv("ECHO_TEST_KEY");
  std::string sig = s->sign("some data");
  CHECK(verify_signature(s->public_key_pem(), "some data", sig));
  CHECK_FALSE(verify_signature(s->public_key_pem(), "some datA", sig));
  write_file_atomic(d.path() / "data", "some data");
  write_file_atomic(d.path() / "sig.der", sig);
  auto r = run("openssl dgst -sha256 -verify " + (d.path() / "k.pub").string() + " -signature " +
               (d.path() / "sig.der").string() + " " + (d.path() / "data").string());
  CHECK(r.status == 0);
  CHECK(r.output == "Verified OK\n");

  CHECK_THROWS_WITH(verify_signature("not a key", "x", sig), "public key is not a PEM public key (BEGIN PUBLIC KEY)");
}

TEST_CASE("base64 is standard and padded; decoding rejects garbage", "[signer]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64_decode("Zm8=") == std::optional<std::string>("fo"));
  CHECK(base64_decode("Zm8") == std::optional<std::string>("fo"));
  CHECK(base64_decode("-_8=") == std::optional<std::string>("\xfb\xff"));
  CHECK_FALSE(base64_decode("Zm9v!"));
  CHECK_FALSE(base64_decode("Zm9=")); // non-canonical trailing bits would make two texts one value
}
