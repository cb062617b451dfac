// ES2+ HandleDownloadProgressInfo as Station reads it from a remote SM-DP+: the body the sender
// (progress_callbacks) writes is accepted; members, ICCIDs, points and statuses outside the
// binding are refused naming the member; each notification point maps to its order step; and the
// ES2+ client's answers map to their Status codes.
#include "smdp/progress_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "smdp/es2_client.h"

namespace station::smdp {
namespace {

using nlohmann::json;
using orders::OrderState;

constexpr std::string_view kJson = "application/json;charset=UTF-8";

json report_body(int point, bool success) {
  json status = {{"status", success ? "Executed-Success" : "Failed"}};
  if (!success) {
    status["statusCodeData"] = {{"subjectCode", "8.1"}, {"reasonCode", "6.1"}, {"message", "no"}};
  }
  return {{"header",
           {{"functionRequesterIdentifier", "smdp.example:8443"}, {"functionCallIdentifier", "7"}}},
          {"eid", "89049032123451234512345678901235"},
          {"iccid", "8986010000000000018F"},  // 19 digits padded with F, as SGP.22 carries it
          {"profileType", ""},
          {"timestamp", "2026-11-30T05:00:00Z"},
          {"notificationPointId", point},
          {"notificationPointStatus", status}};
}

Result<DownloadProgressReport> parse(const json& body) {
  return parse_download_progress_info(kJson, body.dump());
}

TEST(ProgressReportTest, ReadsTheSendersBodyAndMapsEachPointToItsOrderStep) {
  auto installed = parse(report_body(4, true));
  ASSERT_TRUE(installed.is_ok()) << installed.status().to_string();
  EXPECT_EQ(installed->iccid, "8986010000000000018");
  EXPECT_EQ(installed->call_id, "7");
  EXPECT_EQ(order_step_for(*installed), OrderState::kInstalled);
  EXPECT_EQ(order_step_for(parse(report_body(4, false)).value()), OrderState::kFailed);
  EXPECT_EQ(order_step_for(parse(report_body(3, true)).value()), OrderState::kDownloaded);
  EXPECT_EQ(order_step_for(parse(report_body(3, false)).value()), std::nullopt);
  EXPECT_EQ(order_step_for(parse(report_body(1, true)).value()), std::nullopt);
  auto refused = parse(report_body(2, false));
  ASSERT_TRUE(refused.is_ok());
  EXPECT_EQ(refused->reason_code, "6.1");
  EXPECT_EQ(order_step_for(*refused), std::nullopt);
}

TEST(ProgressReportTest, RefusesWhatIsNotTheBinding) {
  auto refused = [](json body) { return parse(body).status().code(); };
  json body = report_body(4, true);
  body["surprise"] = 1;
  EXPECT_EQ(refused(body), ErrorCode::kValidationFailed);
  body = report_body(5, true);
  EXPECT_EQ(refused(body), ErrorCode::kValidationFailed);
  body = report_body(4, true);
  body["iccid"] = "8986010000000000017";  // wrong check digit
  EXPECT_EQ(refused(body), ErrorCode::kValidationFailed);
  body = report_body(4, true);
  body["notificationPointStatus"]["status"] = "Fine";
  EXPECT_EQ(refused(body), ErrorCode::kValidationFailed);
  body = report_body(4, true);
  body.erase("header");
  EXPECT_EQ(refused(body), ErrorCode::kValidationFailed);
  EXPECT_EQ(parse_download_progress_info("text/plain", report_body(4, true).dump()).status().code(),
            ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(parse_download_progress_info(kJson, "{").status().code(), ErrorCode::kMalformedRequest);
}

TEST(Es2AnswerTest, MapsStatusesAndRefusals) {
  const std::string ok = R"({"header":{"functionExecutionStatus":{"status":"Executed-Success"}}})";
  EXPECT_TRUE(parse_es2_answer("downloadOrder", 200, ok).is_ok());
  EXPECT_EQ(parse_es2_answer("downloadOrder", 401, ok).status().code(),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(parse_es2_answer("downloadOrder", 502, ok).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(parse_es2_answer("downloadOrder", 200, "[]").status().code(),
            ErrorCode::kMalformedRequest);
  const std::string unknown =
      R"({"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":)"
      R"({"subjectCode":"8.2.1","reasonCode":"3.9"}}}})";
  EXPECT_EQ(parse_es2_answer("confirmOrder", 200, unknown).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace station::smdp
