#include "smdp/progress_report.h"

#include <memory>

#include <fmt/format.h>

#include "api/json_body.h"
#include "api/v1.h"
#include "common/limits.h"
#include "der/rsp.h"
#include "inventory/inventory.h"
#include "smdp/es9_json.h"
#include "smdp/profile_notice.h"
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

// Moves the order holding `iccid` to `to`, unless it is there or beyond already; `eid`, when
// given, must be the order's eUICC if the order knows one. The order's id is known as soon as it
// is found, for the audit entry, whatever comes of it.
Status advance(orders::Orders& orders, std::string_view iccid, orders::OrderState to,
               const std::string& cause, const std::string* eid, std::optional<Id>& order_id) {
  STATION_ASSIGN_OR_RETURN(order_id, orders.order_holding(iccid));
  STATION_ASSIGN_OR_RETURN(auto order, orders.get(*order_id));
  if (eid != nullptr && order.eid && *order.eid != *eid) {
    return Status(ErrorCode::kConflict, "the order's profile is bound to another eUICC");
  }
  const int reached = download_rank(order.state);
  if (reached >= 0 && reached >= download_rank(to)) return Status::ok();
  return orders.record_download_progress(*order_id, to, cause);
}

std::string report_cause(const DownloadProgressReport& report) {
  return fmt::format("ES2+ HandleDownloadProgressInfo from {}: notification point {} {}{}{}",
                     report.requester, static_cast<int>(report.point),
                     report.success ? "succeeded" : "failed", report.message.empty() ? "" : ": ",
                     report.message);
}

std::string_view operation_name(std::uint64_t operation) {
  if (operation & der::rsp::kNotificationEnable) return "enable";
  if (operation & der::rsp::kNotificationDisable) return "disable";
  if (operation & der::rsp::kNotificationDelete) return "delete";
  return "other";
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
        const Status applied =
            advance(context.orders, report->iccid, *to, report_cause(*report), nullptr, order_id);
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

void add_notification_receiver_route(http::Router& router,
                                     const NotificationReceiverContext& context) {
  auto eums = std::make_shared<EumCertificateCache>();
  router.add(
      "POST", "/gsma/rsp2/es9plus/handleNotification",
      [context, eums](http::Request& request, http::Responder respond) {
        if (!has_admin_protocol(request)) {
          return respond(http::problem(ErrorCode::kMalformedRequest,
                                       "X-Admin-Protocol: gsma/rsp/v2.x.y is required", request));
        }
        auto parsed = parse_handle_notification(request.header("content-type"), request.body);
        if (!parsed.is_ok()) return respond(http::problem(parsed.status(), request));
        // Answered 204 from here on, as an SM-DP+ answers: the LPA can do nothing better with
        // a notification that is not believed, or that is not for an order.
        const auto done = [&](std::string_view outcome) {
          context.metrics
              .counter("station_es2_notifications_total",
                       "eUICC notifications received on the ES2+ listener, by outcome",
                       {{"outcome", std::string(outcome)}})
              .add();
          respond(binding_response(204, ""));
        };
        auto decoded = der::rsp::decode_pending_notification(parsed->pending_notification);
        if (!decoded.is_ok()) return done("malformed");
        // An installation result is its SM-DP+'s, which reports it over ES2+.
        auto* notification = std::get_if<der::rsp::OtherSignedNotification>(&*decoded);
        if (notification == nullptr) return done("installation_result");
        CheckedNotice checked = check_profile_notice(*notification, context.trusted_cis,
                                                     context.clock.now_unix_ms() / 1000, *eums);
        if (checked.fault != NoticeFault::kNone) return done(fault_name(checked.fault));
        const ProfileNotice& notice = checked.notice;
        const std::string_view operation = operation_name(notice.operation);
        std::optional<Id> order_id;
        Status applied = Status::ok();
        if (notice.operation & der::rsp::kNotificationEnable) {
          applied = advance(context.orders, notice.iccid, orders::OrderState::kActive,
                            fmt::format("enabled on the eUICC {} (its signed notification)",
                                        notice.eid),
                            &notice.eid, order_id);
        } else {
          // Disabling and deleting change no order; the order's holder is still recorded.
          auto holder = context.orders.order_holding(notice.iccid);
          if (holder.is_ok()) order_id = *holder;
          applied = holder.status();
        }
        const std::string outcome =
            applied.is_ok() ? "succeeded" : std::string(error_name(applied.code()));
        context.audit.record(auth::AuditEntry{
            context.ids.next(), context.clock.now_unix_ms(), "euicc:" + notice.eid,
            "order.profile_notification",
            order_id ? format_public_id(orders::kOrderIdPrefix, *order_id) : "",
            request.request_id, outcome,
            fmt::format(R"({{"iccid":"{}","operation":"{}"}})", notice.iccid, operation)});
        done(applied.is_ok() ? operation : std::string_view(outcome));
      });
}

}  // namespace station::smdp
