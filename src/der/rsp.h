// der/rsp: typed DER encode/decode of SGP.22 RSP messages, on asn1c's generated codecs.
//
// asn1c (Debian package asn1c, 0.9.28) compiles the RSPDefinitions module of SGP.22 together
// with the PKIX modules it imports, as they are, into C codecs for every type (the build runs
// it; see CMakeLists.txt). This file is their C++ face: plain C++ structs in, DER out, and back.
// No asn1c type appears in this header.
//
// Every decode:
//   1. refuses input beyond the message's Limits (bytes, elements, depth) and anything that is not
//      strict DER (indefinite or non-minimal lengths, non-minimal tags, trailing bytes) with the
//      TLV layer (tlv.h), before asn1c sees it;
//   2. decodes with asn1c (BER decoder, bounded stack) and requires it to consume the whole input;
//   3. checks the ASN.1 constraints (SIZE(16) challenges, SIZE(3) versions, ...);
//   4. copies the fields out. Parts that are signed or certificates are copied as the exact bytes
//      received (their TLV), never re-encoded, so signatures are verified over what was sent.
// Unknown extensions (the module has EXTENSIBILITY IMPLIED) are skipped. Every failure is
// kMalformedRequest with a message naming the message type.
//
// Every encode writes DER and checks the same constraints (kValidationFailed when a field is out
// of range or a part is not what its type says). Parts given already encoded (a signed
// EuiccSigned1, certificates, EUICCInfo2, CtxParams1) are written verbatim with the TLV builder,
// never decoded and re-encoded (asn1c drops unknown extensions), and the whole is then checked by
// decoding it with asn1c.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "der/tlv.h"

namespace station::der::rsp {

// Per-message limits; an SGP.22 certificate is under 1 KiB and an EUICCInfo2 a few hundred bytes.
inline constexpr Limits kEuiccInfo1Limits{
    .max_bytes = 4 * 1024, .max_elements = 256, .max_depth = 4};
inline constexpr Limits kInitiateAuthenticationRequestLimits{
    .max_bytes = 4 * 1024, .max_elements = 256, .max_depth = 5};
inline constexpr Limits kAuthenticateServerResponseLimits{
    .max_bytes = 16 * 1024, .max_elements = 2048, .max_depth = 16};

// EUICCInfo1 ::= [32] SEQUENCE (tag BF20): what GetEUICCInfo1 answers.
struct EuiccInfo1 {
  Bytes svn;                                     // VersionType: 3 bytes, e.g. 02 02 00
  std::vector<Bytes> ci_pkids_for_verification;  // SubjectKeyIdentifiers of supported CIs
  std::vector<Bytes> ci_pkids_for_signing;
  friend bool operator==(const EuiccInfo1&, const EuiccInfo1&) = default;
};

// InitiateAuthenticationRequest ::= [57] SEQUENCE (tag BF39): ES9+ InitiateAuthentication.
struct InitiateAuthenticationRequest {
  Bytes euicc_challenge;  // Octet16
  std::string smdp_address;
  EuiccInfo1 euicc_info1;
  friend bool operator==(const InitiateAuthenticationRequest&,
                         const InitiateAuthenticationRequest&) = default;
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

Result<Bytes> encode(const InitiateAuthenticationRequest& value);
Result<InitiateAuthenticationRequest> decode_initiate_authentication_request(
    ByteView der, const Limits& limits = kInitiateAuthenticationRequestLimits);

Result<Bytes> encode(const EuiccSigned1& value);
Result<Bytes> encode(const AuthenticateServerResponse& value);
Result<AuthenticateServerResponse> decode_authenticate_server_response(
    ByteView der, const Limits& limits = kAuthenticateServerResponseLimits);

}  // namespace station::der::rsp
