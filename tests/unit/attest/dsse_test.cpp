#include "unit/attest/test_helpers.hpp"

#include "echo/attest/dsse.hpp"
#include "echo/attest/signer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace echo;
using namespace echo::attest;

namespace {
// secure-systems-lab/dsse protocol.md test vector (FORMATS.md): P-256 key, DER signature.
const char* k_vector_pub_b64 =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZ805D3eqNZywjCI19lInBJOp7YMrCrzAH3CVTAOQ0jgMeCvVTiaRJaRPRDOv8UMs6U4SvKc6pnrIDOoSYI3fdA==";
const char* k_vector_sig_b64 =
    "MEQCIANyarEBrVbCdjtsaqyOSHJ14qeRk6CdxfhZ2fjvPEo7AiBR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==";

std::string vector_pem() {
  std::string b64 = k_vector_pub_b64;
  return "-----BEGIN PUBLIC KEY-----\n" + b64.substr(0, 64) + "\n" + b64.substr(64) + "\n-----END PUBLIC KEY-----\n";
}
} // namespace

TEST_CASE("PAE matches the DSSE spec byte for byte", "[dsse]") {
  CHECK(pae("http://example.com/HelloWorld", "hello world") == "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  CHECK(pae("", "") == "DSSEv1 0  0 ");
  // Lengths are bytes, not characters.
  CHECK(pae("t", "\xc3\xa9") == "DSSEv1 1 t 2 \xc3\xa9");
}

TEST_CASE("the DSSE spec test vector verifies with our code", "[dsse]") {
  auto sig = base64_decode(k_vector_sig_b64);
  REQUIRE(sig);
  std::string signed_bytes = pae("http://example.com/HelloWorld", "hello world");
  CHECK(verify_signature(vector_pem(), signed_bytes, *sig));
  CHECK_FALSE(verify_signature(vector_pem(), pae("http://example.com/HelloWorld", "hello world!"), *sig));

  nlohmann::json env{{"payload", base64_encode("hello world")},
                     {"payloadType", "http://example.com/HelloWorld"},
                     {"signatures", {{{"keyid", "66301bbf"}, {"sig", k_vector_sig_b64}}}}};
  CHECK(dsse_verify(vector_pem(), env.dump()) == std::optional<std::string>("hello world"));
  env["payloadType"] = "http://example.com/Other"; // the type is signed too
  CHECK_FALSE(dsse_verify(vector_pem(), env.dump()));
}

TEST_CASE("dsse_sign envelopes verify; any change to payload, type or signature fails", "[dsse]") {
  TempDir d;
  keygen(d.path() / "k", d.path() / "k.pub", std::nullopt);
  auto signer = load_signer({d.path() / "k", "", ""});
  std::string env = dsse_sign(*signer, k_payload_type_intoto, R"({"a":1})");
  auto j = nlohmann::json::parse(env);
  CHECK(env.rfind(R"({"payloadType":"application/vnd.in-toto+json","payload":"eyJhIjoxfQ==","signatures":[{"keyid":"","sig":")", 0) == 0);
  CHECK(dsse_verify(signer->public_key_pem(), env) == std::optional<std::string>(R"({"a":1})"));

  auto tampered = j;
  tampered["payload"] = base64_encode(R"({"a":2})");
  CHECK_FALSE(dsse_verify(signer->public_key_pem(), tampered.dump()));
  tampered = j;
  tampered["payloadType"] = "application/json";
  CHECK_FALSE(dsse_verify(signer->public_key_pem(), tampered.dump()));
  tampered = j;
  tampered["signatures"][0]["sig"] = k_vector_sig_b64;
  CHECK_FALSE(dsse_verify(signer->public_key_pem(), tampered.dump()));
  CHECK_FALSE(dsse_verify(signer->public_key_pem(), "not json"));
  CHECK_FALSE(dsse_verify(vector_pem(), env)); // another key
}
