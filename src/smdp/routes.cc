#include "smdp/routes.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "smdp/es9_json.h"

namespace station::smdp {
namespace {

constexpr std::string_view kEs9 = "/gsma/rsp2/es9plus/";
constexpr std::string_view kEs2 = "/gsma/rsp2/es2plus/";

// The answer of an ES9+ function: its fields, its SGP.22 failure, or 500.
template <class T, class Fields>
http::Response answer(Outcome<T> outcome, const http::Request& request, Fields fields) {
  if (outcome.ok()) return binding_response(200, success_body(fields(outcome.value())));
  if (const Es9Failure* failure = outcome.failure()) {
    return binding_response(200, failure_body(*failure));
  }
  return http::problem(*outcome.error(), request);
}

using Handle = std::function<http::Response(http::Request&)>;

// Registers one binding function: checks the protocol header, then runs `handle` on a worker:
// its signatures, key agreements and storage calls would otherwise hold an io thread, and every
// connection waiting on it. When the workers hold their limit already: 503 with Retry-After.
void add(http::Router& router, WorkerPool& workers, std::string_view prefix,
         std::string_view function, Handle handle) {
  router.add("POST", std::string(prefix) + std::string(function),
             [handle = std::make_shared<const Handle>(std::move(handle)), &workers](
                 http::Request& request, http::Responder respond) {
               if (!has_admin_protocol(request)) {
                 return respond(http::problem(
                     ErrorCode::kMalformedRequest,
                     "X-Admin-Protocol: gsma/rsp/v2.x.y is required", request));
               }
               // The request stays valid until `respond` is called (http/server.h).
               if (!workers.try_post([handle, &request, respond] { respond((*handle)(request)); })) {
                 respond(http::problem(ErrorCode::kUnavailable,
                                       fmt::format("the SM-DP+ is busy ({} calls in progress); "
                                                   "retry after the time Retry-After gives",
                                                   workers.work_max()),
                                       request));
               }
             });
}

// ES2+ callers are operators: an API key with the admin scope.
std::optional<http::Response> refuse_unless_operator(auth::Authenticator& authenticator,
                                                     http::Request& request) {
  auto principal = authenticator.authenticate(request.header("authorization"));
  if (!principal.is_ok()) return http::problem(principal.status(), request);
  request.principal = "key:" + principal->key_prefix;
  if (std::find(principal->scopes.begin(), principal->scopes.end(), auth::Scope::kAdmin) ==
      principal->scopes.end()) {
    return http::problem(ErrorCode::kForbidden, "ES2+ needs an API key with the admin scope",
                         request);
  }
  return std::nullopt;
}

// ES2+ refusals as SGP.22 statuses, naming the cause.
http::Response es2_status(const Status& status, const http::Request& request,
                          nlohmann::json fields = nlohmann::json::object()) {
  if (status.is_ok()) return binding_response(200, success_body(std::move(fields)));
  switch (status.code()) {
    case ErrorCode::kNotFound:
      return binding_response(200, failure_body({"8.2.1", "3.9", status.message(), "es2"}));
    case ErrorCode::kConflict:
      return binding_response(200, failure_body({"8.2.1", "3.3", status.message(), "es2"}));
    case ErrorCode::kValidationFailed:
    case ErrorCode::kInvalidEid:
      return binding_response(200, failure_body({"8.2.1", "2.1", status.message(), "es2"}));
    default:
      return http::problem(status, request);
  }
}

}  // namespace

http::Response binding_response(int status, std::string body) {
  http::Response response = http::json_response(status, std::move(body));
  response.content_type = "application/json;charset=UTF-8";
  response.headers.emplace_back("X-Admin-Protocol", std::string(kAdminProtocol));
  return response;
}

bool has_admin_protocol(const http::Request& request) {
  auto header = request.header("x-admin-protocol");
  return header && header->substr(0, kAdminProtocolPrefix.size()) == kAdminProtocolPrefix;
}

void add_smdp_routes(http::Router& router, Smdp& smdp, auth::Authenticator& authenticator,
                     WorkerPool& workers) {
  add(router, workers, kEs9, "initiateAuthentication", [&smdp](http::Request& request) {
    auto parsed = parse_initiate_authentication(request.header("content-type"), request.body);
    if (!parsed.is_ok()) return http::problem(parsed.status(), request);
    return answer(smdp.initiate_authentication(std::move(parsed->euicc_challenge),
                                               std::move(parsed->euicc_info1),
                                               std::move(parsed->smdp_address)),
                  request, [](const InitiateAuthenticationResult& result) {
                    return nlohmann::json{
                        {"transactionId", result.transaction_id},
                        {"serverSigned1", b64(result.server_signed1)},
                        {"serverSignature1", b64(result.server_signature1)},
                        {"euiccCiPKIdToBeUsed", b64(result.euicc_ci_pkid_to_be_used)},
                        {"serverCertificate", b64(result.server_certificate)}};
                  });
  });
  add(router, workers, kEs9, "authenticateClient", [&smdp](http::Request& request) {
    auto parsed = parse_transaction_request(request.header("content-type"), request.body,
                                            "authenticateServerResponse");
    if (!parsed.is_ok()) return http::problem(parsed.status(), request);
    return answer(smdp.authenticate_client(parsed->transaction_id, parsed->payload), request,
                  [](const AuthenticateClientResult& result) {
                    return nlohmann::json{{"transactionId", result.transaction_id},
                                          {"profileMetadata", b64(result.profile_metadata)},
                                          {"smdpSigned2", b64(result.smdp_signed2)},
                                          {"smdpSignature2", b64(result.smdp_signature2)},
                                          {"smdpCertificate", b64(result.smdp_certificate)}};
                  });
  });
  add(router, workers, kEs9, "getBoundProfilePackage", [&smdp](http::Request& request) {
    auto parsed = parse_transaction_request(request.header("content-type"), request.body,
                                            "prepareDownloadResponse");
    if (!parsed.is_ok()) return http::problem(parsed.status(), request);
    return answer(smdp.get_bound_profile_package(parsed->transaction_id, parsed->payload),
                  request, [](const BoundProfilePackageResult& result) {
                    return nlohmann::json{{"transactionId", result.transaction_id},
                                          {"boundProfilePackage", b64(result.bound_profile_package)}};
                  });
  });
  add(router, workers, kEs9, "handleNotification", [&smdp](http::Request& request) {
    auto parsed = parse_handle_notification(request.header("content-type"), request.body);
    if (!parsed.is_ok()) return http::problem(parsed.status(), request);
    Status handled = smdp.handle_notification(parsed->pending_notification);
    if (!handled.is_ok()) return http::problem(handled, request);
    http::Response response = binding_response(204, "");
    return response;
  });
  add(router, workers, kEs9, "cancelSession", [&smdp](http::Request& request) {
    auto parsed = parse_transaction_request(request.header("content-type"), request.body,
                                            "cancelSessionResponse");
    if (!parsed.is_ok()) return http::problem(parsed.status(), request);
    return answer(smdp.cancel_session(parsed->transaction_id, parsed->payload), request,
                  [](const Empty&) { return nlohmann::json::object(); });
  });

  add(router, workers, kEs2, "downloadOrder", [&smdp, &authenticator](http::Request& request) {
    if (auto refused = refuse_unless_operator(authenticator, request)) return *refused;
    auto parsed = parse_download_order(request.header("content-type"), request.body);
    if (!parsed.is_ok()) return http::problem(parsed.status(), request);
    parsed->requester = request.principal;
    auto iccid = smdp.download_order(*parsed);
    if (!iccid.is_ok()) return es2_status(iccid.status(), request);
    return es2_status(Status::ok(), request, {{"iccid", *iccid}});
  });
  add(router, workers, kEs2, "confirmOrder", [&smdp, &authenticator](http::Request& request) {
    if (auto refused = refuse_unless_operator(authenticator, request)) return *refused;
    auto parsed = parse_confirm_order(request.header("content-type"), request.body);
    if (!parsed.is_ok()) return http::problem(parsed.status(), request);
    auto confirmed = smdp.confirm_order(*parsed);
    if (!confirmed.is_ok()) return es2_status(confirmed.status(), request);
    nlohmann::json fields = {{"matchingId", confirmed->matching_id},
                             {"smdpAddress", confirmed->smdp_address}};
    if (confirmed->eid) fields["eid"] = *confirmed->eid;
    return es2_status(Status::ok(), request, std::move(fields));
  });
  add(router, workers, kEs2, "cancelOrder", [&smdp, &authenticator](http::Request& request) {
    if (auto refused = refuse_unless_operator(authenticator, request)) return *refused;
    auto parsed = parse_cancel_order(request.header("content-type"), request.body);
    if (!parsed.is_ok()) return http::problem(parsed.status(), request);
    std::optional<std::string_view> matching_id;
    if (parsed->matching_id) matching_id = *parsed->matching_id;
    return es2_status(smdp.cancel_order(parsed->iccid, matching_id, parsed->final_status,
                                        "ES2+ CancelOrder by " + request.principal),
                      request);
  });
  add(router, workers, kEs2, "releaseProfile", [&smdp, &authenticator](http::Request& request) {
    if (auto refused = refuse_unless_operator(authenticator, request)) return *refused;
    auto iccid = parse_release_profile(request.header("content-type"), request.body);
    if (!iccid.is_ok()) return http::problem(iccid.status(), request);
    return es2_status(smdp.release_profile(*iccid), request);
  });
}

}  // namespace station::smdp
