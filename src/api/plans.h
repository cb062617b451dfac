// api/plans: the plan catalogue over HTTP. Operators create and change plans (admin scope);
// every authenticated caller reads the public catalogue of active plans.
#pragma once

#include "auth/api_keys.h"
#include "catalogue/plans.h"
#include "http/router.h"
#include "nlohmann/json.hpp"

namespace station::api {

// POST /v1/admin/plans        -> 201 the plan (version 1); 409 conflict when the code exists
// PUT  /v1/admin/plans/{code} -> 200 the plan's new version (or the current one if unchanged)
// GET  /v1/plans              -> 200 {"plans": [...]}: the latest version of each active plan
// GET  /v1/plans/{code}       -> 200 the latest version of one plan, active or not
// The references must outlive the router's use.
void add_plan_routes(http::Router& router, auth::Authenticator& authenticator,
                     catalogue::Plans& plans);

// A plan as the API shows it.
nlohmann::json plan_json(const catalogue::Plan& plan);

}  // namespace station::api
