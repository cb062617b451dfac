// der/rsp_download: the messages of profile download and installation (SGP.22 3.1.3, 5.6.2-5.6.3
// ES9+ AuthenticateClient/GetBoundProfilePackage, 5.7.5 ES10b PrepareDownload, 5.7.6
// LoadBoundProfilePackage, 2.5 the Bound Profile Package): what the SM-DP+ signs for the download
// (SmdpSigned2), what the card answers with its one-time key (EUICCSigned2), the profile metadata,
// and the Bound Profile Package with its SCP03t parts. Conventions are those of der/rsp.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "der/tlv.h"

namespace station::der::rsp {

inline constexpr Limits kSmdpSigned2Limits{.max_bytes = 1024, .max_elements = 16, .max_depth = 2};
inline constexpr Limits kEuiccSigned2Limits{.max_bytes = 1024, .max_elements = 16, .max_depth = 2};
// One certificate and the signed part.
inline constexpr Limits kPrepareDownloadRequestLimits{
    .max_bytes = 8 * 1024, .max_elements = 1024, .max_depth = 16};
inline constexpr Limits kPrepareDownloadResponseLimits{
    .max_bytes = 1024, .max_elements = 32, .max_depth = 4};
// The icon (up to 1 KiB) and a few notification addresses.
inline constexpr Limits kStoreMetadataRequestLimits{
    .max_bytes = 4 * 1024, .max_elements = 256, .max_depth = 4};
inline constexpr Limits kInitialiseSecureChannelRequestLimits{
    .max_bytes = 1024, .max_elements = 32, .max_depth = 3};
inline constexpr Limits kConfigureIsdpRequestLimits{
    .max_bytes = 256, .max_elements = 16, .max_depth = 3};
inline constexpr Limits kReplaceSessionKeysRequestLimits{
    .max_bytes = 256, .max_elements = 8, .max_depth = 2};
// A Bound Profile Package carries the whole profile in '86' segments; a large profile is about
// 1 MiB, so 2 MiB and 32768 elements leave room for one that large cut into small segments.
inline constexpr Limits kBoundProfilePackageLimits{
    .max_bytes = 2 * 1024 * 1024, .max_elements = 32 * 1024, .max_depth = 4};

// Named bits of NotificationEvent (BIT STRING), as masks.
inline constexpr std::uint64_t kNotificationInstall = 1u << 0;
inline constexpr std::uint64_t kNotificationEnable = 1u << 1;
inline constexpr std::uint64_t kNotificationDisable = 1u << 2;
inline constexpr std::uint64_t kNotificationDelete = 1u << 3;

// SmdpSigned2 ::= SEQUENCE (tag 30): what smdpSignature2 signs (ES9+ AuthenticateClient returns
// this TLV, base64 in the JSON binding).
struct SmdpSigned2 {
  Bytes transaction_id;                 // [0] TransactionId
  bool cc_required = false;             // BOOLEAN: the confirmation code is required
  std::optional<Bytes> bpp_euicc_otpk;  // 5F49: otPK.EUICC.ECKA of an earlier binding (retry)
  friend bool operator==(const SmdpSigned2&, const SmdpSigned2&) = default;
};

// PrepareDownloadRequest ::= [33] SEQUENCE (tag BF21): ES10b PrepareDownload, LPA to card.
struct PrepareDownloadRequest {
  SmdpSigned2 smdp_signed2;      // its fields
  Bytes smdp_signed2_der;        // the SmdpSigned2 TLV as received (what is signed); when encoding,
                                 // empty means "encode smdp_signed2"
  Bytes smdp_signature2;         // contents of 5F37
  std::optional<Bytes> hash_cc;  // Octet32: SHA-256(SHA-256(code) | transactionId)
  Bytes smdp_certificate;        // CERT.DPpb.ECDSA, X.509 DER, as received
  friend bool operator==(const PrepareDownloadRequest&, const PrepareDownloadRequest&) = default;
};

// EUICCSigned2 ::= SEQUENCE (tag 30): the card's signed part of PrepareDownloadResponse.
struct EuiccSigned2 {
  Bytes transaction_id;          // [0] TransactionId
  Bytes euicc_otpk;              // 5F49: otPK.EUICC.ECKA
  std::optional<Bytes> hash_cc;  // Octet32
  friend bool operator==(const EuiccSigned2&, const EuiccSigned2&) = default;
};

// PrepareDownloadResponseOk ::= SEQUENCE (tag A0 in the CHOICE).
struct PrepareDownloadResponseOk {
  EuiccSigned2 euicc_signed2;  // its fields
  Bytes euicc_signed2_der;     // the EUICCSigned2 TLV as received (what is signed); when
                               // encoding, empty means "encode euicc_signed2"
  Bytes euicc_signature2;      // contents of 5F37
  friend bool operator==(const PrepareDownloadResponseOk&,
                         const PrepareDownloadResponseOk&) = default;
};

// PrepareDownloadResponseError ::= SEQUENCE (tag A1 in the CHOICE).
struct PrepareDownloadResponseError {
  Bytes transaction_id;
  // DownloadErrorCode: invalidCertificate(1), invalidSignature(2), unsupportedCurve(3),
  // noSessionContext(4), invalidTransactionId(5), undefinedError(127).
  std::int64_t code = 127;
  friend bool operator==(const PrepareDownloadResponseError&,
                         const PrepareDownloadResponseError&) = default;
};

// PrepareDownloadResponse ::= [33] CHOICE (tag BF21): the card's answer, relayed by the LPA in
// ES9+ GetBoundProfilePackage.
using PrepareDownloadResponse =
    std::variant<PrepareDownloadResponseOk, PrepareDownloadResponseError>;

// NotificationConfigurationInformation ::= SEQUENCE: where to send which notifications.
struct NotificationConfiguration {
  std::uint64_t profile_management_operation = 0;  // [0] NotificationEvent named bits
  std::string notification_address;                // [1] FQDN
  friend bool operator==(const NotificationConfiguration&,
                         const NotificationConfiguration&) = default;
};

// OperatorID ::= SEQUENCE (as profileOwner [23], tag B7).
struct OperatorId {
  Bytes mcc_mnc;              // [0] 3 bytes, as 3GPP TS 24.008 codes them
  std::optional<Bytes> gid1;  // [1]
  std::optional<Bytes> gid2;  // [2]
  friend bool operator==(const OperatorId&, const OperatorId&) = default;
};

// StoreMetadataRequest ::= [37] SEQUENCE (tag BF25): the profile's metadata, sent in the BPP
// (encrypted in '88' segments) and, as profileMetaData, in ES9+ AuthenticateClient's answer.
struct StoreMetadataRequest {
  Bytes iccid;                                // 5A: 10 bytes as coded in EF_ICCID
  std::string service_provider_name;          // [17] tag 91, SIZE(0..32)
  std::string profile_name;                   // [18] tag 92, SIZE(0..64)
  std::optional<std::int64_t> icon_type;      // [19] tag 93: jpg(0), png(1)
  std::optional<Bytes> icon;                  // [20] tag 94: SIZE(0..1024)
  std::optional<std::int64_t> profile_class;  // [21] tag 95: test(0), provisioning(1),
                                              // operational(2); absent means operational
  std::optional<std::vector<NotificationConfiguration>> notification_configuration_info;  // B6
  std::optional<OperatorId> profile_owner;            // [23] tag B7
  std::optional<std::uint64_t> profile_policy_rules;  // [25] tag 99: PprIds named bits
  friend bool operator==(const StoreMetadataRequest&, const StoreMetadataRequest&) = default;
};

// ControlRefTemplate ::= SEQUENCE (as [6] IMPLICIT, tag A6): the key agreement parameters.
struct ControlRefTemplate {
  std::uint8_t key_type = 0x88;  // [0] Octet1: AES (GlobalPlatform Card Specification table 11-16)
  std::uint8_t key_len = 0x10;   // [1] Octet1: 16 bytes
  Bytes host_id;                 // [4] OctetTo16
  friend bool operator==(const ControlRefTemplate&, const ControlRefTemplate&) = default;
};

// InitialiseSecureChannelRequest ::= [35] SEQUENCE (tag BF23): the first part of a BPP.
struct InitialiseSecureChannelRequest {
  std::int64_t remote_op_id = 1;            // [2] RemoteOpId: installBoundProfilePackage(1)
  Bytes transaction_id;                     // [0] TransactionId
  ControlRefTemplate control_ref_template;  // [6] tag A6
  Bytes smdp_otpk;                          // 5F49: otPK.DP.ECKA
  Bytes smdp_sign;                          // contents of 5F37
  // Decoding only: the component TLVs before smdpSign, exactly as received (82, 80, A6, 5F49):
  // what smdpSign covers (together with the card's euiccOtpk TLV). Ignored when encoding.
  Bytes signed_part;
  friend bool operator==(const InitialiseSecureChannelRequest&,
                         const InitialiseSecureChannelRequest&) = default;
};

// ConfigureISDPRequest ::= [36] SEQUENCE (tag BF24): the first '87' segment's plaintext.
struct ConfigureIsdpRequest {
  // dpProprietaryData [24] (tag B8) { dpOid [0] }: the SM-DP+'s OID, dotted ("2.999.10").
  std::optional<std::string> dp_oid;
  friend bool operator==(const ConfigureIsdpRequest&, const ConfigureIsdpRequest&) = default;
};

// ReplaceSessionKeysRequest ::= [38] SEQUENCE (tag BF26): the profile protection keys of a
// pre-generated BPP (secrets: never logged).
struct ReplaceSessionKeysRequest {
  Bytes initial_mac_chaining_value;  // [0]
  Bytes ppk_enc;                     // [1]
  Bytes ppk_cmac;                    // [2]
  friend bool operator==(const ReplaceSessionKeysRequest&,
                         const ReplaceSessionKeysRequest&) = default;
};

// BoundProfilePackage ::= [54] SEQUENCE (tag BF36), as its parts: every part is the exact TLV as
// sent, because SCP03t MACs are computed over the TLVs and the LPA forwards them segment by
// segment. encode() builds the package from the parts; decode splits one into its parts.
struct BoundProfilePackage {
  Bytes initialise_secure_channel_request;                 // the BF23 TLV
  std::vector<Bytes> first_sequence_of87;                  // [0] A0: '87' TLVs (ConfigureISDP)
  std::vector<Bytes> sequence_of88;                        // [1] A1: '88' TLVs (StoreMetadata)
  std::optional<std::vector<Bytes>> second_sequence_of87;  // [2] A2: '87' TLVs (ReplaceSessionKeys)
  std::vector<Bytes> sequence_of86;  // [3] A3: '86' TLVs (the profile elements)
  friend bool operator==(const BoundProfilePackage&, const BoundProfilePackage&) = default;
};

Result<Bytes> encode(const SmdpSigned2& value);
Result<SmdpSigned2> decode_smdp_signed2(ByteView der, const Limits& limits = kSmdpSigned2Limits);

Result<Bytes> encode(const PrepareDownloadRequest& value);
Result<PrepareDownloadRequest> decode_prepare_download_request(
    ByteView der, const Limits& limits = kPrepareDownloadRequestLimits);

Result<Bytes> encode(const EuiccSigned2& value);
Result<EuiccSigned2> decode_euicc_signed2(ByteView der, const Limits& limits = kEuiccSigned2Limits);

Result<Bytes> encode(const PrepareDownloadResponse& value);
Result<PrepareDownloadResponse> decode_prepare_download_response(
    ByteView der, const Limits& limits = kPrepareDownloadResponseLimits);

Result<Bytes> encode(const StoreMetadataRequest& value);
Result<StoreMetadataRequest> decode_store_metadata_request(
    ByteView der, const Limits& limits = kStoreMetadataRequestLimits);

Result<Bytes> encode(const InitialiseSecureChannelRequest& value);
Result<InitialiseSecureChannelRequest> decode_initialise_secure_channel_request(
    ByteView der, const Limits& limits = kInitialiseSecureChannelRequestLimits);

Result<Bytes> encode(const ConfigureIsdpRequest& value);
Result<ConfigureIsdpRequest> decode_configure_isdp_request(
    ByteView der, const Limits& limits = kConfigureIsdpRequestLimits);

Result<Bytes> encode(const ReplaceSessionKeysRequest& value);
Result<ReplaceSessionKeysRequest> decode_replace_session_keys_request(
    ByteView der, const Limits& limits = kReplaceSessionKeysRequestLimits);

Result<Bytes> encode(const BoundProfilePackage& value);
Result<BoundProfilePackage> decode_bound_profile_package(
    ByteView der, const Limits& limits = kBoundProfilePackageLimits);

}  // namespace station::der::rsp
