#include <gtest/gtest.h>

#include "der/rsp.h"
#include "der_test_util.h"

namespace station::der::rsp {
namespace {

using namespace der::test_util;

const char kIccidHex[] = "98103254769810325476";

NotificationMetadata sample_metadata() {
  return NotificationMetadata{.seq_number = 5,
                              .profile_management_operation = kNotificationInstall,
                              .notification_address = "a.b",
                              .iccid = from_hex(kIccidHex)};
}

// BF2F { 80 01 05, 81 02 07 80 (bit 0, 7 unused), 0C 03 "a.b", 5A 0A iccid }: 3+4+5+12 = 0x18.
const std::string kMetadataHex = std::string("BF2F18 800105 81020780 0C03612E62 5A0A") + kIccidHex;

TEST(RspNotificationMetadataTest, MatchesHandWrittenDerAndRoundTrips) {
  const Bytes expected = from_hex(kMetadataHex);
  EXPECT_EQ(to_hex(encode(sample_metadata()).value()), to_hex(expected));
  EXPECT_EQ(decode_notification_metadata(expected).value(), sample_metadata());
  NotificationMetadata no_iccid = sample_metadata();
  no_iccid.iccid.reset();
  no_iccid.profile_management_operation = kNotificationDelete;
  no_iccid.seq_number = 300;  // 80 02 01 2C, 81 02 04 10 (bit 3, 4 unused), 0C 03: 13 = 0x0D
  EXPECT_EQ(to_hex(encode(no_iccid).value()), "BF2F0D8002012C810204100C03612E62");
  EXPECT_EQ(decode_notification_metadata(encode(no_iccid).value()).value(), no_iccid);

  EXPECT_FALSE(decode_notification_metadata(with_trailing_byte(expected)).is_ok());
  EXPECT_FALSE(decode_notification_metadata(truncated(expected)).is_ok());
  EXPECT_FALSE(decode_notification_metadata(expected, Limits{.max_bytes = 20}).is_ok());
  NotificationMetadata short_iccid = sample_metadata();
  short_iccid.iccid->pop_back();
  EXPECT_EQ(encode(short_iccid).status().code(), ErrorCode::kValidationFailed);
}

ProfileInstallationResultData success_data() {
  return ProfileInstallationResultData{
      .transaction_id = {0x07},
      .notification_metadata = sample_metadata(),
      .final_result =
          ProfileInstallationSuccess{.aid = from_hex("A000000559"), .sima_response = {0x30, 0x00}},
  };
}

TEST(RspProfileInstallationResultTest, MatchesHandWrittenDerAndKeepsTheSignedData) {
  // BF27 { 80 01 07, metadata (27), A2 0D { A0 0B { 4F 05 A000000559, 04 02 3000 } } }:
  // 3 + 27 + 15 = 45 = 0x2D; BF37 { BF27 (48), 5F37 40 (67) }: 115 = 0x73.
  const std::string data_hex =
      "BF272D 800107 " + kMetadataHex + " A20D A00B 4F05A000000559 04023000";
  const Bytes expected = from_hex("BF3773" + data_hex + "5F3740" + to_hex(repeat(0x5A, 64)));
  EXPECT_EQ(to_hex(encode(success_data()).value()), to_hex(from_hex(data_hex)));
  const ProfileInstallationResult result{.data = success_data(),
                                         .euicc_sign_pir = repeat(0x5A, 64)};
  EXPECT_EQ(to_hex(encode(result).value()), to_hex(expected));
  auto back = decode_profile_installation_result(expected);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->data, success_data());
  EXPECT_EQ(to_hex(back->data_der), to_hex(from_hex(data_hex)));
  EXPECT_EQ(back->euicc_sign_pir, result.euicc_sign_pir);
  EXPECT_EQ(encode(*back).value(), expected);

  // The error alternative with the SM-DP+ OID: A2 08 { A1 06 { 80 01 05, 81 01 0C } }.
  ProfileInstallationResultData error = success_data();
  error.smdp_oid = "1.2.3.4";
  error.final_result = ProfileInstallationError{.bpp_command_id = 5, .error_reason = 12};
  auto error_der = encode(error);
  ASSERT_TRUE(error_der.is_ok()) << error_der.status().to_string();
  EXPECT_NE(to_hex(*error_der).find("06032A0304A208A10680010581010C"), std::string::npos);
  auto error_back = decode_profile_installation_result(
      encode(ProfileInstallationResult{.data = error, .euicc_sign_pir = {1}}).value());
  ASSERT_TRUE(error_back.is_ok()) << error_back.status().to_string();
  EXPECT_EQ(error_back->data, error);

  ProfileInstallationResultData short_aid = success_data();
  std::get<ProfileInstallationSuccess>(short_aid.final_result).aid = {0xA0, 0, 0, 5};  // 5..16
  EXPECT_EQ(encode(short_aid).status().code(), ErrorCode::kValidationFailed);
  EXPECT_FALSE(decode_profile_installation_result(with_trailing_byte(expected)).is_ok());
  EXPECT_FALSE(decode_profile_installation_result(truncated(expected)).is_ok());
  EXPECT_FALSE(decode_profile_installation_result(expected, Limits{.max_depth = 3}).is_ok());
}

TEST(RspPendingNotificationTest, BothAlternativesRoundTripAndSignedBytesStayAsReceived) {
  const Bytes cert = test_certificate();
  ASSERT_FALSE(cert.empty());
  // A tbsOtherNotification with an unknown extension ([9] at the end) that the signature covers.
  Bytes tbs = encode(sample_metadata()).value();
  tbs.insert(tbs.end(), {0x89, 0x01, 0x01});
  tbs[2] = static_cast<std::uint8_t>(tbs[2] + 3);
  const OtherSignedNotification other{.tbs_other_notification_der = tbs,
                                      .euicc_notification_signature = repeat(0x5A, 64),
                                      .euicc_certificate = cert,
                                      .eum_certificate = cert};
  auto other_der = encode(PendingNotification(other));
  ASSERT_TRUE(other_der.is_ok()) << other_der.status().to_string();
  EXPECT_EQ((*other_der)[0], 0x30);
  auto other_back = decode_pending_notification(*other_der);
  ASSERT_TRUE(other_back.is_ok()) << other_back.status().to_string();
  const auto& decoded = std::get<OtherSignedNotification>(*other_back);
  EXPECT_EQ(decoded.tbs_other_notification, sample_metadata());
  EXPECT_EQ(decoded.tbs_other_notification_der, tbs);
  EXPECT_EQ(decoded.euicc_certificate, cert);
  EXPECT_EQ(encode(*other_back).value(), *other_der);

  const ProfileInstallationResult result{.data = success_data(),
                                         .euicc_sign_pir = repeat(0x5A, 64)};
  auto result_der = encode(PendingNotification(result));
  ASSERT_TRUE(result_der.is_ok());
  auto result_back = decode_pending_notification(*result_der);
  ASSERT_TRUE(result_back.is_ok()) << result_back.status().to_string();
  EXPECT_EQ(std::get<ProfileInstallationResult>(*result_back).data, success_data());

  EXPECT_FALSE(decode_pending_notification(from_hex("BF2F00")).is_ok());
  EXPECT_FALSE(decode_pending_notification(with_trailing_byte(*other_der)).is_ok());
  EXPECT_FALSE(decode_pending_notification(*other_der, Limits{.max_bytes = 512}).is_ok());
  OtherSignedNotification no_cert = other;
  no_cert.eum_certificate = {};
  EXPECT_EQ(encode(no_cert).status().code(), ErrorCode::kValidationFailed);
}

TEST(RspCancelSessionTest, RequestAndResponseMatchHandWrittenDer) {
  const Bytes request = from_hex("BF4106 800107 810100");  // endUserRejection(0)
  const CancelSessionRequest fields{.transaction_id = {0x07}, .reason = 0};
  EXPECT_EQ(to_hex(encode(fields).value()), to_hex(request));
  EXPECT_EQ(decode_cancel_session_request(request).value(), fields);
  EXPECT_FALSE(decode_cancel_session_request(with_trailing_byte(request)).is_ok());

  const Bytes signed_part = from_hex("300B 800107 81032A0304 820102");  // timeout(2)
  const EuiccCancelSessionSigned signed_fields{
      .transaction_id = {0x07}, .smdp_oid = "1.2.3.4", .reason = 2};
  EXPECT_EQ(to_hex(encode(signed_fields).value()), to_hex(signed_part));
  EXPECT_EQ(decode_euicc_cancel_session_signed(signed_part).value(), signed_fields);

  const CancelSessionResponseOk ok{.euicc_cancel_session_signed = signed_fields,
                                   .euicc_cancel_session_signature = repeat(0x5A, 64)};
  // BF41 { A0 { 30 0B ..., 5F37 40 ... } }: A0 contents 13 + 67 = 80 = 0x50.
  const Bytes response =
      from_hex("BF4152 A050" + to_hex(signed_part) + "5F3740" + to_hex(repeat(0x5A, 64)));
  EXPECT_EQ(to_hex(encode(CancelSessionResponse(ok)).value()), to_hex(response));
  auto back = decode_cancel_session_response(response);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  const auto& decoded = std::get<CancelSessionResponseOk>(*back);
  EXPECT_EQ(decoded.euicc_cancel_session_signed, signed_fields);
  EXPECT_EQ(decoded.euicc_cancel_session_signed_der, signed_part);

  const Bytes error = from_hex("BF4103 810105");  // invalidTransactionId(5)
  EXPECT_EQ(to_hex(encode(CancelSessionResponse(CancelSessionResponseError{.code = 5})).value()),
            to_hex(error));
  EXPECT_EQ(
      std::get<CancelSessionResponseError>(decode_cancel_session_response(error).value()).code, 5);
  EXPECT_FALSE(decode_cancel_session_response(with_trailing_byte(response)).is_ok());
  EXPECT_FALSE(decode_cancel_session_response(truncated(response)).is_ok());
  EXPECT_FALSE(decode_cancel_session_response(from_hex("BF4103820105")).is_ok());
  EXPECT_EQ(
      encode(EuiccCancelSessionSigned{.transaction_id = {7}, .smdp_oid = "x"}).status().code(),
      ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace station::der::rsp
