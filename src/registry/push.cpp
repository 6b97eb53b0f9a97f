// push: verify every blob of the image and its cosign attachments, then upload blobs (HEAD to skip,
// mount, monolithic or chunked), then manifests, image before attachments.
#include "echo/oci/layout.hpp"
#include "echo/registry/client.hpp"
#include "echo/registry/referrers.hpp"
#include "echo/util/error.hpp"
#include "echo/util/fs.hpp"
#include "echo/util/sha256.hpp"
#include "registry/manifest.hpp"
#include "registry/session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace fs = std::filesystem;

namespace echo::registry {

namespace {

struct ManifestItem {
  oci::Descriptor desc;
  std::string bytes;
};

/// Everything one tagged thing (image or attachment) needs, in push order.
struct PushUnit {
  std::string tag;                      ///< tag for the top manifest
  std::vector<oci::Descriptor> blobs;   ///< unique, config/layers
  std::vector<ManifestItem> manifests;  ///< children first, the top one last
};

std::string ref_name(const oci::Descriptor& d) {
  auto it = d.annotations.find(oci::k_annotation_ref_name);
  return it == d.annotations.end() ? std::string() : it->second;
}

void collect(const oci::Layout& layout, const oci::Descriptor& d, PushUnit& unit, std::set<std::string>& seen) {
  std::string bytes = layout.read_blob(d.digest); // verifies the digest
  ManifestInfo info = parse_manifest(bytes, d.media_type, "manifest " + d.digest + " in " + layout.dir().string());
  for (const auto& child : info.children) collect(layout, child.desc, unit, seen);
  for (const auto& b : info.blobs)
    if (seen.insert(b.digest).second) unit.blobs.push_back(b);
  oci::Descriptor top = d;
  top.media_type = info.media_type;
  unit.manifests.push_back({top, std::move(bytes)});
}

void verify_blob(const oci::Layout& layout, const oci::Descriptor& b) {
  fs::path p = layout.blob_path(b.digest);
  if (!fs::exists(p))
    throw Error(ErrorKind::verify, "blob " + b.digest + " is missing from " + layout.dir().string());
  std::string actual = "sha256:" + sha256_file(p);
  if (actual != b.digest)
    throw Error(ErrorKind::verify, "blob " + b.digest + " in " + layout.dir().string() +
                                       ": digest mismatch (content is " + actual + ")");
  if (fs::file_size(p) != b.size)
    throw Error(ErrorKind::verify, "blob " + b.digest + " in " + layout.dir().string() + ": size " +
                                       std::to_string(fs::file_size(p)) + ", descriptor says " + std::to_string(b.size));
}

/// An OCI 1.1 referrer in the layout: no ref name, an artifactType.
bool is_referrer_entry(const oci::Descriptor& d) { return ref_name(d).empty() && !d.artifact_type.empty(); }

oci::Descriptor select_image(const oci::Layout& layout, const Reference& ref) {
  std::vector<oci::Descriptor> candidates;
  for (const auto& d : layout.manifests())
    if (!is_attachment_name(ref_name(d)) && !is_referrer_entry(d)) candidates.push_back(d);
  for (const auto& d : candidates)
    if (ref_name(d) == ref.tag) return d;
  if (candidates.size() == 1) return candidates.front();
  if (candidates.empty())
    throw Error(ErrorKind::usage, layout.dir().string() + " has no image manifest in index.json");
  std::string names;
  for (const auto& d : candidates) {
    if (!names.empty()) names += ", ";
    names += ref_name(d).empty() ? "(unnamed " + d.digest + ")" : ref_name(d);
  }
  throw Error(ErrorKind::usage, layout.dir().string() + " has " + std::to_string(candidates.size()) +
                                    " images and none is named '" + ref.tag + "'; ref names: " + names);
}

void report(const ClientOptions& opts, const std::string& line) {
  if (opts.progress) opts.progress(line);
}

class Pusher {
public:
  Pusher(Session& s, const oci::Layout& layout, const ClientOptions& opts, std::string mount_from)
      : m_s(s), m_layout(layout), m_opts(opts), m_mount_from(std::move(mount_from)) {}

  void push_blob(const oci::Descriptor& b, PushResult& result) {
    with_context("pushing blob " + b.digest, [&] {
      HttpRequest head{"HEAD", m_s.url(blob_path(b.digest)), {}, {}, {}, true};
      HttpResponse r = m_s.send(head);
      if (r.status == 200) {
        ++result.skipped;
        report(m_opts, "blob " + b.digest + " already present");
        return;
      }
      if (r.status != 404) {
        // HEAD answers carry no body: ask again with GET for the registry's error message.
        HttpRequest get = head;
        get.method = "GET";
        try {
          HttpResponse g = m_s.send(get, Retry::no);
          if (g.status == r.status) r.body = g.body;
        } catch (const TransportError&) {
        }
        throw m_s.failure(head, r);
      }
      int attempts = std::max(1, m_opts.max_attempts);
      for (int attempt = 1;; ++attempt) {
        try {
          bool mounted = upload(b);
          ++(mounted ? result.mounted : result.uploaded);
          report(m_opts, "blob " + b.digest + (mounted ? " mounted from " + m_mount_from : " uploaded") + " (" +
                             std::to_string(b.size) + " bytes)");
          return;
        } catch (const RetryableFailure& f) {
          if (attempt >= attempts)
            throw Error(ErrorKind::registry, f.message + " (after " + std::to_string(attempt) + " attempts)");
          spdlog::warn("{}: {} (attempt {} of {})", b.digest, f.message, attempt, attempts);
          m_s.backoff(attempt, f.retry_after);
        }
      }
    });
  }

  /// PUTs the manifest; returns true when the answer carries an OCI-Subject header.
  bool put_manifest(const ManifestItem& m, const std::string& reference) {
    return with_context("pushing manifest " + m.desc.digest + (reference == m.desc.digest ? "" : " as " + reference), [&] {
      HttpRequest req{"PUT", m_s.url("/v2/" + m_s.repository() + "/manifests/" + reference),
                      {{"Content-Type", m.desc.media_type}}, m.bytes, {}, false};
      HttpResponse r = m_s.send(req);
      if (r.status != 201 && r.status != 200) throw m_s.failure(req, r);
      auto got = r.header("docker-content-digest");
      if (got && *got != m.desc.digest)
        throw Error(ErrorKind::registry, "registry stored it as " + *got + " (bytes changed in transit?)");
      report(m_opts, "manifest " + m.desc.digest + " -> " + reference);
      return r.header("oci-subject").has_value();
    });
  }

  /// Referrers tag schema: adds `referrers` to the index at `tag` (404: none yet) and PUTs it when changed.
  void update_referrers_tag(const std::string& tag, const std::vector<oci::Descriptor>& referrers) {
    with_context("updating referrers tag " + tag, [&] {
      HttpRequest get{"GET", m_s.url("/v2/" + m_s.repository() + "/manifests/" + tag),
                      {{"Accept", oci::k_media_index}}, {}, {}, true};
      HttpResponse r = m_s.send(get);
      if (r.status != 200 && r.status != 404) throw m_s.failure(get, r);
      std::string existing = r.status == 200 ? r.body : std::string();
      MergedIndex merged = merge_referrers_index(existing, referrers, "referrers index " + tag);
      if (merged.added == 0) {
        report(m_opts, "referrers tag " + tag + " already lists all " + std::to_string(referrers.size()) + " referrers");
        return;
      }
      HttpRequest put{"PUT", m_s.url("/v2/" + m_s.repository() + "/manifests/" + tag),
                      {{"Content-Type", oci::k_media_index}}, merged.bytes, {}, false};
      HttpResponse pr = m_s.send(put);
      if (pr.status != 201 && pr.status != 200) throw m_s.failure(put, pr);
      report(m_opts, "referrers tag " + tag + ": " + std::to_string(merged.added) + " referrer(s) added");
    });
  }

private:
  struct RetryableFailure {
    std::string message;
    std::optional<std::string> retry_after; ///< the response's Retry-After header, if any
  };

  std::string blob_path(const std::string& digest) const { return "/v2/" + m_s.repository() + "/blobs/" + digest; }

  // One request of an upload sequence: retryable failures go to the caller's loop (which starts over
  // with a new upload session), the others are final.
  HttpResponse step(const HttpRequest& req, std::initializer_list<long> ok) {
    HttpResponse r;
    try {
      r = m_s.send(req, Retry::no);
    } catch (const TransportError& e) {
      if (e.failure() == TransportFailure::connection) throw RetryableFailure{e.what(), std::nullopt};
      throw m_s.transport_failure(e, 1);
    }
    if (std::find(ok.begin(), ok.end(), r.status) != ok.end()) return r;
    if (is_retryable_status(r.status)) throw RetryableFailure{m_s.failure(req, r).what(), r.header("retry-after")};
    throw m_s.failure(req, r);
  }

  std::string location(const HttpRequest& req, const HttpResponse& r) const {
    auto loc = r.header("location");
    if (!loc || loc->empty())
      throw Error(ErrorKind::registry, req.method + " " + strip_query(req.url) + ": " + std::to_string(r.status) +
                                           " without a Location header");
    return m_s.resolve(*loc);
  }

  static std::string with_digest(const std::string& url, const std::string& digest) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "digest=" + url_encode(digest);
  }

  // Reads [offset, offset+n) of the blob file.
  std::string read_range(const fs::path& p, std::uint64_t offset, std::uint64_t n) const {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error(ErrorKind::internal, "cannot open " + p.string());
    in.seekg(static_cast<std::streamoff>(offset));
    std::string buf(n, '\0');
    in.read(buf.data(), static_cast<std::streamsize>(n));
    if (static_cast<std::uint64_t>(in.gcount()) != n)
      throw Error(ErrorKind::verify, p.string() + ": blob shorter than its descriptor");
    return buf;
  }

  /// Returns true when the blob was mounted instead of uploaded.
  bool upload(const oci::Descriptor& b) {
    std::string start = m_s.url("/v2/" + m_s.repository() + "/blobs/uploads/");
    if (!m_mount_from.empty()) start += "?mount=" + url_encode(b.digest) + "&from=" + url_encode(m_mount_from);
    HttpRequest post{"POST", start, {}, {}, {}, false};
    HttpResponse r = step(post, {201, 202});
    if (r.status == 201 && !m_mount_from.empty()) return true;
    if (r.status == 201) throw Error(ErrorKind::registry, "POST " + strip_query(start) + ": 201 without a mount request");
    std::string loc = location(post, r);

    fs::path p = m_layout.blob_path(b.digest);
    Sha256 sha;
    if (b.size <= m_opts.chunk_size) {
      std::string bytes = read_range(p, 0, b.size);
      sha.update(bytes);
      check_digest(b, sha);
      step(HttpRequest{"PUT", with_digest(loc, b.digest), {{"Content-Type", "application/octet-stream"}},
                       std::move(bytes), {}, false},
           {201});
      return false;
    }
    std::uint64_t chunk = std::max<std::uint64_t>(m_opts.chunk_size, 1);
    for (std::uint64_t off = 0; off < b.size; off += chunk) {
      std::uint64_t n = std::min(chunk, b.size - off);
      std::string bytes = read_range(p, off, n);
      sha.update(bytes);
      HttpRequest patch{"PATCH", loc,
                        {{"Content-Type", "application/octet-stream"},
                         {"Content-Range", std::to_string(off) + "-" + std::to_string(off + n - 1)}},
                        std::move(bytes), {}, false};
      HttpResponse pr = step(patch, {202});
      loc = location(patch, pr);
    }
    check_digest(b, sha);
    step(HttpRequest{"PUT", with_digest(loc, b.digest), {{"Content-Type", "application/octet-stream"}}, {}, {}, false},
         {201});
    return false;
  }

  void check_digest(const oci::Descriptor& b, Sha256& sha) const {
    std::string actual = "sha256:" + sha.finish_hex();
    if (actual != b.digest)
      throw Error(ErrorKind::verify, "blob " + b.digest + " in " + m_layout.dir().string() +
                                         " changed while pushing (content is now " + actual + ")");
  }

  Session& m_s;
  const oci::Layout& m_layout;
  const ClientOptions& m_opts;
  std::string m_mount_from;
};

std::string mount_repository(const Reference& ref, const std::string& from) {
  if (from.empty()) return {};
  std::string repo = from;
  if (repo.rfind(ref.registry + "/", 0) == 0) repo = repo.substr(ref.registry.size() + 1);
  // Validate through the reference parser (a fake host keeps the grammar the same).
  try {
    Reference::parse(ref.registry + "/" + repo);
  } catch (const Error&) {
    throw Error(ErrorKind::usage, "--mount-from '" + from + "': not a repository on " + ref.registry);
  }
  if (repo.find(':') != std::string::npos || repo.find('@') != std::string::npos)
    throw Error(ErrorKind::usage, "--mount-from '" + from + "': give a repository, without tag or digest");
  return repo;
}

} // namespace

PushResult push(const fs::path& layout_dir, const Reference& ref, const std::vector<std::string>& extra_tags,
                const ClientOptions& opts) {
  if (!ref.digest.empty())
    throw Error(ErrorKind::usage, "push to '" + ref.str() + "': give a tag, not a digest (the digest is computed)");
  for (const auto& t : extra_tags)
    if (!is_valid_tag(t)) throw Error(ErrorKind::usage, "--tag '" + t + "': not a valid tag");
  std::string mount_from = mount_repository(ref, opts.mount_from);

  oci::Layout layout = oci::Layout::open(layout_dir);
  oci::Descriptor image = select_image(layout, ref);

  // Plan and verify everything before the first request: a corrupted blob pushes nothing.
  std::vector<PushUnit> units;
  {
    PushUnit u;
    u.tag = ref.tag;
    std::set<std::string> seen;
    collect(layout, image, u, seen);
    units.push_back(std::move(u));
  }
  for (const auto& d : layout.manifests()) {
    std::string name = ref_name(d);
    if (!is_attachment_name(name)) continue;
    PushUnit u;
    u.tag = name;
    std::set<std::string> seen;
    collect(layout, d, u, seen);
    units.push_back(std::move(u));
  }
  // OCI 1.1 referrers of the image (attach() writes them as unnamed entries with an artifactType).
  std::vector<PushUnit> referrer_units;
  std::vector<oci::Descriptor> referrer_descs;
  for (const auto& d : layout.manifests()) {
    if (!is_referrer_entry(d)) continue;
    std::string subject;
    oci::Descriptor rd = referrer_descriptor(layout.read_blob(d.digest), subject,
                                             "referrer " + d.digest + " in " + layout_dir.string());
    if (subject != image.digest) continue;
    PushUnit u;
    u.tag = d.digest;
    std::set<std::string> seen;
    collect(layout, d, u, seen);
    referrer_units.push_back(std::move(u));
    referrer_descs.push_back(std::move(rd));
  }
  for (const auto& u : units)
    for (const auto& b : u.blobs) verify_blob(layout, b);
  for (const auto& u : referrer_units)
    for (const auto& b : u.blobs) verify_blob(layout, b);

  std::vector<std::string> scopes{"repository:" + ref.repository + ":pull,push"};
  if (!mount_from.empty()) scopes.push_back("repository:" + mount_from + ":pull");
  auto http = make_curl_transport();
  Session session(*http, opts, ref.registry, ref.repository, scopes);
  Pusher pusher(session, layout, opts, mount_from);

  PushResult result;
  return with_context("pushing " + layout_dir.string() + " to " + ref.str(), [&] {
    std::set<std::string> done;
    for (std::size_t i = 0; i < units.size(); ++i) {
      const PushUnit& u = units[i];
      for (const auto& b : u.blobs)
        if (done.insert(b.digest).second) pusher.push_blob(b, result);
      for (std::size_t m = 0; m + 1 < u.manifests.size(); ++m) pusher.put_manifest(u.manifests[m], u.manifests[m].desc.digest);
      const ManifestItem& top = u.manifests.back();
      pusher.put_manifest(top, u.tag);
      if (i == 0) {
        result.digest = top.desc.digest;
        result.tags.push_back(u.tag);
        for (const auto& t : extra_tags) {
          if (std::find(result.tags.begin(), result.tags.end(), t) != result.tags.end()) continue;
          pusher.put_manifest(top, t);
          result.tags.push_back(t);
        }
      } else {
        result.attachments.push_back(u.tag);
      }
    }
    std::vector<oci::Descriptor> tag_schema;
    for (std::size_t i = 0; i < referrer_units.size(); ++i) {
      const PushUnit& u = referrer_units[i];
      for (const auto& b : u.blobs)
        if (done.insert(b.digest).second) pusher.push_blob(b, result);
      bool api = pusher.put_manifest(u.manifests.back(), u.tag);
      result.referrers.push_back({referrer_descs[i].digest, referrer_descs[i].artifact_type, api});
      if (!api) tag_schema.push_back(referrer_descs[i]);
    }
    if (!tag_schema.empty()) {
      result.referrers_tag = referrers_tag(result.digest);
      pusher.update_referrers_tag(result.referrers_tag, tag_schema);
    }
    return result;
  });
}

} // namespace echo::registry
