// der/rsp_es10c: the card-local ES10b/ES10c commands between the LPA and the eUICC (SGP.22
// 5.7.7 GetEUICCChallenge, 5.7.9-5.7.11 ListNotification, RetrieveNotificationsList,
// RemoveNotificationFromList, 5.7.15 GetProfilesInfo, 5.7.16-5.7.18 Enable/Disable/DeleteProfile,
// 5.7.20 GetEID). Each request and its answer share one tag; the decoders are separate.
// Conventions are those of der/rsp.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "der/rsp_download.h"
#include "der/rsp_notification.h"
#include "der/tlv.h"

namespace station::der::rsp {

// Commands and their one-field answers.
inline constexpr Limits kEs10CommandLimits{.max_bytes = 256, .max_elements = 16, .max_depth = 3};
// Every profile with its 1 KiB icon and notification addresses; a card holds a few dozen.
inline constexpr Limits kProfileInfoListResponseLimits{
    .max_bytes = 96 * 1024, .max_elements = 4096, .max_depth = 6};
inline constexpr Limits kListNotificationResponseLimits{
    .max_bytes = 16 * 1024, .max_elements = 1024, .max_depth = 4};
// Every pending notification carries two certificates.
inline constexpr Limits kRetrieveNotificationsListResponseLimits{
    .max_bytes = 256 * 1024, .max_elements = 32 * 1024, .max_depth = 18};

// GetEuiccChallengeRequest ::= [46] SEQUENCE {} (tag BF2E).
struct GetEuiccChallengeRequest {
  friend bool operator==(const GetEuiccChallengeRequest&,
                         const GetEuiccChallengeRequest&) = default;
};

// GetEuiccChallengeResponse ::= [46] SEQUENCE (tag BF2E).
struct GetEuiccChallengeResponse {
  Bytes euicc_challenge;  // [0] Octet16
  friend bool operator==(const GetEuiccChallengeResponse&,
                         const GetEuiccChallengeResponse&) = default;
};

// GetEuiccDataRequest ::= [62] SEQUENCE (tag BF3E): GetEID.
struct GetEuiccDataRequest {
  std::uint8_t tag_list = 0x5A;  // 5C Octet1: the EID's tag, the only one SGP.22 defines
  friend bool operator==(const GetEuiccDataRequest&, const GetEuiccDataRequest&) = default;
};

// GetEuiccDataResponse ::= [62] SEQUENCE (tag BF3E).
struct GetEuiccDataResponse {
  Bytes eid;  // 5A Octet16
  friend bool operator==(const GetEuiccDataResponse&, const GetEuiccDataResponse&) = default;
};

// The CHOICE { isdpAid [APPLICATION 15] (4F) OctetTo16, iccid (5A) } that names a profile.
struct ProfileIdentifier {
  enum class Kind : std::uint8_t { kIsdpAid, kIccid };
  Kind kind = Kind::kIccid;
  Bytes value;  // the AID (1..16 bytes) or the ICCID (10 bytes)
  friend bool operator==(const ProfileIdentifier&, const ProfileIdentifier&) = default;
};

// ProfileInfoListRequest ::= [45] SEQUENCE (tag BF2D): GetProfilesInfo. At most one search
// criterion (searchCriteria [0] CHOICE, tag A0).
struct ProfileInfoListRequest {
  std::optional<ProfileIdentifier> search_profile;   // 4F or 5A in A0
  std::optional<std::int64_t> search_profile_class;  // 95 in A0
  std::optional<Bytes> tag_list;                     // 5C: the tags of ProfileInfo wanted
  friend bool operator==(const ProfileInfoListRequest&, const ProfileInfoListRequest&) = default;
};

// ProfileInfo ::= [PRIVATE 3] SEQUENCE (tag E3): one installed profile; a tagList can leave out
// any field.
struct ProfileInfo {
  std::optional<Bytes> iccid;                        // 5A
  std::optional<Bytes> isdp_aid;                     // 4F
  std::optional<std::int64_t> profile_state;         // 9F70: disabled(0), enabled(1)
  std::optional<std::string> profile_nickname;       // 90
  std::optional<std::string> service_provider_name;  // 91
  std::optional<std::string> profile_name;           // 92
  std::optional<std::int64_t> icon_type;             // 93
  std::optional<Bytes> icon;                         // 94
  std::int64_t profile_class = 2;  // 95, DEFAULT operational(2): DER leaves the default out
  std::optional<std::vector<NotificationConfiguration>> notification_configuration_info;  // B6
  std::optional<OperatorId> profile_owner;                                                // B7
  std::optional<std::string> dp_oid;                  // B8 { [0] dpOid }, dotted
  std::optional<std::uint64_t> profile_policy_rules;  // 99 PprIds
  friend bool operator==(const ProfileInfo&, const ProfileInfo&) = default;
};

// profileInfoListError (tag 81): incorrectInputValues(1), undefinedError(127).
struct ProfileInfoListError {
  std::int64_t code = 127;
  friend bool operator==(const ProfileInfoListError&, const ProfileInfoListError&) = default;
};

// ProfileInfoListResponse ::= [45] CHOICE (tag BF2D): profileInfoListOk (A0) | error (81).
using ProfileInfoListResponse = std::variant<std::vector<ProfileInfo>, ProfileInfoListError>;

// EnableProfileRequest ::= [49] SEQUENCE (tag BF31).
struct EnableProfileRequest {
  ProfileIdentifier profile;  // [0] A0
  bool refresh = false;       // [1] 81: whether the device must REFRESH
  friend bool operator==(const EnableProfileRequest&, const EnableProfileRequest&) = default;
};

// EnableProfileResponse ::= [49] SEQUENCE (tag BF31).
struct EnableProfileResponse {
  // [0] ok(0), iccidOrAidNotFound(1), profileNotInDisabledState(2), disallowedByPolicy(3),
  // wrongProfileReenabling(4), undefinedError(127).
  std::int64_t result = 0;
  friend bool operator==(const EnableProfileResponse&, const EnableProfileResponse&) = default;
};

// DisableProfileRequest ::= [50] SEQUENCE (tag BF32).
struct DisableProfileRequest {
  ProfileIdentifier profile;  // [0] A0
  bool refresh = false;       // [1] 81
  friend bool operator==(const DisableProfileRequest&, const DisableProfileRequest&) = default;
};

// DisableProfileResponse ::= [50] SEQUENCE (tag BF32).
struct DisableProfileResponse {
  // [0] ok(0), iccidOrAidNotFound(1), profileNotInEnabledState(2), disallowedByPolicy(3),
  // undefinedError(127).
  std::int64_t result = 0;
  friend bool operator==(const DisableProfileResponse&, const DisableProfileResponse&) = default;
};

// DeleteProfileRequest ::= [51] CHOICE (tag BF33 around 4F or 5A).
struct DeleteProfileRequest {
  ProfileIdentifier profile;
  friend bool operator==(const DeleteProfileRequest&, const DeleteProfileRequest&) = default;
};

// DeleteProfileResponse ::= [51] SEQUENCE (tag BF33).
struct DeleteProfileResponse {
  // [0] ok(0), iccidOrAidNotFound(1), profileNotInDisabledState(2), disallowedByPolicy(3),
  // undefinedError(127).
  std::int64_t result = 0;
  friend bool operator==(const DeleteProfileResponse&, const DeleteProfileResponse&) = default;
};

// ListNotificationRequest ::= [40] SEQUENCE (tag BF28).
struct ListNotificationRequest {
  std::optional<std::uint64_t> profile_management_operation;  // [1] NotificationEvent filter
  friend bool operator==(const ListNotificationRequest&, const ListNotificationRequest&) = default;
};

// listNotificationsResultError (tag 81): undefinedError(127).
struct ListNotificationError {
  std::int64_t code = 127;
  friend bool operator==(const ListNotificationError&, const ListNotificationError&) = default;
};

// ListNotificationResponse ::= [40] CHOICE (tag BF28): notificationMetadataList (A0) | error.
using ListNotificationResponse =
    std::variant<std::vector<NotificationMetadata>, ListNotificationError>;

// RetrieveNotificationsListRequest ::= [43] SEQUENCE (tag BF2B): at most one criterion
// (searchCriteria, tag A0).
struct RetrieveNotificationsListRequest {
  std::optional<std::int64_t> seq_number;                     // 80 in A0
  std::optional<std::uint64_t> profile_management_operation;  // 81 in A0
  friend bool operator==(const RetrieveNotificationsListRequest&,
                         const RetrieveNotificationsListRequest&) = default;
};

// notificationsListResultError (tag 81): noResultAvailable(1), undefinedError(127).
struct RetrieveNotificationsListError {
  std::int64_t code = 127;
  friend bool operator==(const RetrieveNotificationsListError&,
                         const RetrieveNotificationsListError&) = default;
};

// RetrieveNotificationsListResponse ::= [43] CHOICE (tag BF2B): notificationList (A0) | error.
// The notifications are the PendingNotification TLVs exactly as the card sent them (the LPA
// forwards each one to ES9+ HandleNotification as is); each is checked with
// decode_pending_notification, which gives their fields.
using RetrieveNotificationsListResponse =
    std::variant<std::vector<Bytes>, RetrieveNotificationsListError>;

// NotificationSentRequest ::= [48] SEQUENCE (tag BF30): RemoveNotificationFromList.
struct NotificationSentRequest {
  std::int64_t seq_number = 0;  // [0]
  friend bool operator==(const NotificationSentRequest&, const NotificationSentRequest&) = default;
};

// NotificationSentResponse ::= [48] SEQUENCE (tag BF30).
struct NotificationSentResponse {
  std::int64_t delete_notification_status = 0;  // [0] ok(0), nothingToDelete(1), undefined(127)
  friend bool operator==(const NotificationSentResponse&,
                         const NotificationSentResponse&) = default;
};

Result<Bytes> encode(const GetEuiccChallengeRequest& value);
Result<GetEuiccChallengeRequest> decode_get_euicc_challenge_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const GetEuiccChallengeResponse& value);
Result<GetEuiccChallengeResponse> decode_get_euicc_challenge_response(
    ByteView der, const Limits& limits = kEs10CommandLimits);

Result<Bytes> encode(const GetEuiccDataRequest& value);
Result<GetEuiccDataRequest> decode_get_euicc_data_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const GetEuiccDataResponse& value);
Result<GetEuiccDataResponse> decode_get_euicc_data_response(
    ByteView der, const Limits& limits = kEs10CommandLimits);

Result<Bytes> encode(const ProfileInfoListRequest& value);
Result<ProfileInfoListRequest> decode_profile_info_list_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const ProfileInfoListResponse& value);
Result<ProfileInfoListResponse> decode_profile_info_list_response(
    ByteView der, const Limits& limits = kProfileInfoListResponseLimits);

Result<Bytes> encode(const EnableProfileRequest& value);
Result<EnableProfileRequest> decode_enable_profile_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const EnableProfileResponse& value);
Result<EnableProfileResponse> decode_enable_profile_response(
    ByteView der, const Limits& limits = kEs10CommandLimits);

Result<Bytes> encode(const DisableProfileRequest& value);
Result<DisableProfileRequest> decode_disable_profile_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const DisableProfileResponse& value);
Result<DisableProfileResponse> decode_disable_profile_response(
    ByteView der, const Limits& limits = kEs10CommandLimits);

Result<Bytes> encode(const DeleteProfileRequest& value);
Result<DeleteProfileRequest> decode_delete_profile_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const DeleteProfileResponse& value);
Result<DeleteProfileResponse> decode_delete_profile_response(
    ByteView der, const Limits& limits = kEs10CommandLimits);

Result<Bytes> encode(const ListNotificationRequest& value);
Result<ListNotificationRequest> decode_list_notification_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const ListNotificationResponse& value);
Result<ListNotificationResponse> decode_list_notification_response(
    ByteView der, const Limits& limits = kListNotificationResponseLimits);

Result<Bytes> encode(const RetrieveNotificationsListRequest& value);
Result<RetrieveNotificationsListRequest> decode_retrieve_notifications_list_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const RetrieveNotificationsListResponse& value);
Result<RetrieveNotificationsListResponse> decode_retrieve_notifications_list_response(
    ByteView der, const Limits& limits = kRetrieveNotificationsListResponseLimits);

Result<Bytes> encode(const NotificationSentRequest& value);
Result<NotificationSentRequest> decode_notification_sent_request(
    ByteView der, const Limits& limits = kEs10CommandLimits);
Result<Bytes> encode(const NotificationSentResponse& value);
Result<NotificationSentResponse> decode_notification_sent_response(
    ByteView der, const Limits& limits = kEs10CommandLimits);

}  // namespace station::der::rsp
