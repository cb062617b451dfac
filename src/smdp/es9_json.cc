#include "smdp/es9_json.h"

#include <fmt/format.h>

#include "api/json_body.h"
#include "common/limits.h"

namespace station::smdp {
namespace {

constexpr std::size_t kChallengeBytes = 16;
constexpr std::size_t kTransactionIdBytesMax = 16;
constexpr std::size_t kIdentifierBytesMax = 64;  // ICCID, EID, Matching ID, profile type

Result<api::JsonBody> object(std::optional<std::string_view> content_type,
                             std::string_view body) {
  if (body.size() > kEs9BodyBytesMax) {
    return Status(ErrorCode::kPayloadTooLarge,
                  fmt::format("the body is larger than {} bytes", kEs9BodyBytesMax));
  }
  return api::JsonBody::parse(content_type, body);
}

Result<Bytes> base64_member(const api::JsonBody& body, std::string_view name) {
  STATION_ASSIGN_OR_RETURN(auto text, body.string(name, kEs9FieldBytesMax));
  auto bytes = secrets::base64_decode(text);
  if (!bytes || bytes->empty()) {
    return Status(ErrorCode::kValidationFailed, fmt::format("{} is not base64", name));
  }
  return std::move(*bytes);
}

Result<std::string> transaction_id(const api::JsonBody& body) {
  STATION_ASSIGN_OR_RETURN(auto id, body.string("transactionId", 2 * kTransactionIdBytesMax));
  const bool hex = id.find_first_not_of("0123456789ABCDEFabcdef") == std::string::npos;
  if (id.empty() || id.size() % 2 != 0 || !hex) {
    return Status(ErrorCode::kValidationFailed, "transactionId is not 1..16 bytes of hex");
  }
  for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return id;
}

}  // namespace

std::string b64(const Bytes& bytes) { return secrets::base64_encode(bytes); }

Result<InitiateAuthenticationRequest> parse_initiate_authentication(
    std::optional<std::string_view> content_type, std::string_view body) {
  STATION_ASSIGN_OR_RETURN(auto json, object(content_type, body));
  STATION_RETURN_IF_ERROR(json.only({"euiccChallenge", "euiccInfo1", "smdpAddress"}));
  InitiateAuthenticationRequest request;
  STATION_ASSIGN_OR_RETURN(request.euicc_challenge, base64_member(json, "euiccChallenge"));
  if (request.euicc_challenge.size() != kChallengeBytes) {
    return Status(ErrorCode::kValidationFailed, "euiccChallenge is not 16 bytes");
  }
  STATION_ASSIGN_OR_RETURN(request.euicc_info1, base64_member(json, "euiccInfo1"));
  STATION_ASSIGN_OR_RETURN(request.smdp_address, json.string("smdpAddress", 255));
  return request;
}

Result<TransactionRequest> parse_transaction_request(std::optional<std::string_view> content_type,
                                                     std::string_view body,
                                                     std::string_view payload_member) {
  STATION_ASSIGN_OR_RETURN(auto json, object(content_type, body));
  STATION_RETURN_IF_ERROR(json.only({"transactionId", payload_member}));
  TransactionRequest request;
  STATION_ASSIGN_OR_RETURN(request.transaction_id, transaction_id(json));
  STATION_ASSIGN_OR_RETURN(request.payload, base64_member(json, payload_member));
  return request;
}

Result<HandleNotificationRequest> parse_handle_notification(
    std::optional<std::string_view> content_type, std::string_view body) {
  STATION_ASSIGN_OR_RETURN(auto json, object(content_type, body));
  STATION_RETURN_IF_ERROR(json.only({"pendingNotification"}));
  HandleNotificationRequest request;
  STATION_ASSIGN_OR_RETURN(request.pending_notification,
                           base64_member(json, "pendingNotification"));
  return request;
}

Result<DownloadOrderRequest> parse_download_order(std::optional<std::string_view> content_type,
                                                  std::string_view body) {
  STATION_ASSIGN_OR_RETURN(auto json, object(content_type, body));
  STATION_RETURN_IF_ERROR(json.only({"header", "eid", "iccid", "profileType"}));
  DownloadOrderRequest request;
  STATION_ASSIGN_OR_RETURN(request.eid, json.optional_string("eid", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(request.iccid, json.optional_string("iccid", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(request.profile_type,
                           json.optional_string("profileType", limits::kProfileTypeBytesMax));
  return request;
}

Result<ConfirmOrderRequest> parse_confirm_order(std::optional<std::string_view> content_type,
                                                std::string_view body) {
  STATION_ASSIGN_OR_RETURN(auto json, object(content_type, body));
  STATION_RETURN_IF_ERROR(json.only({"header", "iccid", "eid", "matchingId", "confirmationCode",
                                     "smdsAddress", "releaseFlag"}));
  ConfirmOrderRequest request;
  STATION_ASSIGN_OR_RETURN(request.iccid, json.string("iccid", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(request.eid, json.optional_string("eid", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(request.matching_id,
                           json.optional_string("matchingId", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(request.confirmation_code_hash,
                           json.optional_string("confirmationCode", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(auto release, json.optional_string("releaseFlag", 5));
  if (release && *release != "true" && *release != "false") {
    return Status(ErrorCode::kValidationFailed, "releaseFlag is \"true\" or \"false\"");
  }
  request.release = !release || *release == "true";
  return request;
}

Result<CancelOrderRequest> parse_cancel_order(std::optional<std::string_view> content_type,
                                              std::string_view body) {
  STATION_ASSIGN_OR_RETURN(auto json, object(content_type, body));
  STATION_RETURN_IF_ERROR(
      json.only({"header", "iccid", "eid", "matchingId", "finalProfileStatusIndicator"}));
  CancelOrderRequest request;
  STATION_ASSIGN_OR_RETURN(request.iccid, json.string("iccid", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(request.matching_id,
                           json.optional_string("matchingId", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(auto final_status,
                           json.string("finalProfileStatusIndicator", kIdentifierBytesMax));
  if (final_status == "Available") {
    request.final_status = FinalProfileStatus::kAvailable;
  } else if (final_status == "Unavailable") {
    request.final_status = FinalProfileStatus::kUnavailable;
  } else {
    return Status(ErrorCode::kValidationFailed,
                  "finalProfileStatusIndicator is \"Available\" or \"Unavailable\"");
  }
  return request;
}

Result<std::string> parse_release_profile(std::optional<std::string_view> content_type,
                                          std::string_view body) {
  STATION_ASSIGN_OR_RETURN(auto json, object(content_type, body));
  STATION_RETURN_IF_ERROR(json.only({"header", "iccid"}));
  return json.string("iccid", kIdentifierBytesMax);
}

std::string success_body(nlohmann::json fields) {
  fields["header"] = {{"functionExecutionStatus", {{"status", "Executed-Success"}}}};
  return fields.dump();
}

std::string failure_body(const Es9Failure& failure) {
  nlohmann::json status_code_data = {{"subjectCode", failure.subject_code},
                                     {"reasonCode", failure.reason_code},
                                     {"message", failure.message}};
  nlohmann::json body = {
      {"header",
       {{"functionExecutionStatus", {{"status", "Failed"}, {"statusCodeData", status_code_data}}}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace station::smdp
