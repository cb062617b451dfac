#include "der/rsp_notification.h"

#include <string_view>
#include <utility>

#include "CancelSessionRequest.h"
#include "CancelSessionResponse.h"
#include "EuiccCancelSessionSigned.h"
#include "NotificationMetadata.h"
#include "OtherSignedNotification.h"
#include "ProfileInstallationResult.h"
#include "ProfileInstallationResultData.h"
#include "der/rsp_internal.h"

namespace station::der::rsp {
namespace {

using namespace internal;

constexpr Tag kNotificationMetadataTag = Tag::context(47, true);           // BF2F
constexpr Tag kProfileInstallationResultTag = Tag::context(55, true);      // BF37
constexpr Tag kProfileInstallationResultDataTag = Tag::context(39, true);  // BF27
constexpr Tag kCancelSessionTag = Tag::context(65, true);                  // BF41
constexpr Tag kSignatureTag = Tag::application(55);                        // 5F37

Result<NotificationMetadata> extract(const NotificationMetadata_t& source) {
  NotificationMetadata out{.notification_address = text_of(source.notificationAddress),
                           .iccid = optional_octets(source.iccid)};
  STATION_ASSIGN_OR_RETURN(out.seq_number, integer_of(source.seqNumber, "seqNumber"));
  STATION_ASSIGN_OR_RETURN(
      out.profile_management_operation,
      named_bits_of(source.profileManagementOperation, "profileManagementOperation"));
  return out;
}

Result<std::optional<std::string>> optional_oid(const OBJECT_IDENTIFIER_t* source,
                                                std::string_view what) {
  if (source == nullptr) return std::optional<std::string>();
  STATION_ASSIGN_OR_RETURN(std::string text,
                           oid_to_text(ByteView(source->buf, source->size), what));
  return std::optional<std::string>(std::move(text));
}

Result<ProfileInstallationResultData> extract(const ProfileInstallationResultData_t& source) {
  ProfileInstallationResultData out{.transaction_id = octets_of(source.transactionId)};
  STATION_ASSIGN_OR_RETURN(out.notification_metadata, extract(source.notificationMetadata));
  STATION_ASSIGN_OR_RETURN(out.smdp_oid, optional_oid(source.smdpOid, "smdpOid"));
  switch (source.finalResult.present) {
    case ProfileInstallationResultData__finalResult_PR_successResult: {
      const SuccessResult_t& success = source.finalResult.choice.successResult;
      out.final_result = ProfileInstallationSuccess{
          .aid = octets_of(success.aid), .sima_response = octets_of(success.simaResponse)};
      return out;
    }
    case ProfileInstallationResultData__finalResult_PR_errorResult: {
      const ErrorResult_t& error = source.finalResult.choice.errorResult;
      ProfileInstallationError result{.sima_response = optional_octets(error.simaResponse)};
      STATION_ASSIGN_OR_RETURN(result.bpp_command_id,
                               integer_of(error.bppCommandId, "bppCommandId"));
      STATION_ASSIGN_OR_RETURN(result.error_reason, integer_of(error.errorReason, "errorReason"));
      out.final_result = std::move(result);
      return out;
    }
    default:
      return Status(ErrorCode::kMalformedRequest, "finalResult: unknown alternative");
  }
}

Result<EuiccCancelSessionSigned> extract(const EuiccCancelSessionSigned_t& source) {
  EuiccCancelSessionSigned out{.transaction_id = octets_of(source.transactionId)};
  STATION_ASSIGN_OR_RETURN(
      out.smdp_oid, oid_to_text(ByteView(source.smdpOid.buf, source.smdpOid.size), "smdpOid"));
  STATION_ASSIGN_OR_RETURN(out.reason, integer_of(source.reason, "reason"));
  return out;
}

void append(Builder& builder, const NotificationMetadata& value) {
  builder.begin(kNotificationMetadataTag).integer(Tag::context(0), value.seq_number);
  append_named_bits(builder, Tag::context(1), value.profile_management_operation);
  builder.utf8(value.notification_address);
  append_optional(builder, Tag::application(26), value.iccid);
  builder.end();
}

}  // namespace

Result<Bytes> encode(const NotificationMetadata& value) {
  Builder builder;
  append(builder, value);
  return finish_checked<NotificationMetadata_t>(std::move(builder), asn_DEF_NotificationMetadata,
                                                kNotificationMetadataTag, "NotificationMetadata");
}

Result<NotificationMetadata> decode_notification_metadata(ByteView der, const Limits& limits) {
  return decode_as<NotificationMetadata_t>(
      asn_DEF_NotificationMetadata, der, limits, kNotificationMetadataTag, "NotificationMetadata",
      [](const NotificationMetadata_t& source, const Element&) { return extract(source); });
}

Result<Bytes> encode(const ProfileInstallationResultData& value) {
  constexpr std::string_view kWhat = "ProfileInstallationResultData";
  Builder builder;
  builder.begin(kProfileInstallationResultDataTag).primitive(Tag::context(0), value.transaction_id);
  append(builder, value.notification_metadata);
  if (value.smdp_oid.has_value()) {
    STATION_ASSIGN_OR_RETURN(Bytes oid, oid_from_text(*value.smdp_oid, kWhat));
    builder.primitive(kObjectIdentifier, oid);
  }
  builder.begin(Tag::context(2, true));
  if (const auto* success = std::get_if<ProfileInstallationSuccess>(&value.final_result)) {
    builder.begin(Tag::context(0, true))
        .primitive(Tag::application(15), success->aid)
        .octets(success->sima_response)
        .end();
  } else {
    const auto& error = std::get<ProfileInstallationError>(value.final_result);
    builder.begin(Tag::context(1, true))
        .integer(Tag::context(0), error.bpp_command_id)
        .integer(Tag::context(1), error.error_reason);
    append_optional(builder, Tag::context(2), error.sima_response);
    builder.end();
  }
  builder.end().end();
  return finish_checked<ProfileInstallationResultData_t>(std::move(builder),
                                                         asn_DEF_ProfileInstallationResultData,
                                                         kProfileInstallationResultDataTag, kWhat);
}

Result<Bytes> encode(const ProfileInstallationResult& value) {
  STATION_ASSIGN_OR_RETURN(
      Bytes data, given_or_encoded(value.data_der, value.data, kProfileInstallationResultDataTag,
                                   "ProfileInstallationResult profileInstallationResultData"));
  Builder builder;
  builder.begin(kProfileInstallationResultTag)
      .raw(data)
      .primitive(kSignatureTag, value.euicc_sign_pir)
      .end();
  return finish_checked<ProfileInstallationResult_t>(
      std::move(builder), asn_DEF_ProfileInstallationResult, kProfileInstallationResultTag,
      "ProfileInstallationResult");
}

Result<ProfileInstallationResult> decode_profile_installation_result(ByteView der,
                                                                     const Limits& limits) {
  return decode_as<ProfileInstallationResult_t>(
      asn_DEF_ProfileInstallationResult, der, limits, kProfileInstallationResultTag,
      "ProfileInstallationResult",
      [](const ProfileInstallationResult_t& source,
         const Element& top) -> Result<ProfileInstallationResult> {
        Cursor cursor(top);
        STATION_ASSIGN_OR_RETURN(Element data, cursor.required(kProfileInstallationResultDataTag,
                                                               "profileInstallationResultData"));
        STATION_ASSIGN_OR_RETURN(ProfileInstallationResultData fields,
                                 extract(source.profileInstallationResultData));
        return ProfileInstallationResult{.data = std::move(fields),
                                         .data_der = copy(data.encoded()),
                                         .euicc_sign_pir = octets_of(source.euiccSignPIR)};
      });
}

Result<Bytes> encode(const OtherSignedNotification& value) {
  STATION_ASSIGN_OR_RETURN(
      Bytes tbs,
      given_or_encoded(value.tbs_other_notification_der, value.tbs_other_notification,
                       kNotificationMetadataTag, "OtherSignedNotification tbsOtherNotification"));
  STATION_RETURN_IF_ERROR(
      check_part(value.euicc_certificate, kSequence, "OtherSignedNotification euiccCertificate"));
  STATION_RETURN_IF_ERROR(
      check_part(value.eum_certificate, kSequence, "OtherSignedNotification eumCertificate"));
  Builder builder;
  builder.begin(kSequence)
      .raw(tbs)
      .primitive(kSignatureTag, value.euicc_notification_signature)
      .raw(value.euicc_certificate)
      .raw(value.eum_certificate)
      .end();
  return finish_checked<OtherSignedNotification_t>(
      std::move(builder), asn_DEF_OtherSignedNotification, kSequence, "OtherSignedNotification");
}

Result<OtherSignedNotification> decode_other_signed_notification(ByteView der,
                                                                 const Limits& limits) {
  return decode_as<OtherSignedNotification_t>(
      asn_DEF_OtherSignedNotification, der, limits, kSequence, "OtherSignedNotification",
      [](const OtherSignedNotification_t& source,
         const Element& top) -> Result<OtherSignedNotification> {
        Cursor cursor(top);
        STATION_ASSIGN_OR_RETURN(Element tbs,
                                 cursor.required(kNotificationMetadataTag, "tbsOtherNotification"));
        STATION_RETURN_IF_ERROR(
            cursor.required(kSignatureTag, "euiccNotificationSignature").status());
        STATION_ASSIGN_OR_RETURN(Element euicc_cert,
                                 cursor.required(kSequence, "euiccCertificate"));
        STATION_ASSIGN_OR_RETURN(Element eum_cert, cursor.required(kSequence, "eumCertificate"));
        STATION_ASSIGN_OR_RETURN(NotificationMetadata fields, extract(source.tbsOtherNotification));
        return OtherSignedNotification{
            .tbs_other_notification = std::move(fields),
            .tbs_other_notification_der = copy(tbs.encoded()),
            .euicc_notification_signature = octets_of(source.euiccNotificationSignature),
            .euicc_certificate = copy(euicc_cert.encoded()),
            .eum_certificate = copy(eum_cert.encoded()),
        };
      });
}

Result<Bytes> encode(const PendingNotification& value) {
  return std::visit([](const auto& alternative) { return encode(alternative); }, value);
}

Result<PendingNotification> decode_pending_notification(ByteView der, const Limits& limits) {
  // A CHOICE of two types with their own tags: the outermost tag picks the decoder.
  auto top = parse(der, limits);
  if (!top.is_ok()) return malformed("PendingNotification", top.status().message());
  if (top->tag() == kProfileInstallationResultTag) {
    STATION_ASSIGN_OR_RETURN(ProfileInstallationResult result,
                             decode_profile_installation_result(der, limits));
    return PendingNotification(std::move(result));
  }
  STATION_ASSIGN_OR_RETURN(OtherSignedNotification other,
                           decode_other_signed_notification(der, limits));
  return PendingNotification(std::move(other));
}

Result<Bytes> encode(const CancelSessionRequest& value) {
  Builder builder;
  builder.begin(kCancelSessionTag)
      .primitive(Tag::context(0), value.transaction_id)
      .integer(Tag::context(1), value.reason)
      .end();
  return finish_checked<CancelSessionRequest_t>(std::move(builder), asn_DEF_CancelSessionRequest,
                                                kCancelSessionTag, "CancelSessionRequest");
}

Result<CancelSessionRequest> decode_cancel_session_request(ByteView der, const Limits& limits) {
  return decode_as<CancelSessionRequest_t>(
      asn_DEF_CancelSessionRequest, der, limits, kCancelSessionTag, "CancelSessionRequest",
      [](const CancelSessionRequest_t& source, const Element&) -> Result<CancelSessionRequest> {
        STATION_ASSIGN_OR_RETURN(std::int64_t reason, integer_of(source.reason, "reason"));
        return CancelSessionRequest{.transaction_id = octets_of(source.transactionId),
                                    .reason = reason};
      });
}

Result<Bytes> encode(const EuiccCancelSessionSigned& value) {
  constexpr std::string_view kWhat = "EuiccCancelSessionSigned";
  STATION_ASSIGN_OR_RETURN(Bytes oid, oid_from_text(value.smdp_oid, kWhat));
  Builder builder;
  builder.begin(kSequence)
      .primitive(Tag::context(0), value.transaction_id)
      .primitive(Tag::context(1), oid)
      .integer(Tag::context(2), value.reason)
      .end();
  return finish_checked<EuiccCancelSessionSigned_t>(
      std::move(builder), asn_DEF_EuiccCancelSessionSigned, kSequence, kWhat);
}

Result<EuiccCancelSessionSigned> decode_euicc_cancel_session_signed(ByteView der,
                                                                    const Limits& limits) {
  return decode_as<EuiccCancelSessionSigned_t>(
      asn_DEF_EuiccCancelSessionSigned, der, limits, kSequence, "EuiccCancelSessionSigned",
      [](const EuiccCancelSessionSigned_t& source, const Element&) { return extract(source); });
}

Result<Bytes> encode(const CancelSessionResponse& value) {
  Builder builder;
  builder.begin(kCancelSessionTag);
  if (const auto* ok = std::get_if<CancelSessionResponseOk>(&value)) {
    STATION_ASSIGN_OR_RETURN(
        Bytes signed_part,
        given_or_encoded(ok->euicc_cancel_session_signed_der, ok->euicc_cancel_session_signed,
                         kSequence, "CancelSessionResponse euiccCancelSessionSigned"));
    builder.begin(Tag::context(0, true))
        .raw(signed_part)
        .primitive(kSignatureTag, ok->euicc_cancel_session_signature)
        .end();
  } else {
    builder.integer(Tag::context(1), std::get<CancelSessionResponseError>(value).code);
  }
  builder.end();
  return finish_checked<CancelSessionResponse_t>(std::move(builder), asn_DEF_CancelSessionResponse,
                                                 kCancelSessionTag, "CancelSessionResponse");
}

Result<CancelSessionResponse> decode_cancel_session_response(ByteView der, const Limits& limits) {
  return decode_as<CancelSessionResponse_t>(
      asn_DEF_CancelSessionResponse, der, limits, kCancelSessionTag, "CancelSessionResponse",
      [](const CancelSessionResponse_t& source,
         const Element& top) -> Result<CancelSessionResponse> {
        Cursor outer(top);
        STATION_ASSIGN_OR_RETURN(Element alternative, outer.next("alternative"));
        switch (source.present) {
          case CancelSessionResponse_PR_cancelSessionResponseOk: {
            const CancelSessionResponseOk_t& ok = source.choice.cancelSessionResponseOk;
            Cursor cursor(alternative);
            STATION_ASSIGN_OR_RETURN(Element signed_part,
                                     cursor.required(kSequence, "euiccCancelSessionSigned"));
            STATION_ASSIGN_OR_RETURN(EuiccCancelSessionSigned fields,
                                     extract(ok.euiccCancelSessionSigned));
            return CancelSessionResponse(CancelSessionResponseOk{
                .euicc_cancel_session_signed = std::move(fields),
                .euicc_cancel_session_signed_der = copy(signed_part.encoded()),
                .euicc_cancel_session_signature = octets_of(ok.euiccCancelSessionSignature),
            });
          }
          case CancelSessionResponse_PR_cancelSessionResponseError: {
            STATION_ASSIGN_OR_RETURN(
                std::int64_t code,
                integer_of(source.choice.cancelSessionResponseError, "cancelSessionResponseError"));
            return CancelSessionResponse(CancelSessionResponseError{.code = code});
          }
          default:
            return Status(ErrorCode::kMalformedRequest, "unknown alternative");
        }
      });
}

}  // namespace station::der::rsp
