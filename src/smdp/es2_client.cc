#include "smdp/es2_client.h"

#include <algorithm>

#include <fmt/format.h>

#include "smdp/es9_json.h"

namespace station::smdp {
namespace {

using nlohmann::json;

Status malformed(std::string_view function, std::string_view why) {
  return Status(ErrorCode::kMalformedRequest,
                fmt::format("the SM-DP+'s ES2+ {} answer: {}", function, why));
}

std::string text_of(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A "Failed" status of the remote SM-DP+ as the Status routes.cc made it from.
Status refusal(std::string_view function, const json& status) {
  const json data = status.value("statusCodeData", json::object());
  const std::string subject = text_of(data, "subjectCode");
  const std::string reason = text_of(data, "reasonCode");
  const std::string message =
      fmt::format("the SM-DP+ refused ES2+ {}: {} (subject {}, reason {}){}{}", function,
                  text_of(status, "status"), subject, reason, data.contains("message") ? ": " : "",
                  text_of(data, "message"));
  if (reason == "3.9") return Status(ErrorCode::kNotFound, message);
  if (reason == "2.1") return Status(ErrorCode::kValidationFailed, message);
  return Status(ErrorCode::kConflict, message);
}

class RemoteEs2 final : public orders::Es2Port {
 public:
  explicit RemoteEs2(RemoteSmdpConfig config) : client_(std::move(config)) {}

  Status confirm(Id /*order_id*/, const std::string& iccid, const std::string& matching_id,
                 const std::optional<std::string>& eid,
                 const std::optional<std::string>& confirmation_code_hash) override {
    STATION_RETURN_IF_ERROR(client_.download_order(iccid, opt(eid), std::nullopt).status());
    return client_.confirm_order(iccid, matching_id, opt(eid), opt(confirmation_code_hash), true)
        .status();
  }

  Status cancel(const std::string& iccid, const std::string& matching_id,
                std::string_view /*cause*/) override {
    return client_.cancel_order(iccid, matching_id, /*available=*/true);
  }

 private:
  static std::optional<std::string_view> opt(const std::optional<std::string>& text) {
    if (!text) return std::nullopt;
    return std::string_view(*text);
  }
  Es2Client client_;
};

}  // namespace

Status check_es2_link(std::string_view url, std::string_view ca_file, std::string_view bearer_token,
                      std::string_view what) {
  auto parsed = http::parse_url(url);
  if (!parsed.is_ok() || !parsed->tls) {
    return Status(ErrorCode::kValidationFailed, fmt::format("{}: the URL must be https://", what));
  }
  if (ca_file.empty()) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("{}: a CA file must verify the peer's certificate", what));
  }
  const bool printable = std::all_of(bearer_token.begin(), bearer_token.end(),
                                     [](char c) { return c > ' ' && c < 0x7F; });
  if (bearer_token.size() > kEs2TokenBytesMax || !printable) {
    return Status(
        ErrorCode::kValidationFailed,
        fmt::format("{}: the token must be at most {} printable bytes", what, kEs2TokenBytesMax));
  }
  return Status::ok();
}

http::ClientRequest es2_request(std::string url, std::string body, std::string_view bearer_token) {
  http::ClientRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.body = std::move(body);
  request.headers = {{"Content-Type", "application/json;charset=UTF-8"},
                     {"X-Admin-Protocol", std::string(kAdminProtocol)}};
  if (!bearer_token.empty()) {
    request.headers.emplace_back("Authorization", fmt::format("Bearer {}", bearer_token));
  }
  return request;
}

Status check_config(const RemoteSmdpConfig& config) {
  STATION_RETURN_IF_ERROR(
      check_es2_link(config.base_url, config.ca_file, config.bearer_token, "the remote SM-DP+"));
  auto url = http::parse_url(config.base_url);
  if (url->target != "/") {
    return Status(ErrorCode::kValidationFailed,
                  "the remote SM-DP+ is https://host[:port] (the ES2+ paths are SGP.22's)");
  }
  if (config.requester_identifier.empty() || config.timeout_ms == 0) {
    return Status(ErrorCode::kValidationFailed,
                  "the remote SM-DP+ needs a requester identifier and a positive timeout");
  }
  return Status::ok();
}

Result<json> parse_es2_answer(std::string_view function, int http_status,
                              std::string_view body_text) {
  if (http_status == 401 || http_status == 403) {
    return Status(
        ErrorCode::kUnauthenticated,
        fmt::format("the SM-DP+ refused Station's ES2+ credential (HTTP {})", http_status));
  }
  if (http_status != 200) {
    return Status(ErrorCode::kUnavailable, fmt::format("the SM-DP+ answered ES2+ {} with HTTP {}",
                                                       function, http_status));
  }
  json parsed = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return malformed(function, "not a JSON object");
  const json header = parsed.value("header", json::object());
  const json status =
      header.is_object() ? header.value("functionExecutionStatus", json::object()) : json::object();
  const std::string outcome = status.is_object() ? text_of(status, "status") : "";
  if (outcome == "Executed-Success" || outcome == "Executed-WithWarning") return parsed;
  if (outcome.empty()) return malformed(function, "no header.functionExecutionStatus.status");
  return refusal(function, status);
}

Es2Client::Es2Client(RemoteSmdpConfig config)
    : config_(std::move(config)),
      http_(http::ClientOptions{.ca_file = config_.ca_file,
                                .timeout_ms = config_.timeout_ms,
                                .max_response_bytes = kEs2ResponseBytesMax}) {
  if (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
}

Result<json> Es2Client::call(std::string_view function, json fields) {
  fields["header"] = {{"functionRequesterIdentifier", config_.requester_identifier},
                      {"functionCallIdentifier", std::to_string(++calls_)}};
  STATION_ASSIGN_OR_RETURN(
      auto response,
      http_.send(es2_request(fmt::format("{}/gsma/rsp2/es2plus/{}", config_.base_url, function),
                             fields.dump(), config_.bearer_token)));
  return parse_es2_answer(function, response.status, response.body);
}

Result<std::string> Es2Client::download_order(std::optional<std::string_view> iccid,
                                              std::optional<std::string_view> eid,
                                              std::optional<std::string_view> profile_type) {
  json fields = json::object();
  if (iccid) fields["iccid"] = *iccid;
  if (eid) fields["eid"] = *eid;
  if (profile_type) fields["profileType"] = *profile_type;
  STATION_ASSIGN_OR_RETURN(auto answer, call("downloadOrder", std::move(fields)));
  std::string taken = text_of(answer, "iccid");
  if (taken.empty()) return malformed("downloadOrder", "no iccid");
  return taken;
}

Result<RemoteConfirmation> Es2Client::confirm_order(
    std::string_view iccid, std::optional<std::string_view> matching_id,
    std::optional<std::string_view> eid, std::optional<std::string_view> confirmation_code_hash,
    bool release) {
  json fields = {{"iccid", iccid}, {"releaseFlag", release ? "true" : "false"}};
  if (matching_id) fields["matchingId"] = *matching_id;
  if (eid) fields["eid"] = *eid;
  if (confirmation_code_hash) fields["confirmationCode"] = *confirmation_code_hash;
  STATION_ASSIGN_OR_RETURN(auto answer, call("confirmOrder", std::move(fields)));
  RemoteConfirmation confirmation{text_of(answer, "matchingId"), text_of(answer, "smdpAddress")};
  if (confirmation.matching_id.empty()) return malformed("confirmOrder", "no matchingId");
  return confirmation;
}

Status Es2Client::cancel_order(std::string_view iccid, std::optional<std::string_view> matching_id,
                               bool available) {
  json fields = {{"iccid", iccid},
                 {"finalProfileStatusIndicator", available ? "Available" : "Unavailable"}};
  if (matching_id) fields["matchingId"] = *matching_id;
  return call("cancelOrder", std::move(fields)).status();
}

Status Es2Client::release_profile(std::string_view iccid) {
  return call("releaseProfile", json{{"iccid", iccid}}).status();
}

std::unique_ptr<orders::Es2Port> make_remote_es2_port(RemoteSmdpConfig config) {
  return std::make_unique<RemoteEs2>(std::move(config));
}

}  // namespace station::smdp
