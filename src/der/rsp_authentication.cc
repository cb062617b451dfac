#include "der/rsp_authentication.h"

#include <string_view>
#include <utility>

#include "AuthenticateServerRequest.h"
#include "AuthenticateServerResponse.h"
#include "Certificate.h"
#include "CtxParams1.h"
#include "EUICCInfo1.h"
#include "EUICCInfo2.h"
#include "EuiccSigned1.h"
#include "InitiateAuthenticationRequest.h"
#include "ServerSigned1.h"
#include "der/rsp_internal.h"

namespace station::der::rsp {
namespace {

using namespace internal;

constexpr Tag kEuiccInfo1Tag = Tag::context(32, true);                     // BF20
constexpr Tag kEuiccInfo2Tag = Tag::context(34, true);                     // BF22
constexpr Tag kInitiateAuthenticationRequestTag = Tag::context(57, true);  // BF39
constexpr Tag kAuthenticateServerTag = Tag::context(56, true);  // BF38, request and response
constexpr Tag kCtxParams1Tag = Tag::context(0, true);           // A0: common authentication
constexpr Tag kSignatureTag = Tag::application(55);             // 5F37

void append(Builder& builder, const EuiccInfo1& value) {
  builder.begin(kEuiccInfo1Tag).primitive(Tag::context(2), value.svn);
  append_octets_list(builder, Tag::context(9, true), value.ci_pkids_for_verification);
  append_octets_list(builder, Tag::context(10, true), value.ci_pkids_for_signing);
  builder.end();
}

EuiccInfo1 extract(const EUICCInfo1_t& source) {
  return EuiccInfo1{
      .svn = octets_of(source.svn),
      .ci_pkids_for_verification = list_of(source.euiccCiPKIdListForVerification.list),
      .ci_pkids_for_signing = list_of(source.euiccCiPKIdListForSigning.list),
  };
}

Result<EuiccInfo2> extract(const EUICCInfo2_t& source) {
  EuiccInfo2 out{
      .profile_version = octets_of(source.profileVersion),
      .svn = octets_of(source.svn),
      .euicc_firmware_ver = octets_of(source.euiccFirmwareVer),
      .ext_card_resource = octets_of(source.extCardResource),
      .ts102241_version = optional_octets(source.javacardVersion),
      .globalplatform_version = optional_octets(source.globalplatformVersion),
      .ci_pkids_for_verification = list_of(source.euiccCiPKIdListForVerification.list),
      .ci_pkids_for_signing = list_of(source.euiccCiPKIdListForSigning.list),
      .pp_version = octets_of(source.ppVersion),
      .sas_accreditation_number = text_of(source.sasAcreditationNumber),
  };
  STATION_ASSIGN_OR_RETURN(out.uicc_capability,
                           named_bits_of(source.uiccCapability, "uiccCapability"));
  STATION_ASSIGN_OR_RETURN(out.rsp_capability,
                           named_bits_of(source.rspCapability, "rspCapability"));
  STATION_ASSIGN_OR_RETURN(out.euicc_category,
                           optional_integer(source.euiccCategory, "euiccCategory"));
  STATION_ASSIGN_OR_RETURN(
      out.forbidden_profile_policy_rules,
      optional_named_bits(source.forbiddenProfilePolicyRules, "forbiddenProfilePolicyRules"));
  if (source.certificationDataObject != nullptr) {
    out.certification_data_object = CertificationDataObject{
        .platform_label = text_of(source.certificationDataObject->platformLabel),
        .discovery_base_url = text_of(source.certificationDataObject->discoveryBaseURL),
    };
  }
  return out;
}

ServerSigned1 extract(const ServerSigned1_t& source) {
  return ServerSigned1{
      .transaction_id = octets_of(source.transactionId),
      .euicc_challenge = octets_of(source.euiccChallenge),
      .server_address = text_of(source.serverAddress),
      .server_challenge = octets_of(source.serverChallenge),
  };
}

Result<CtxParams1> extract(const CtxParams1_t& source) {
  if (source.present != CtxParams1_PR_ctxParamsForCommonAuthentication) {
    return Status(ErrorCode::kMalformedRequest, "ctxParams1: unknown alternative");
  }
  const CtxParamsForCommonAuthentication_t& common = source.choice.ctxParamsForCommonAuthentication;
  const DeviceCapabilities_t& caps = common.deviceInfo.deviceCapabilities;
  return CtxParams1{
      .matching_id = optional_text(common.matchingId),
      .device_info =
          DeviceInfo{
              .tac = octets_of(common.deviceInfo.tac),
              .device_capabilities =
                  DeviceCapabilities{
                      .gsm_supported_release = optional_octets(caps.gsmSupportedRelease),
                      .utran_supported_release = optional_octets(caps.utranSupportedRelease),
                      .cdma2000onex_supported_release =
                          optional_octets(caps.cdma2000onexSupportedRelease),
                      .cdma2000hrpd_supported_release =
                          optional_octets(caps.cdma2000hrpdSupportedRelease),
                      .cdma2000ehrpd_supported_release =
                          optional_octets(caps.cdma2000ehrpdSupportedRelease),
                      .eutran_supported_release = optional_octets(caps.eutranSupportedRelease),
                      .contactless_supported_release =
                          optional_octets(caps.contactlessSupportedRelease),
                      .rsp_crl_supported_version = optional_octets(caps.rspCrlSupportedVersion),
                      .rsp_rpm_supported_version = optional_octets(caps.rspRpmSupportedVersion),
                  },
              .imei = optional_octets(common.deviceInfo.imei),
          },
  };
}

// The EuiccSigned1 fields, with euiccInfo2 and ctxParams1 taken as received from its TLV.
Result<EuiccSigned1> extract(const EuiccSigned1_t& source, const Element& tlv) {
  EuiccSigned1 out{
      .transaction_id = octets_of(source.transactionId),
      .server_address = text_of(source.serverAddress),
      .server_challenge = octets_of(source.serverChallenge),
  };
  Cursor cursor(tlv);
  STATION_RETURN_IF_ERROR(cursor.required(Tag::context(0), "transactionId").status());
  STATION_RETURN_IF_ERROR(cursor.required(Tag::context(3), "serverAddress").status());
  STATION_RETURN_IF_ERROR(cursor.required(Tag::context(4), "serverChallenge").status());
  STATION_ASSIGN_OR_RETURN(Element info2, cursor.required(kEuiccInfo2Tag, "euiccInfo2"));
  STATION_ASSIGN_OR_RETURN(Element ctx, cursor.next("ctxParams1"));
  out.euicc_info2 = copy(info2.encoded());
  out.ctx_params1 = copy(ctx.encoded());
  return out;
}

void append(Builder& builder, const ServerSigned1& value) {
  builder.begin(kSequence)
      .primitive(Tag::context(0), value.transaction_id)
      .primitive(Tag::context(1), value.euicc_challenge)
      .primitive(Tag::context(3), value.server_address)
      .primitive(Tag::context(4), value.server_challenge)
      .end();
}

void append(Builder& builder, const CtxParams1& value) {
  const DeviceCapabilities& caps = value.device_info.device_capabilities;
  builder.begin(kCtxParams1Tag);
  append_optional(builder, Tag::context(0), value.matching_id);
  builder.begin(Tag::context(1, true))
      .primitive(Tag::context(0), value.device_info.tac)
      .begin(Tag::context(1, true));
  std::uint32_t number = 0;
  for (const auto* release :
       {&caps.gsm_supported_release, &caps.utran_supported_release,
        &caps.cdma2000onex_supported_release, &caps.cdma2000hrpd_supported_release,
        &caps.cdma2000ehrpd_supported_release, &caps.eutran_supported_release,
        &caps.contactless_supported_release, &caps.rsp_crl_supported_version,
        &caps.rsp_rpm_supported_version}) {
    append_optional(builder, Tag::context(number++), *release);
  }
  builder.end();
  append_optional(builder, Tag::context(2), value.device_info.imei);
  builder.end().end();
}

}  // namespace

Result<Bytes> encode(const EuiccInfo1& value) {
  Builder builder;
  append(builder, value);
  return finish_checked<EUICCInfo1_t>(std::move(builder), asn_DEF_EUICCInfo1, kEuiccInfo1Tag,
                                      "EUICCInfo1");
}

Result<EuiccInfo1> decode_euicc_info1(ByteView der, const Limits& limits) {
  return decode_as<EUICCInfo1_t>(asn_DEF_EUICCInfo1, der, limits, kEuiccInfo1Tag, "EUICCInfo1",
                                 [](const EUICCInfo1_t& source, const Element&) {
                                   return Result<EuiccInfo1>(extract(source));
                                 });
}

Result<Bytes> encode(const EuiccInfo2& value) {
  Builder builder;
  builder.begin(kEuiccInfo2Tag)
      .primitive(Tag::context(1), value.profile_version)
      .primitive(Tag::context(2), value.svn)
      .primitive(Tag::context(3), value.euicc_firmware_ver)
      .primitive(Tag::context(4), value.ext_card_resource);
  append_named_bits(builder, Tag::context(5), value.uicc_capability);
  append_optional(builder, Tag::context(6), value.ts102241_version);
  append_optional(builder, Tag::context(7), value.globalplatform_version);
  append_named_bits(builder, Tag::context(8), value.rsp_capability);
  append_octets_list(builder, Tag::context(9, true), value.ci_pkids_for_verification);
  append_octets_list(builder, Tag::context(10, true), value.ci_pkids_for_signing);
  append_optional(builder, Tag::context(11), value.euicc_category);
  if (value.forbidden_profile_policy_rules.has_value()) {
    append_named_bits(builder, Tag::context(25), *value.forbidden_profile_policy_rules);
  }
  builder.octets(value.pp_version).utf8(value.sas_accreditation_number);
  if (value.certification_data_object.has_value()) {
    builder.begin(Tag::context(12, true))
        .primitive(Tag::context(0), value.certification_data_object->platform_label)
        .primitive(Tag::context(1), value.certification_data_object->discovery_base_url)
        .end();
  }
  builder.end();
  return finish_checked<EUICCInfo2_t>(std::move(builder), asn_DEF_EUICCInfo2, kEuiccInfo2Tag,
                                      "EUICCInfo2");
}

Result<EuiccInfo2> decode_euicc_info2(ByteView der, const Limits& limits) {
  return decode_as<EUICCInfo2_t>(
      asn_DEF_EUICCInfo2, der, limits, kEuiccInfo2Tag, "EUICCInfo2",
      [](const EUICCInfo2_t& source, const Element&) { return extract(source); });
}

Result<Bytes> encode(const InitiateAuthenticationRequest& value) {
  Builder builder;
  builder.begin(kInitiateAuthenticationRequestTag)
      .primitive(Tag::context(1), value.euicc_challenge)
      .primitive(Tag::context(3), value.smdp_address);
  append(builder, value.euicc_info1);
  builder.end();
  return finish_checked<InitiateAuthenticationRequest_t>(
      std::move(builder), asn_DEF_InitiateAuthenticationRequest, kInitiateAuthenticationRequestTag,
      "InitiateAuthenticationRequest");
}

Result<InitiateAuthenticationRequest> decode_initiate_authentication_request(ByteView der,
                                                                             const Limits& limits) {
  return decode_as<InitiateAuthenticationRequest_t>(
      asn_DEF_InitiateAuthenticationRequest, der, limits, kInitiateAuthenticationRequestTag,
      "InitiateAuthenticationRequest",
      [](const InitiateAuthenticationRequest_t& source, const Element&) {
        return Result<InitiateAuthenticationRequest>(InitiateAuthenticationRequest{
            .euicc_challenge = octets_of(source.euiccChallenge),
            .smdp_address = text_of(source.smdpAddress),
            .euicc_info1 = extract(source.euiccInfo1),
        });
      });
}

Result<Bytes> encode(const ServerSigned1& value) {
  Builder builder;
  append(builder, value);
  return finish_checked<ServerSigned1_t>(std::move(builder), asn_DEF_ServerSigned1, kSequence,
                                         "ServerSigned1");
}

Result<ServerSigned1> decode_server_signed1(ByteView der, const Limits& limits) {
  return decode_as<ServerSigned1_t>(asn_DEF_ServerSigned1, der, limits, kSequence, "ServerSigned1",
                                    [](const ServerSigned1_t& source, const Element&) {
                                      return Result<ServerSigned1>(extract(source));
                                    });
}

Result<Bytes> encode(const CtxParams1& value) {
  Builder builder;
  append(builder, value);
  return finish_checked<CtxParams1_t>(std::move(builder), asn_DEF_CtxParams1, kCtxParams1Tag,
                                      "CtxParams1");
}

Result<CtxParams1> decode_ctx_params1(ByteView der, const Limits& limits) {
  return decode_as<CtxParams1_t>(
      asn_DEF_CtxParams1, der, limits, kCtxParams1Tag, "CtxParams1",
      [](const CtxParams1_t& source, const Element&) { return extract(source); });
}

Result<Bytes> encode(const AuthenticateServerRequest& value) {
  STATION_ASSIGN_OR_RETURN(
      Bytes signed1, given_or_encoded(value.server_signed1_der, value.server_signed1, kSequence,
                                      "AuthenticateServerRequest serverSigned1"));
  STATION_ASSIGN_OR_RETURN(
      Bytes ctx, given_or_encoded(value.ctx_params1_der, value.ctx_params1, kCtxParams1Tag,
                                  "AuthenticateServerRequest ctxParams1"));
  STATION_RETURN_IF_ERROR(check_part(value.server_certificate, kSequence,
                                     "AuthenticateServerRequest serverCertificate"));
  Builder builder;
  builder.begin(kAuthenticateServerTag)
      .raw(signed1)
      .primitive(kSignatureTag, value.server_signature1)
      .octets(value.euicc_ci_pkid_to_be_used)
      .raw(value.server_certificate)
      .raw(ctx)
      .end();
  return finish_checked<AuthenticateServerRequest_t>(
      std::move(builder), asn_DEF_AuthenticateServerRequest, kAuthenticateServerTag,
      "AuthenticateServerRequest");
}

Result<AuthenticateServerRequest> decode_authenticate_server_request(ByteView der,
                                                                     const Limits& limits) {
  return decode_as<AuthenticateServerRequest_t>(
      asn_DEF_AuthenticateServerRequest, der, limits, kAuthenticateServerTag,
      "AuthenticateServerRequest",
      [](const AuthenticateServerRequest_t& source,
         const Element& top) -> Result<AuthenticateServerRequest> {
        Cursor cursor(top);
        STATION_ASSIGN_OR_RETURN(Element signed1, cursor.required(kSequence, "serverSigned1"));
        STATION_RETURN_IF_ERROR(cursor.required(kSignatureTag, "serverSignature1").status());
        STATION_RETURN_IF_ERROR(cursor.required(kOctetString, "euiccCiPKIdToBeUsed").status());
        STATION_ASSIGN_OR_RETURN(Element certificate,
                                 cursor.required(kSequence, "serverCertificate"));
        STATION_ASSIGN_OR_RETURN(Element ctx, cursor.required(kCtxParams1Tag, "ctxParams1"));
        STATION_ASSIGN_OR_RETURN(CtxParams1 ctx_params1, extract(source.ctxParams1));
        return AuthenticateServerRequest{
            .server_signed1 = extract(source.serverSigned1),
            .server_signed1_der = copy(signed1.encoded()),
            .server_signature1 = octets_of(source.serverSignature1),
            .euicc_ci_pkid_to_be_used = octets_of(source.euiccCiPKIdToBeUsed),
            .server_certificate = copy(certificate.encoded()),
            .ctx_params1 = std::move(ctx_params1),
            .ctx_params1_der = copy(ctx.encoded()),
        };
      });
}

Result<Bytes> encode(const EuiccSigned1& value) {
  STATION_RETURN_IF_ERROR(check_part(value.euicc_info2, kEuiccInfo2Tag, "EuiccSigned1 euiccInfo2"));
  STATION_RETURN_IF_ERROR(check_part(value.ctx_params1, kCtxParams1Tag, "EuiccSigned1 ctxParams1"));
  Builder builder;
  builder.begin(kSequence)
      .primitive(Tag::context(0), value.transaction_id)
      .primitive(Tag::context(3), value.server_address)
      .primitive(Tag::context(4), value.server_challenge)
      .raw(value.euicc_info2)
      .raw(value.ctx_params1)
      .end();
  return finish_checked<EuiccSigned1_t>(std::move(builder), asn_DEF_EuiccSigned1, kSequence,
                                        "EuiccSigned1");
}

Result<Bytes> encode(const AuthenticateServerResponse& value) {
  constexpr std::string_view kWhat = "AuthenticateServerResponse";
  if (const auto* ok = std::get_if<AuthenticateResponseOk>(&value)) {
    // Written with the TLV builder so that the signed part and the certificates go out exactly
    // as given; asn1c then checks the whole.
    STATION_ASSIGN_OR_RETURN(Bytes signed1,
                             given_or_encoded(ok->euicc_signed1_der, ok->euicc_signed1, kSequence,
                                              "AuthenticateServerResponse euiccSigned1"));
    STATION_RETURN_IF_ERROR(check_part(ok->euicc_certificate, kSequence, "euiccCertificate"));
    STATION_RETURN_IF_ERROR(check_part(ok->eum_certificate, kSequence, "eumCertificate"));
    Builder builder;
    builder.begin(kAuthenticateServerTag)
        .begin(Tag::context(0, true))
        .raw(signed1)
        .primitive(kSignatureTag, ok->euicc_signature1)
        .raw(ok->euicc_certificate)
        .raw(ok->eum_certificate)
        .end()
        .end();
    return finish_checked<AuthenticateServerResponse_t>(
        std::move(builder), asn_DEF_AuthenticateServerResponse, kAuthenticateServerTag, kWhat);
  }
  const auto& error = std::get<AuthenticateResponseError>(value);
  Builder builder;
  builder.begin(kAuthenticateServerTag)
      .begin(Tag::context(1, true))
      .primitive(Tag::context(0), error.transaction_id)
      .integer(error.code)
      .end()
      .end();
  return finish_checked<AuthenticateServerResponse_t>(
      std::move(builder), asn_DEF_AuthenticateServerResponse, kAuthenticateServerTag, kWhat);
}

Result<AuthenticateServerResponse> decode_authenticate_server_response(ByteView der,
                                                                       const Limits& limits) {
  return decode_as<AuthenticateServerResponse_t>(
      asn_DEF_AuthenticateServerResponse, der, limits, kAuthenticateServerTag,
      "AuthenticateServerResponse",
      [](const AuthenticateServerResponse_t& source,
         const Element& top) -> Result<AuthenticateServerResponse> {
        // BF38 { A0 { EuiccSigned1, 5F37, Certificate, Certificate } | A1 { 80, 02 } }
        Cursor outer(top);
        STATION_ASSIGN_OR_RETURN(Element alternative, outer.next("alternative"));
        switch (source.present) {
          case AuthenticateServerResponse_PR_authenticateResponseOk: {
            const AuthenticateResponseOk_t& ok = source.choice.authenticateResponseOk;
            Cursor cursor(alternative);
            STATION_ASSIGN_OR_RETURN(Element signed1, cursor.required(kSequence, "euiccSigned1"));
            STATION_RETURN_IF_ERROR(cursor.required(kSignatureTag, "euiccSignature1").status());
            STATION_ASSIGN_OR_RETURN(Element euicc_cert,
                                     cursor.required(kSequence, "euiccCertificate"));
            STATION_ASSIGN_OR_RETURN(Element eum_cert,
                                     cursor.required(kSequence, "eumCertificate"));
            STATION_ASSIGN_OR_RETURN(EuiccSigned1 fields, extract(ok.euiccSigned1, signed1));
            return AuthenticateServerResponse(AuthenticateResponseOk{
                .euicc_signed1 = std::move(fields),
                .euicc_signed1_der = copy(signed1.encoded()),
                .euicc_signature1 = octets_of(ok.euiccSignature1),
                .euicc_certificate = copy(euicc_cert.encoded()),
                .eum_certificate = copy(eum_cert.encoded()),
            });
          }
          case AuthenticateServerResponse_PR_authenticateResponseError: {
            const AuthenticateResponseError_t& error = source.choice.authenticateResponseError;
            STATION_ASSIGN_OR_RETURN(std::int64_t code, integer_of(error.authenticateErrorCode,
                                                                   "authenticateErrorCode"));
            return AuthenticateServerResponse(AuthenticateResponseError{
                .transaction_id = octets_of(error.transactionId),
                .code = code,
            });
          }
          default:
            return Status(ErrorCode::kMalformedRequest, "unknown alternative");
        }
      });
}

}  // namespace station::der::rsp
