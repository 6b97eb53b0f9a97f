#include "image_parts.hpp"

#include "echo/util/error.hpp"

#include <algorithm>
#include <ctime>
#include <set>

namespace echo::oci {

namespace {

// os-release values are shell-style double-quoted strings.
std::string shell_quote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\' || c == '$' || c == '`') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string strip_slash(const std::string& p) {
  auto start = p.find_first_not_of('/');
  return start == std::string::npos ? std::string() : p.substr(start);
}

LayerEntry text_file(std::string path, std::string content) {
  LayerEntry e;
  e.path = std::move(path);
  e.type = LayerEntry::Type::file;
  e.mode = 0644;
  e.content = std::move(content);
  return e;
}

std::vector<UserAccount> accounts(const ImageSpec& spec) {
  std::vector<UserAccount> users = spec.users;
  if (users.empty()) users.push_back({"nonroot", 65532, 65532, "/home/nonroot", "/sbin/nologin"});
  if (std::none_of(users.begin(), users.end(), [](const UserAccount& u) { return u.uid == 0; }))
    users.push_back({"root", 0, 0, "/root", "/sbin/nologin"});
  std::stable_sort(users.begin(), users.end(), [](const UserAccount& a, const UserAccount& b) { return a.uid < b.uid; });
  return users;
}

std::vector<GroupAccount> groups(const ImageSpec& spec, const std::vector<UserAccount>& users) {
  std::vector<GroupAccount> out = spec.groups;
  auto has_gid = [&](unsigned gid) {
    return std::any_of(out.begin(), out.end(), [&](const GroupAccount& g) { return g.gid == gid; });
  };
  if (!has_gid(0)) out.push_back({"root", 0, {}});
  for (const auto& u : users)
    if (!has_gid(u.gid)) out.push_back({u.name, u.gid, {}});
  std::stable_sort(out.begin(), out.end(), [](const GroupAccount& a, const GroupAccount& b) { return a.gid < b.gid; });
  return out;
}

} // namespace

std::string rfc3339(std::int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  if (!::gmtime_r(&t, &tm)) throw Error(ErrorKind::usage, "source_date_epoch " + std::to_string(epoch) + " is out of range");
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<LayerEntry> generated_entries(const ImageSpec& spec) {
  std::vector<LayerEntry> out;
  auto users = accounts(spec);

  std::string passwd;
  for (const auto& u : users)
    passwd += u.name + ":x:" + std::to_string(u.uid) + ":" + std::to_string(u.gid) + ":" + u.name + ":" + u.home +
              ":" + u.shell + "\n";
  out.push_back(text_file("etc/passwd", passwd));

  std::string group;
  for (const auto& g : groups(spec, users)) {
    group += g.name + ":x:" + std::to_string(g.gid) + ":";
    for (std::size_t i = 0; i < g.members.size(); ++i) group += (i ? "," : "") + g.members[i];
    group += "\n";
  }
  out.push_back(text_file("etc/group", group));

  std::string pretty = spec.version.empty() ? spec.name : spec.name + " " + spec.version;
  std::string os_release = "ID=echo\nNAME=" + shell_quote(spec.name) + "\n";
  if (!spec.version.empty()) os_release += "VERSION_ID=" + shell_quote(spec.version) + "\n";
  os_release += "PRETTY_NAME=" + shell_quote(pretty) + "\n";
  out.push_back(text_file("etc/os-release", os_release));

  if (spec.nsswitch)
    out.push_back(text_file("etc/nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
                                                 "networks: files\nprotocols: files\nservices: files\n"
                                                 "ethers: files\nrpc: files\n"));

  // Declared paths, then defaults for what was not declared.
  std::set<std::string> declared;
  for (const auto& p : spec.paths) {
    LayerEntry e;
    e.path = strip_slash(p.path);
    if (e.path.empty()) throw Error(ErrorKind::usage, "image path '" + p.path + "' is not a path below /");
    e.mode = p.mode & 07777;
    e.uid = p.uid;
    e.gid = p.gid;
    switch (p.type) {
    case PathSpec::Type::directory: e.type = LayerEntry::Type::dir; break;
    case PathSpec::Type::empty_file: e.type = LayerEntry::Type::file; break;
    case PathSpec::Type::symlink:
      e.type = LayerEntry::Type::symlink;
      e.mode = 0777;
      e.link_target = p.target;
      break;
    }
    declared.insert(e.path);
    out.push_back(std::move(e));
  }
  auto default_dir = [&](std::string path, unsigned mode, unsigned uid, unsigned gid) {
    path = strip_slash(path);
    if (path.empty() || !declared.insert(path).second) return;
    LayerEntry e;
    e.path = std::move(path);
    e.type = LayerEntry::Type::dir;
    e.mode = mode;
    e.uid = uid;
    e.gid = gid;
    out.push_back(std::move(e));
  };
  default_dir("/tmp", 01777, 0, 0);
  for (const auto& u : users) default_dir(u.home, u.uid == 0 ? 0700 : 0755, u.uid, u.gid);
  return out;
}

} // namespace echo::oci
