#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace echo {

/// Incremental SHA-256 (OpenSSL EVP underneath). Not copyable; finish() may be called once.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  /// Lower-case hex digest (64 chars).
  std::string finish_hex();
  std::array<std::uint8_t, 32> finish();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// Lower-case hex SHA-256 of bytes.
std::string sha256_hex(std::string_view bytes);
/// Lower-case hex SHA-256 of a file's content; throws Error(internal) naming the path on I/O failure.
std::string sha256_file(const std::filesystem::path& path);
/// True if s is exactly 64 lower- or upper-case hex digits.
bool is_sha256_hex(std::string_view s) noexcept;
/// Lower-case hex of arbitrary bytes.
std::string to_hex(const std::uint8_t* data, std::size_t size);

} // namespace echo
