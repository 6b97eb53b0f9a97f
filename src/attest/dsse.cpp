// DSSE v1.0.2 envelopes (secure-systems-lab/dsse protocol.md, envelope.md).
#include "echo/attest/dsse.hpp"

#include "echo/util/error.hpp"

#include <nlohmann/json.hpp>

namespace echo::attest {

std::string pae(std::string_view type, std::string_view body) {
  std::string out = "DSSEv1 ";
  out += std::to_string(type.size());
  out += ' ';
  out += type;
  out += ' ';
  out += std::to_string(body.size());
  out += ' ';
  out += body;
  return out;
}

std::string dsse_sign(Signer& signer, std::string_view payload_type, std::string_view payload) {
  std::string sig = signer.sign(pae(payload_type, payload));
  nlohmann::ordered_json env;
  env["payloadType"] = payload_type;
  env["payload"] = base64_encode(payload);
  env["signatures"] = nlohmann::ordered_json::array({{{"keyid", ""}, {"sig", base64_encode(sig)}}});
  return env.dump();
}

std::optional<std::string> dsse_verify(std::string_view public_key_pem, std::string_view envelope_json) {
  nlohmann::json env = nlohmann::json::parse(envelope_json, nullptr, /*allow_exceptions=*/false);
  if (!env.is_object() || !env.contains("payload") || !env["payload"].is_string() ||
      !env.contains("payloadType") || !env["payloadType"].is_string() || !env.contains("signatures") ||
      !env["signatures"].is_array())
    return std::nullopt;
  auto payload = base64_decode(env["payload"].get<std::string>());
  if (!payload) return std::nullopt;
  std::string signed_bytes = pae(env["payloadType"].get<std::string>(), *payload);
  for (const auto& s : env["signatures"]) {
    if (!s.is_object() || !s.contains("sig") || !s["sig"].is_string()) continue;
    auto sig = base64_decode(s["sig"].get<std::string>());
    if (sig && verify_signature(public_key_pem, signed_bytes, *sig)) return payload;
  }
  return std::nullopt;
}

} // namespace echo::attest
