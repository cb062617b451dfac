// api/kyc: identity verification over HTTP. A customer's app submits the identity document
// (app or admin scope); operators review the queue and decide (admin or support scope). The
// document number is never returned: only its last 4 characters.
#pragma once

#include "auth/api_keys.h"
#include "http/router.h"
#include "kyc/identities.h"

namespace station::api {

// POST /v1/customers/{id}/identity               -> 201 the identity (state pending)
// GET  /v1/customers/{id}/identity               -> 200 the identity; 404 when never submitted
// GET  /v1/admin/kyc?state=pending&limit=N       -> 200 {"identities": [...]}, oldest first
// POST /v1/admin/kyc/{customer_id}/approve       -> 200 the identity (state verified)
// POST /v1/admin/kyc/{customer_id}/reject {"reason"} -> 200 the identity (state rejected)
// The references must outlive the router's use.
void add_kyc_routes(http::Router& router, auth::Authenticator& authenticator,
                    kyc::Identities& identities);

}  // namespace station::api
