// api/profiles: the operator's view of the profile inventory over HTTP. Importing stays on the
// command line (`station admin profiles import`): vendor files carry Ki and OPc, and no route
// ever returns them.
#pragma once

#include "auth/api_keys.h"
#include "http/router.h"
#include "inventory/inventory.h"

namespace station::api {

// GET /v1/admin/profiles/stats -> {"available": n, ...} with every state (admin or support).
// The references must outlive the router's use.
void add_profile_routes(http::Router& router, auth::Authenticator& authenticator,
                        inventory::Inventory& inventory);

}  // namespace station::api
