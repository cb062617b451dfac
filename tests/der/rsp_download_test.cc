#include <gtest/gtest.h>

#include "der/rsp.h"
#include "der_test_util.h"

namespace station::der::rsp {
namespace {

using namespace der::test_util;

TEST(RspSmdpSigned2Test, MatchesHandWrittenDerAndReadsBooleansStrictly) {
  // SEQUENCE { [0] 01, BOOLEAN TRUE }
  const Bytes expected = from_hex("3006 800101 0101FF");
  const SmdpSigned2 signed2{.transaction_id = {0x01}, .cc_required = true};
  EXPECT_EQ(to_hex(encode(signed2).value()), to_hex(expected));
  EXPECT_EQ(decode_smdp_signed2(expected).value(), signed2);

  const SmdpSigned2 retry{.transaction_id = repeat(7, 16), .bpp_euicc_otpk = repeat(4, 65)};
  EXPECT_EQ(decode_smdp_signed2(encode(retry).value()).value(), retry);

  // DER's TRUE is FF only; asn1c alone would take 01.
  EXPECT_EQ(decode_smdp_signed2(from_hex("3006 800101 010101")).status().code(),
            ErrorCode::kMalformedRequest);
  EXPECT_FALSE(decode_smdp_signed2(with_trailing_byte(expected)).is_ok());
  EXPECT_FALSE(decode_smdp_signed2(truncated(expected)).is_ok());
  EXPECT_FALSE(decode_smdp_signed2(from_hex("3003 800101")).is_ok());              // flag missing
  EXPECT_EQ(encode(SmdpSigned2{}).status().code(), ErrorCode::kValidationFailed);  // empty id
}

TEST(RspPrepareDownloadTest, RequestRoundTripKeepsSignedPartAndCertificate) {
  const Bytes cert = test_certificate();
  ASSERT_FALSE(cert.empty());
  const PrepareDownloadRequest request{
      .smdp_signed2 = {.transaction_id = repeat(0x7A, 16), .cc_required = true},
      .smdp_signature2 = repeat(0x5A, 64),
      .hash_cc = repeat(0xCC, 32),
      .smdp_certificate = cert,
  };
  auto der = encode(request);
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  const Bytes signed2 = encode(request.smdp_signed2).value();
  Builder b;
  b.begin(Tag::context(33, true))
      .raw(signed2)
      .raw(from_hex("5F3740" + to_hex(repeat(0x5A, 64))))
      .raw(from_hex("0420" + to_hex(repeat(0xCC, 32))))
      .raw(cert)
      .end();
  EXPECT_EQ(to_hex(*der), to_hex(finish(b)));

  auto back = decode_prepare_download_request(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->smdp_signed2, request.smdp_signed2);
  EXPECT_EQ(back->smdp_signed2_der, signed2);
  EXPECT_EQ(back->smdp_signature2, request.smdp_signature2);
  EXPECT_EQ(back->hash_cc, request.hash_cc);
  EXPECT_EQ(back->smdp_certificate, cert);
  EXPECT_EQ(encode(*back).value(), *der);

  PrepareDownloadRequest no_cc = request;
  no_cc.hash_cc.reset();
  EXPECT_FALSE(decode_prepare_download_request(encode(no_cc).value()).value().hash_cc.has_value());
  PrepareDownloadRequest short_hash = request;
  short_hash.hash_cc = repeat(0xCC, 31);  // Octet32
  EXPECT_EQ(encode(short_hash).status().code(), ErrorCode::kValidationFailed);
  EXPECT_FALSE(decode_prepare_download_request(with_trailing_byte(*der)).is_ok());
  EXPECT_FALSE(decode_prepare_download_request(truncated(*der)).is_ok());
  EXPECT_FALSE(decode_prepare_download_request(*der, Limits{.max_bytes = 256}).is_ok());
}

TEST(RspPrepareDownloadTest, ResponseOkAndErrorAlternatives) {
  const EuiccSigned2 signed2{
      .transaction_id = {0x07}, .euicc_otpk = repeat(0x04, 65), .hash_cc = repeat(0xCC, 32)};
  // SEQUENCE { [0] 07, 5F49 65 bytes, OCTET STRING 32 bytes }: 3 + 68 + 34 = 105 = 0x69.
  EXPECT_EQ(to_hex(encode(signed2).value()),
            "3069800107"
            "5F4941" +
                to_hex(repeat(0x04, 65)) + "0420" + to_hex(repeat(0xCC, 32)));
  EXPECT_EQ(decode_euicc_signed2(encode(signed2).value()).value(), signed2);

  const PrepareDownloadResponseOk ok{.euicc_signed2 = signed2,
                                     .euicc_signature2 = repeat(0x5A, 64)};
  auto der = encode(PrepareDownloadResponse(ok));
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  // A0 81 AE { 30 69 ... (107), 5F37 40 ... (67) }: 3 + 174 = 177 = 0xB1.
  EXPECT_EQ(to_hex(ByteView(*der).first(7)), "BF2181B1A081AE");
  auto back = decode_prepare_download_response(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  const auto& decoded = std::get<PrepareDownloadResponseOk>(*back);
  EXPECT_EQ(decoded.euicc_signed2, signed2);
  EXPECT_EQ(decoded.euicc_signed2_der, encode(signed2).value());
  EXPECT_EQ(decoded.euicc_signature2, ok.euicc_signature2);
  EXPECT_EQ(encode(*back).value(), *der);

  const Bytes error_der = from_hex("BF2108A106800107020105");  // invalidTransactionId(5)
  EXPECT_EQ(to_hex(encode(PrepareDownloadResponse(
                              PrepareDownloadResponseError{.transaction_id = {0x07}, .code = 5}))
                       .value()),
            to_hex(error_der));
  const auto error = decode_prepare_download_response(error_der).value();
  EXPECT_EQ(std::get<PrepareDownloadResponseError>(error).code, 5);
  EXPECT_FALSE(decode_prepare_download_response(with_trailing_byte(error_der)).is_ok());
  EXPECT_FALSE(decode_prepare_download_response(from_hex("BF2103A20100")).is_ok());
}

StoreMetadataRequest full_metadata() {
  return StoreMetadataRequest{
      .iccid = from_hex("98103254769810325476"),
      .service_provider_name = "Station",
      .profile_name = "Travel 5 GB",
      .icon_type = 1,
      .icon = repeat(0x89, 1024),
      .profile_class = 2,
      .notification_configuration_info =
          std::vector<NotificationConfiguration>{
              {.profile_management_operation = kNotificationInstall | kNotificationDelete,
               .notification_address = "smdp.example"}},
      .profile_owner = OperatorId{.mcc_mnc = {0x32, 0xF4, 0x51}, .gid1 = Bytes{0xAB}},
      .profile_policy_rules = kPpr2DeleteNotAllowed,
  };
}

TEST(RspStoreMetadataTest, MatchesHandWrittenDerAndRoundTrips) {
  // BF25 { 5A iccid, 91 "Op1", 92 "Plan" }: 12 + 5 + 6 = 23 = 0x17.
  const Bytes expected = from_hex("BF2517 5A0A98103254769810325476 91034F7031 9204506C616E");
  const StoreMetadataRequest minimal{.iccid = from_hex("98103254769810325476"),
                                     .service_provider_name = "Op1",
                                     .profile_name = "Plan"};
  EXPECT_EQ(to_hex(encode(minimal).value()), to_hex(expected));
  EXPECT_EQ(decode_store_metadata_request(expected).value(), minimal);

  auto der = encode(full_metadata());
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  // B6 14 { 30 12 { 80 02 04 90 (install and delete: 1001, 4 unused bits), 81 0C ... } }
  EXPECT_NE(to_hex(*der).find("B614301280020490810C"), std::string::npos);
  EXPECT_NE(to_hex(*der).find("B708800332F4518101AB"), std::string::npos);
  EXPECT_NE(to_hex(*der).find("99020520"), std::string::npos);  // ppr2: 0010 0000, 5 unused
  EXPECT_EQ(decode_store_metadata_request(*der).value(), full_metadata());

  StoreMetadataRequest big_icon = full_metadata();
  big_icon.icon->push_back(0);  // SIZE(0..1024)
  EXPECT_EQ(encode(big_icon).status().code(), ErrorCode::kValidationFailed);
  StoreMetadataRequest short_iccid = minimal;
  short_iccid.iccid.pop_back();  // SIZE(10)
  EXPECT_EQ(encode(short_iccid).status().code(), ErrorCode::kValidationFailed);
  EXPECT_FALSE(decode_store_metadata_request(with_trailing_byte(expected)).is_ok());
  EXPECT_FALSE(decode_store_metadata_request(truncated(expected)).is_ok());
  EXPECT_FALSE(decode_store_metadata_request(*der, Limits{.max_bytes = 1024}).is_ok());
}

InitialiseSecureChannelRequest sample_isc() {
  return InitialiseSecureChannelRequest{
      .transaction_id = {0x07},
      .control_ref_template = {.host_id = {0x01}},
      .smdp_otpk = repeat(0x04, 65),
      .smdp_sign = repeat(0x5A, 64),
  };
}

TEST(RspInitialiseSecureChannelTest, MatchesHandWrittenDerAndKeepsTheSignedPart) {
  // BF23 { 82 01 01, 80 01 07, A6 09 { 80 01 88, 81 01 10, 84 01 01 }, 5F49 41 ..., 5F37 40 ... }
  // 3 + 3 + 11 + 68 + 67 = 152 = 0x98.
  const std::string signed_hex =
      "820101 800107 A609 800188 810110 840101 5F4941" + to_hex(repeat(0x04, 65));
  const Bytes expected = from_hex("BF238198" + signed_hex + "5F3740" + to_hex(repeat(0x5A, 64)));
  EXPECT_EQ(to_hex(encode(sample_isc()).value()), to_hex(expected));
  auto back = decode_initialise_secure_channel_request(expected);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(to_hex(back->signed_part), to_hex(from_hex(signed_hex)));
  InitialiseSecureChannelRequest fields = *back;
  fields.signed_part.clear();
  EXPECT_EQ(fields, sample_isc());

  InitialiseSecureChannelRequest long_host = sample_isc();
  long_host.control_ref_template.host_id = repeat(1, 17);  // OctetTo16
  EXPECT_EQ(encode(long_host).status().code(), ErrorCode::kValidationFailed);
  EXPECT_FALSE(decode_initialise_secure_channel_request(with_trailing_byte(expected)).is_ok());
  EXPECT_FALSE(decode_initialise_secure_channel_request(truncated(expected)).is_ok());
}

TEST(RspConfigureIsdpAndReplaceSessionKeysTest, MatchHandWrittenDer) {
  const Bytes configure = from_hex("BF2407 B805 80032A0304");  // dpOid [0] (automatic tag) 1.2.3.4
  EXPECT_EQ(to_hex(encode(ConfigureIsdpRequest{.dp_oid = "1.2.3.4"}).value()), to_hex(configure));
  EXPECT_EQ(decode_configure_isdp_request(configure).value().dp_oid, "1.2.3.4");
  EXPECT_EQ(to_hex(encode(ConfigureIsdpRequest{}).value()), "BF2400");
  const ConfigureIsdpRequest big_arcs{.dp_oid = "2.999.1234567.0"};
  // Arcs in base 128: 2.999 -> 40 * 2 + 999 = 1079 = 88 37; 1234567 = CB AD 07.
  EXPECT_EQ(decode_configure_isdp_request(encode(big_arcs).value()).value(), big_arcs);
  EXPECT_NE(to_hex(encode(big_arcs).value()).find("80068837CBAD0700"), std::string::npos);
  for (const char* bad : {"", "1", "3.1", "1.40", "1..2", "1.2.", "01.2", "1.x"}) {
    EXPECT_EQ(encode(ConfigureIsdpRequest{.dp_oid = bad}).status().code(),
              ErrorCode::kValidationFailed)
        << bad;
  }
  EXPECT_FALSE(decode_configure_isdp_request(from_hex("BF2406 B804 80022A83")).is_ok());

  const ReplaceSessionKeysRequest keys{.initial_mac_chaining_value = repeat(1, 16),
                                       .ppk_enc = repeat(2, 16),
                                       .ppk_cmac = repeat(3, 16)};
  const Bytes keys_der = from_hex("BF2636 8010" + to_hex(repeat(1, 16)) + "8110" +
                                  to_hex(repeat(2, 16)) + "8210" + to_hex(repeat(3, 16)));
  EXPECT_EQ(to_hex(encode(keys).value()), to_hex(keys_der));
  EXPECT_EQ(decode_replace_session_keys_request(keys_der).value(), keys);
  EXPECT_FALSE(decode_replace_session_keys_request(with_trailing_byte(keys_der)).is_ok());
}

Bytes segment(std::uint8_t tag_byte, std::size_t size, std::uint8_t fill) {
  Builder b;
  b.primitive(Tag::context(tag_byte & 0x1F), repeat(fill, size));
  return finish(b);
}

TEST(RspBoundProfilePackageTest, BuildsFromPartsAndSplitsIntoTheSameBytes) {
  const BoundProfilePackage parts{
      .initialise_secure_channel_request = encode(sample_isc()).value(),
      .first_sequence_of87 = {segment(0x87, 20, 1)},
      .sequence_of88 = {segment(0x88, 40, 2), segment(0x88, 8, 3)},
      .second_sequence_of87 = std::vector<Bytes>{segment(0x87, 50, 4)},
      .sequence_of86 = {segment(0x86, 200, 5), segment(0x86, 3, 6)},
  };
  auto der = encode(parts);
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  // BF36 { BF23 ..., A0 16 { 87 14 ... }, A1 .., A2 .., A3 .. } by hand.
  Builder b;
  b.begin(Tag::context(54, true))
      .raw(parts.initialise_secure_channel_request)
      .raw(from_hex("A016 8714" + to_hex(repeat(1, 20))))
      .raw(from_hex("A134 8828" + to_hex(repeat(2, 40)) + "8808" + to_hex(repeat(3, 8))))
      .raw(from_hex("A234 8732" + to_hex(repeat(4, 50))))
      .raw(from_hex("A381D0 8681C8" + to_hex(repeat(5, 200)) + "8603060606"))
      .end();
  EXPECT_EQ(to_hex(*der), to_hex(finish(b)));
  auto back = decode_bound_profile_package(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, parts);

  BoundProfilePackage without_second = parts;
  without_second.second_sequence_of87.reset();
  EXPECT_EQ(decode_bound_profile_package(encode(without_second).value()).value(), without_second);

  BoundProfilePackage wrong_tag = parts;
  wrong_tag.sequence_of86.push_back(segment(0x87, 3, 7));
  EXPECT_EQ(encode(wrong_tag).status().code(), ErrorCode::kValidationFailed);
  BoundProfilePackage bad_isc = parts;
  bad_isc.initialise_secure_channel_request = from_hex("BF2300");
  EXPECT_EQ(encode(bad_isc).status().code(), ErrorCode::kValidationFailed);

  EXPECT_FALSE(decode_bound_profile_package(with_trailing_byte(*der)).is_ok());
  EXPECT_FALSE(decode_bound_profile_package(truncated(*der)).is_ok());
  // A constructed [6] in A3 (a BER constructed OCTET STRING asn1c would take) is refused.
  Bytes constructed = *der;
  const Bytes last_segment = from_hex("8603060606");
  std::copy(last_segment.begin(), last_segment.end(), constructed.end() - 5);
  constructed[constructed.size() - 5] = 0xA6;
  constructed[constructed.size() - 4] = 0x03;
  constructed[constructed.size() - 3] = 0x04;
  constructed[constructed.size() - 2] = 0x01;
  EXPECT_FALSE(decode_bound_profile_package(constructed).is_ok());
}

TEST(RspBoundProfilePackageTest, AMegabyteProfileFitsTheDefaultLimits) {
  BoundProfilePackage parts{
      .initialise_secure_channel_request = encode(sample_isc()).value(),
      .first_sequence_of87 = {segment(0x87, 32, 1)},
      .sequence_of88 = {segment(0x88, 64, 2)},
  };
  for (int i = 0; i < 1024; ++i) {
    parts.sequence_of86.push_back(segment(0x86, 1020, static_cast<std::uint8_t>(i)));
  }
  auto der = encode(parts);
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  EXPECT_GT(der->size(), 1024u * 1024u);
  auto back = decode_bound_profile_package(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->sequence_of86.size(), 1024u);
  EXPECT_EQ(back->sequence_of86[1023], parts.sequence_of86[1023]);
  EXPECT_FALSE(decode_bound_profile_package(*der, Limits{.max_bytes = 1024 * 1024}).is_ok());
  EXPECT_FALSE(
      decode_bound_profile_package(*der, Limits{.max_bytes = 4 << 20, .max_elements = 1000})
          .is_ok());
}

}  // namespace
}  // namespace station::der::rsp
