// smdp/routes: ES9+ and ES2+ over HTTP(S) (GSMA SGP.22 section 6.5):
//   POST /gsma/rsp2/es9plus/{initiateAuthentication, authenticateClient, getBoundProfilePackage,
//                            handleNotification, cancelSession}      (the LPA; no credentials:
//                            the eUICC's certificates and signatures authenticate it)
//   POST /gsma/rsp2/es2plus/{downloadOrder, confirmOrder, cancelOrder, releaseProfile}
//                            (the operator: Authorization: Bearer <API key with the admin scope>)
// Every request needs X-Admin-Protocol: gsma/rsp/v2.x.y. A body that is not the binding's
// (JSON, members, base64, sizes) is answered 400 problem+json; a function's refusal is 200 with
// the SGP.22 "Failed" status and its subject and reason codes; handleNotification answers 204.
// Storage failures are 500 problem+json.
// Each function runs on `workers`, not on the io thread that read the request; when the workers
// hold their limit (WorkerPool::work_max) of calls already, the call is answered 503 unavailable
// problem+json with Retry-After, at once.
#pragma once

#include "auth/api_keys.h"
#include "common/worker_pool.h"
#include "http/router.h"
#include "smdp/smdp.h"

namespace station::smdp {

// An answer of the binding: JSON with its Content-Type and X-Admin-Protocol headers.
http::Response binding_response(int status, std::string body);
// The request carries X-Admin-Protocol: gsma/rsp/v2.x.y.
bool has_admin_protocol(const http::Request& request);

// `smdp`, `authenticator` and `workers` must outlive the router's use; join `workers` after the
// server has stopped and before it is destroyed, so no call answers a destroyed server.
void add_smdp_routes(http::Router& router, Smdp& smdp, auth::Authenticator& authenticator,
                     WorkerPool& workers);

}  // namespace station::smdp
