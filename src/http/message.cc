#include "http/message.h"

#include <nlohmann/json.hpp>

namespace station::http {

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  if (it == headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

Response problem(ErrorCode code, std::string_view detail, const Request& request) {
  const ErrorInfo& info = error_info(code);
  nlohmann::json body = {
      {"type", "https://station.dev/problems/" + std::string(info.name)},
      {"title", info.title},
      {"status", info.http_status},
      {"code", info.name},
      {"instance", request.path},
      {"request_id", request.request_id},
  };
  if (!detail.empty()) body["detail"] = detail;
  Response response;
  response.status = info.http_status;
  response.content_type = "application/problem+json";
  // Replace invalid UTF-8 rather than throw: a detail may quote client input.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (info.retry == RetryClass::kRetryLater && info.http_status == 503) {
    response.headers.emplace_back("Retry-After", "1");
  }
  return response;
}

Response problem(const Status& status, const Request& request) {
  return problem(status.code(), status.message(), request);
}

Response json_response(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace station::http
