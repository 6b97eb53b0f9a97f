#pragma once
// Private to echo_oci: block-parallel gzip/zstd with output independent of the thread count.
#include "byte_sink.hpp"
#include "echo/oci/layer_writer.hpp"

#include <memory>

namespace echo::oci {

/// Cuts the input into fixed-size blocks (gzip 1 MiB, zstd 4 MiB), compresses each block independently into
/// one gzip member (libdeflate level 5: MTIME 0, no FNAME, OS 255) or one zstd frame (level 3), on up to
/// `threads` workers, and writes the results to `out` in input order. RFC 1952 and RFC 8878 both allow
/// concatenated members/frames, so the result is one valid stream; block boundaries depend only on the input.
class BlockCompressor final : public ByteSink {
public:
  BlockCompressor(Compression c, int threads, ByteSink& out);
  ~BlockCompressor() override;
  BlockCompressor(const BlockCompressor&) = delete;
  BlockCompressor& operator=(const BlockCompressor&) = delete;
  void write(const char* data, std::size_t size) override;
  void finish() override;

  static std::size_t block_size(Compression c) noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace echo::oci
