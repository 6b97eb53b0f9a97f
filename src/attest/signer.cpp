// File/env-var key signer, keygen and ECDSA verification on OpenSSL 3 EVP.
#include "echo/attest/signer.hpp"
#include "echo/util/c_handle.hpp"

#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace echo::attest {

namespace {

using PkeyPtr = CHandle<EVP_PKEY, EVP_PKEY_free>;
using BioPtr = CHandle<BIO, BIO_free_all>;
using MdCtxPtr = CHandle<EVP_MD_CTX, EVP_MD_CTX_free>;

/// Zeroes a string's bytes when it goes out of scope (key PEM, passphrases).
class Secret {
public:
  Secret() = default;
  explicit Secret(std::string s) : m_s(std::move(s)) {}
  ~Secret() { wipe(); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  std::string& str() noexcept { return m_s; }
  const std::string& str() const noexcept { return m_s; }
  void wipe() noexcept {
    if (!m_s.empty()) OPENSSL_cleanse(m_s.data(), m_s.size());
    m_s.clear();
  }

private:
  std::string m_s;
};

/// The whole OpenSSL error queue as text (and cleared), for messages that never contain key bytes.
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(std::string msg) {
  ERR_clear_error();
  throw Error(ErrorKind::signature, std::move(msg));
}

/// Reads a key file into a zeroed-on-exit buffer; the descriptor is closed before returning.
void read_secret_file(const fs::path& path, Secret& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read key file " + path.string() + ": " + std::strerror(errno));
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      OPENSSL_cleanse(buf, sizeof buf);
      fail("cannot read key file " + path.string() + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.str().append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
}

bool is_p256(EVP_PKEY* pkey) {
  if (!EVP_PKEY_is_a(pkey, "EC")) return false;
  char group[64] = {};
  std::size_t len = 0;
  if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len)) return false;
  return std::string_view(group, len) == "prime256v1" || std::string_view(group, len) == "P-256";
}

std::string spki_der(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(pkey, &der);
  if (n <= 0) fail("cannot encode public key: " + openssl_errors());
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string public_pem_of(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_PUBKEY(bio.get(), pkey)) fail("cannot encode public key: " + openssl_errors());
  return bio_string(bio.get());
}

PkeyPtr parse_public(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!pkey) fail("public key is not a PEM public key (BEGIN PUBLIC KEY)");
  if (!is_p256(pkey.get())) fail("public key is not an ECDSA P-256 key");
  return pkey;
}

int passphrase_cb(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* pass = static_cast<const Secret*>(user);
  if (!pass || pass->str().empty()) return -1; // encrypted key, no passphrase: fail instead of prompting
  auto n = static_cast<int>(pass->str().size());
  if (n > size) return -1;
  std::memcpy(buf, pass->str().data(), static_cast<std::size_t>(n));
  return n;
}

class PemSigner final : public Signer {
public:
  explicit PemSigner(PkeyPtr pkey) : m_pkey(std::move(pkey)), m_public_pem(public_pem_of(m_pkey.get())) {
    m_key_id = sha256_hex(spki_der(m_pkey.get()));
  }
  std::string sign(std::string_view data) override {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    std::size_t len = 0;
    auto bytes = reinterpret_cast<const unsigned char*>(data.data());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m_pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, bytes, data.size()) != 1)
      fail("signing failed: " + openssl_errors());
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes, data.size()) != 1)
      fail("signing failed: " + openssl_errors());
    sig.resize(len);
    return sig;
  }
  std::string public_key_pem() const override { return m_public_pem; }
  std::string key_id() const override { return m_key_id; }

private:
  PkeyPtr m_pkey;
  std::string m_public_pem;
  std::string m_key_id;
};

} // namespace

std::unique_ptr<Signer> load_signer(const KeySource& src) {
  if (src.file.empty() == src.env_var.empty())
    throw Error(ErrorKind::usage, "give exactly one of a key file or a key environment variable");
  std::string what = src.file.empty() ? "key in $" + src.env_var : "key file " + src.file.string();
  Secret pem;
  if (!src.file.empty()) {
    read_secret_file(src.file, pem);
  } else {
    const char* v = std::getenv(src.env_var.c_str());
    if (!v || !*v) fail(what + ": environment variable is not set or empty");
    pem.str() = v;
  }
  if (pem.str().find("BEGIN ENCRYPTED SIGSTORE PRIVATE KEY") != std::string::npos ||
      pem.str().find("BEGIN ENCRYPTED COSIGN PRIVATE KEY") != std::string::npos)
    fail(what + ": cosign's own key format is not supported; use 'echo-build keygen' or a PKCS#8 PEM key");
  if (pem.str().find("-----BEGIN") == std::string::npos) fail(what + ": not a PEM private key");
  bool encrypted = pem.str().find("BEGIN ENCRYPTED PRIVATE KEY") != std::string::npos ||
                   pem.str().find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
  Secret pass;
  if (!src.passphrase_env.empty()) {
    const char* p = std::getenv(src.passphrase_env.c_str());
    if (!p) fail(what + ": passphrase variable $" + src.passphrase_env + " is not set");
    pass.str() = p;
  }
  if (encrypted && pass.str().empty())
    fail(what + ": the key is encrypted; give its passphrase with --passphrase-env VAR");

  BioPtr bio(BIO_new_mem_buf(pem.str().data(), static_cast<int>(pem.str().size())));
  PkeyPtr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &pass) : nullptr);
  bio.reset();
  pem.wipe();
  pass.wipe();
  if (!pkey) {
    if (encrypted) fail(what + ": cannot decrypt the private key (wrong passphrase?)");
    fail(what + ": not a readable PEM private key");
  }
  if (!is_p256(pkey.get())) fail(what + ": not an ECDSA P-256 key (echo-build and cosign sign with P-256)");
  ERR_clear_error();
  return std::make_unique<PemSigner>(std::move(pkey));
}

void keygen(const fs::path& private_pem, const fs::path& public_pem, const std::optional<std::string>& passphrase) {
  if (fs::exists(fs::symlink_status(private_pem)))
    throw Error(ErrorKind::usage, private_pem.string() + " already exists; not overwriting a key");
  PkeyPtr pkey(EVP_EC_gen("P-256"));
  if (!pkey) fail("generating a P-256 key failed: " + openssl_errors());
  BioPtr bio(BIO_new(BIO_s_mem()));
  Secret pass(passphrase.value_or(""));
  if (passphrase && pass.str().empty()) throw Error(ErrorKind::usage, "the passphrase is empty");
  const EVP_CIPHER* cipher = passphrase ? EVP_aes_256_cbc() : nullptr;
  if (!bio || !PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey.get(), cipher, passphrase ? pass.str().data() : nullptr,
                                             static_cast<int>(pass.str().size()), nullptr, nullptr))
    fail("encoding the private key failed: " + openssl_errors());
  pass.wipe();
  Secret pem(bio_string(bio.get()));
  bio.reset(); // BUF_MEM_free clears the buffer (OPENSSL_clear_free) before freeing it
  // mkstemp creates the temporary file 0600, so the key is never readable by others, even briefly.
  write_file_atomic(private_pem, pem.str(), 0600);
  write_file_atomic(public_pem, public_pem_of(pkey.get()), 0644);
}

bool verify_signature(std::string_view public_key_pem, std::string_view data, std::string_view der_sig) {
  PkeyPtr pkey = parse_public(public_key_pem);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1)
    fail("cannot set up verification: " + openssl_errors());
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der_sig.data()), der_sig.size(),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
  ERR_clear_error();
  return rc == 1;
}

std::string public_key_id(std::string_view public_key_pem) {
  return sha256_hex(spki_der(parse_public(public_key_pem).get()));
}

} // namespace echo::attest
