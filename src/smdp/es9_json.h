// smdp/es9_json: the JSON binding of ES9+ and ES2+ (GSMA SGP.22 section 6.5) without the
// transport: request bodies in, typed requests out; results and failures in, response bodies
// out. ASN.1 values travel as base64 of their DER; transactionId as hex.
//
// Requests: application/json objects of at most kEs9BodyBytesMax bytes, no unknown or
// duplicate members (api::JsonBody), every base64 field within its limit; else kMalformedRequest
// or kValidationFailed naming the member (the binding answers 400 problem+json).
// Responses: {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}, ...} or,
// for an SGP.22 failure, status "Failed" with statusCodeData {subjectCode, reasonCode, message}.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "smdp/smdp.h"

namespace station::smdp {

inline constexpr std::size_t kEs9BodyBytesMax = 64 * 1024;
inline constexpr std::size_t kEs9FieldBytesMax = 48 * 1024;  // base64 text of one DER value
inline constexpr std::string_view kAdminProtocolPrefix = "gsma/rsp/v2.";
inline constexpr std::string_view kAdminProtocol = "gsma/rsp/v2.2.0";

struct InitiateAuthenticationRequest {
  Bytes euicc_challenge;
  Bytes euicc_info1;
  std::string smdp_address;
};

// authenticateClient (authenticateServerResponse), getBoundProfilePackage
// (prepareDownloadResponse), cancelSession (cancelSessionResponse): a transaction id and one
// DER value.
struct TransactionRequest {
  std::string transaction_id;  // upper-case hex, 1..16 bytes
  Bytes payload;
};

struct HandleNotificationRequest {
  Bytes pending_notification;
};

Result<InitiateAuthenticationRequest> parse_initiate_authentication(
    std::optional<std::string_view> content_type, std::string_view body);
Result<TransactionRequest> parse_transaction_request(std::optional<std::string_view> content_type,
                                                     std::string_view body,
                                                     std::string_view payload_member);
Result<HandleNotificationRequest> parse_handle_notification(
    std::optional<std::string_view> content_type, std::string_view body);

// ES2+ requests (the operator's): the header member is accepted and ignored.
Result<DownloadOrderRequest> parse_download_order(std::optional<std::string_view> content_type,
                                                  std::string_view body);
Result<ConfirmOrderRequest> parse_confirm_order(std::optional<std::string_view> content_type,
                                                std::string_view body);
struct CancelOrderRequest {
  std::string iccid;
  std::optional<std::string> matching_id;
  FinalProfileStatus final_status = FinalProfileStatus::kAvailable;
};
Result<CancelOrderRequest> parse_cancel_order(std::optional<std::string_view> content_type,
                                              std::string_view body);
Result<std::string> parse_release_profile(std::optional<std::string_view> content_type,
                                          std::string_view body);

// A success body: `fields` plus the header.
std::string success_body(nlohmann::json fields = nlohmann::json::object());
std::string failure_body(const Es9Failure& failure);
std::string b64(const Bytes& bytes);

}  // namespace station::smdp
