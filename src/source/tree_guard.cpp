#include "tree_guard.hpp"

#include "echo/util/error.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>

namespace fs = std::filesystem;

namespace echo::source::detail {
namespace {

constexpr int k_max_symlink_hops = 40; // as the kernel's MAXSYMLINKS

std::deque<std::string> split_target(std::string_view t) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i <= t.size()) {
    size_t j = t.find('/', i);
    if (j == std::string_view::npos) j = t.size();
    std::string_view c = t.substr(i, j - i);
    if (!c.empty() && c != ".") out.emplace_back(c);
    i = j + 1;
  }
  return out;
}

std::string read_link(const fs::path& p) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size());
  if (n < 0) throw_errno(ErrorKind::source, "cannot read symlink " + p.string());
  buf.resize(static_cast<size_t>(n));
  return buf;
}

void walk(const fs::path& root, const std::string& rel, std::vector<std::string>& links) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(rel.empty() ? root : root / rel)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    struct stat st {};
    if (::lstat((root / r).c_str(), &st) != 0) throw_errno(ErrorKind::source, "cannot stat " + (root / r).string());
    if (S_ISLNK(st.st_mode)) links.push_back(r);
    else if (S_ISDIR(st.st_mode)) walk(root, r, links);
  }
}

} // namespace

std::string join(const std::vector<std::string>& comps, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < comps.size(); ++i) out += (i ? "/" : "") + comps[i];
  return out;
}

std::vector<std::string> entry_components(std::string_view raw) {
  if (!raw.empty() && raw.front() == '/') throw Error(ErrorKind::source, "absolute path");
  std::vector<std::string> out;
  for (auto& c : split_target(raw)) {
    if (c == "..") throw Error(ErrorKind::source, "path contains '..'");
    out.push_back(std::move(c));
  }
  return out;
}

bool symlink_stays_inside(const fs::path& root, const std::vector<std::string>& link, std::string_view target) {
  if (target.empty() || target.front() == '/') return false;
  std::vector<std::string> cur(link.begin(), link.end() - (link.empty() ? 0 : 1)); // the link's own directory
  std::deque<std::string> pending = split_target(target);
  int hops = 0;
  while (!pending.empty()) {
    std::string c = std::move(pending.front());
    pending.pop_front();
    if (c == "..") {
      if (cur.empty()) return false;
      cur.pop_back();
      continue;
    }
    cur.push_back(std::move(c));
    fs::path here = root / join(cur, cur.size());
    struct stat st {};
    if (::lstat(here.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (++hops > k_max_symlink_hops) return false;
      std::string t = read_link(here);
      if (t.empty() || t.front() == '/') return false;
      cur.pop_back();
      auto more = split_target(t);
      pending.insert(pending.begin(), more.begin(), more.end());
    }
  }
  return true;
}

std::string find_escaping_symlink(const fs::path& root) {
  std::vector<std::string> links;
  walk(root, "", links);
  for (const auto& l : links) {
    std::vector<std::string> comps;
    for (auto& c : split_target(l)) comps.push_back(std::move(c));
    if (!symlink_stays_inside(root, comps, read_link(root / l))) return l;
  }
  return {};
}

std::string symlink_in_parents(const fs::path& root, const std::vector<std::string>& comps) {
  for (size_t i = 1; i < comps.size(); ++i) {
    std::string rel = join(comps, i);
    struct stat st {};
    if (::lstat((root / rel).c_str(), &st) != 0) return {}; // not there yet: nothing below it exists either
    if (S_ISLNK(st.st_mode)) return rel;
  }
  return {};
}

} // namespace echo::source::detail
