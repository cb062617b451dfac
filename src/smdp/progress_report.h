// smdp/progress_report: the operator's side of a remote SM-DP+ that serves Station's orders: its
// ES2+ HandleDownloadProgressInfo (GSMA SGP.22 5.3.5) reports about their downloads
// (progress_callbacks.h is the sending side), read strictly and mapped to the order's step; and
// the eUICCs' own notifications of enabling their profiles (below), which make the order active.
//
// Body (application/json, at most kEs9BodyBytesMax bytes, no unknown or duplicate members):
//   {"header": {"functionRequesterIdentifier", "functionCallIdentifier"},
//    "eid"?, "iccid", "profileType"?, "timestamp", "notificationPointId": 1..4,
//    "notificationPointStatus": {"status": "Executed-Success" | "Executed-WithWarning" | "Failed"
//                                | "Expired", "statusCodeData"?: {"subjectCode", "reasonCode",
//                                "message"?}},
//    "resultData"? (base64)}
// What each point means for Station's order of the ICCID:
//   1 eligibility check, 2 confirmation failure  nothing: the subscriber may try again (the
//                                                SM-DP+ enforces its own attempt limit)
//   3 BPP download   success: downloaded; failure: nothing (the download may be tried again)
//   4 BPP installation   success: installed; failure: failed (the eUICC refused the profile)
// SGP.22 v2 reports no profile state changes (enable, delete) through this function: those come
// from the eUICC itself, to the receiver below.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/api_keys.h"
#include "auth/audit.h"
#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "http/router.h"
#include "metrics/registry.h"
#include "orders/orders.h"
#include "rsp_crypto/pki.h"
#include "smdp/progress_callbacks.h"

namespace station::smdp {

struct DownloadProgressReport {
  std::string requester;  // header.functionRequesterIdentifier
  std::string call_id;    // header.functionCallIdentifier: the same on every retry
  std::string iccid;      // 19 or 20 digits (an F filler is dropped)
  std::optional<std::string> eid;
  NotificationPoint point = NotificationPoint::kEligibilityCheck;
  bool success = true;
  std::string subject_code;  // when !success and given
  std::string reason_code;
  std::string message;
};

// kUnsupportedMediaType, kMalformedRequest or kValidationFailed naming the member.
Result<DownloadProgressReport> parse_download_progress_info(
    std::optional<std::string_view> content_type, std::string_view body);

// The step the report moves Station's order to; nullopt: the order stays where it is.
std::optional<orders::OrderState> order_step_for(const DownloadProgressReport& report);

// POST /gsma/rsp2/es2plus/handleDownloadProgressInfo for a remote SM-DP+ that serves `orders`:
// X-Admin-Protocol gsma/rsp/v2.x.y and an API key allowed kDownloadProgressReport (the smdp
// scope, or admin). The order holding the ICCID takes the report's step; a step it has taken
// already, or passed, changes nothing and is answered like the first (so a repeated report is
// harmless). Answers 200 with the SGP.22 "Executed-Success" header; 400/415 problem+json for a
// body that is not the binding's, 401/403 for the credential, 404 when no order holds the ICCID,
// 409 when the order is in a state the step does not follow (e.g. cancelled), 5xx for storage.
// Every report that names a step is audited (order.download_progress, by the key's name), also
// when it changes nothing or is refused. The context's members must outlive the router's use.
struct ProgressReportContext {
  auth::Authenticator& authenticator;
  orders::Orders& orders;
  auth::AuditWriter& audit;
  IdGenerator& ids;
  const Clock& clock;
};
void add_progress_report_route(http::Router& router, const ProgressReportContext& context);

// POST /gsma/rsp2/es9plus/handleNotification, on the same listener: the eUICCs' notifications of
// enabling, disabling and deleting profiles that a remote SM-DP+ delivered, which come here when
// that SM-DP+ names this listener in the profiles' notificationConfigurationInfo (for Station's
// SM-DP+: `station smdp --smdp-notification-address`). No API key: what is believed is the
// eUICC's signature over the notification as received, with its certificate chained through its
// EUM's to one of `trusted_cis` (profile_notice.h). An enable moves the order holding the ICCID
// from installed to active, provided that an order bound to an EID is bound to the notification's;
// disabling and deleting change no order. Every believed notification is audited
// (order.profile_notification, by "euicc:<EID>"), and every one counted in
// station_es2_notifications_total{outcome}: the operation, or why nothing came of it. Answers 204 like an SM-DP+ for any notification
// it could decode (the LPA then removes it from the card), believed or not; 400/415 problem+json
// for a body that is not the ES9+ binding's.
struct NotificationReceiverContext {
  orders::Orders& orders;
  auth::AuditWriter& audit;
  IdGenerator& ids;
  const Clock& clock;
  metrics::Registry& metrics;
  std::vector<rsp_crypto::Certificate> trusted_cis;
};
void add_notification_receiver_route(http::Router& router,
                                     const NotificationReceiverContext& context);

}  // namespace station::smdp
