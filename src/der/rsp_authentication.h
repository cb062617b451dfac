// der/rsp_authentication: the messages of RSP common mutual authentication (SGP.22 3.1.2,
// 5.6.1-5.6.2 ES9+ InitiateAuthentication/AuthenticateClient, 5.7.13 ES10b AuthenticateServer):
// what the eUICC tells about itself (EUICCInfo1/2), what the SM-DP+ signs (ServerSigned1) and the
// card verifies, and what the card signs (EuiccSigned1) and the SM-DP+ verifies.
// Conventions are those of der/rsp.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "der/tlv.h"

namespace station::der::rsp {

// Per-message limits; an SGP.22 certificate is under 1 KiB and an EUICCInfo2 a few hundred bytes.
inline constexpr Limits kEuiccInfo1Limits{
    .max_bytes = 4 * 1024, .max_elements = 256, .max_depth = 4};
inline constexpr Limits kEuiccInfo2Limits{
    .max_bytes = 4 * 1024, .max_elements = 256, .max_depth = 4};
inline constexpr Limits kInitiateAuthenticationRequestLimits{
    .max_bytes = 4 * 1024, .max_elements = 256, .max_depth = 5};
inline constexpr Limits kServerSigned1Limits{.max_bytes = 1024, .max_elements = 16, .max_depth = 2};
inline constexpr Limits kCtxParams1Limits{.max_bytes = 1024, .max_elements = 64, .max_depth = 4};
// Two certificates and the signed parts.
inline constexpr Limits kAuthenticateServerRequestLimits{
    .max_bytes = 16 * 1024, .max_elements = 2048, .max_depth = 16};
inline constexpr Limits kAuthenticateServerResponseLimits{
    .max_bytes = 16 * 1024, .max_elements = 2048, .max_depth = 16};

// EUICCInfo1 ::= [32] SEQUENCE (tag BF20): what GetEUICCInfo1 answers.
struct EuiccInfo1 {
  Bytes svn;                                     // VersionType: 3 bytes, e.g. 02 02 00
  std::vector<Bytes> ci_pkids_for_verification;  // SubjectKeyIdentifiers of supported CIs
  std::vector<Bytes> ci_pkids_for_signing;
  friend bool operator==(const EuiccInfo1&, const EuiccInfo1&) = default;
};

// Named bits of BIT STRING types, as masks (named bit n is 1 << n).
// RspCapability.
inline constexpr std::uint64_t kRspCapabilityAdditionalProfile = 1u << 0;
inline constexpr std::uint64_t kRspCapabilityCrlSupport = 1u << 1;
inline constexpr std::uint64_t kRspCapabilityRpmSupport = 1u << 2;
inline constexpr std::uint64_t kRspCapabilityTestProfileSupport = 1u << 3;
// UICCCapability (a few of its 19 bits).
inline constexpr std::uint64_t kUiccCapabilityUsimSupport = 1u << 1;
inline constexpr std::uint64_t kUiccCapabilityIsimSupport = 1u << 2;
inline constexpr std::uint64_t kUiccCapabilityAkaMilenage = 1u << 4;
inline constexpr std::uint64_t kUiccCapabilityAkaTuak128 = 1u << 6;
inline constexpr std::uint64_t kUiccCapabilityJavacard = 1u << 14;
// PprIds.
inline constexpr std::uint64_t kPprUpdateControl = 1u << 0;
inline constexpr std::uint64_t kPpr1DisableNotAllowed = 1u << 1;
inline constexpr std::uint64_t kPpr2DeleteNotAllowed = 1u << 2;
inline constexpr std::uint64_t kPpr3DeleteOnDisable = 1u << 3;

// CertificationDataObject ::= SEQUENCE (in EUICCInfo2 as [12], tag AC).
struct CertificationDataObject {
  std::string platform_label;
  std::string discovery_base_url;
  friend bool operator==(const CertificationDataObject&, const CertificationDataObject&) = default;
};

// EUICCInfo2 ::= [34] SEQUENCE (tag BF22): what GetEUICCInfo2 answers; the card puts it into
// EuiccSigned1 (keep the received bytes for that: EuiccSigned1::euicc_info2).
struct EuiccInfo2 {
  Bytes profile_version;     // [1] VersionType: SIMalliance profile package version
  Bytes svn;                 // [2] VersionType: SGP.22 version
  Bytes euicc_firmware_ver;  // [3] VersionType
  Bytes ext_card_resource;   // [4] ETSI TS 102 226 TLVs (81 apps, 82 free NVM, 83 free RAM)
  std::uint64_t uicc_capability = 0;  // [5] UICCCapability named bits
  // [6]: ts102241Version in SGP.22 v2.1+ (javacardVersion in the v2.0 module of asn1/).
  std::optional<Bytes> ts102241_version;
  std::optional<Bytes> globalplatform_version;   // [7]
  std::uint64_t rsp_capability = 0;              // [8] RspCapability named bits
  std::vector<Bytes> ci_pkids_for_verification;  // [9]
  std::vector<Bytes> ci_pkids_for_signing;       // [10]
  // [11] other(0), basicEuicc(1), mediumEuicc(2), contactlessEuicc(3).
  std::optional<std::int64_t> euicc_category;
  std::optional<std::uint64_t> forbidden_profile_policy_rules;  // [25] PprIds, tag 99
  Bytes pp_version;                                             // VersionType (universal 04)
  std::string sas_accreditation_number;  // UTF8String SIZE(0..64) (universal 0C)
  std::optional<CertificationDataObject> certification_data_object;  // [12]
  friend bool operator==(const EuiccInfo2&, const EuiccInfo2&) = default;
};

// InitiateAuthenticationRequest ::= [57] SEQUENCE (tag BF39): ES9+ InitiateAuthentication.
struct InitiateAuthenticationRequest {
  Bytes euicc_challenge;  // Octet16
  std::string smdp_address;
  EuiccInfo1 euicc_info1;
  friend bool operator==(const InitiateAuthenticationRequest&,
                         const InitiateAuthenticationRequest&) = default;
};

// ServerSigned1 ::= SEQUENCE (tag 30): what the SM-DP+ signs (serverSignature1) in
// InitiateAuthentication and the card verifies in AuthenticateServer.
struct ServerSigned1 {
  Bytes transaction_id;        // [0] TransactionId: 1..16 bytes
  Bytes euicc_challenge;       // [1] Octet16
  std::string server_address;  // [3]
  Bytes server_challenge;      // [4] Octet16
  friend bool operator==(const ServerSigned1&, const ServerSigned1&) = default;
};

// DeviceCapabilities ::= SEQUENCE: the highest release the device fully supports per technology,
// each a VersionType ([0]..[8]).
struct DeviceCapabilities {
  std::optional<Bytes> gsm_supported_release;
  std::optional<Bytes> utran_supported_release;
  std::optional<Bytes> cdma2000onex_supported_release;
  std::optional<Bytes> cdma2000hrpd_supported_release;
  std::optional<Bytes> cdma2000ehrpd_supported_release;
  std::optional<Bytes> eutran_supported_release;
  std::optional<Bytes> contactless_supported_release;
  std::optional<Bytes> rsp_crl_supported_version;
  std::optional<Bytes> rsp_rpm_supported_version;
  friend bool operator==(const DeviceCapabilities&, const DeviceCapabilities&) = default;
};

// DeviceInfo ::= SEQUENCE.
struct DeviceInfo {
  Bytes tac;  // [0] Octet8 (the TAC, then zero padding up to 8 bytes as SGP.22 fills it)
  DeviceCapabilities device_capabilities;  // [1]
  std::optional<Bytes> imei;               // [2] Octet8
  friend bool operator==(const DeviceInfo&, const DeviceInfo&) = default;
};

// CtxParams1 ::= CHOICE { ctxParamsForCommonAuthentication [0] SEQUENCE } (tag A0): what the LPA
// adds to AuthenticateServer; the card copies it into EuiccSigned1.
struct CtxParams1 {
  std::optional<std::string> matching_id;  // [0] the Matching ID of the activation code
  DeviceInfo device_info;                  // [1]
  friend bool operator==(const CtxParams1&, const CtxParams1&) = default;
};

// AuthenticateServerRequest ::= [56] SEQUENCE (tag BF38): ES10b AuthenticateServer, from the LPA
// to the card with what InitiateAuthentication returned.
struct AuthenticateServerRequest {
  ServerSigned1 server_signed1;    // its fields
  Bytes server_signed1_der;        // the ServerSigned1 TLV exactly as received (what is signed);
                                   // when encoding, empty means "encode server_signed1"
  Bytes server_signature1;         // contents of 5F37: the TR-03111 r||s signature
  Bytes euicc_ci_pkid_to_be_used;  // contents of the SubjectKeyIdentifier (04)
  Bytes server_certificate;        // CERT.DPauth.ECDSA, X.509 DER, as received
  CtxParams1 ctx_params1;          // its fields
  Bytes ctx_params1_der;           // the CtxParams1 TLV as received (the card copies it into
                                   // EuiccSigned1); when encoding, empty means "encode ctx_params1"
  friend bool operator==(const AuthenticateServerRequest&,
                         const AuthenticateServerRequest&) = default;
};

// EuiccSigned1 ::= SEQUENCE: the part of AuthenticateServerResponse that euiccSignature1 signs.
struct EuiccSigned1 {
  Bytes transaction_id;  // TransactionId: 1..16 bytes
  std::string server_address;
  Bytes server_challenge;  // Octet16
  Bytes euicc_info2;       // the EUICCInfo2 TLV (tag BF22), as received / to send
  Bytes ctx_params1;       // the CtxParams1 TLV (a CHOICE; tag A0 for common authentication)
  friend bool operator==(const EuiccSigned1&, const EuiccSigned1&) = default;
};

// AuthenticateResponseOk ::= SEQUENCE: what the eUICC answers a successful AuthenticateServer.
struct AuthenticateResponseOk {
  EuiccSigned1 euicc_signed1;  // its fields
  Bytes euicc_signed1_der;     // the EuiccSigned1 TLV exactly as received (what is signed);
                               // when encoding, empty means "encode euicc_signed1"
  Bytes euicc_signature1;      // contents of 5F37: the TR-03111 r||s signature
  Bytes euicc_certificate;     // X.509 DER, as received
  Bytes eum_certificate;       // X.509 DER, as received
  friend bool operator==(const AuthenticateResponseOk&, const AuthenticateResponseOk&) = default;
};

// AuthenticateResponseError ::= SEQUENCE.
struct AuthenticateResponseError {
  Bytes transaction_id;
  // AuthenticateErrorCode: invalidCertificate(1), invalidSignature(2), unsupportedCurve(3),
  // noSessionContext(4), invalidOid(5), euiccChallengeMismatch(6), ciPKUnknown(7),
  // undefinedError(127).
  std::int64_t code = 127;
  friend bool operator==(const AuthenticateResponseError&,
                         const AuthenticateResponseError&) = default;
};

// AuthenticateServerResponse ::= [56] CHOICE (tag BF38): ES10b AuthenticateServer's answer,
// relayed by the LPA in ES9+ AuthenticateClient.
using AuthenticateServerResponse = std::variant<AuthenticateResponseOk, AuthenticateResponseError>;

Result<Bytes> encode(const EuiccInfo1& value);
Result<EuiccInfo1> decode_euicc_info1(ByteView der, const Limits& limits = kEuiccInfo1Limits);

Result<Bytes> encode(const EuiccInfo2& value);
Result<EuiccInfo2> decode_euicc_info2(ByteView der, const Limits& limits = kEuiccInfo2Limits);

Result<Bytes> encode(const InitiateAuthenticationRequest& value);
Result<InitiateAuthenticationRequest> decode_initiate_authentication_request(
    ByteView der, const Limits& limits = kInitiateAuthenticationRequestLimits);

// ES9+ InitiateAuthentication returns serverSigned1 as this TLV (base64 in the JSON binding).
Result<Bytes> encode(const ServerSigned1& value);
Result<ServerSigned1> decode_server_signed1(ByteView der,
                                            const Limits& limits = kServerSigned1Limits);

Result<Bytes> encode(const CtxParams1& value);
Result<CtxParams1> decode_ctx_params1(ByteView der, const Limits& limits = kCtxParams1Limits);

Result<Bytes> encode(const AuthenticateServerRequest& value);
Result<AuthenticateServerRequest> decode_authenticate_server_request(
    ByteView der, const Limits& limits = kAuthenticateServerRequestLimits);

Result<Bytes> encode(const EuiccSigned1& value);
Result<Bytes> encode(const AuthenticateServerResponse& value);
Result<AuthenticateServerResponse> decode_authenticate_server_response(
    ByteView der, const Limits& limits = kAuthenticateServerResponseLimits);

}  // namespace station::der::rsp
