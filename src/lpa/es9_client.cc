#include "lpa/es9_client.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "secrets/secrets.h"

namespace station::lpa {
namespace {

using nlohmann::json;

Status malformed(std::string_view function, std::string_view why) {
  return Status(ErrorCode::kMalformedRequest,
                fmt::format("the SM-DP+'s {} response: {}", function, why));
}

std::string b64(const Bytes& bytes) { return secrets::base64_encode(bytes); }

Result<Bytes> field(const json& body, std::string_view function, const char* name) {
  const auto it = body.find(name);
  if (it == body.end() || !it->is_string()) {
    return malformed(function, fmt::format("no {}", name));
  }
  auto bytes = secrets::base64_decode(it->get<std::string>());
  if (!bytes) return malformed(function, fmt::format("{} is not base64", name));
  return std::move(*bytes);
}

Result<std::string> transaction_id(const json& body, std::string_view function) {
  const auto it = body.find("transactionId");
  if (it == body.end() || !it->is_string()) return malformed(function, "no transactionId");
  std::string id = it->get<std::string>();
  // TransactionId is 1..16 bytes, hex in the binding.
  const bool hex = id.find_first_not_of("0123456789ABCDEFabcdef") == std::string::npos;
  if (id.empty() || id.size() > 32 || id.size() % 2 != 0 || !hex) {
    return malformed(function, "transactionId is not 1..16 bytes of hex");
  }
  return id;
}

// A parsed response object (the binding's responses are JSON objects).
Result<json> object(const std::string& body, std::string_view function) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return malformed(function, "not a JSON object");
  return parsed;
}

}  // namespace

Result<std::string> Es9Client::call(std::string_view function, const std::string& body) {
  http::ClientRequest request;
  request.method = "POST";
  request.url = fmt::format("https://{}/gsma/rsp2/es9plus/{}", smdp_address_, function);
  request.headers = {{"Content-Type", "application/json;charset=UTF-8"},
                     {"X-Admin-Protocol", std::string(kAdminProtocol)},
                     {"User-Agent", "station-lpa"}};
  request.body = body;
  STATION_ASSIGN_OR_RETURN(auto response, http_.send(request));
  if (response.body.size() > kMaxEs9ResponseBytes) {
    return Status(ErrorCode::kPayloadTooLarge, fmt::format("{} response too large", function));
  }
  if (response.status == 204) return std::string();
  if (response.status != 200) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("the SM-DP+ answered {} with HTTP {}", function, response.status));
  }
  STATION_ASSIGN_OR_RETURN(auto parsed, object(response.body, function));
  const json* status = nullptr;
  if (auto header = parsed.find("header"); header != parsed.end() && header->is_object()) {
    if (auto fes = header->find("functionExecutionStatus");
        fes != header->end() && fes->is_object()) {
      status = &*fes;
    }
  }
  if (status == nullptr || !status->contains("status") || !(*status)["status"].is_string()) {
    return malformed(function, "no header.functionExecutionStatus.status");
  }
  const std::string outcome = (*status)["status"].get<std::string>();
  if (outcome == "Executed-Success" || outcome == "Executed-WithWarning") {
    return std::move(response.body);
  }
  last_status_ = Es9Status{.status = outcome};
  if (auto data = status->find("statusCodeData"); data != status->end() && data->is_object()) {
    auto text = [&](const char* name) {
      auto it = data->find(name);
      return it != data->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    last_status_.subject_code = text("subjectCode");
    last_status_.reason_code = text("reasonCode");
    last_status_.message = text("message");
  }
  return Status(ErrorCode::kConflict,
                fmt::format("the SM-DP+ refused {}: {} (subject {}, reason {}){}{}", function,
                            outcome, last_status_.subject_code, last_status_.reason_code,
                            last_status_.message.empty() ? "" : ": ", last_status_.message));
}

Result<InitiateAuthenticationResult> Es9Client::initiate_authentication(
    const Bytes& euicc_challenge, const Bytes& euicc_info1) {
  constexpr std::string_view kFunction = "initiateAuthentication";
  const json request = {{"euiccChallenge", b64(euicc_challenge)},
                        {"euiccInfo1", b64(euicc_info1)},
                        {"smdpAddress", smdp_address_}};
  STATION_ASSIGN_OR_RETURN(auto body, call(kFunction, request.dump()));
  STATION_ASSIGN_OR_RETURN(auto parsed, object(body, kFunction));
  InitiateAuthenticationResult result;
  STATION_ASSIGN_OR_RETURN(result.transaction_id, transaction_id(parsed, kFunction));
  STATION_ASSIGN_OR_RETURN(result.server_signed1, field(parsed, kFunction, "serverSigned1"));
  STATION_ASSIGN_OR_RETURN(result.server_signature1, field(parsed, kFunction, "serverSignature1"));
  STATION_ASSIGN_OR_RETURN(result.euicc_ci_pkid_to_be_used,
                           field(parsed, kFunction, "euiccCiPKIdToBeUsed"));
  STATION_ASSIGN_OR_RETURN(result.server_certificate,
                           field(parsed, kFunction, "serverCertificate"));
  return result;
}

Result<AuthenticateClientResult> Es9Client::authenticate_client(
    const std::string& transaction, const Bytes& authenticate_server_response) {
  constexpr std::string_view kFunction = "authenticateClient";
  const json request = {{"transactionId", transaction},
                        {"authenticateServerResponse", b64(authenticate_server_response)}};
  STATION_ASSIGN_OR_RETURN(auto body, call(kFunction, request.dump()));
  STATION_ASSIGN_OR_RETURN(auto parsed, object(body, kFunction));
  AuthenticateClientResult result;
  STATION_ASSIGN_OR_RETURN(result.transaction_id, transaction_id(parsed, kFunction));
  STATION_ASSIGN_OR_RETURN(result.profile_metadata, field(parsed, kFunction, "profileMetadata"));
  STATION_ASSIGN_OR_RETURN(result.smdp_signed2, field(parsed, kFunction, "smdpSigned2"));
  STATION_ASSIGN_OR_RETURN(result.smdp_signature2, field(parsed, kFunction, "smdpSignature2"));
  STATION_ASSIGN_OR_RETURN(result.smdp_certificate, field(parsed, kFunction, "smdpCertificate"));
  return result;
}

Result<Bytes> Es9Client::get_bound_profile_package(const std::string& transaction,
                                                   const Bytes& prepare_download_response) {
  constexpr std::string_view kFunction = "getBoundProfilePackage";
  const json request = {{"transactionId", transaction},
                        {"prepareDownloadResponse", b64(prepare_download_response)}};
  STATION_ASSIGN_OR_RETURN(auto body, call(kFunction, request.dump()));
  STATION_ASSIGN_OR_RETURN(auto parsed, object(body, kFunction));
  return field(parsed, kFunction, "boundProfilePackage");
}

Status Es9Client::handle_notification(const Bytes& pending_notification) {
  const json request = {{"pendingNotification", b64(pending_notification)}};
  return call("handleNotification", request.dump()).status();
}

Status Es9Client::cancel_session(const std::string& transaction,
                                 const Bytes& cancel_session_response) {
  const json request = {{"transactionId", transaction},
                        {"cancelSessionResponse", b64(cancel_session_response)}};
  return call("cancelSession", request.dump()).status();
}

}  // namespace station::lpa
