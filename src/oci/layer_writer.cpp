#include "echo/oci/layer_writer.hpp"

#include "block_compressor.hpp"
#include "byte_sink.hpp"
#include "tar_stream.hpp"

#include "echo/util/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

namespace fs = std::filesystem;

namespace echo::oci {

FileSink::FileSink(const fs::path& dir, std::string_view prefix) {
  std::string name = (dir / (".tmp-" + std::string(prefix) + "XXXXXX")).string();
  m_fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (m_fd < 0) throw_errno(ErrorKind::internal, "creating a temporary file in " + dir.string());
  ::fchmod(m_fd, 0644);
  m_path = name;
}

FileSink::~FileSink() {
  if (m_fd >= 0) ::close(m_fd);
}

void FileSink::write(const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(m_fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(ErrorKind::internal, "writing " + m_path.string());
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void FileSink::finish() {
  int fd = m_fd;
  m_fd = -1;
  if (fd >= 0 && ::close(fd) != 0) throw_errno(ErrorKind::internal, "closing " + m_path.string());
}

namespace {

// Removes the temporary blob unless it was renamed into place.
struct TempBlob {
  fs::path path;
  ~TempBlob() {
    if (!path.empty()) {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
};

} // namespace

LayerInfo write_layer(std::vector<LayerEntry> entries, Compression c, std::int64_t mtime, int threads,
                      Layout& layout, std::map<std::string, std::string>* file_digests) {
  entries = normalize_entries(std::move(entries));
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  fs::path dir = layout.dir() / "blobs" / "sha256";
  fs::create_directories(dir);
  FileSink file(dir, "layer-");
  TempBlob temp{file.path()};
  HashingSink compressed(&file);
  BlockCompressor compressor(c, threads, compressed);
  HashingSink tar(&compressor);
  write_tar(entries, mtime, tar, file_digests);  // finishes the whole chain

  LayerInfo info;
  info.diff_id = tar.digest();
  info.digest = compressed.digest();
  info.size = compressed.size();
  info.media_type = c == Compression::gzip ? k_media_layer_gzip : k_media_layer_zstd;
  fs::path final_path = layout.blob_path(info.digest);
  // The digest was computed over exactly the bytes written, so the blob can be renamed in without re-reading.
  fs::rename(temp.path, final_path);
  temp.path.clear();
  return info;
}

} // namespace echo::oci
