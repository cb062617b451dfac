#include "api/kyc.h"


#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "api/v1.h"
#include "common/clock.h"

namespace station::api {
namespace {

using http::Request;
using http::Responder;
using nlohmann::json;

constexpr std::string_view kCustomerPrefix = "cus";

kyc::Actor actor_of(const auth::Principal& principal, const Request& request) {
  return kyc::Actor{principal.name(), request.request_id};
}

// The customer named by a path parameter; 404 for anything that is not a customer id.
Result<Id> customer_in_path(const Request& request, const std::string& name) {
  auto it = request.path_params.find(name);
  auto id = it == request.path_params.end() ? std::nullopt
                                            : parse_public_id(kCustomerPrefix, it->second);
  if (!id) return Status(ErrorCode::kNotFound, "no such customer");
  return *id;
}

// What the customer's side sees; `operator_view` adds who reviewed it.
json identity_json(const kyc::Identity& identity, bool operator_view) {
  json out = {
      {"customer_id", format_public_id(kCustomerPrefix, identity.customer_id)},
      {"state", kyc::identity_state_name(identity.state)},
      {"document_type", kyc::document_type_name(identity.document_type)},
      {"document_last4", identity.document_last4},
      {"full_name", identity.full_name},
      {"date_of_birth", identity.date_of_birth},
      {"nationality", identity.nationality},
      {"rejection_reason",
       identity.rejection_reason.empty() ? json(nullptr) : json(identity.rejection_reason)},
      {"submitted_at", format_rfc3339_ms(identity.submitted_at_ms)},
      {"reviewed_at",
       identity.reviewed_at_ms ? json(format_rfc3339_ms(*identity.reviewed_at_ms)) : json(nullptr)},
  };
  if (operator_view) {
    out["reviewed_by"] = identity.reviewed_by.empty() ? json(nullptr) : json(identity.reviewed_by);
  }
  return out;
}

// Either side may read a customer's identity: the app (to show the state) and support.
std::optional<auth::Principal> authorise_read(auth::Authenticator& authenticator,
                                              Request& request, const Responder& respond) {
  auto principal = authenticator.authenticate(request.header("authorization"));
  if (principal.is_ok() && !principal->allows(auth::Permission::kIdentitySubmit) &&
      principal->allows(auth::Permission::kIdentityReview)) {
    return authorise(authenticator, request, respond, auth::Permission::kIdentityReview);
  }
  return authorise(authenticator, request, respond, auth::Permission::kIdentitySubmit);
}

Result<kyc::IdentitySubmission> read_submission(const Request& request, Id customer_id) {
  STATION_ASSIGN_OR_RETURN(JsonBody body,
                           JsonBody::parse(request.header("content-type"), request.body));
  STATION_RETURN_IF_ERROR(body.only(
      {"document_type", "document_number", "full_name", "date_of_birth", "nationality"}));
  kyc::IdentitySubmission submission;
  submission.customer_id = customer_id;
  STATION_ASSIGN_OR_RETURN(std::string type, body.string("document_type", 32));
  auto document_type = kyc::parse_document_type(type);
  if (!document_type) {
    return Status(ErrorCode::kValidationFailed,
                  "'document_type' must be one of passport, national_id, driving_licence");
  }
  submission.document_type = *document_type;
  STATION_ASSIGN_OR_RETURN(submission.document_number,
                           body.string("document_number", kyc::kDocumentNumberBytesMax));
  STATION_ASSIGN_OR_RETURN(submission.full_name,
                           body.string("full_name", kyc::kFullNameBytesMax));
  STATION_ASSIGN_OR_RETURN(submission.date_of_birth, body.string("date_of_birth", 10));
  STATION_ASSIGN_OR_RETURN(submission.nationality, body.string("nationality", 2));
  return submission;
}

void submit_identity(auth::Authenticator& authenticator, kyc::Identities& identities,
                     Request& request, const Responder& respond) {
  auto principal = authorise(authenticator, request, respond, auth::Permission::kIdentitySubmit);
  if (!principal) return;
  auto customer = customer_in_path(request, "id");
  if (!customer.is_ok()) return respond(http::problem(customer.status(), request));
  auto submission = read_submission(request, *customer);
  if (!submission.is_ok()) return respond(http::problem(submission.status(), request));
  auto submitted = identities.submit(*submission, actor_of(*principal, request));
  secrets::wipe(submission->document_number);
  if (!submitted.is_ok()) return respond(http::problem(submitted.status(), request));
  respond(http::json_response(201, identity_json(*submitted, false).dump()));
}

void get_identity(auth::Authenticator& authenticator, kyc::Identities& identities,
                  Request& request, const Responder& respond) {
  auto principal = authorise_read(authenticator, request, respond);
  if (!principal) return;
  auto customer = customer_in_path(request, "id");
  if (!customer.is_ok()) return respond(http::problem(customer.status(), request));
  auto identity = identities.get(*customer);
  if (!identity.is_ok()) return respond(http::problem(identity.status(), request));
  bool operator_view = principal->allows(auth::Permission::kIdentityReview);
  respond(http::json_response(200, identity_json(*identity, operator_view).dump()));
}

void list_identities(auth::Authenticator& authenticator, kyc::Identities& identities,
                     Request& request, const Responder& respond) {
  if (!authorise(authenticator, request, respond, auth::Permission::kIdentityReview)) return;
  auto fail = [&](Status status) { respond(http::problem(status, request)); };
  std::optional<kyc::IdentityState> state;
  if (auto text = request.query_param("state")) {
    state = kyc::parse_identity_state(*text);
    if (!state) {
      return fail(Status(ErrorCode::kValidationFailed,
                         "state must be one of pending, verified, rejected"));
    }
  }
  auto limit = page_limit(request);
  if (!limit.is_ok()) return fail(limit.status());
  auto listed = identities.list(state, *limit);
  if (!listed.is_ok()) return fail(listed.status());
  json out = json::array();
  for (const auto& identity : *listed) out.push_back(identity_json(identity, true));
  respond(http::json_response(200, json{{"identities", std::move(out)}}.dump()));
}

void decide_identity(auth::Authenticator& authenticator, kyc::Identities& identities,
                     Request& request, const Responder& respond, bool approve) {
  auto principal = authorise(authenticator, request, respond, auth::Permission::kIdentityReview);
  if (!principal) return;
  auto fail = [&](const Status& status) { respond(http::problem(status, request)); };
  auto customer = customer_in_path(request, "customer_id");
  if (!customer.is_ok()) return fail(customer.status());
  Result<kyc::Identity> decided = Status(ErrorCode::kInternal, "not decided");
  if (approve) {
    // No body is needed; an empty JSON object is accepted too.
    if (!request.body.empty()) {
      auto body = JsonBody::parse(request.header("content-type"), request.body);
      if (!body.is_ok()) return fail(body.status());
      if (auto s = body->only({}); !s.is_ok()) return fail(s);
    }
    decided = identities.approve(*customer, actor_of(*principal, request));
  } else {
    auto body = JsonBody::parse(request.header("content-type"), request.body);
    if (!body.is_ok()) return fail(body.status());
    if (auto s = body->only({"reason"}); !s.is_ok()) return fail(s);
    auto reason = body->string("reason", kyc::kRejectionReasonBytesMax);
    if (!reason.is_ok()) return fail(reason.status());
    decided = identities.reject(*customer, *reason, actor_of(*principal, request));
  }
  if (!decided.is_ok()) return fail(decided.status());
  respond(http::json_response(200, identity_json(*decided, true).dump()));
}

}  // namespace

void add_kyc_routes(http::Router& router, auth::Authenticator& authenticator,
                    kyc::Identities& identities) {
  using Handler = void (*)(auth::Authenticator&, kyc::Identities&, Request&, const Responder&);
  auto bind = [&authenticator, &identities](Handler handler) {
    return [&authenticator, &identities, handler](Request& request, Responder respond) {
      handler(authenticator, identities, request, respond);
    };
  };
  router.add("POST", "/v1/customers/{id}/identity", bind(submit_identity));
  router.add("GET", "/v1/customers/{id}/identity", bind(get_identity));
  router.add("GET", "/v1/admin/kyc", bind(list_identities));
  router.add("POST", "/v1/admin/kyc/{customer_id}/approve",
             [&authenticator, &identities](Request& request, Responder respond) {
               decide_identity(authenticator, identities, request, respond, true);
             });
  router.add("POST", "/v1/admin/kyc/{customer_id}/reject",
             [&authenticator, &identities](Request& request, Responder respond) {
               decide_identity(authenticator, identities, request, respond, false);
             });
}

}  // namespace station::api
