#include "echo/oci/image.hpp"

#include "byte_sink.hpp"
#include "tar_stream.hpp"

#include "echo/util/error.hpp"

#include <memory>

namespace fs = std::filesystem;

namespace echo::oci {

void write_oci_archive(const fs::path& layout_dir, const fs::path& tar_path) {
  Layout::open(layout_dir);  // validates that this is a layout
  std::vector<LayerEntry> entries;
  for (auto it = fs::recursive_directory_iterator(layout_dir); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (name.rfind(".tmp", 0) == 0) continue;  // a writer's unfinished blob or index
    LayerEntry e;
    e.path = it->path().lexically_relative(layout_dir).string();
    if (it->is_directory()) {
      e.type = LayerEntry::Type::dir;
      e.mode = 0755;
    } else if (it->is_regular_file()) {
      e.type = LayerEntry::Type::file;
      e.mode = 0644;
      e.source = it->path();
    } else {
      continue;
    }
    entries.push_back(std::move(e));
  }
  entries = normalize_entries(std::move(entries));

  fs::path dir = tar_path.parent_path().empty() ? fs::path(".") : tar_path.parent_path();
  std::unique_ptr<FileSink> file;
  try {
    file = std::make_unique<FileSink>(dir, tar_path.filename().string() + ".");
    write_tar(entries, 0, *file, nullptr);
    fs::rename(file->path(), tar_path);
  } catch (const Error& e) {
    std::error_code ec;
    if (file) fs::remove(file->path(), ec);
    throw e.with_context("writing oci-archive " + tar_path.string());
  }
}

} // namespace echo::oci
