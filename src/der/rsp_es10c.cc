#include "der/rsp_es10c.h"

#include <string_view>
#include <utility>

#include "DeleteProfileRequest.h"
#include "DeleteProfileResponse.h"
#include "DisableProfileRequest.h"
#include "DisableProfileResponse.h"
#include "DpProprietaryData.h"
#include "EnableProfileRequest.h"
#include "EnableProfileResponse.h"
#include "GetEuiccChallengeRequest.h"
#include "GetEuiccChallengeResponse.h"
#include "GetEuiccDataRequest.h"
#include "GetEuiccDataResponse.h"
#include "ListNotificationRequest.h"
#include "ListNotificationResponse.h"
#include "NotificationSentRequest.h"
#include "NotificationSentResponse.h"
#include "ProfileInfo.h"
#include "ProfileInfoListRequest.h"
#include "ProfileInfoListResponse.h"
#include "RetrieveNotificationsListRequest.h"
#include "RetrieveNotificationsListResponse.h"
#include "der/rsp_internal.h"

namespace station::der::rsp {
namespace {

using namespace internal;

constexpr Tag kListNotificationTag = Tag::context(40, true);           // BF28
constexpr Tag kRetrieveNotificationsListTag = Tag::context(43, true);  // BF2B
constexpr Tag kProfileInfoListTag = Tag::context(45, true);            // BF2D
constexpr Tag kGetEuiccChallengeTag = Tag::context(46, true);          // BF2E
constexpr Tag kNotificationSentTag = Tag::context(48, true);           // BF30
constexpr Tag kEnableProfileTag = Tag::context(49, true);              // BF31
constexpr Tag kDisableProfileTag = Tag::context(50, true);             // BF32
constexpr Tag kDeleteProfileTag = Tag::context(51, true);              // BF33
constexpr Tag kGetEuiccDataTag = Tag::context(62, true);               // BF3E
constexpr Tag kProfileInfoTag = Tag::private_use(3, true);             // E3
constexpr Tag kIsdpAidTag = Tag::application(15);                      // 4F
constexpr Tag kIccidTag = Tag::application(26);                        // 5A
constexpr Tag kTagListTag = Tag::application(28);                      // 5C

// Messages whose only component is an INTEGER [0] (result codes, seqNumber).
template <typename T>
Result<Bytes> encode_integer0(std::int64_t value, asn_TYPE_descriptor_t& type, const Tag& tag,
                              std::string_view what) {
  Builder builder;
  builder.begin(tag).integer(Tag::context(0), value).end();
  return finish_checked<T>(std::move(builder), type, tag, what);
}

template <typename Out, typename T>
Result<Out> decode_integer0(ByteView der, const Limits& limits, asn_TYPE_descriptor_t& type,
                            const Tag& tag, std::string_view what, INTEGER_t T::*member) {
  return decode_as<T>(
      type, der, limits, tag, what, [member](const T& source, const Element&) -> Result<Out> {
        STATION_ASSIGN_OR_RETURN(std::int64_t value, integer_of(source.*member, "[0]"));
        return Out{value};
      });
}

void append(Builder& builder, const ProfileIdentifier& id) {
  builder.primitive(id.kind == ProfileIdentifier::Kind::kIsdpAid ? kIsdpAidTag : kIccidTag,
                    id.value);
}

Result<ProfileIdentifier> identifier_of(const Element& element) {
  if (element.tag() == kIsdpAidTag) {
    return ProfileIdentifier{.kind = ProfileIdentifier::Kind::kIsdpAid,
                             .value = copy(element.value())};
  }
  if (element.tag() == kIccidTag) {
    return ProfileIdentifier{.kind = ProfileIdentifier::Kind::kIccid,
                             .value = copy(element.value())};
  }
  return Status(ErrorCode::kMalformedRequest, "profileIdentifier: neither 4F nor 5A");
}

// EnableProfileRequest and DisableProfileRequest: tag { A0 { 4F | 5A }, 81 refreshFlag }.
template <typename T, typename Request>
Result<Bytes> encode_profile_switch(const Request& value, asn_TYPE_descriptor_t& type,
                                    const Tag& tag, std::string_view what) {
  Builder builder;
  builder.begin(tag).begin(Tag::context(0, true));
  append(builder, value.profile);
  builder.end().boolean(Tag::context(1), value.refresh).end();
  return finish_checked<T>(std::move(builder), type, tag, what);
}

template <typename Request, typename T>
Result<Request> decode_profile_switch(ByteView der, const Limits& limits,
                                      asn_TYPE_descriptor_t& type, const Tag& tag,
                                      std::string_view what) {
  // The fields are read from the TLVs asn1c has validated: the BOOLEAN strictly (DER's TRUE is
  // FF), and one reading serves both messages.
  return decode_as<T>(
      type, der, limits, tag, what, [](const T&, const Element& top) -> Result<Request> {
        Cursor cursor(top);
        STATION_ASSIGN_OR_RETURN(Element choice,
                                 cursor.required(Tag::context(0, true), "profileIdentifier"));
        STATION_ASSIGN_OR_RETURN(Element id, Cursor(choice).next("profileIdentifier"));
        STATION_ASSIGN_OR_RETURN(ProfileIdentifier profile, identifier_of(id));
        STATION_ASSIGN_OR_RETURN(Element flag, cursor.required(Tag::context(1), "refreshFlag"));
        STATION_ASSIGN_OR_RETURN(bool refresh, flag.as_boolean());
        return Request{.profile = std::move(profile), .refresh = refresh};
      });
}

Status append(Builder& builder, const ProfileInfo& value) {
  builder.begin(kProfileInfoTag);
  append_optional(builder, kIccidTag, value.iccid);
  append_optional(builder, kIsdpAidTag, value.isdp_aid);
  append_optional(builder, Tag::context(112), value.profile_state);
  append_optional(builder, Tag::context(16), value.profile_nickname);
  append_optional(builder, Tag::context(17), value.service_provider_name);
  append_optional(builder, Tag::context(18), value.profile_name);
  append_optional(builder, Tag::context(19), value.icon_type);
  append_optional(builder, Tag::context(20), value.icon);
  if (value.profile_class != 2) builder.integer(Tag::context(21), value.profile_class);
  if (value.notification_configuration_info.has_value()) {
    internal::append(builder, Tag::context(22, true), *value.notification_configuration_info);
  }
  if (value.profile_owner.has_value()) {
    internal::append(builder, Tag::context(23, true), *value.profile_owner);
  }
  if (value.dp_oid.has_value()) {
    STATION_ASSIGN_OR_RETURN(Bytes oid, oid_from_text(*value.dp_oid, "ProfileInfo dpOid"));
    builder.begin(Tag::context(24, true)).primitive(Tag::context(0), oid).end();
  }
  if (value.profile_policy_rules.has_value()) {
    append_named_bits(builder, Tag::context(25), *value.profile_policy_rules);
  }
  builder.end();
  return Status::ok();
}

Result<ProfileInfo> extract(const ProfileInfo_t& source) {
  ProfileInfo out{
      .iccid = optional_octets(source.iccid),
      .isdp_aid = optional_octets(source.isdpAid),
      .profile_nickname = optional_text(source.profileNickname),
      .service_provider_name = optional_text(source.serviceProviderName),
      .profile_name = optional_text(source.profileName),
      .icon = optional_octets(source.icon),
  };
  STATION_ASSIGN_OR_RETURN(out.profile_state,
                           optional_integer(source.profileState, "profileState"));
  STATION_ASSIGN_OR_RETURN(out.icon_type, optional_integer(source.iconType, "iconType"));
  STATION_ASSIGN_OR_RETURN(std::optional<std::int64_t> profile_class,
                           optional_integer(source.profileClass, "profileClass"));
  out.profile_class = profile_class.value_or(2);
  if (source.notificationConfigurationInfo != nullptr) {
    STATION_ASSIGN_OR_RETURN(
        out.notification_configuration_info,
        notification_configurations_of(source.notificationConfigurationInfo->list));
  }
  if (source.profileOwner != nullptr) out.profile_owner = internal::extract(*source.profileOwner);
  if (source.dpProprietaryData != nullptr) {
    const OBJECT_IDENTIFIER_t& oid = source.dpProprietaryData->dpOid;
    STATION_ASSIGN_OR_RETURN(out.dp_oid, oid_to_text(ByteView(oid.buf, oid.size), "dpOid"));
  }
  STATION_ASSIGN_OR_RETURN(out.profile_policy_rules,
                           optional_named_bits(source.profilePolicyRules, "profilePolicyRules"));
  return out;
}

// The A0 list or the 81 error code of a [tag] CHOICE answer.
Result<Element> alternative_of(const Element& top) { return Cursor(top).next("alternative"); }

}  // namespace

Result<Bytes> encode(const GetEuiccChallengeRequest&) {
  Builder builder;
  builder.begin(kGetEuiccChallengeTag).end();
  return finish_checked<GetEuiccChallengeRequest_t>(
      std::move(builder), asn_DEF_GetEuiccChallengeRequest, kGetEuiccChallengeTag,
      "GetEuiccChallengeRequest");
}

Result<GetEuiccChallengeRequest> decode_get_euicc_challenge_request(ByteView der,
                                                                    const Limits& limits) {
  return decode_as<GetEuiccChallengeRequest_t>(
      asn_DEF_GetEuiccChallengeRequest, der, limits, kGetEuiccChallengeTag,
      "GetEuiccChallengeRequest", [](const GetEuiccChallengeRequest_t&, const Element&) {
        return Result<GetEuiccChallengeRequest>(GetEuiccChallengeRequest{});
      });
}

Result<Bytes> encode(const GetEuiccChallengeResponse& value) {
  Builder builder;
  builder.begin(kGetEuiccChallengeTag).primitive(Tag::context(0), value.euicc_challenge).end();
  return finish_checked<GetEuiccChallengeResponse_t>(
      std::move(builder), asn_DEF_GetEuiccChallengeResponse, kGetEuiccChallengeTag,
      "GetEuiccChallengeResponse");
}

Result<GetEuiccChallengeResponse> decode_get_euicc_challenge_response(ByteView der,
                                                                      const Limits& limits) {
  return decode_as<GetEuiccChallengeResponse_t>(
      asn_DEF_GetEuiccChallengeResponse, der, limits, kGetEuiccChallengeTag,
      "GetEuiccChallengeResponse", [](const GetEuiccChallengeResponse_t& source, const Element&) {
        return Result<GetEuiccChallengeResponse>(
            GetEuiccChallengeResponse{.euicc_challenge = octets_of(source.euiccChallenge)});
      });
}

Result<Bytes> encode(const GetEuiccDataRequest& value) {
  Builder builder;
  builder.begin(kGetEuiccDataTag).primitive(kTagListTag, ByteView(&value.tag_list, 1)).end();
  return finish_checked<GetEuiccDataRequest_t>(std::move(builder), asn_DEF_GetEuiccDataRequest,
                                               kGetEuiccDataTag, "GetEuiccDataRequest");
}

Result<GetEuiccDataRequest> decode_get_euicc_data_request(ByteView der, const Limits& limits) {
  return decode_as<GetEuiccDataRequest_t>(
      asn_DEF_GetEuiccDataRequest, der, limits, kGetEuiccDataTag, "GetEuiccDataRequest",
      [](const GetEuiccDataRequest_t& source, const Element&) {
        return Result<GetEuiccDataRequest>(
            GetEuiccDataRequest{.tag_list = source.tagList.buf[0]});  // Octet1: checked
      });
}

Result<Bytes> encode(const GetEuiccDataResponse& value) {
  Builder builder;
  builder.begin(kGetEuiccDataTag).primitive(kIccidTag, value.eid).end();
  return finish_checked<GetEuiccDataResponse_t>(std::move(builder), asn_DEF_GetEuiccDataResponse,
                                                kGetEuiccDataTag, "GetEuiccDataResponse");
}

Result<GetEuiccDataResponse> decode_get_euicc_data_response(ByteView der, const Limits& limits) {
  return decode_as<GetEuiccDataResponse_t>(
      asn_DEF_GetEuiccDataResponse, der, limits, kGetEuiccDataTag, "GetEuiccDataResponse",
      [](const GetEuiccDataResponse_t& source, const Element&) {
        return Result<GetEuiccDataResponse>(
            GetEuiccDataResponse{.eid = octets_of(source.eidValue)});
      });
}

Result<Bytes> encode(const ProfileInfoListRequest& value) {
  constexpr std::string_view kWhat = "ProfileInfoListRequest";
  if (value.search_profile.has_value() && value.search_profile_class.has_value()) {
    return invalid(kWhat, "one search criterion at most");
  }
  Builder builder;
  builder.begin(kProfileInfoListTag);
  if (value.search_profile.has_value()) {
    builder.begin(Tag::context(0, true));
    append(builder, *value.search_profile);
    builder.end();
  } else if (value.search_profile_class.has_value()) {
    builder.begin(Tag::context(0, true))
        .integer(Tag::context(21), *value.search_profile_class)
        .end();
  }
  append_optional(builder, kTagListTag, value.tag_list);
  builder.end();
  return finish_checked<ProfileInfoListRequest_t>(
      std::move(builder), asn_DEF_ProfileInfoListRequest, kProfileInfoListTag, kWhat);
}

Result<ProfileInfoListRequest> decode_profile_info_list_request(ByteView der,
                                                                const Limits& limits) {
  return decode_as<ProfileInfoListRequest_t>(
      asn_DEF_ProfileInfoListRequest, der, limits, kProfileInfoListTag, "ProfileInfoListRequest",
      [](const ProfileInfoListRequest_t& source, const Element&) -> Result<ProfileInfoListRequest> {
        ProfileInfoListRequest out{.tag_list = optional_octets(source.tagList)};
        if (source.searchCriteria == nullptr) return out;
        const auto& criteria = *source.searchCriteria;
        switch (criteria.present) {
          case ProfileInfoListRequest__searchCriteria_PR_isdpAid:
            out.search_profile = ProfileIdentifier{.kind = ProfileIdentifier::Kind::kIsdpAid,
                                                   .value = octets_of(criteria.choice.isdpAid)};
            return out;
          case ProfileInfoListRequest__searchCriteria_PR_iccid:
            out.search_profile = ProfileIdentifier{.kind = ProfileIdentifier::Kind::kIccid,
                                                   .value = octets_of(criteria.choice.iccid)};
            return out;
          case ProfileInfoListRequest__searchCriteria_PR_profileClass: {
            STATION_ASSIGN_OR_RETURN(out.search_profile_class,
                                     integer_of(criteria.choice.profileClass, "profileClass"));
            return out;
          }
          default:
            return Status(ErrorCode::kMalformedRequest, "searchCriteria: unknown alternative");
        }
      });
}

Result<Bytes> encode(const ProfileInfoListResponse& value) {
  Builder builder;
  builder.begin(kProfileInfoListTag);
  if (const auto* list = std::get_if<std::vector<ProfileInfo>>(&value)) {
    builder.begin(Tag::context(0, true));
    for (const ProfileInfo& info : *list) STATION_RETURN_IF_ERROR(append(builder, info));
    builder.end();
  } else {
    builder.integer(Tag::context(1), std::get<ProfileInfoListError>(value).code);
  }
  builder.end();
  return finish_checked<ProfileInfoListResponse_t>(std::move(builder),
                                                   asn_DEF_ProfileInfoListResponse,
                                                   kProfileInfoListTag, "ProfileInfoListResponse");
}

Result<ProfileInfoListResponse> decode_profile_info_list_response(ByteView der,
                                                                  const Limits& limits) {
  return decode_as<ProfileInfoListResponse_t>(
      asn_DEF_ProfileInfoListResponse, der, limits, kProfileInfoListTag, "ProfileInfoListResponse",
      [](const ProfileInfoListResponse_t& source,
         const Element&) -> Result<ProfileInfoListResponse> {
        switch (source.present) {
          case ProfileInfoListResponse_PR_profileInfoListOk: {
            const auto& list = source.choice.profileInfoListOk.list;
            std::vector<ProfileInfo> out;
            for (int i = 0; i < list.count; ++i) {
              STATION_ASSIGN_OR_RETURN(ProfileInfo info, extract(*list.array[i]));
              out.push_back(std::move(info));
            }
            return ProfileInfoListResponse(std::move(out));
          }
          case ProfileInfoListResponse_PR_profileInfoListError: {
            STATION_ASSIGN_OR_RETURN(
                std::int64_t code,
                integer_of(source.choice.profileInfoListError, "profileInfoListError"));
            return ProfileInfoListResponse(ProfileInfoListError{.code = code});
          }
          default:
            return Status(ErrorCode::kMalformedRequest, "unknown alternative");
        }
      });
}

Result<Bytes> encode(const EnableProfileRequest& value) {
  return encode_profile_switch<EnableProfileRequest_t>(value, asn_DEF_EnableProfileRequest,
                                                       kEnableProfileTag, "EnableProfileRequest");
}

Result<EnableProfileRequest> decode_enable_profile_request(ByteView der, const Limits& limits) {
  return decode_profile_switch<EnableProfileRequest, EnableProfileRequest_t>(
      der, limits, asn_DEF_EnableProfileRequest, kEnableProfileTag, "EnableProfileRequest");
}

Result<Bytes> encode(const EnableProfileResponse& value) {
  return encode_integer0<EnableProfileResponse_t>(value.result, asn_DEF_EnableProfileResponse,
                                                  kEnableProfileTag, "EnableProfileResponse");
}

Result<EnableProfileResponse> decode_enable_profile_response(ByteView der, const Limits& limits) {
  return decode_integer0<EnableProfileResponse>(der, limits, asn_DEF_EnableProfileResponse,
                                                kEnableProfileTag, "EnableProfileResponse",
                                                &EnableProfileResponse_t::enableResult);
}

Result<Bytes> encode(const DisableProfileRequest& value) {
  return encode_profile_switch<DisableProfileRequest_t>(
      value, asn_DEF_DisableProfileRequest, kDisableProfileTag, "DisableProfileRequest");
}

Result<DisableProfileRequest> decode_disable_profile_request(ByteView der, const Limits& limits) {
  return decode_profile_switch<DisableProfileRequest, DisableProfileRequest_t>(
      der, limits, asn_DEF_DisableProfileRequest, kDisableProfileTag, "DisableProfileRequest");
}

Result<Bytes> encode(const DisableProfileResponse& value) {
  return encode_integer0<DisableProfileResponse_t>(value.result, asn_DEF_DisableProfileResponse,
                                                   kDisableProfileTag, "DisableProfileResponse");
}

Result<DisableProfileResponse> decode_disable_profile_response(ByteView der, const Limits& limits) {
  return decode_integer0<DisableProfileResponse>(der, limits, asn_DEF_DisableProfileResponse,
                                                 kDisableProfileTag, "DisableProfileResponse",
                                                 &DisableProfileResponse_t::disableResult);
}

Result<Bytes> encode(const DeleteProfileRequest& value) {
  Builder builder;
  builder.begin(kDeleteProfileTag);
  append(builder, value.profile);
  builder.end();
  return finish_checked<DeleteProfileRequest_t>(std::move(builder), asn_DEF_DeleteProfileRequest,
                                                kDeleteProfileTag, "DeleteProfileRequest");
}

Result<DeleteProfileRequest> decode_delete_profile_request(ByteView der, const Limits& limits) {
  return decode_as<DeleteProfileRequest_t>(
      asn_DEF_DeleteProfileRequest, der, limits, kDeleteProfileTag, "DeleteProfileRequest",
      [](const DeleteProfileRequest_t&, const Element& top) -> Result<DeleteProfileRequest> {
        STATION_ASSIGN_OR_RETURN(Element id, alternative_of(top));
        STATION_ASSIGN_OR_RETURN(ProfileIdentifier profile, identifier_of(id));
        return DeleteProfileRequest{.profile = std::move(profile)};
      });
}

Result<Bytes> encode(const DeleteProfileResponse& value) {
  return encode_integer0<DeleteProfileResponse_t>(value.result, asn_DEF_DeleteProfileResponse,
                                                  kDeleteProfileTag, "DeleteProfileResponse");
}

Result<DeleteProfileResponse> decode_delete_profile_response(ByteView der, const Limits& limits) {
  return decode_integer0<DeleteProfileResponse>(der, limits, asn_DEF_DeleteProfileResponse,
                                                kDeleteProfileTag, "DeleteProfileResponse",
                                                &DeleteProfileResponse_t::deleteResult);
}

Result<Bytes> encode(const ListNotificationRequest& value) {
  Builder builder;
  builder.begin(kListNotificationTag);
  if (value.profile_management_operation.has_value()) {
    append_named_bits(builder, Tag::context(1), *value.profile_management_operation);
  }
  builder.end();
  return finish_checked<ListNotificationRequest_t>(std::move(builder),
                                                   asn_DEF_ListNotificationRequest,
                                                   kListNotificationTag, "ListNotificationRequest");
}

Result<ListNotificationRequest> decode_list_notification_request(ByteView der,
                                                                 const Limits& limits) {
  return decode_as<ListNotificationRequest_t>(
      asn_DEF_ListNotificationRequest, der, limits, kListNotificationTag, "ListNotificationRequest",
      [](const ListNotificationRequest_t& source,
         const Element&) -> Result<ListNotificationRequest> {
        ListNotificationRequest out;
        STATION_ASSIGN_OR_RETURN(
            out.profile_management_operation,
            optional_named_bits(source.profileManagementOperation, "profileManagementOperation"));
        return out;
      });
}

Result<Bytes> encode(const ListNotificationResponse& value) {
  Builder builder;
  builder.begin(kListNotificationTag);
  if (const auto* list = std::get_if<std::vector<NotificationMetadata>>(&value)) {
    builder.begin(Tag::context(0, true));
    for (const NotificationMetadata& metadata : *list) {
      STATION_ASSIGN_OR_RETURN(Bytes der, encode(metadata));
      builder.raw(der);
    }
    builder.end();
  } else {
    builder.integer(Tag::context(1), std::get<ListNotificationError>(value).code);
  }
  builder.end();
  return finish_checked<ListNotificationResponse_t>(
      std::move(builder), asn_DEF_ListNotificationResponse, kListNotificationTag,
      "ListNotificationResponse");
}

Result<ListNotificationResponse> decode_list_notification_response(ByteView der,
                                                                   const Limits& limits) {
  return decode_as<ListNotificationResponse_t>(
      asn_DEF_ListNotificationResponse, der, limits, kListNotificationTag,
      "ListNotificationResponse",
      [](const ListNotificationResponse_t& source,
         const Element& top) -> Result<ListNotificationResponse> {
        STATION_ASSIGN_OR_RETURN(Element alternative, alternative_of(top));
        switch (source.present) {
          case ListNotificationResponse_PR_notificationMetadataList: {
            std::vector<NotificationMetadata> out;
            for (Element item : alternative.children()) {
              STATION_ASSIGN_OR_RETURN(NotificationMetadata metadata,
                                       decode_notification_metadata(item.encoded()));
              out.push_back(std::move(metadata));
            }
            return ListNotificationResponse(std::move(out));
          }
          case ListNotificationResponse_PR_listNotificationsResultError: {
            STATION_ASSIGN_OR_RETURN(std::int64_t code,
                                     integer_of(source.choice.listNotificationsResultError,
                                                "listNotificationsResultError"));
            return ListNotificationResponse(ListNotificationError{.code = code});
          }
          default:
            return Status(ErrorCode::kMalformedRequest, "unknown alternative");
        }
      });
}

Result<Bytes> encode(const RetrieveNotificationsListRequest& value) {
  constexpr std::string_view kWhat = "RetrieveNotificationsListRequest";
  if (value.seq_number.has_value() && value.profile_management_operation.has_value()) {
    return invalid(kWhat, "one search criterion at most");
  }
  Builder builder;
  builder.begin(kRetrieveNotificationsListTag);
  if (value.seq_number.has_value()) {
    builder.begin(Tag::context(0, true)).integer(Tag::context(0), *value.seq_number).end();
  } else if (value.profile_management_operation.has_value()) {
    builder.begin(Tag::context(0, true));
    append_named_bits(builder, Tag::context(1), *value.profile_management_operation);
    builder.end();
  }
  builder.end();
  return finish_checked<RetrieveNotificationsListRequest_t>(
      std::move(builder), asn_DEF_RetrieveNotificationsListRequest, kRetrieveNotificationsListTag,
      kWhat);
}

Result<RetrieveNotificationsListRequest> decode_retrieve_notifications_list_request(
    ByteView der, const Limits& limits) {
  return decode_as<RetrieveNotificationsListRequest_t>(
      asn_DEF_RetrieveNotificationsListRequest, der, limits, kRetrieveNotificationsListTag,
      "RetrieveNotificationsListRequest",
      [](const RetrieveNotificationsListRequest_t& source,
         const Element&) -> Result<RetrieveNotificationsListRequest> {
        RetrieveNotificationsListRequest out;
        if (source.searchCriteria == nullptr) return out;
        const auto& criteria = *source.searchCriteria;
        switch (criteria.present) {
          case RetrieveNotificationsListRequest__searchCriteria_PR_seqNumber: {
            STATION_ASSIGN_OR_RETURN(out.seq_number,
                                     integer_of(criteria.choice.seqNumber, "seqNumber"));
            return out;
          }
          case RetrieveNotificationsListRequest__searchCriteria_PR_profileManagementOperation: {
            STATION_ASSIGN_OR_RETURN(out.profile_management_operation,
                                     named_bits_of(criteria.choice.profileManagementOperation,
                                                   "profileManagementOperation"));
            return out;
          }
          default:
            return Status(ErrorCode::kMalformedRequest, "searchCriteria: unknown alternative");
        }
      });
}

Result<Bytes> encode(const RetrieveNotificationsListResponse& value) {
  constexpr std::string_view kWhat = "RetrieveNotificationsListResponse";
  Builder builder;
  builder.begin(kRetrieveNotificationsListTag);
  if (const auto* list = std::get_if<std::vector<Bytes>>(&value)) {
    builder.begin(Tag::context(0, true));
    for (const Bytes& notification : *list) {
      auto checked = decode_pending_notification(notification);
      if (!checked.is_ok()) return invalid(kWhat, checked.status().message());
      builder.raw(notification);
    }
    builder.end();
  } else {
    builder.integer(Tag::context(1), std::get<RetrieveNotificationsListError>(value).code);
  }
  builder.end();
  return finish_checked<RetrieveNotificationsListResponse_t>(
      std::move(builder), asn_DEF_RetrieveNotificationsListResponse, kRetrieveNotificationsListTag,
      kWhat);
}

Result<RetrieveNotificationsListResponse> decode_retrieve_notifications_list_response(
    ByteView der, const Limits& limits) {
  return decode_as<RetrieveNotificationsListResponse_t>(
      asn_DEF_RetrieveNotificationsListResponse, der, limits, kRetrieveNotificationsListTag,
      "RetrieveNotificationsListResponse",
      [](const RetrieveNotificationsListResponse_t& source,
         const Element& top) -> Result<RetrieveNotificationsListResponse> {
        STATION_ASSIGN_OR_RETURN(Element alternative, alternative_of(top));
        switch (source.present) {
          case RetrieveNotificationsListResponse_PR_notificationList: {
            std::vector<Bytes> out;
            for (Element item : alternative.children()) {
              STATION_RETURN_IF_ERROR(decode_pending_notification(item.encoded()).status());
              out.push_back(copy(item.encoded()));
            }
            return RetrieveNotificationsListResponse(std::move(out));
          }
          case RetrieveNotificationsListResponse_PR_notificationsListResultError: {
            STATION_ASSIGN_OR_RETURN(std::int64_t code,
                                     integer_of(source.choice.notificationsListResultError,
                                                "notificationsListResultError"));
            return RetrieveNotificationsListResponse(RetrieveNotificationsListError{.code = code});
          }
          default:
            return Status(ErrorCode::kMalformedRequest, "unknown alternative");
        }
      });
}

Result<Bytes> encode(const NotificationSentRequest& value) {
  return encode_integer0<NotificationSentRequest_t>(
      value.seq_number, asn_DEF_NotificationSentRequest, kNotificationSentTag,
      "NotificationSentRequest");
}

Result<NotificationSentRequest> decode_notification_sent_request(ByteView der,
                                                                 const Limits& limits) {
  return decode_integer0<NotificationSentRequest>(der, limits, asn_DEF_NotificationSentRequest,
                                                  kNotificationSentTag, "NotificationSentRequest",
                                                  &NotificationSentRequest_t::seqNumber);
}

Result<Bytes> encode(const NotificationSentResponse& value) {
  return encode_integer0<NotificationSentResponse_t>(
      value.delete_notification_status, asn_DEF_NotificationSentResponse, kNotificationSentTag,
      "NotificationSentResponse");
}

Result<NotificationSentResponse> decode_notification_sent_response(ByteView der,
                                                                   const Limits& limits) {
  return decode_integer0<NotificationSentResponse>(
      der, limits, asn_DEF_NotificationSentResponse, kNotificationSentTag,
      "NotificationSentResponse", &NotificationSentResponse_t::deleteNotificationStatus);
}

}  // namespace station::der::rsp
