// api/devices: the device check over HTTP — does this device take an eSIM? — for the app, the
// portal and support.
#pragma once

#include "auth/api_keys.h"
#include "devices/catalogue.h"
#include "http/router.h"

namespace station::api {

// GET /v1/devices/check?imei=... | ?eid=... | ?model=... (exactly one) ->
// {"esim_capable": true|false|null, "device": {...}|null, "reason": "..."}
// (admin, app or support). The references must outlive the router's use.
void add_device_routes(http::Router& router, auth::Authenticator& authenticator,
                       devices::DeviceCatalogue& catalogue);

}  // namespace station::api
