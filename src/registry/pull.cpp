// pull: manifest (OCI or Docker v2; an index resolves to linux/amd64), verified blobs streamed into the
// layout, then the cosign tags of the pulled digests. index.json is written last.
#include "echo/oci/layout.hpp"
#include "echo/registry/client.hpp"
#include "echo/registry/referrers.hpp"
#include "echo/util/error.hpp"
#include "echo/util/sha256.hpp"
#include "registry/manifest.hpp"
#include "registry/session.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <unistd.h>

namespace fs = std::filesystem;

namespace echo::registry {

namespace {

struct Fetched {
  oci::Descriptor desc;
  std::string bytes;
  ManifestInfo info;
};

std::string media_type_of(const HttpResponse& r) {
  std::string t = r.header("content-type").value_or("");
  t = t.substr(0, t.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

/// GET a manifest by tag or digest; nullopt on 404. Verifies the digest (requested or Docker-Content-Digest).
std::optional<Fetched> get_manifest(Session& s, const std::string& reference) {
  return with_context("pulling manifest " + s.registry() + "/" + s.repository() + (reference.rfind("sha256:", 0) == 0 ? "@" : ":") + reference,
                      [&]() -> std::optional<Fetched> {
    HttpRequest req{"GET", s.url("/v2/" + s.repository() + "/manifests/" + reference), {{"Accept", k_manifest_accept}},
                    {}, {}, true};
    HttpResponse r = s.send(req);
    if (r.status == 404) return std::nullopt;
    if (r.status != 200) throw s.failure(req, r);
    std::string digest = "sha256:" + sha256_hex(r.body);
    std::string expected = reference.rfind("sha256:", 0) == 0 ? reference : r.header("docker-content-digest").value_or(digest);
    if (expected != digest)
      throw Error(ErrorKind::verify, "digest mismatch: expected " + expected + ", content is " + digest);
    Fetched f;
    f.info = parse_manifest(r.body, media_type_of(r), "manifest " + digest);
    f.desc.media_type = f.info.media_type;
    f.desc.digest = digest;
    f.desc.size = r.body.size();
    f.bytes = std::move(r.body);
    return f;
  });
}

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

class BlobFetcher {
public:
  BlobFetcher(Session& s, oci::Layout& layout, const ClientOptions& opts) : m_s(s), m_layout(layout), m_opts(opts) {}

  void fetch(const oci::Descriptor& b) {
    with_context("pulling blob " + b.digest, [&] {
      fs::path dest = m_layout.blob_path(b.digest);
      if (fs::exists(dest)) {
        if ("sha256:" + sha256_file(dest) == b.digest) return;
        fs::remove(dest); // corrupted copy: fetch again
      }
      fs::create_directories(dest.parent_path());
      fs::path tmp = dest.parent_path() / (".tmp-" + b.digest.substr(7) + "-" + std::to_string(::getpid()));
      int attempts = std::max(1, m_opts.max_attempts);
      for (int attempt = 1;; ++attempt) {
        std::unique_ptr<std::FILE, FileCloser> f(std::fopen(tmp.c_str(), "wb"));
        if (!f) throw_errno(ErrorKind::internal, "cannot create " + tmp.string());
        Sha256 sha;
        std::uint64_t got = 0;
        HttpRequest req{"GET", m_s.url("/v2/" + m_s.repository() + "/blobs/" + b.digest), {}, {}, {}, true};
        req.sink = [&](std::string_view data) {
          if (std::fwrite(data.data(), 1, data.size(), f.get()) != data.size())
            throw_errno(ErrorKind::internal, "writing " + tmp.string());
          sha.update(data);
          got += data.size();
        };
        std::optional<std::string> retry_reason, retry_after;
        try {
          HttpResponse r = m_s.send(req, Retry::no);
          if (r.status == 200) {
            if (std::fflush(f.get()) != 0 || ::fsync(fileno(f.get())) != 0)
              throw_errno(ErrorKind::internal, "writing " + tmp.string());
            f.reset();
            std::string actual = "sha256:" + sha.finish_hex();
            if (actual != b.digest || got != b.size) {
              fs::remove(tmp);
              throw Error(ErrorKind::verify, "GET " + strip_query(req.url) + ": digest mismatch (content is " + actual +
                                                 ", " + std::to_string(got) + " bytes)");
            }
            fs::rename(tmp, dest);
            if (m_opts.progress) m_opts.progress("blob " + b.digest + " pulled (" + std::to_string(got) + " bytes)");
            return;
          }
          if (!is_retryable_status(r.status)) {
            fs::remove(tmp);
            throw m_s.failure(req, r);
          }
          retry_reason = m_s.failure(req, r).what();
          retry_after = r.header("retry-after");
        } catch (const TransportError& e) {
          if (e.failure() != TransportFailure::connection) {
            fs::remove(tmp);
            throw m_s.transport_failure(e, attempt);
          }
          retry_reason = e.what();
        }
        f.reset();
        fs::remove(tmp);
        if (attempt >= attempts)
          throw Error(ErrorKind::registry, *retry_reason + " (after " + std::to_string(attempt) + " attempts)");
        spdlog::warn("{} (attempt {} of {})", *retry_reason, attempt, attempts);
        m_s.backoff(attempt, retry_after);
      }
    });
  }

private:
  Session& m_s;
  oci::Layout& m_layout;
  const ClientOptions& m_opts;
};

/// Stores a fetched manifest: its blobs (for image manifests) and the manifest bytes themselves.
void store(oci::Layout& layout, BlobFetcher& fetcher, const Fetched& m) {
  for (const auto& b : m.info.blobs) fetcher.fetch(b);
  layout.write_blob(m.bytes, m.desc.media_type);
}

/// Referrers of `subject`: the referrers API (200), else the tag-schema index (404: none).
std::vector<oci::Descriptor> discover_referrers(Session& s, const std::string& subject) {
  return with_context("discovering referrers of " + subject, [&] {
    HttpRequest req{"GET", s.url("/v2/" + s.repository() + "/referrers/" + subject), {{"Accept", oci::k_media_index}},
                    {}, {}, true};
    HttpResponse r = s.send(req);
    if (r.status == 200) {
      spdlog::debug("referrers API answered for {}", subject);
      return parse_referrers_index(r.body, "referrers of " + subject);
    }
    spdlog::debug("referrers API: {} for {}; trying the tag schema", r.status, subject);
    std::string tag = referrers_tag(subject);
    HttpRequest get{"GET", s.url("/v2/" + s.repository() + "/manifests/" + tag), {{"Accept", oci::k_media_index}},
                    {}, {}, true};
    HttpResponse t = s.send(get);
    if (t.status == 404) return std::vector<oci::Descriptor>{};
    if (t.status != 200) throw s.failure(get, t);
    return parse_referrers_index(t.body, "referrers index " + tag);
  });
}

} // namespace

std::string pull(const Reference& ref, const fs::path& dir, const ClientOptions& opts) {
  auto http = make_curl_transport();
  Session s(*http, opts, ref.registry, ref.repository, {"repository:" + ref.repository + ":pull"});
  return with_context("pulling " + ref.str(), [&] {
    std::optional<Fetched> top = get_manifest(s, ref.manifest_ref());
    if (!top) throw Error(ErrorKind::registry, "manifest unknown: " + ref.str() + " does not exist");
    oci::Layout layout = oci::Layout::create(dir);
    BlobFetcher fetcher(s, layout, opts);

    Fetched image = *top;
    if (is_index_type(top->info.media_type)) {
      const PlatformChild* pick = nullptr;
      std::string platforms;
      for (const auto& c : top->info.children) {
        if (c.os == "linux" && c.architecture == "amd64" && !pick) pick = &c;
        platforms += (platforms.empty() ? "" : ", ") + c.os + "/" + c.architecture;
      }
      if (!pick)
        throw Error(ErrorKind::registry, "index " + top->desc.digest + " has no linux/amd64 image (has: " + platforms + ")");
      auto child = get_manifest(s, pick->desc.digest);
      if (!child) throw Error(ErrorKind::registry, "index " + top->desc.digest + " names missing manifest " + pick->desc.digest);
      if (!is_manifest_type(child->info.media_type))
        throw Error(ErrorKind::registry, "linux/amd64 entry " + pick->desc.digest + " of the index is not an image manifest");
      image = std::move(*child);
    }
    store(layout, fetcher, image);
    if (top->desc.digest != image.desc.digest) {
      layout.write_blob(top->bytes, top->desc.media_type);
      layout.put_manifest(top->desc, "");
    }
    layout.put_manifest(image.desc, ref.tag);

    std::vector<std::string> digests{top->desc.digest};
    if (image.desc.digest != top->desc.digest) digests.push_back(image.desc.digest);
    for (const auto& d : digests) {
      for (const char* suffix : {".sig", ".att", ".sbom"}) {
        std::string tag = "sha256-" + d.substr(7) + suffix;
        auto att = get_manifest(s, tag);
        if (!att) {
          spdlog::debug("no {} for {}", tag, d);
          continue;
        }
        if (!is_manifest_type(att->info.media_type)) {
          spdlog::warn("{}: {} is an index; not stored", tag, att->desc.digest);
          continue;
        }
        store(layout, fetcher, *att);
        layout.put_manifest(att->desc, tag);
        if (opts.progress) opts.progress("attachment " + tag + " pulled");
      }
    }
    // OCI 1.1 referrers of the image (signed attestations are verified later, from the layout).
    for (const auto& rd : discover_referrers(s, image.desc.digest)) {
      if (!is_manifest_type(rd.media_type)) {
        spdlog::warn("referrer {} of {} is a {}; not stored", rd.digest, image.desc.digest, rd.media_type);
        continue;
      }
      auto m = get_manifest(s, rd.digest);
      if (!m) throw Error(ErrorKind::registry, "referrer " + rd.digest + " of " + image.desc.digest + " does not exist");
      std::string subject;
      oci::Descriptor entry = referrer_descriptor(m->bytes, subject, "referrer " + rd.digest);
      store(layout, fetcher, *m);
      entry.annotations.clear();
      if (entry.artifact_type.empty()) entry.artifact_type = rd.artifact_type;
      layout.put_manifest(entry, "");
      if (opts.progress) opts.progress("referrer " + rd.digest + " (" + entry.artifact_type + ") pulled");
    }
    layout.save();
    return image.desc.digest;
  });
}

} // namespace echo::registry
