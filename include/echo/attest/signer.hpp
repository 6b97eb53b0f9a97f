#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace echo::attest {

/// Something that signs bytes with an ECDSA P-256 key and SHA-256 (cosign's default algorithm).
/// The file-key implementation lives in signer.cpp; a KMS/HSM/PKCS#11 signer implements the same interface.
class Signer {
public:
  virtual ~Signer() = default;
  /// DER-encoded ECDSA-P256-SHA256 signature over `data` (the signer hashes). Throws Error(signature).
  virtual std::string sign(std::string_view data) = 0;
  /// The matching public key, PKIX ("BEGIN PUBLIC KEY") PEM.
  virtual std::string public_key_pem() const = 0;
  /// Stable key id: lower-case hex SHA-256 of the DER SubjectPublicKeyInfo.
  virtual std::string key_id() const = 0;
};

/// Where the private key comes from: exactly one of `file` (a PEM file) or `env_var` (an environment
/// variable holding the PEM, e.g. a CI secret). `passphrase_env` names the variable holding the passphrase of an
/// encrypted key (empty: the key must be unencrypted).
struct KeySource {
  std::filesystem::path file;
  std::string env_var;
  std::string passphrase_env;
};

/// Loads a PKCS#8 / traditional EC PEM private key (optionally encrypted) and checks it is P-256.
/// The key file is opened, read and closed here; key bytes and the passphrase copy are zeroed after use.
/// Throws Error(signature) naming the file or variable (never the key material): unreadable file, unset
/// variable, encrypted key without passphrase, wrong passphrase, not a P-256 key, cosign's own key format.
std::unique_ptr<Signer> load_signer(const KeySource& src);

/// Generates an ECDSA P-256 pair: `private_pem` as PKCS#8 PEM (AES-256-CBC encrypted when a passphrase is
/// given), created with mode 0600 from the start, and `public_pem` as PKIX PEM (0644). Both written atomically.
/// Refuses to overwrite an existing private key file (Error(usage)). Other failures: Error(signature).
void keygen(const std::filesystem::path& private_pem, const std::filesystem::path& public_pem,
            const std::optional<std::string>& passphrase);

/// True if `der_sig` is a valid ECDSA-P256-SHA256 signature over `data` for the PKIX PEM public key.
/// Throws Error(signature) when the public key cannot be parsed or is not a P-256 key.
bool verify_signature(std::string_view public_key_pem, std::string_view data, std::string_view der_sig);

/// Stable id of a PKIX PEM public key (hex SHA-256 of its DER); throws Error(signature) if unparsable.
std::string public_key_id(std::string_view public_key_pem);

/// Standard padded base64 (RFC 4648 section 4), as DSSE and cosign use.
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64 (padding optional; URL-safe alphabet accepted, as DSSE readers must);
/// nullopt when the text is not base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace echo::attest
