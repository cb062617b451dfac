// api/outbox: the SMS outbox over HTTP, for operators. With no SMSC configured this is where
// activation codes and other texts wait; with one, it shows each message's delivery state.
#pragma once

#include "auth/api_keys.h"
#include "http/router.h"
#include "messaging/messenger.h"

namespace station::api {

// GET /v1/admin/outbox[?limit=N] -> {"messages": [...]} newest first (admin or support).
// The references must outlive the router's use.
void add_outbox_routes(http::Router& router, auth::Authenticator& authenticator,
                       messaging::Messenger& messenger);

}  // namespace station::api
