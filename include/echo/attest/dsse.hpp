#pragma once
#include "echo/attest/signer.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace echo::attest {

inline constexpr const char* k_payload_type_intoto = "application/vnd.in-toto+json";

/// DSSE v1 pre-authentication encoding: "DSSEv1 <len(type)> <type> <len(body)> <body>" (byte lengths, decimal).
std::string pae(std::string_view type, std::string_view body);

/// Signs PAE(payload_type, payload) and returns the compact envelope JSON
/// {"payloadType":..,"payload":<base64>,"signatures":[{"keyid":"","sig":<base64 DER>}]}.
/// keyid is "" like cosign's key-based attestations. Throws what Signer::sign throws.
std::string dsse_sign(Signer& signer, std::string_view payload_type, std::string_view payload);

/// The decoded payload if at least one signature of the envelope verifies over PAE with the key; nullopt if
/// none does or the envelope is malformed. Throws Error(signature) only for an unusable public key.
std::optional<std::string> dsse_verify(std::string_view public_key_pem, std::string_view envelope_json);

} // namespace echo::attest
