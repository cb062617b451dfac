#include "der/rsp_download.h"

#include <fmt/format.h>

#include <string_view>
#include <utility>

#include "ConfigureISDPRequest.h"
#include "EUICCSigned2.h"
#include "InitialiseSecureChannelRequest.h"
#include "PrepareDownloadRequest.h"
#include "PrepareDownloadResponse.h"
#include "ReplaceSessionKeysRequest.h"
#include "SmdpSigned2.h"
#include "StoreMetadataRequest.h"
#include "der/rsp_internal.h"

namespace station::der::rsp {

namespace internal {

void append(Builder& builder, const Tag& tag, const OperatorId& value) {
  builder.begin(tag).primitive(Tag::context(0), value.mcc_mnc);
  append_optional(builder, Tag::context(1), value.gid1);
  append_optional(builder, Tag::context(2), value.gid2);
  builder.end();
}

OperatorId extract(const OperatorID_t& source) {
  return OperatorId{.mcc_mnc = octets_of(source.mccMnc),
                    .gid1 = optional_octets(source.gid1),
                    .gid2 = optional_octets(source.gid2)};
}

void append(Builder& builder, const Tag& tag, const std::vector<NotificationConfiguration>& items) {
  builder.begin(tag);
  for (const NotificationConfiguration& item : items) {
    builder.begin(kSequence);
    append_named_bits(builder, Tag::context(0), item.profile_management_operation);
    builder.primitive(Tag::context(1), item.notification_address).end();
  }
  builder.end();
}

}  // namespace internal

namespace {

using namespace internal;

constexpr Tag kPrepareDownloadTag = Tag::context(33, true);            // BF21
constexpr Tag kStoreMetadataRequestTag = Tag::context(37, true);       // BF25
constexpr Tag kInitialiseSecureChannelTag = Tag::context(35, true);    // BF23
constexpr Tag kConfigureIsdpRequestTag = Tag::context(36, true);       // BF24
constexpr Tag kReplaceSessionKeysRequestTag = Tag::context(38, true);  // BF26
constexpr Tag kBoundProfilePackageTag = Tag::context(54, true);        // BF36
constexpr Tag kSignatureTag = Tag::application(55);                    // 5F37
constexpr Tag kOtpkTag = Tag::application(73);                         // 5F49
constexpr Tag kIccidTag = Tag::application(26);                        // 5A

// The SmdpSigned2 fields; the BOOLEAN is read from the TLV because DER allows only FF for TRUE
// and asn1c's BER decoder takes any non-zero byte.
Result<SmdpSigned2> extract(const SmdpSigned2_t& source, const Element& tlv) {
  Cursor cursor(tlv);
  STATION_RETURN_IF_ERROR(cursor.required(Tag::context(0), "transactionId").status());
  STATION_ASSIGN_OR_RETURN(Element flag, cursor.required(kBoolean, "ccRequiredFlag"));
  STATION_ASSIGN_OR_RETURN(bool cc_required, flag.as_boolean());
  return SmdpSigned2{.transaction_id = octets_of(source.transactionId),
                     .cc_required = cc_required,
                     .bpp_euicc_otpk = optional_octets(source.bppEuiccOtpk)};
}

EuiccSigned2 extract(const EUICCSigned2_t& source) {
  return EuiccSigned2{.transaction_id = octets_of(source.transactionId),
                      .euicc_otpk = octets_of(source.euiccOtpk),
                      .hash_cc = optional_octets(source.hashCc)};
}

Result<StoreMetadataRequest> extract(const StoreMetadataRequest_t& source) {
  StoreMetadataRequest out{
      .iccid = octets_of(source.iccid),
      .service_provider_name = text_of(source.serviceProviderName),
      .profile_name = text_of(source.profileName),
      .icon = optional_octets(source.icon),
  };
  STATION_ASSIGN_OR_RETURN(out.icon_type, optional_integer(source.iconType, "iconType"));
  STATION_ASSIGN_OR_RETURN(out.profile_class,
                           optional_integer(source.profileClass, "profileClass"));
  if (source.notificationConfigurationInfo != nullptr) {
    STATION_ASSIGN_OR_RETURN(
        out.notification_configuration_info,
        notification_configurations_of(source.notificationConfigurationInfo->list));
  }
  if (source.profileOwner != nullptr) out.profile_owner = internal::extract(*source.profileOwner);
  STATION_ASSIGN_OR_RETURN(out.profile_policy_rules,
                           optional_named_bits(source.profilePolicyRules, "profilePolicyRules"));
  return out;
}

std::vector<Bytes> children_of(const Element& parent) {
  std::vector<Bytes> out;
  for (Element child : parent.children()) out.push_back(copy(child.encoded()));
  return out;
}

// A0/A1/A2/A3 of a BPP: every child must be a primitive `item` TLV (DER forbids the constructed
// form of an OCTET STRING).
Result<std::vector<Bytes>> segments_of(const Element& parent, const Tag& item,
                                       std::string_view what) {
  Cursor cursor(parent);
  while (!cursor.at_end()) STATION_RETURN_IF_ERROR(cursor.required(item, what).status());
  return children_of(parent);
}

void append_segments(Builder& builder, const Tag& tag, const std::vector<Bytes>& segments) {
  builder.begin(tag);
  for (const Bytes& segment : segments) builder.raw(segment);
  builder.end();
}

Status check_segments(const std::vector<Bytes>& segments, const Tag& item, std::string_view what) {
  for (const Bytes& segment : segments) STATION_RETURN_IF_ERROR(check_part(segment, item, what));
  return Status::ok();
}

}  // namespace

Result<Bytes> encode(const SmdpSigned2& value) {
  Builder builder;
  builder.begin(kSequence)
      .primitive(Tag::context(0), value.transaction_id)
      .boolean(kBoolean, value.cc_required);
  append_optional(builder, kOtpkTag, value.bpp_euicc_otpk);
  builder.end();
  return finish_checked<SmdpSigned2_t>(std::move(builder), asn_DEF_SmdpSigned2, kSequence,
                                       "SmdpSigned2");
}

Result<SmdpSigned2> decode_smdp_signed2(ByteView der, const Limits& limits) {
  return decode_as<SmdpSigned2_t>(
      asn_DEF_SmdpSigned2, der, limits, kSequence, "SmdpSigned2",
      [](const SmdpSigned2_t& source, const Element& top) { return extract(source, top); });
}

Result<Bytes> encode(const PrepareDownloadRequest& value) {
  constexpr std::string_view kWhat = "PrepareDownloadRequest";
  STATION_ASSIGN_OR_RETURN(Bytes signed2,
                           given_or_encoded(value.smdp_signed2_der, value.smdp_signed2, kSequence,
                                            "PrepareDownloadRequest smdpSigned2"));
  STATION_RETURN_IF_ERROR(
      check_part(value.smdp_certificate, kSequence, "PrepareDownloadRequest smdpCertificate"));
  Builder builder;
  builder.begin(kPrepareDownloadTag).raw(signed2).primitive(kSignatureTag, value.smdp_signature2);
  if (value.hash_cc.has_value()) builder.octets(*value.hash_cc);
  builder.raw(value.smdp_certificate).end();
  return finish_checked<PrepareDownloadRequest_t>(
      std::move(builder), asn_DEF_PrepareDownloadRequest, kPrepareDownloadTag, kWhat);
}

Result<PrepareDownloadRequest> decode_prepare_download_request(ByteView der, const Limits& limits) {
  return decode_as<PrepareDownloadRequest_t>(
      asn_DEF_PrepareDownloadRequest, der, limits, kPrepareDownloadTag, "PrepareDownloadRequest",
      [](const PrepareDownloadRequest_t& source,
         const Element& top) -> Result<PrepareDownloadRequest> {
        Cursor cursor(top);
        STATION_ASSIGN_OR_RETURN(Element signed2, cursor.required(kSequence, "smdpSigned2"));
        STATION_RETURN_IF_ERROR(cursor.required(kSignatureTag, "smdpSignature2").status());
        cursor.optional(kOctetString);
        STATION_ASSIGN_OR_RETURN(Element certificate,
                                 cursor.required(kSequence, "smdpCertificate"));
        STATION_ASSIGN_OR_RETURN(SmdpSigned2 fields, extract(source.smdpSigned2, signed2));
        return PrepareDownloadRequest{
            .smdp_signed2 = std::move(fields),
            .smdp_signed2_der = copy(signed2.encoded()),
            .smdp_signature2 = octets_of(source.smdpSignature2),
            .hash_cc = optional_octets(source.hashCc),
            .smdp_certificate = copy(certificate.encoded()),
        };
      });
}

Result<Bytes> encode(const EuiccSigned2& value) {
  Builder builder;
  builder.begin(kSequence)
      .primitive(Tag::context(0), value.transaction_id)
      .primitive(kOtpkTag, value.euicc_otpk);
  if (value.hash_cc.has_value()) builder.octets(*value.hash_cc);
  builder.end();
  return finish_checked<EUICCSigned2_t>(std::move(builder), asn_DEF_EUICCSigned2, kSequence,
                                        "EUICCSigned2");
}

Result<EuiccSigned2> decode_euicc_signed2(ByteView der, const Limits& limits) {
  return decode_as<EUICCSigned2_t>(asn_DEF_EUICCSigned2, der, limits, kSequence, "EUICCSigned2",
                                   [](const EUICCSigned2_t& source, const Element&) {
                                     return Result<EuiccSigned2>(extract(source));
                                   });
}

Result<Bytes> encode(const PrepareDownloadResponse& value) {
  constexpr std::string_view kWhat = "PrepareDownloadResponse";
  Builder builder;
  builder.begin(kPrepareDownloadTag);
  if (const auto* ok = std::get_if<PrepareDownloadResponseOk>(&value)) {
    STATION_ASSIGN_OR_RETURN(Bytes signed2,
                             given_or_encoded(ok->euicc_signed2_der, ok->euicc_signed2, kSequence,
                                              "PrepareDownloadResponse euiccSigned2"));
    builder.begin(Tag::context(0, true))
        .raw(signed2)
        .primitive(kSignatureTag, ok->euicc_signature2)
        .end();
  } else {
    const auto& error = std::get<PrepareDownloadResponseError>(value);
    builder.begin(Tag::context(1, true))
        .primitive(Tag::context(0), error.transaction_id)
        .integer(error.code)
        .end();
  }
  builder.end();
  return finish_checked<PrepareDownloadResponse_t>(
      std::move(builder), asn_DEF_PrepareDownloadResponse, kPrepareDownloadTag, kWhat);
}

Result<PrepareDownloadResponse> decode_prepare_download_response(ByteView der,
                                                                 const Limits& limits) {
  return decode_as<PrepareDownloadResponse_t>(
      asn_DEF_PrepareDownloadResponse, der, limits, kPrepareDownloadTag, "PrepareDownloadResponse",
      [](const PrepareDownloadResponse_t& source,
         const Element& top) -> Result<PrepareDownloadResponse> {
        Cursor outer(top);
        STATION_ASSIGN_OR_RETURN(Element alternative, outer.next("alternative"));
        switch (source.present) {
          case PrepareDownloadResponse_PR_downloadResponseOk: {
            const PrepareDownloadResponseOk_t& ok = source.choice.downloadResponseOk;
            Cursor cursor(alternative);
            STATION_ASSIGN_OR_RETURN(Element signed2, cursor.required(kSequence, "euiccSigned2"));
            return PrepareDownloadResponse(PrepareDownloadResponseOk{
                .euicc_signed2 = extract(ok.euiccSigned2),
                .euicc_signed2_der = copy(signed2.encoded()),
                .euicc_signature2 = octets_of(ok.euiccSignature2),
            });
          }
          case PrepareDownloadResponse_PR_downloadResponseError: {
            const PrepareDownloadResponseError_t& error = source.choice.downloadResponseError;
            STATION_ASSIGN_OR_RETURN(std::int64_t code,
                                     integer_of(error.downloadErrorCode, "downloadErrorCode"));
            return PrepareDownloadResponse(PrepareDownloadResponseError{
                .transaction_id = octets_of(error.transactionId), .code = code});
          }
          default:
            return Status(ErrorCode::kMalformedRequest, "unknown alternative");
        }
      });
}

Result<Bytes> encode(const StoreMetadataRequest& value) {
  Builder builder;
  builder.begin(kStoreMetadataRequestTag)
      .primitive(kIccidTag, value.iccid)
      .primitive(Tag::context(17), value.service_provider_name)
      .primitive(Tag::context(18), value.profile_name);
  append_optional(builder, Tag::context(19), value.icon_type);
  append_optional(builder, Tag::context(20), value.icon);
  append_optional(builder, Tag::context(21), value.profile_class);
  if (value.notification_configuration_info.has_value()) {
    append(builder, Tag::context(22, true), *value.notification_configuration_info);
  }
  if (value.profile_owner.has_value())
    append(builder, Tag::context(23, true), *value.profile_owner);
  if (value.profile_policy_rules.has_value()) {
    append_named_bits(builder, Tag::context(25), *value.profile_policy_rules);
  }
  builder.end();
  return finish_checked<StoreMetadataRequest_t>(std::move(builder), asn_DEF_StoreMetadataRequest,
                                                kStoreMetadataRequestTag, "StoreMetadataRequest");
}

Result<StoreMetadataRequest> decode_store_metadata_request(ByteView der, const Limits& limits) {
  return decode_as<StoreMetadataRequest_t>(
      asn_DEF_StoreMetadataRequest, der, limits, kStoreMetadataRequestTag, "StoreMetadataRequest",
      [](const StoreMetadataRequest_t& source, const Element&) { return extract(source); });
}

Result<Bytes> encode(const InitialiseSecureChannelRequest& value) {
  const ControlRefTemplate& crt = value.control_ref_template;
  Builder builder;
  builder.begin(kInitialiseSecureChannelTag)
      .integer(Tag::context(2), value.remote_op_id)
      .primitive(Tag::context(0), value.transaction_id)
      .begin(Tag::context(6, true))
      .primitive(Tag::context(0), ByteView(&crt.key_type, 1))
      .primitive(Tag::context(1), ByteView(&crt.key_len, 1))
      .primitive(Tag::context(4), crt.host_id)
      .end()
      .primitive(kOtpkTag, value.smdp_otpk)
      .primitive(kSignatureTag, value.smdp_sign)
      .end();
  return finish_checked<InitialiseSecureChannelRequest_t>(
      std::move(builder), asn_DEF_InitialiseSecureChannelRequest, kInitialiseSecureChannelTag,
      "InitialiseSecureChannelRequest");
}

Result<InitialiseSecureChannelRequest> decode_initialise_secure_channel_request(
    ByteView der, const Limits& limits) {
  return decode_as<InitialiseSecureChannelRequest_t>(
      asn_DEF_InitialiseSecureChannelRequest, der, limits, kInitialiseSecureChannelTag,
      "InitialiseSecureChannelRequest",
      [](const InitialiseSecureChannelRequest_t& source,
         const Element& top) -> Result<InitialiseSecureChannelRequest> {
        const ControlRefTemplate_t& crt = source.controlRefTemplate;
        STATION_ASSIGN_OR_RETURN(std::int64_t remote_op_id,
                                 integer_of(source.remoteOpId, "remoteOpId"));
        STATION_ASSIGN_OR_RETURN(Bytes signed_part,
                                 components_before(top, kSignatureTag, "smdpSign"));
        return InitialiseSecureChannelRequest{
            .remote_op_id = remote_op_id,
            .transaction_id = octets_of(source.transactionId),
            .control_ref_template = {.key_type = crt.keyType.buf[0],  // Octet1: checked
                                     .key_len = crt.keyLen.buf[0],
                                     .host_id = octets_of(crt.hostId)},
            .smdp_otpk = octets_of(source.smdpOtpk),
            .smdp_sign = octets_of(source.smdpSign),
            .signed_part = std::move(signed_part),
        };
      });
}

Result<Bytes> encode(const ConfigureIsdpRequest& value) {
  Builder builder;
  builder.begin(kConfigureIsdpRequestTag);
  if (value.dp_oid.has_value()) {
    STATION_ASSIGN_OR_RETURN(Bytes oid, oid_from_text(*value.dp_oid, "ConfigureISDPRequest dpOid"));
    builder.begin(Tag::context(24, true)).primitive(Tag::context(0), oid).end();
  }
  builder.end();
  return finish_checked<ConfigureISDPRequest_t>(std::move(builder), asn_DEF_ConfigureISDPRequest,
                                                kConfigureIsdpRequestTag, "ConfigureISDPRequest");
}

Result<ConfigureIsdpRequest> decode_configure_isdp_request(ByteView der, const Limits& limits) {
  return decode_as<ConfigureISDPRequest_t>(
      asn_DEF_ConfigureISDPRequest, der, limits, kConfigureIsdpRequestTag, "ConfigureISDPRequest",
      [](const ConfigureISDPRequest_t& source, const Element&) -> Result<ConfigureIsdpRequest> {
        ConfigureIsdpRequest out;
        if (source.dpProprietaryData != nullptr) {
          const OBJECT_IDENTIFIER_t& oid = source.dpProprietaryData->dpOid;
          STATION_ASSIGN_OR_RETURN(out.dp_oid, oid_to_text(ByteView(oid.buf, oid.size), "dpOid"));
        }
        return out;
      });
}

Result<Bytes> encode(const ReplaceSessionKeysRequest& value) {
  Builder builder;
  builder.begin(kReplaceSessionKeysRequestTag)
      .primitive(Tag::context(0), value.initial_mac_chaining_value)
      .primitive(Tag::context(1), value.ppk_enc)
      .primitive(Tag::context(2), value.ppk_cmac)
      .end();
  return finish_checked<ReplaceSessionKeysRequest_t>(
      std::move(builder), asn_DEF_ReplaceSessionKeysRequest, kReplaceSessionKeysRequestTag,
      "ReplaceSessionKeysRequest");
}

Result<ReplaceSessionKeysRequest> decode_replace_session_keys_request(ByteView der,
                                                                      const Limits& limits) {
  return decode_as<ReplaceSessionKeysRequest_t>(
      asn_DEF_ReplaceSessionKeysRequest, der, limits, kReplaceSessionKeysRequestTag,
      "ReplaceSessionKeysRequest", [](const ReplaceSessionKeysRequest_t& source, const Element&) {
        return Result<ReplaceSessionKeysRequest>(ReplaceSessionKeysRequest{
            .initial_mac_chaining_value = octets_of(source.initialMacChainingValue),
            .ppk_enc = octets_of(source.ppkEnc),
            .ppk_cmac = octets_of(source.ppkCmac),
        });
      });
}

// BoundProfilePackage is written and read with tlv.h alone, not asn1c: asn1c 0.9.28 takes the
// component tag of `SEQUENCE OF [7] OCTET STRING` as EXPLICIT even in this AUTOMATIC TAGS module
// (its generated member has "+1, EXPLICIT tag"), so it expects A0 { A7 { 04 .. } } and refuses
// every real package. The InitialiseSecureChannelRequest inside still goes through asn1c.
Result<Bytes> encode(const BoundProfilePackage& value) {
  STATION_RETURN_IF_ERROR(
      check_segments(value.first_sequence_of87, Tag::context(7), "BoundProfilePackage '87'"));
  STATION_RETURN_IF_ERROR(
      check_segments(value.sequence_of88, Tag::context(8), "BoundProfilePackage '88'"));
  if (value.second_sequence_of87.has_value()) {
    STATION_RETURN_IF_ERROR(
        check_segments(*value.second_sequence_of87, Tag::context(7), "BoundProfilePackage '87'"));
  }
  STATION_RETURN_IF_ERROR(
      check_segments(value.sequence_of86, Tag::context(6), "BoundProfilePackage '86'"));
  Builder builder;
  builder.begin(kBoundProfilePackageTag).raw(value.initialise_secure_channel_request);
  append_segments(builder, Tag::context(0, true), value.first_sequence_of87);
  append_segments(builder, Tag::context(1, true), value.sequence_of88);
  if (value.second_sequence_of87.has_value()) {
    append_segments(builder, Tag::context(2, true), *value.second_sequence_of87);
  }
  append_segments(builder, Tag::context(3, true), value.sequence_of86);
  builder.end();
  STATION_ASSIGN_OR_RETURN(Bytes der, std::move(builder).finish());
  // The whole checked as a reader sees it, the InitialiseSecureChannelRequest part included.
  auto check = decode_bound_profile_package(der, kEncodeCheckLimits);
  if (!check.is_ok()) return Status(ErrorCode::kValidationFailed, check.status().message());
  return der;
}

Result<BoundProfilePackage> decode_bound_profile_package(ByteView der, const Limits& limits) {
  constexpr std::string_view kWhat = "BoundProfilePackage";
  auto top = parse(der, limits);
  if (!top.is_ok()) return malformed(kWhat, top.status().message());
  if (!(top->tag() == kBoundProfilePackageTag)) {
    return malformed(kWhat, fmt::format("tag {} where {} belongs", top->tag().to_string(),
                                        kBoundProfilePackageTag.to_string()));
  }
  auto parts = [&]() -> Result<BoundProfilePackage> {
    Cursor cursor(*top);
    STATION_ASSIGN_OR_RETURN(Element isc, cursor.required(kInitialiseSecureChannelTag,
                                                          "initialiseSecureChannelRequest"));
    STATION_RETURN_IF_ERROR(decode_initialise_secure_channel_request(isc.encoded()).status());
    STATION_ASSIGN_OR_RETURN(Element first87,
                             cursor.required(Tag::context(0, true), "firstSequenceOf87"));
    STATION_ASSIGN_OR_RETURN(Element of88, cursor.required(Tag::context(1, true), "sequenceOf88"));
    const std::optional<Element> second87 = cursor.optional(Tag::context(2, true));
    STATION_ASSIGN_OR_RETURN(Element of86, cursor.required(Tag::context(3, true), "sequenceOf86"));
    cursor.skip_extensions();  // EXTENSIBILITY IMPLIED
    BoundProfilePackage out{.initialise_secure_channel_request = copy(isc.encoded())};
    STATION_ASSIGN_OR_RETURN(out.first_sequence_of87,
                             segments_of(first87, Tag::context(7), "'87' segment"));
    STATION_ASSIGN_OR_RETURN(out.sequence_of88, segments_of(of88, Tag::context(8), "'88' segment"));
    if (second87.has_value()) {
      STATION_ASSIGN_OR_RETURN(out.second_sequence_of87,
                               segments_of(*second87, Tag::context(7), "'87' segment"));
    }
    STATION_ASSIGN_OR_RETURN(out.sequence_of86, segments_of(of86, Tag::context(6), "'86' segment"));
    return out;
  }();
  if (!parts.is_ok()) return malformed(kWhat, parts.status().message());
  return parts;
}

}  // namespace station::der::rsp
