#pragma once
// Private to echo_oci: the byte pipeline a layer goes through (tar -> hash -> compress -> hash -> file).
#include "echo/util/sha256.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace echo::oci {

/// Receives a byte stream. finish() flushes; write() after finish() is a bug.
class ByteSink {
public:
  virtual ~ByteSink() = default;
  virtual void write(const char* data, std::size_t size) = 0;
  virtual void finish() {}
};

/// Hashes and counts what passes through, then forwards it (to `next`, if any).
class HashingSink final : public ByteSink {
public:
  explicit HashingSink(ByteSink* next) : m_next(next) {}
  void write(const char* data, std::size_t size) override {
    m_sha.update(data, size);
    m_size += size;
    if (m_next) m_next->write(data, size);
  }
  void finish() override {
    if (m_next) m_next->finish();
  }
  std::string digest() { return "sha256:" + m_sha.finish_hex(); }  ///< once, after finish()
  std::uint64_t size() const noexcept { return m_size; }

private:
  ByteSink* m_next;
  Sha256 m_sha;
  std::uint64_t m_size = 0;
};

/// Writes to a new file; no fsync (blobs are content-addressed and verified on read).
class FileSink final : public ByteSink {
public:
  /// Creates a uniquely named file "<dir>/.tmp-<prefix>XXXXXX" (mkstemp). Throws Error(internal).
  FileSink(const std::filesystem::path& dir, std::string_view prefix);
  const std::filesystem::path& path() const noexcept { return m_path; }
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void write(const char* data, std::size_t size) override;
  void finish() override;  ///< closes the file; throws on a close error

private:
  std::filesystem::path m_path;
  int m_fd = -1;
};

} // namespace echo::oci
