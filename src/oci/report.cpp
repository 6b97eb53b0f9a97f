#include "echo/oci/image.hpp"

#include <cstdio>

namespace echo::oci {

namespace {

std::string human(std::uint64_t b) {
  char buf[32];
  if (b < 1024)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else if (b < 1024ull * 1024)
    std::snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>((b + 512) / 1024));
  else if (b < 1024ull * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1024.0 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(b) / (1024.0 * 1024 * 1024));
  return buf;
}

} // namespace

std::string format_report(const ImageReport& r) {
  std::map<std::string, std::size_t> reasons;
  for (const auto& f : r.removed) ++reasons[f.reason];
  std::string out = "files: " + std::to_string(r.files) + ", bytes: " + human(r.bytes) +
                    ", removed: " + std::to_string(r.removed.size());
  if (!reasons.empty()) {
    out += " (";
    bool first = true;
    for (const auto& [reason, n] : reasons) {
      out += (first ? "" : ", ") + reason + " " + std::to_string(n);
      first = false;
    }
    out += ")";
  }
  out += "\nstripped: " + std::to_string(r.stripped) + ", compressed layers: " + human(r.compressed_bytes) + "\n";
  if (!r.setuid_files.empty()) {
    out += "setuid/setgid (allowed):";
    for (const auto& f : r.setuid_files) out += " " + f;
    out += "\n";
  }
  for (const auto& [pkg, n] : r.files_per_package)
    out += "  " + (pkg.empty() ? std::string("(image files)") : pkg) + ": " + std::to_string(n) + " files\n";
  return out;
}

} // namespace echo::oci
