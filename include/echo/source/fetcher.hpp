#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace echo::source {

/// One remote source file, identified by its content.
struct RemoteFile {
  std::string url;                  ///< http://, https:// or file://
  std::vector<std::string> mirrors; ///< tried in order after url
  std::string sha256;               ///< 64 lower-case hex, mandatory
};

/// How fetch() looks for and downloads files. Plain data; no global state.
struct FetchOptions {
  std::filesystem::path cache_dir;                ///< files go to cache_dir/"sources"/"sha256"/<hex>
  std::vector<std::filesystem::path> distdirs;    ///< pre-downloaded files, by URL file name or by <hex>
  bool offline = false;                           ///< never touch the network; a miss is an error
  int max_attempts = 4;                           ///< per URL (connection errors, 408, 429, 5xx are retried)
  std::chrono::milliseconds first_backoff{200};   ///< doubled each retry
  std::chrono::milliseconds max_retry_after{30000}; ///< cap on a server's Retry-After wait
  std::chrono::seconds connect_timeout{30};       ///< per connection attempt
  std::chrono::seconds stall_timeout{60};         ///< abort a transfer that receives nothing for this long
  std::function<void(std::string_view)> progress; ///< optional human progress lines ("fetching URL", "fetched URL (1.2 MiB)")
};

/// Path of the source cache entry for a digest: cache_dir/sources/sha256/<hex> (may not exist).
std::filesystem::path cache_path(const FetchOptions& opts, std::string_view sha256);

/// Verified cache path of the file: cache hit, else distdir hit, else download (url, then mirrors).
/// The file is hashed before it is placed in the cache; nothing unverified is ever visible there,
/// and concurrent callers (threads or processes) sharing a cache are safe.
/// Throws Error(ErrorKind::source, ...) naming the URL(s) and, on a mismatch, the expected and actual digest;
/// with opts.offline a miss names the URL, the sha256 and the distdirs searched.
std::filesystem::path fetch(const RemoteFile& file, const FetchOptions& opts);

/// Cache or distdir hit (verified; a distdir hit is hard-linked or copied into the cache) without any
/// network; nullopt on a miss. A corrupt cache entry is removed and counts as a miss.
/// Throws Error(ErrorKind::source) for an invalid sha256 or an unusable cache directory.
std::optional<std::filesystem::path> find_local(const RemoteFile& file, const FetchOptions& opts);

/// Last path component of a URL without query/fragment ("hello-2.12.tar.gz"); "" when the URL ends in '/'.
/// Also works for plain paths ("dir/x.patch" -> "x.patch").
std::string url_file_name(std::string_view url);

} // namespace echo::source
