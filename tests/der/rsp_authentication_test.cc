#include <gtest/gtest.h>

#include "der/rsp.h"
#include "der_test_util.h"

namespace station::der::rsp {
namespace {

using namespace der::test_util;

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

// --- ServerSigned1, CtxParams1, EUICCInfo2, AuthenticateServerRequest ---------------------------

ServerSigned1 sample_server_signed1() {
  return ServerSigned1{.transaction_id = {0x01, 0x02},
                       .euicc_challenge = repeat(0x11, 16),
                       .server_address = "a.b",
                       .server_challenge = repeat(0x22, 16)};
}

CtxParams1 sample_ctx() {
  return CtxParams1{
      .matching_id = "AB",
      .device_info = {.tac = {0x35, 0x29, 0x06, 0x11, 0, 0, 0, 0},
                      .device_capabilities = {.eutran_supported_release = Bytes{0x0D, 0, 0}}}};
}

TEST(RspServerSigned1Test, MatchesHandWrittenDerAndRoundTrips) {
  // SEQUENCE { [0] 01 02, [1] 16 x 11, [3] "a.b", [4] 16 x 22 }: 4 + 18 + 5 + 18 = 45 = 0x2D.
  const Bytes expected = from_hex("302D 80020102 8110" + std::string(32, '1') + " 8303612E62 8410" +
                                  std::string(32, '2'));
  auto der = encode(sample_server_signed1());
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  EXPECT_EQ(to_hex(*der), to_hex(expected));
  EXPECT_EQ(decode_server_signed1(expected).value(), sample_server_signed1());

  EXPECT_EQ(decode_server_signed1(with_trailing_byte(expected)).status().code(),
            ErrorCode::kMalformedRequest);
  EXPECT_FALSE(decode_server_signed1(truncated(expected)).is_ok());
  EXPECT_FALSE(decode_server_signed1(expected, Limits{.max_bytes = 46, .max_elements = 4}).is_ok());

  ServerSigned1 long_id = sample_server_signed1();
  long_id.transaction_id = repeat(1, 17);  // TransactionId is SIZE(1..16)
  EXPECT_EQ(encode(long_id).status().code(), ErrorCode::kValidationFailed);
  ServerSigned1 short_challenge = sample_server_signed1();
  short_challenge.server_challenge.pop_back();
  EXPECT_EQ(encode(short_challenge).status().code(), ErrorCode::kValidationFailed);
  Bytes bad_challenge = expected;  // [1] with 15 bytes: the constraint check refuses it
  bad_challenge.erase(bad_challenge.begin() + 6);
  bad_challenge[5] = 0x0F;
  bad_challenge[1] = 0x2C;
  EXPECT_EQ(decode_server_signed1(bad_challenge).status().code(), ErrorCode::kMalformedRequest);
}

TEST(RspCtxParams1Test, MatchesHandWrittenDerAndRoundTrips) {
  // A0 { [0] "AB", [1] DeviceInfo { [0] tac, [1] DeviceCapabilities { [5] 0D 00 00 } } }
  const Bytes expected = from_hex("A017 80024142 A111 8008 3529061100000000 A105 8503 0D0000");
  auto der = encode(sample_ctx());
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  EXPECT_EQ(to_hex(*der), to_hex(expected));
  EXPECT_EQ(decode_ctx_params1(expected).value(), sample_ctx());

  CtxParams1 full = sample_ctx();
  full.matching_id.reset();
  full.device_info.imei = repeat(0x49, 8);
  DeviceCapabilities& caps = full.device_info.device_capabilities;
  for (auto* release : {&caps.gsm_supported_release, &caps.utran_supported_release,
                        &caps.cdma2000onex_supported_release, &caps.cdma2000hrpd_supported_release,
                        &caps.cdma2000ehrpd_supported_release, &caps.contactless_supported_release,
                        &caps.rsp_crl_supported_version, &caps.rsp_rpm_supported_version}) {
    *release = Bytes{1, 2, 3};
  }
  auto full_der = encode(full);
  ASSERT_TRUE(full_der.is_ok()) << full_der.status().to_string();
  EXPECT_EQ(decode_ctx_params1(*full_der).value(), full);

  CtxParams1 bad_tac = sample_ctx();
  bad_tac.device_info.tac = {0x35, 0x29, 0x06, 0x11};  // Octet8
  EXPECT_EQ(encode(bad_tac).status().code(), ErrorCode::kValidationFailed);
  EXPECT_FALSE(decode_ctx_params1(with_trailing_byte(expected)).is_ok());
  Bytes other_alternative = expected;  // A1: an alternative this module does not define
  other_alternative[0] = 0xA1;
  EXPECT_FALSE(decode_ctx_params1(other_alternative).is_ok());
}

EuiccInfo2 sample_info2_fields() {
  return EuiccInfo2{
      .profile_version = {2, 3, 1},
      .svn = {2, 2, 0},
      .euicc_firmware_ver = {4, 0, 0},
      .ext_card_resource = {0x81, 0x01, 0x00},
      .uicc_capability =
          kUiccCapabilityUsimSupport | kUiccCapabilityIsimSupport | kUiccCapabilityAkaMilenage,
      .rsp_capability = kRspCapabilityAdditionalProfile | kRspCapabilityCrlSupport |
                        kRspCapabilityTestProfileSupport,
      .ci_pkids_for_verification = {repeat(0xF5, 20)},
      .ci_pkids_for_signing = {repeat(0xF5, 20)},
      .pp_version = {0, 0, 1},
      .sas_accreditation_number = "GI",
  };
}

TEST(RspEuiccInfo2Test, MatchesHandWrittenDerAndRoundTrips) {
  // Named bits: UICCCapability bits 1, 2, 4 = 0110 1000 with 3 unused bits -> 85 02 03 68;
  // RspCapability bits 0, 1, 3 = 1101 0000 with 4 unused bits -> 88 02 04 D0.
  const std::string ski = "0414" + to_hex(repeat(0xF5, 20));
  const Bytes expected =
      from_hex("BF2255 8103020301 8203020200 8303040000 8403810100 85020368" +
               std::string(" 880204D0 A916") + ski + " AA16" + ski + " 0403000001 0C024749");
  auto der = encode(sample_info2_fields());
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  EXPECT_EQ(to_hex(*der), to_hex(expected));
  EXPECT_EQ(decode_euicc_info2(expected).value(), sample_info2_fields());

  EuiccInfo2 full = sample_info2_fields();
  full.ts102241_version = Bytes{9, 2, 0};
  full.globalplatform_version = Bytes{2, 3, 0};
  full.euicc_category = 2;
  full.forbidden_profile_policy_rules = kPpr1DisableNotAllowed | kPpr2DeleteNotAllowed;
  full.certification_data_object =
      CertificationDataObject{.platform_label = "1.2.3", .discovery_base_url = "dloa.example"};
  full.uicc_capability |= std::uint64_t{1} << 18;  // multipleCsimSupport: a third byte
  auto full_der = encode(full);
  ASSERT_TRUE(full_der.is_ok()) << full_der.status().to_string();
  EXPECT_NE(to_hex(*full_der).find("8B0102"), std::string::npos);
  EXPECT_NE(to_hex(*full_der).find("99020560"), std::string::npos);  // bits 1, 2 -> 0110 0000
  EXPECT_NE(to_hex(*full_der).find("850405680020"),
            std::string::npos);  // bit 18: 3rd byte, 5 unused
  EXPECT_EQ(decode_euicc_info2(*full_der).value(), full);

  // The sample the AuthenticateServerResponse tests send (written with the TLV builder) decodes.
  auto sample = decode_euicc_info2(sample_euicc_info2());
  ASSERT_TRUE(sample.is_ok()) << sample.status().to_string();
  EXPECT_EQ(sample->rsp_capability, 0xDu);  // B0 with 4 unused bits: bits 0, 2, 3
  EXPECT_EQ(sample->sas_accreditation_number, "GI-BA-UP-0419");

  EuiccInfo2 long_sas = sample_info2_fields();
  long_sas.sas_accreditation_number = std::string(65, 'x');  // SIZE(0..64)
  EXPECT_EQ(encode(long_sas).status().code(), ErrorCode::kValidationFailed);
  EXPECT_FALSE(decode_euicc_info2(with_trailing_byte(expected)).is_ok());
  EXPECT_FALSE(decode_euicc_info2(truncated(expected)).is_ok());
  EXPECT_FALSE(decode_euicc_info2(expected, Limits{.max_bytes = 64}).is_ok());
  Bytes missing_pp = expected;  // without ppVersion and sasAcreditationNumber
  missing_pp.resize(missing_pp.size() - 9);
  missing_pp[2] = static_cast<std::uint8_t>(missing_pp[2] - 9);
  EXPECT_FALSE(decode_euicc_info2(missing_pp).is_ok());
}

TEST(RspAuthenticateServerRequestTest, RoundTripKeepsSignedPartsAsReceived) {
  const Bytes cert = test_certificate();
  ASSERT_FALSE(cert.empty());
  const AuthenticateServerRequest request{
      .server_signed1 = sample_server_signed1(),
      .server_signature1 = repeat(0x5A, 64),
      .euicc_ci_pkid_to_be_used = repeat(0xF5, 20),
      .server_certificate = cert,
      .ctx_params1 = sample_ctx(),
  };
  auto der = encode(request);
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  // BF38 { ServerSigned1, 5F37 40 sig, 04 14 ski, certificate, ctxParams1 } by hand.
  const Bytes signed1 = encode(sample_server_signed1()).value();
  const Bytes ctx = encode(sample_ctx()).value();
  Builder b;
  b.begin(Tag::context(56, true))
      .raw(signed1)
      .raw(from_hex("5F3740" + to_hex(repeat(0x5A, 64))))
      .raw(from_hex("0414" + to_hex(repeat(0xF5, 20))))
      .raw(cert)
      .raw(ctx)
      .end();
  EXPECT_EQ(to_hex(*der), to_hex(finish(b)));

  auto back = decode_authenticate_server_request(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->server_signed1, request.server_signed1);
  EXPECT_EQ(back->server_signed1_der, signed1);
  EXPECT_EQ(back->server_signature1, request.server_signature1);
  EXPECT_EQ(back->euicc_ci_pkid_to_be_used, request.euicc_ci_pkid_to_be_used);
  EXPECT_EQ(back->server_certificate, cert);
  EXPECT_EQ(back->ctx_params1, request.ctx_params1);
  EXPECT_EQ(back->ctx_params1_der, ctx);
  EXPECT_EQ(encode(*back).value(), *der);

  EXPECT_EQ(decode_authenticate_server_request(with_trailing_byte(*der)).status().code(),
            ErrorCode::kMalformedRequest);
  EXPECT_FALSE(decode_authenticate_server_request(truncated(*der)).is_ok());
  EXPECT_FALSE(decode_authenticate_server_request(*der, Limits{.max_bytes = 512}).is_ok());
  EXPECT_FALSE(decode_authenticate_server_request(*der, Limits{.max_depth = 3}).is_ok());
  // A BF38 response is not a request.
  EXPECT_FALSE(decode_authenticate_server_request(
                   encode(AuthenticateServerResponse(
                              AuthenticateResponseError{.transaction_id = {1}, .code = 2}))
                       .value())
                   .is_ok());
}

TEST(RspAuthenticateServerRequestTest, ServerSigned1WithAnExtensionIsKeptVerbatim) {
  // A later version's extra component ([5] at the end of ServerSigned1) must survive, since
  // serverSignature1 covers it.
  Bytes signed1 = encode(sample_server_signed1()).value();
  signed1.insert(signed1.end(), {0x85, 0x01, 0x07});
  signed1[1] = static_cast<std::uint8_t>(signed1[1] + 3);
  EXPECT_EQ(decode_server_signed1(signed1).value(), sample_server_signed1());

  AuthenticateServerRequest request{.server_signed1_der = signed1,
                                    .server_signature1 = repeat(0x5A, 64),
                                    .euicc_ci_pkid_to_be_used = repeat(0xF5, 20),
                                    .server_certificate = test_certificate(),
                                    .ctx_params1 = sample_ctx()};
  auto der = encode(request);
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  auto back = decode_authenticate_server_request(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->server_signed1_der, signed1);
  EXPECT_EQ(back->server_signed1, sample_server_signed1());

  request.server_signed1_der = Bytes{0x30, 0x00};  // required components missing
  EXPECT_EQ(encode(request).status().code(), ErrorCode::kValidationFailed);
  request.server_signed1_der = signed1;
  request.server_certificate = Bytes{0x04, 0x00};  // not a SEQUENCE
  EXPECT_EQ(encode(request).status().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace station::der::rsp
