// api: the public HTTP API, version 1. Handlers parse, validate and authorise; the billing
// domain decides; nothing here touches SQL. The contract is src/api/openapi.json, served at
// /v1/openapi.json; a test keeps the routes and the document in step.
#pragma once

#include <optional>
#include <string_view>

#include "auth/api_keys.h"
#include "billing/billing.h"
#include "http/router.h"

namespace station::api {

struct ApiContext {
  billing::Billing& billing;
  auth::Authenticator& authenticator;
};

// Authenticates the caller and checks the permission. On failure answers 401 or 403 itself and
// returns nullopt; every handler's first step.
std::optional<auth::Principal> authorise(auth::Authenticator& authenticator, http::Request& request,
                                         const http::Responder& respond,
                                         auth::Permission permission);

// Shared by the route files of the API:
// What an asynchronous completion needs of its request to answer with a problem.
http::Request problem_context(const http::Request& request);
// The Idempotency-Key header: printable ASCII without spaces, 1..255 bytes.
Result<std::string> idempotency_key(const http::Request& request);
// The {id} path parameter as a public id with that prefix; kNotFound naming `what` otherwise.
Result<Id> path_id(const http::Request& request, std::string_view prefix, std::string_view what);
// Paging of list routes: `limit` (1..limits::kPageSizeMax, default kPageSizeDefault) and an
// opaque `cursor` (the public id "cur_..." of the last item of the previous page).
Result<std::uint32_t> page_limit(const http::Request& request);
Result<std::optional<Id>> page_cursor(const http::Request& request);

// Registers every /v1 route on the router. The context must outlive the router's use.
void add_v1_routes(http::Router& router, ApiContext& context);

// The OpenAPI 3.1 document (src/api/openapi.json, embedded at build time).
std::string_view openapi_document();

}  // namespace station::api
