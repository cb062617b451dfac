#include "der/rsp.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace station::der::rsp {
namespace {

Bytes repeat(std::uint8_t byte, std::size_t n) { return Bytes(n, byte); }

std::string to_hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

Bytes read_file(const std::string& relative) {
  std::ifstream file(std::filesystem::path(STATION_RSP_SHARED_DIR) / relative, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

Bytes finish(Builder& builder) { return std::move(builder).finish().value(); }

InitiateAuthenticationRequest sample_request() {
  return InitiateAuthenticationRequest{
      .euicc_challenge = repeat(0x11, 16),
      .smdp_address = "testsmdpplus1.example.com",
      .euicc_info1 = {.svn = {2, 2, 0},
                      .ci_pkids_for_verification = {repeat(0xF5, 20), repeat(0xC0, 20)},
                      .ci_pkids_for_signing = {repeat(0xF5, 20)}},
  };
}

// EUICCInfo2 (BF22) written with the TLV builder, as a v2.2 eUICC sends it.
Bytes sample_euicc_info2() {
  Builder b;
  b.begin(Tag::context(34, true))
      .primitive(Tag::context(1), Bytes{2, 3, 1})  // profileVersion
      .primitive(Tag::context(2), Bytes{2, 2, 0})  // svn
      .primitive(Tag::context(3), Bytes{4, 0, 0})  // euiccFirmwareVer
      .primitive(Tag::context(4), Bytes{0x81, 0x01, 0x00, 0x82, 0x04, 0x00, 0x01, 0x00, 0x00})
      .bit_string(Tag::context(5), Bytes{0x7F, 0xC0}, 6)  // uiccCapability
      .bit_string(Tag::context(8), Bytes{0xB0}, 4)        // rspCapability
      .begin(Tag::context(9, true))
      .octets(repeat(0xF5, 20))
      .end()
      .begin(Tag::context(10, true))
      .octets(repeat(0xF5, 20))
      .end()
      .octets(Bytes{0, 0, 1})  // ppVersion
      .utf8("GI-BA-UP-0419")   // sasAcreditationNumber
      .end();
  return finish(b);
}

// CtxParams1: ctxParamsForCommonAuthentication [0] { matchingId [0], deviceInfo [1] { tac [0],
// deviceCapabilities [1] { eutranSupportedRelease [5] } } }.
Bytes sample_ctx_params1() {
  Builder b;
  b.begin(Tag::context(0, true))
      .primitive(Tag::context(0), "MATCHING-ID-1")
      .begin(Tag::context(1, true))
      .primitive(Tag::context(0), Bytes{0x35, 0x29, 0x06, 0x11, 0, 0, 0, 0})
      .begin(Tag::context(1, true))
      .primitive(Tag::context(5), Bytes{13, 0, 0})
      .end()
      .end()
      .end();
  return finish(b);
}

EuiccSigned1 sample_signed1() {
  return EuiccSigned1{
      .transaction_id = repeat(0x7A, 16),
      .server_address = "testsmdpplus1.example.com",
      .server_challenge = repeat(0x5C, 16),
      .euicc_info2 = sample_euicc_info2(),
      .ctx_params1 = sample_ctx_params1(),
  };
}

TEST(RspInitiateAuthenticationTest, EncodesTheSgp22FormAndRoundTrips) {
  const InitiateAuthenticationRequest request = sample_request();
  auto der = encode(request);
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();

  // The same message written by hand with the TLV layer: asn1c and tlv.h agree byte for byte.
  Builder b;
  b.begin(Tag::context(57, true))
      .primitive(Tag::context(1), request.euicc_challenge)
      .primitive(Tag::context(3), request.smdp_address)
      .begin(Tag::context(32, true))
      .primitive(Tag::context(2), request.euicc_info1.svn)
      .begin(Tag::context(9, true))
      .octets(repeat(0xF5, 20))
      .octets(repeat(0xC0, 20))
      .end()
      .begin(Tag::context(10, true))
      .octets(repeat(0xF5, 20))
      .end()
      .end()
      .end();
  EXPECT_EQ(to_hex(*der), to_hex(finish(b)));
  EXPECT_EQ(to_hex(ByteView(*der).first(2)), "BF39");

  auto back = decode_initiate_authentication_request(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, request);

  auto info1 = encode(request.euicc_info1);
  ASSERT_TRUE(info1.is_ok());
  EXPECT_EQ(to_hex(ByteView(*info1).first(2)), "BF20");
  EXPECT_EQ(decode_euicc_info1(*info1).value(), request.euicc_info1);
}

TEST(RspInitiateAuthenticationTest, RefusesWhatIsNotStrictDerOrBreaksConstraints) {
  Bytes der = encode(sample_request()).value();

  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_EQ(decode_initiate_authentication_request(trailing).status().code(),
            ErrorCode::kMalformedRequest);

  Bytes truncated(der.begin(), der.end() - 1);
  EXPECT_FALSE(decode_initiate_authentication_request(truncated).is_ok());

  // The same content with an indefinite outer length: BER that asn1c alone would accept.
  Bytes indefinite = {0xBF, 0x39, 0x80};
  indefinite.insert(indefinite.end(), der.begin() + 3, der.end());
  indefinite.insert(indefinite.end(), {0, 0});
  ASSERT_EQ(der[2], der.size() - 3);
  auto refused = decode_initiate_authentication_request(indefinite);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("indefinite"), std::string::npos);

  Bytes wrong_tag = der;
  wrong_tag[1] = 0x38;
  EXPECT_FALSE(decode_initiate_authentication_request(wrong_tag).is_ok());

  // 9F39: the right tag number marked primitive. asn1c ignores the constructed bit and would
  // parse the contents; the strict check refuses it.
  Bytes primitive = der;
  primitive[0] = 0x9F;
  auto primitive_refused = decode_initiate_authentication_request(primitive);
  ASSERT_FALSE(primitive_refused.is_ok());
  EXPECT_NE(primitive_refused.status().message().find("tag 9F39 where BF39 belongs"),
            std::string::npos);

  auto too_big = decode_initiate_authentication_request(der, Limits{.max_bytes = der.size() - 1});
  ASSERT_FALSE(too_big.is_ok());
  EXPECT_NE(too_big.status().message().find("exceeds the limit"), std::string::npos);

  // euiccChallenge is Octet16: a 15-byte challenge is refused on both sides.
  InitiateAuthenticationRequest short_challenge = sample_request();
  short_challenge.euicc_challenge.pop_back();
  EXPECT_EQ(encode(short_challenge).status().code(), ErrorCode::kValidationFailed);
  Builder b;
  b.begin(Tag::context(57, true))
      .primitive(Tag::context(1), repeat(1, 15))
      .primitive(Tag::context(3), "x")
      .begin(Tag::context(32, true))
      .primitive(Tag::context(2), Bytes{2, 2, 0})
      .begin(Tag::context(9, true))
      .end()
      .begin(Tag::context(10, true))
      .end()
      .end()
      .end();
  auto constrained = decode_initiate_authentication_request(finish(b));
  ASSERT_FALSE(constrained.is_ok());
  EXPECT_EQ(constrained.status().code(), ErrorCode::kMalformedRequest);

  // A missing required component.
  Builder missing;
  missing.begin(Tag::context(57, true)).primitive(Tag::context(1), repeat(1, 16)).end();
  EXPECT_FALSE(decode_initiate_authentication_request(finish(missing)).is_ok());
}

TEST(RspInitiateAuthenticationTest, SkipsUnknownExtensions) {
  // EXTENSIBILITY IMPLIED: a later version's extra component at the end is skipped.
  Builder b;
  b.begin(Tag::context(32, true))
      .primitive(Tag::context(2), Bytes{2, 3, 0})
      .begin(Tag::context(9, true))
      .octets(repeat(0xF5, 20))
      .end()
      .begin(Tag::context(10, true))
      .octets(repeat(0xF5, 20))
      .end()
      .primitive(Tag::context(20), Bytes{1, 2, 3})
      .end();
  auto info1 = decode_euicc_info1(finish(b));
  ASSERT_TRUE(info1.is_ok()) << info1.status().to_string();
  EXPECT_EQ(info1->svn, (Bytes{2, 3, 0}));
  EXPECT_EQ(info1->ci_pkids_for_verification.size(), 1u);
}

TEST(RspAuthenticateServerResponseTest, OkRoundTripKeepsSignedBytesAndCertificatesAsReceived) {
  const Bytes euicc_cert = read_file("certs/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
  const Bytes eum_cert = read_file("certs/CertificateIssuer/CERT_CI_ECDSA_NIST.der");
  ASSERT_FALSE(euicc_cert.empty());
  ASSERT_FALSE(eum_cert.empty());

  const EuiccSigned1 signed1 = sample_signed1();
  auto signed1_der = encode(signed1);
  ASSERT_TRUE(signed1_der.is_ok()) << signed1_der.status().to_string();
  EXPECT_EQ((*signed1_der)[0], 0x30);

  AuthenticateResponseOk ok{
      .euicc_signed1 = signed1,
      .euicc_signature1 = repeat(0x5A, 64),
      .euicc_certificate = euicc_cert,
      .eum_certificate = eum_cert,
  };
  auto der = encode(AuthenticateServerResponse(ok));
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  EXPECT_EQ(to_hex(ByteView(*der).first(2)), "BF38");

  auto back = decode_authenticate_server_response(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  const auto* decoded = std::get_if<AuthenticateResponseOk>(&*back);
  ASSERT_NE(decoded, nullptr);
  EXPECT_EQ(decoded->euicc_signed1, signed1);
  EXPECT_EQ(decoded->euicc_signed1_der, *signed1_der);  // exactly the signed bytes
  EXPECT_EQ(decoded->euicc_signature1, ok.euicc_signature1);
  EXPECT_EQ(decoded->euicc_certificate, euicc_cert);
  EXPECT_EQ(decoded->eum_certificate, eum_cert);

  // Encoding from the received signed bytes gives the same message again.
  auto again = encode(AuthenticateServerResponse(*decoded));
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(*again, *der);
}

TEST(RspAuthenticateServerResponseTest, UnknownExtensionsInSignedPartsAreKeptVerbatim) {
  // A newer eUICC's EUICCInfo2 with a component this module does not know ([30] at the end).
  Bytes info2 = sample_euicc_info2();
  const Bytes extension = {0x9E, 0x02, 0xCA, 0xFE};
  info2.insert(info2.end(), extension.begin(), extension.end());
  info2[2] = static_cast<std::uint8_t>(info2[2] + extension.size());
  EuiccSigned1 signed1 = sample_signed1();
  signed1.euicc_info2 = info2;
  auto signed1_der = encode(signed1);
  ASSERT_TRUE(signed1_der.is_ok()) << signed1_der.status().to_string();

  const Bytes cert = read_file("certs/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
  AuthenticateResponseOk ok{.euicc_signed1_der = *signed1_der,
                            .euicc_signature1 = repeat(0x5A, 64),
                            .euicc_certificate = cert,
                            .eum_certificate = cert};
  auto der = encode(AuthenticateServerResponse(ok));
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  auto back = decode_authenticate_server_response(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  const auto& decoded = std::get<AuthenticateResponseOk>(*back);
  EXPECT_EQ(decoded.euicc_signed1_der, *signed1_der);
  EXPECT_EQ(decoded.euicc_signed1.euicc_info2, info2);
  EXPECT_EQ(encode(AuthenticateServerResponse(decoded)).value(), *der);
}

TEST(RspAuthenticateServerResponseTest, ErrorAlternative) {
  auto der = encode(
      AuthenticateServerResponse(AuthenticateResponseError{.transaction_id = {0x07}, .code = 2}));
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  EXPECT_EQ(to_hex(*der), "BF3808A106800107020102");
  auto back = decode_authenticate_server_response(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  const auto* error = std::get_if<AuthenticateResponseError>(&*back);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->transaction_id, Bytes{0x07});
  EXPECT_EQ(error->code, 2);
}

TEST(RspAuthenticateServerResponseTest, RefusesBrokenParts) {
  EuiccSigned1 bad_info2 = sample_signed1();
  bad_info2.euicc_info2 = Bytes{0xBF, 0x22, 0x00};  // required components missing
  EXPECT_EQ(encode(bad_info2).status().code(), ErrorCode::kValidationFailed);

  AuthenticateResponseOk ok{.euicc_signed1 = sample_signed1(),
                            .euicc_signature1 = repeat(1, 64),
                            .euicc_certificate = Bytes{0x30, 0x00},
                            .eum_certificate = Bytes{0x30, 0x00}};
  EXPECT_EQ(encode(AuthenticateServerResponse(ok)).status().code(), ErrorCode::kValidationFailed);

  // A certificate that is not one, inside an otherwise valid response.
  const Bytes cert = read_file("certs/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
  ok.euicc_certificate = cert;
  ok.eum_certificate = cert;
  Bytes der = encode(AuthenticateServerResponse(ok)).value();
  EXPECT_TRUE(decode_authenticate_server_response(der).is_ok());
  Bytes damaged = der;
  damaged[damaged.size() - cert.size() + 4] ^= 0x01;  // the EUM certificate's tbs SEQUENCE tag
  EXPECT_FALSE(decode_authenticate_server_response(damaged).is_ok());
  EXPECT_FALSE(decode_authenticate_server_response(der, Limits{.max_bytes = 1024}).is_ok());
  EXPECT_FALSE(decode_authenticate_server_response(der, Limits{.max_depth = 4}).is_ok());
  EXPECT_FALSE(decode_authenticate_server_response(Bytes{}).is_ok());
}

}  // namespace
}  // namespace station::der::rsp
