#include "smdp/progress_report.h"

#include <fmt/format.h>

#include "api/json_body.h"
#include "api/v1.h"
#include "common/limits.h"
#include "inventory/inventory.h"
#include "smdp/es9_json.h"
#include "smdp/routes.h"

namespace station::smdp {
namespace {

constexpr std::size_t kIdentifierBytesMax = 64;  // EID, requester and call identifiers
constexpr std::size_t kCodeBytesMax = 16;        // subject and reason codes ("8.2.6", "3.8")
constexpr std::size_t kMessageBytesMax = 1024;
constexpr std::size_t kTimestampBytesMax = 32;

Status invalid(std::string_view why) {
  return Status(ErrorCode::kValidationFailed, std::string(why));
}

// How far along the download an order is; -1 for states off that path.
int download_rank(orders::OrderState state) {
  switch (state) {
    case orders::OrderState::kDownloaded:
      return 1;
    case orders::OrderState::kInstalled:
      return 2;
    case orders::OrderState::kActive:
      return 3;
    default:
      return -1;
  }
}

// Moves the order holding the report's ICCID to `to`, unless it is there or beyond already.
// The order's id is known as soon as it is found, for the audit entry, whatever comes of it.
Status apply(orders::Orders& orders, const DownloadProgressReport& report, orders::OrderState to,
             std::optional<Id>& order_id) {
  STATION_ASSIGN_OR_RETURN(order_id, orders.order_holding(report.iccid));
  STATION_ASSIGN_OR_RETURN(auto order, orders.get(*order_id));
  const int reached = download_rank(order.state);
  if (reached >= 0 && reached >= download_rank(to)) return Status::ok();
  const std::string cause = fmt::format(
      "ES2+ HandleDownloadProgressInfo from {}: notification point {} {}{}{}", report.requester,
      static_cast<int>(report.point), report.success ? "succeeded" : "failed",
      report.message.empty() ? "" : ": ", report.message);
  return orders.record_download_progress(*order_id, to, cause);
}

}  // namespace

Result<DownloadProgressReport> parse_download_progress_info(
    std::optional<std::string_view> content_type, std::string_view body) {
  if (body.size() > kEs9BodyBytesMax) {
    return Status(ErrorCode::kPayloadTooLarge,
                  fmt::format("the body is larger than {} bytes", kEs9BodyBytesMax));
  }
  STATION_ASSIGN_OR_RETURN(auto json, api::JsonBody::parse(content_type, body));
  STATION_RETURN_IF_ERROR(
      json.only({"header", "eid", "iccid", "profileType", "timestamp", "notificationPointId",
                 "notificationPointStatus", "resultData"}));
  DownloadProgressReport report;
  STATION_ASSIGN_OR_RETURN(auto header, json.optional_object("header"));
  if (!header) return invalid("header is required");
  STATION_RETURN_IF_ERROR(header->only({"functionRequesterIdentifier", "functionCallIdentifier"}));
  STATION_ASSIGN_OR_RETURN(report.requester,
                           header->string("functionRequesterIdentifier", kIdentifierBytesMax));
  STATION_ASSIGN_OR_RETURN(report.call_id,
                           header->string("functionCallIdentifier", kIdentifierBytesMax));

  STATION_ASSIGN_OR_RETURN(report.iccid, json.string("iccid", kIdentifierBytesMax));
  // SGP.22 carries the ICCID as 19 or 20 digits, the odd one padded with F.
  if (report.iccid.size() == 20 && (report.iccid.back() == 'F' || report.iccid.back() == 'f')) {
    report.iccid.pop_back();
  }
  if (!inventory::is_valid_iccid(report.iccid)) return invalid("iccid is not a valid ICCID");
  STATION_ASSIGN_OR_RETURN(report.eid, json.optional_string("eid", kIdentifierBytesMax));
  STATION_RETURN_IF_ERROR(
      json.optional_string("profileType", limits::kProfileTypeBytesMax).status());
  STATION_RETURN_IF_ERROR(json.string("timestamp", kTimestampBytesMax).status());
  STATION_RETURN_IF_ERROR(json.optional_string("resultData", kEs9FieldBytesMax).status());

  STATION_ASSIGN_OR_RETURN(auto point, json.integer("notificationPointId", false));
  if (point < 1 || point > 4) return invalid("notificationPointId is not 1..4");
  report.point = static_cast<NotificationPoint>(point);

  STATION_ASSIGN_OR_RETURN(auto status, json.optional_object("notificationPointStatus"));
  if (!status) return invalid("notificationPointStatus is required");
  STATION_RETURN_IF_ERROR(status->only({"status", "statusCodeData"}));
  STATION_ASSIGN_OR_RETURN(auto outcome, status->string("status", kIdentifierBytesMax));
  if (outcome == "Executed-Success" || outcome == "Executed-WithWarning") {
    report.success = true;
  } else if (outcome == "Failed" || outcome == "Expired") {
    report.success = false;
  } else {
    return invalid("notificationPointStatus.status is not an SGP.22 function execution status");
  }
  STATION_ASSIGN_OR_RETURN(auto data, status->optional_object("statusCodeData"));
  if (data) {
    STATION_RETURN_IF_ERROR(
        data->only({"subjectCode", "reasonCode", "subjectIdentifier", "message"}));
    STATION_ASSIGN_OR_RETURN(report.subject_code, data->string("subjectCode", kCodeBytesMax));
    STATION_ASSIGN_OR_RETURN(report.reason_code, data->string("reasonCode", kCodeBytesMax));
    STATION_RETURN_IF_ERROR(
        data->optional_string("subjectIdentifier", kIdentifierBytesMax).status());
    STATION_ASSIGN_OR_RETURN(auto message, data->optional_string("message", kMessageBytesMax));
    report.message = message.value_or("");
  }
  return report;
}

std::optional<orders::OrderState> order_step_for(const DownloadProgressReport& report) {
  switch (report.point) {
    case NotificationPoint::kEligibilityCheck:
    case NotificationPoint::kConfirmationFailure:
      return std::nullopt;
    case NotificationPoint::kBppDownload:
      if (report.success) return orders::OrderState::kDownloaded;
      return std::nullopt;
    case NotificationPoint::kBppInstallation:
      return report.success ? orders::OrderState::kInstalled : orders::OrderState::kFailed;
  }
  return std::nullopt;
}

void add_progress_report_route(http::Router& router, const ProgressReportContext& context) {
  router.add(
      "POST", "/gsma/rsp2/es2plus/handleDownloadProgressInfo",
      [context](http::Request& request, http::Responder respond) {
        if (!has_admin_protocol(request)) {
          return respond(http::problem(ErrorCode::kMalformedRequest,
                                       "X-Admin-Protocol: gsma/rsp/v2.x.y is required", request));
        }
        auto principal = api::authorise(context.authenticator, request, respond,
                                        auth::Permission::kDownloadProgressReport);
        if (!principal) return;
        auto report = parse_download_progress_info(request.header("content-type"), request.body);
        if (!report.is_ok()) return respond(http::problem(report.status(), request));
        auto to = order_step_for(*report);
        if (!to) return respond(binding_response(200, success_body()));
        std::optional<Id> order_id;
        const Status applied = apply(context.orders, *report, *to, order_id);
        context.audit.record(auth::AuditEntry{
            context.ids.next(), context.clock.now_unix_ms(), principal->name(),
            "order.download_progress",
            order_id ? format_public_id(orders::kOrderIdPrefix, *order_id) : "",
            request.request_id,
            applied.is_ok() ? "succeeded" : std::string(error_name(applied.code())),
            fmt::format(R"({{"notification_point":{},"success":{}}})",
                        static_cast<int>(report->point), report->success)});
        if (!applied.is_ok()) return respond(http::problem(applied, request));
        respond(binding_response(200, success_body()));
      });
}

}  // namespace station::smdp
