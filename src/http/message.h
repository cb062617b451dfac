// http/message: the request and response types handlers see. No Beast types leak past the
// server, so domains and API handlers never depend on the transport.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace station::http {

struct Request {
  std::string method;  // upper case, e.g. "POST"
  std::string target;  // raw request-target, e.g. "/v1/customers?limit=10"
  std::string path;    // percent-decoded path without the query
  std::multimap<std::string, std::string> query;   // decoded query parameters
  std::map<std::string, std::string> headers;      // names lower-cased; repeated ones joined by ","
  std::string body;
  std::string request_id;  // from X-Request-Id when sane, else generated
  std::string remote_address;
  std::map<std::string, std::string> path_params;  // filled by the router, e.g. {"id": "cus_..."}
  std::string route;  // the matched route pattern, for metrics and logs
  std::string principal;  // who is calling, set by authentication; for access and audit logs

  // Header by lower-case name.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  std::optional<std::string_view> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
};

// Answers a request exactly once, from any thread.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request&, Responder)>;

// RFC 9457 problem+json: {"type", "title", "status", "detail", "code", "instance", "request_id"}.
// `type` is "https://station.dev/problems/<code>" so that clients can link to documentation;
// `code` is the stable machine-readable error name (common/status.h).
Response problem(ErrorCode code, std::string_view detail, const Request& request);
Response problem(const Status& status, const Request& request);

// A JSON body with the given status.
Response json_response(int status, std::string body);

}  // namespace station::http
