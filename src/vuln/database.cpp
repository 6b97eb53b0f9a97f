// Reading an OSV export fast: most records name packages the image does not have, so each file is first
// searched for the names as bytes and only the candidates are parsed as JSON.
#include "echo/vuln/database.hpp"

#include "echo/util/c_handle.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <thread>

namespace fs = std::filesystem;

namespace echo::vuln {

namespace {

/// The byte strings whose presence makes a file a candidate: "NAME" (package.name) and /NAME" /NAME@
/// (the last segment of a purl, with or without a version).
std::vector<std::string> needles_for(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (n.empty()) continue;
    out.push_back("\"" + n + "\"");
    out.push_back("/" + n + "\"");
    out.push_back("/" + n + "@");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool candidate(std::string_view text, const std::vector<std::string>& needles) {
  if (text.find("\\u") != std::string_view::npos) return true; // escaped names: parse, do not guess
  for (const auto& n : needles)
    if (text.find(n) != std::string_view::npos) return true;
  return false;
}

bool is_zip(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

bool json_name(const fs::path& p) { return p.extension() == ".json"; }

std::vector<OsvRecord> read_zip(const fs::path& path, const std::vector<std::string>& needles, DatabaseStats& st) {
  CHandle<archive, archive_read_free> a(archive_read_new());
  archive_read_support_format_zip(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(ErrorKind::vulndb, path.string() + ": cannot open as a zip: " + archive_error_string(a.get()));
  std::vector<OsvRecord> out;
  archive_entry* e = nullptr;
  std::string buf;
  for (;;) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      throw Error(ErrorKind::vulndb, path.string() + ": corrupt zip after " + std::to_string(st.files) +
                                         " entries: " + archive_error_string(a.get()));
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (archive_entry_filetype(e) != AE_IFREG || !json_name(name)) continue;
    const std::string origin = path.string() + "!" + name;
    buf.clear();
    const void* block;
    size_t size;
    la_int64_t offset;
    for (;;) {
      int r = archive_read_data_block(a.get(), &block, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        throw Error(ErrorKind::vulndb, origin + ": corrupt zip entry: " + archive_error_string(a.get()));
      buf.append(static_cast<const char*>(block), size);
    }
    ++st.files;
    st.bytes += buf.size();
    if (!candidate(buf, needles)) continue;
    ++st.parsed;
    out.push_back(parse_osv_text(buf, origin));
  }
  return out;
}

std::vector<fs::path> json_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file() && json_name(it->path())) files.push_back(it->path());
  if (ec) throw Error(ErrorKind::vulndb, dir.string() + ": cannot list the database: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<OsvRecord> read_dir(const fs::path& dir, const std::vector<std::string>& needles, DatabaseStats& st,
                                unsigned threads) {
  std::vector<fs::path> files = json_files(dir);
  if (threads == 0) threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(files.size() / 256 + 1)));
  std::vector<std::vector<std::pair<std::size_t, OsvRecord>>> found(threads);
  std::vector<DatabaseStats> stats(threads);
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&](unsigned t) {
    try {
      std::string buf;
      for (;;) {
        std::size_t i = next.fetch_add(64);
        if (i >= files.size()) break;
        for (std::size_t k = i; k < std::min(files.size(), i + 64); ++k) {
          buf = read_file(files[k]);
          ++stats[t].files;
          stats[t].bytes += buf.size();
          if (!candidate(buf, needles)) continue;
          ++stats[t].parsed;
          found[t].emplace_back(k, parse_osv_text(buf, files[k].string()));
        }
      }
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = files.size();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
  std::vector<std::pair<std::size_t, OsvRecord>> all;
  for (unsigned t = 0; t < threads; ++t) {
    st.files += stats[t].files;
    st.bytes += stats[t].bytes;
    st.parsed += stats[t].parsed;
    for (auto& r : found[t]) all.push_back(std::move(r));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<OsvRecord> out;
  out.reserve(all.size());
  for (auto& r : all) out.push_back(std::move(r.second));
  return out;
}

} // namespace

std::vector<OsvRecord> read_records(const fs::path& path, const std::vector<std::string>& names, DatabaseStats& stats,
                                    unsigned threads) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    throw Error(ErrorKind::vulndb, path.string() + ": no vulnerability database there (a directory of OSV .json "
                                                   "files or an OSV .zip export)");
  auto needles = needles_for(names);
  if (fs::is_directory(st)) return read_dir(path, needles, stats, threads);
  if (!is_zip(path))
    throw Error(ErrorKind::vulndb, path.string() + ": not a zip file and not a directory (an OSV export is either)");
  return read_zip(path, needles, stats);
}

std::string database_digest(const fs::path& path) {
  if (!fs::is_directory(path)) return "sha256:" + sha256_file(path);
  std::string list;
  for (const auto& f : json_files(path))
    list += f.lexically_relative(path).generic_string() + " " + sha256_file(f) + "\n";
  return "sha256:" + sha256_hex(list);
}

} // namespace echo::vuln
