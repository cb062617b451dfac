#include <gtest/gtest.h>

#include "der/rsp.h"
#include "der_test_util.h"

namespace station::der::rsp {
namespace {

using namespace der::test_util;

const std::string kIccid = "98103254769810325476";
const std::string kAid = "A000000559";

ProfileIdentifier by_iccid() {
  return {.kind = ProfileIdentifier::Kind::kIccid, .value = from_hex(kIccid)};
}
ProfileIdentifier by_aid() {
  return {.kind = ProfileIdentifier::Kind::kIsdpAid, .value = from_hex(kAid)};
}

// Encodes `value`, compares with the hand-written hex, decodes the hex back to `value`, and
// refuses the hex with a byte after it and with its last byte cut.
template <typename T, typename Decode>
void expect_codec(const T& value, const std::string& hex, Decode decode) {
  const Bytes expected = from_hex(hex);
  auto der = encode(value);
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  EXPECT_EQ(to_hex(*der), to_hex(expected));
  auto back = decode(expected);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_TRUE(*back == value) << hex;
  EXPECT_EQ(decode(with_trailing_byte(expected)).status().code(), ErrorCode::kMalformedRequest);
  EXPECT_FALSE(decode(truncated(expected)).is_ok());
}

#define DECODER(name) [](ByteView input) { return name(input); }

TEST(RspEs10Test, ChallengeAndEid) {
  expect_codec(GetEuiccChallengeRequest{}, "BF2E00", DECODER(decode_get_euicc_challenge_request));
  expect_codec(GetEuiccChallengeResponse{.euicc_challenge = repeat(0x11, 16)},
               "BF2E12 8010" + to_hex(repeat(0x11, 16)),
               DECODER(decode_get_euicc_challenge_response));
  expect_codec(GetEuiccDataRequest{}, "BF3E03 5C015A", DECODER(decode_get_euicc_data_request));
  expect_codec(GetEuiccDataResponse{.eid = repeat(0x89, 16)},
               "BF3E12 5A10" + to_hex(repeat(0x89, 16)), DECODER(decode_get_euicc_data_response));

  EXPECT_EQ(encode(GetEuiccChallengeResponse{.euicc_challenge = repeat(1, 15)}).status().code(),
            ErrorCode::kValidationFailed);
  EXPECT_EQ(encode(GetEuiccDataResponse{.eid = repeat(1, 10)}).status().code(),
            ErrorCode::kValidationFailed);
  EXPECT_FALSE(decode_get_euicc_data_request(from_hex("BF3E04 5C025A5A")).is_ok());  // Octet1
}

TEST(RspEs10Test, ProfileInfoListRequestAndResponse) {
  expect_codec(ProfileInfoListRequest{}, "BF2D00", DECODER(decode_profile_info_list_request));
  expect_codec(ProfileInfoListRequest{.search_profile = by_iccid(), .tag_list = from_hex("5A9F70")},
               "BF2D13 A00C 5A0A" + kIccid + " 5C035A9F70",
               DECODER(decode_profile_info_list_request));
  expect_codec(ProfileInfoListRequest{.search_profile = by_aid()}, "BF2D09 A007 4F05" + kAid,
               DECODER(decode_profile_info_list_request));
  expect_codec(ProfileInfoListRequest{.search_profile_class = 2}, "BF2D05 A003 950102",
               DECODER(decode_profile_info_list_request));
  EXPECT_EQ(encode(ProfileInfoListRequest{.search_profile = by_aid(), .search_profile_class = 1})
                .status()
                .code(),
            ErrorCode::kValidationFailed);

  // E3 { 5A iccid (12), 4F aid (7), 9F70 01 01 (4), 91 "Op1" (5) } = 28 = 0x1C; profileClass
  // operational is the DEFAULT, so DER leaves it out.
  const ProfileInfo enabled{.iccid = from_hex(kIccid),
                            .isdp_aid = from_hex(kAid),
                            .profile_state = 1,
                            .service_provider_name = "Op1"};
  expect_codec(ProfileInfoListResponse(std::vector<ProfileInfo>{enabled}),
               "BF2D20 A01E E31C 5A0A" + kIccid + " 4F05" + kAid + " 9F700101 91034F7031",
               DECODER(decode_profile_info_list_response));
  expect_codec(ProfileInfoListResponse(ProfileInfoListError{.code = 1}), "BF2D03 810101",
               DECODER(decode_profile_info_list_response));
  expect_codec(ProfileInfoListResponse(std::vector<ProfileInfo>{}), "BF2D02 A000",
               DECODER(decode_profile_info_list_response));

  const ProfileInfo full{
      .iccid = from_hex(kIccid),
      .isdp_aid = from_hex(kAid),
      .profile_state = 0,
      .profile_nickname = "Work",
      .service_provider_name = "Op1",
      .profile_name = "Plan",
      .icon_type = 1,
      .icon = repeat(0x89, 1024),
      .profile_class = 0,
      .notification_configuration_info =
          std::vector<NotificationConfiguration>{
              {.profile_management_operation = kNotificationEnable | kNotificationDisable,
               .notification_address = "smdp.example"}},
      .profile_owner = OperatorId{.mcc_mnc = {0x32, 0xF4, 0x51}},
      .dp_oid = "2.999.10",
      .profile_policy_rules = kPpr1DisableNotAllowed,
  };
  auto der = encode(ProfileInfoListResponse(std::vector<ProfileInfo>{full, enabled}));
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  EXPECT_NE(to_hex(*der).find("950100"), std::string::npos);          // test(0) is written
  EXPECT_NE(to_hex(*der).find("B805800388370A"), std::string::npos);  // B8 { [0] 2.999.10 }
  EXPECT_EQ(decode_profile_info_list_response(*der).value(),
            ProfileInfoListResponse(std::vector<ProfileInfo>{full, enabled}));
  EXPECT_FALSE(decode_profile_info_list_response(*der, Limits{.max_bytes = 1024}).is_ok());
  ProfileInfo big_icon = full;
  big_icon.icon->push_back(0);
  EXPECT_EQ(encode(ProfileInfoListResponse(std::vector<ProfileInfo>{big_icon})).status().code(),
            ErrorCode::kValidationFailed);
}

TEST(RspEs10Test, EnableDisableDelete) {
  expect_codec(EnableProfileRequest{.profile = by_iccid(), .refresh = true},
               "BF3111 A00C 5A0A" + kIccid + " 8101FF", DECODER(decode_enable_profile_request));
  expect_codec(EnableProfileResponse{.result = 2}, "BF3103 800102",
               DECODER(decode_enable_profile_response));
  expect_codec(DisableProfileRequest{.profile = by_aid()}, "BF320C A007 4F05" + kAid + " 810100",
               DECODER(decode_disable_profile_request));
  expect_codec(DisableProfileResponse{}, "BF3203 800100", DECODER(decode_disable_profile_response));
  expect_codec(DeleteProfileRequest{.profile = by_iccid()}, "BF330C 5A0A" + kIccid,
               DECODER(decode_delete_profile_request));
  expect_codec(DeleteProfileRequest{.profile = by_aid()}, "BF3307 4F05" + kAid,
               DECODER(decode_delete_profile_request));
  expect_codec(DeleteProfileResponse{.result = 1}, "BF3303 800101",
               DECODER(decode_delete_profile_response));

  // DER's TRUE is FF only.
  EXPECT_FALSE(
      decode_enable_profile_request(from_hex("BF3111 A00C 5A0A" + kIccid + " 810101")).is_ok());
  // An Enable request is not a Disable request, and an ICCID has 10 bytes.
  EXPECT_FALSE(
      decode_disable_profile_request(from_hex("BF3111 A00C 5A0A" + kIccid + " 8101FF")).is_ok());
  EXPECT_EQ(encode(DeleteProfileRequest{.profile = {.value = {1, 2}}}).status().code(),
            ErrorCode::kValidationFailed);
  EXPECT_EQ(encode(EnableProfileRequest{.profile = {.kind = ProfileIdentifier::Kind::kIsdpAid,
                                                    .value = repeat(1, 17)}})
                .status()
                .code(),
            ErrorCode::kValidationFailed);
}

TEST(RspEs10Test, NotificationLists) {
  expect_codec(ListNotificationRequest{}, "BF2800", DECODER(decode_list_notification_request));
  expect_codec(ListNotificationRequest{.profile_management_operation = kNotificationInstall},
               "BF2804 81020780", DECODER(decode_list_notification_request));
  const NotificationMetadata metadata{.seq_number = 5,
                                      .profile_management_operation = kNotificationInstall,
                                      .notification_address = "a.b"};
  // Each BF2F 0C { 80 01 05, 81 02 07 80, 0C 03 "a.b" } is 15 bytes: A0 1E, BF28 20.
  expect_codec(ListNotificationResponse(std::vector<NotificationMetadata>{metadata, metadata}),
               "BF2820 A01E BF2F0C80010581020780 0C03612E62 BF2F0C80010581020780 0C03612E62",
               DECODER(decode_list_notification_response));
  expect_codec(ListNotificationResponse(ListNotificationError{}), "BF2803 81017F",
               DECODER(decode_list_notification_response));

  expect_codec(RetrieveNotificationsListRequest{}, "BF2B00",
               DECODER(decode_retrieve_notifications_list_request));
  expect_codec(RetrieveNotificationsListRequest{.seq_number = 5}, "BF2B05 A003 800105",
               DECODER(decode_retrieve_notifications_list_request));
  expect_codec(
      RetrieveNotificationsListRequest{.profile_management_operation = kNotificationDelete},
      "BF2B06 A004 81020410", DECODER(decode_retrieve_notifications_list_request));
  EXPECT_EQ(
      encode(RetrieveNotificationsListRequest{.seq_number = 1, .profile_management_operation = 1})
          .status()
          .code(),
      ErrorCode::kValidationFailed);

  // The notifications come back as the exact TLVs the card sent.
  const Bytes cert = test_certificate();
  const Bytes other = encode(PendingNotification(OtherSignedNotification{
                                 .tbs_other_notification = metadata,
                                 .euicc_notification_signature = repeat(0x5A, 64),
                                 .euicc_certificate = cert,
                                 .eum_certificate = cert}))
                          .value();
  const Bytes installed =
      encode(PendingNotification(ProfileInstallationResult{
                 .data = {.transaction_id = {7},
                          .notification_metadata = metadata,
                          .final_result = ProfileInstallationSuccess{.aid = from_hex(kAid),
                                                                     .sima_response = {0x30, 0}}},
                 .euicc_sign_pir = repeat(0x5A, 64)}))
          .value();
  const RetrieveNotificationsListResponse list(std::vector<Bytes>{installed, other});
  auto der = encode(list);
  ASSERT_TRUE(der.is_ok()) << der.status().to_string();
  auto back = decode_retrieve_notifications_list_response(*der);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, list);
  EXPECT_FALSE(decode_retrieve_notifications_list_response(with_trailing_byte(*der)).is_ok());
  expect_codec(RetrieveNotificationsListResponse(RetrieveNotificationsListError{.code = 1}),
               "BF2B03 810101", DECODER(decode_retrieve_notifications_list_response));
  // A bare NotificationMetadata is not a PendingNotification.
  EXPECT_EQ(encode(RetrieveNotificationsListResponse(std::vector<Bytes>{encode(metadata).value()}))
                .status()
                .code(),
            ErrorCode::kValidationFailed);

  expect_codec(NotificationSentRequest{.seq_number = 5}, "BF3003 800105",
               DECODER(decode_notification_sent_request));
  expect_codec(NotificationSentResponse{.delete_notification_status = 1}, "BF3003 800101",
               DECODER(decode_notification_sent_response));
}

}  // namespace
}  // namespace station::der::rsp
