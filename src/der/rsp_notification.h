// der/rsp_notification: what the card reports after the fact (SGP.22 3.5 notifications, 5.6.4
// ES9+ HandleNotification, 5.7.9 ES10b ListNotification/RetrieveNotificationsList) and how a
// session is cancelled (5.6.5 ES9+ CancelSession, 5.7.14 ES10b CancelSession). The signed parts
// (ProfileInstallationResultData, the tbsOtherNotification, EuiccCancelSessionSigned) are kept as
// received. Conventions are those of der/rsp.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "common/result.h"
#include "der/tlv.h"

namespace station::der::rsp {

inline constexpr Limits kNotificationMetadataLimits{
    .max_bytes = 512, .max_elements = 16, .max_depth = 2};
// simaResponse holds the card's EUICCResponse TLVs: small.
inline constexpr Limits kProfileInstallationResultLimits{
    .max_bytes = 4 * 1024, .max_elements = 128, .max_depth = 8};
// Two certificates.
inline constexpr Limits kOtherSignedNotificationLimits{
    .max_bytes = 8 * 1024, .max_elements = 1024, .max_depth = 16};
inline constexpr Limits kPendingNotificationLimits = kOtherSignedNotificationLimits;
inline constexpr Limits kCancelSessionRequestLimits{
    .max_bytes = 256, .max_elements = 8, .max_depth = 2};
inline constexpr Limits kEuiccCancelSessionSignedLimits{
    .max_bytes = 256, .max_elements = 8, .max_depth = 2};
inline constexpr Limits kCancelSessionResponseLimits{
    .max_bytes = 512, .max_elements = 16, .max_depth = 4};

// NotificationMetadata ::= [47] SEQUENCE (tag BF2F).
struct NotificationMetadata {
  std::int64_t seq_number = 0;                     // [0]
  std::uint64_t profile_management_operation = 0;  // [1] NotificationEvent: one kNotification* bit
  std::string notification_address;                // UTF8String (0C): FQDN
  std::optional<Bytes> iccid;                      // 5A
  friend bool operator==(const NotificationMetadata&, const NotificationMetadata&) = default;
};

// SuccessResult ::= SEQUENCE (tag A0 in finalResult).
struct ProfileInstallationSuccess {
  Bytes aid;            // 4F: the ISD-P's AID, 5..16 bytes
  Bytes sima_response;  // 04: the EUICCResponse TLVs of the profile package
  friend bool operator==(const ProfileInstallationSuccess&,
                         const ProfileInstallationSuccess&) = default;
};

// ErrorResult ::= SEQUENCE (tag A1 in finalResult).
struct ProfileInstallationError {
  // BppCommandId [0]: initialiseSecureChannel(0), configureISDP(1), storeMetadata(2),
  // storeMetadata2(3), replaceSessionKeys(4), loadProfileElements(5).
  std::int64_t bpp_command_id = 0;
  // ErrorReason [1]: incorrectInputValues(1) ... installFailedDueToUnknownError(127).
  std::int64_t error_reason = 127;
  std::optional<Bytes> sima_response;  // [2]
  friend bool operator==(const ProfileInstallationError&,
                         const ProfileInstallationError&) = default;
};

// ProfileInstallationResultData ::= [39] SEQUENCE (tag BF27): what euiccSignPIR signs.
struct ProfileInstallationResultData {
  Bytes transaction_id;                        // [0]
  NotificationMetadata notification_metadata;  // BF2F
  std::optional<std::string> smdp_oid;         // 06: dotted, as in CERT.DPpb.ECDSA
  std::variant<ProfileInstallationSuccess, ProfileInstallationError> final_result;  // [2] A2
  friend bool operator==(const ProfileInstallationResultData&,
                         const ProfileInstallationResultData&) = default;
};

// ProfileInstallationResult ::= [55] SEQUENCE (tag BF37): the card's signed installation
// report, the last answer of LoadBoundProfilePackage and a pending notification.
struct ProfileInstallationResult {
  ProfileInstallationResultData data;  // its fields
  Bytes data_der;        // the BF27 TLV as received (what is signed); when encoding, empty means
                         // "encode data"
  Bytes euicc_sign_pir;  // contents of 5F37
  friend bool operator==(const ProfileInstallationResult&,
                         const ProfileInstallationResult&) = default;
};

// OtherSignedNotification ::= SEQUENCE (tag 30): enable, disable and delete notifications.
struct OtherSignedNotification {
  NotificationMetadata tbs_other_notification;  // its fields
  Bytes tbs_other_notification_der;    // the BF2F TLV as received (what is signed); when encoding,
                                       // empty means "encode tbs_other_notification"
  Bytes euicc_notification_signature;  // contents of 5F37
  Bytes euicc_certificate;             // X.509 DER, as received
  Bytes eum_certificate;               // X.509 DER, as received
  friend bool operator==(const OtherSignedNotification&, const OtherSignedNotification&) = default;
};

// PendingNotification ::= CHOICE { profileInstallationResult (BF37), otherSignedNotification (30)
// }: what the LPA sends in ES9+ HandleNotification.
using PendingNotification = std::variant<ProfileInstallationResult, OtherSignedNotification>;

// CancelSessionRequest ::= [65] SEQUENCE (tag BF41): ES10b CancelSession, LPA to card.
struct CancelSessionRequest {
  Bytes transaction_id;  // [0]
  // CancelSessionReason [1]: endUserRejection(0), postponed(1), timeout(2), pprNotAllowed(3).
  std::int64_t reason = 0;
  friend bool operator==(const CancelSessionRequest&, const CancelSessionRequest&) = default;
};

// EuiccCancelSessionSigned ::= SEQUENCE (tag 30): what euiccCancelSessionSignature signs.
struct EuiccCancelSessionSigned {
  Bytes transaction_id;     // [0]
  std::string smdp_oid;     // [1] dotted, as in CERT.DPauth.ECDSA
  std::int64_t reason = 0;  // [2] CancelSessionReason
  friend bool operator==(const EuiccCancelSessionSigned&,
                         const EuiccCancelSessionSigned&) = default;
};

// CancelSessionResponseOk ::= SEQUENCE (tag A0 in the CHOICE).
struct CancelSessionResponseOk {
  EuiccCancelSessionSigned euicc_cancel_session_signed;  // its fields
  Bytes euicc_cancel_session_signed_der;  // the TLV as received (what is signed); when encoding,
                                          // empty means "encode euicc_cancel_session_signed"
  Bytes euicc_cancel_session_signature;   // contents of 5F37
  friend bool operator==(const CancelSessionResponseOk&, const CancelSessionResponseOk&) = default;
};

// cancelSessionResponseError [1] INTEGER (tag 81): invalidTransactionId(5), undefinedError(127).
struct CancelSessionResponseError {
  std::int64_t code = 127;
  friend bool operator==(const CancelSessionResponseError&,
                         const CancelSessionResponseError&) = default;
};

// CancelSessionResponse ::= [65] CHOICE (tag BF41): the card's answer, relayed by the LPA in
// ES9+ CancelSession.
using CancelSessionResponse = std::variant<CancelSessionResponseOk, CancelSessionResponseError>;

Result<Bytes> encode(const NotificationMetadata& value);
Result<NotificationMetadata> decode_notification_metadata(
    ByteView der, const Limits& limits = kNotificationMetadataLimits);

// The BF27 TLV the card signs.
Result<Bytes> encode(const ProfileInstallationResultData& value);
Result<Bytes> encode(const ProfileInstallationResult& value);
Result<ProfileInstallationResult> decode_profile_installation_result(
    ByteView der, const Limits& limits = kProfileInstallationResultLimits);

Result<Bytes> encode(const OtherSignedNotification& value);
Result<OtherSignedNotification> decode_other_signed_notification(
    ByteView der, const Limits& limits = kOtherSignedNotificationLimits);

Result<Bytes> encode(const PendingNotification& value);
Result<PendingNotification> decode_pending_notification(
    ByteView der, const Limits& limits = kPendingNotificationLimits);

Result<Bytes> encode(const CancelSessionRequest& value);
Result<CancelSessionRequest> decode_cancel_session_request(
    ByteView der, const Limits& limits = kCancelSessionRequestLimits);

Result<Bytes> encode(const EuiccCancelSessionSigned& value);
Result<EuiccCancelSessionSigned> decode_euicc_cancel_session_signed(
    ByteView der, const Limits& limits = kEuiccCancelSessionSignedLimits);

Result<Bytes> encode(const CancelSessionResponse& value);
Result<CancelSessionResponse> decode_cancel_session_response(
    ByteView der, const Limits& limits = kCancelSessionResponseLimits);

}  // namespace station::der::rsp
