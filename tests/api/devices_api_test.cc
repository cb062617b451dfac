// GET /v1/devices/check over HTTP on both storages: IMEI, EID and model checks, the 400s that say
// which check failed, exactly one parameter, and scopes.
#include <string>

#include "api/api_fixture.h"
#include "devices/catalogue.h"

namespace station::testing {
namespace {

constexpr std::string_view kEid = "89049032123451234512345678901235";  // GSMA SGP.29's example
// TAC 99000001 + serial 000001 + Luhn check digit, for a TAC imported by the test.
constexpr std::string_view kTestImei = "990000010000018";

class DevicesApiTest : public ApiTest {
 protected:
  void expect_check(const HttpReply& reply, const json& esim_capable) {
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto body = reply.json();
    EXPECT_EQ(body["esim_capable"], esim_capable) << reply.body;
    EXPECT_TRUE(body.contains("device")) << reply.body;
    EXPECT_TRUE(body["reason"].is_string()) << reply.body;
    EXPECT_FALSE(body["reason"].get<std::string>().empty());
  }
};

TEST_P(DevicesApiTest, TheCatalogueIsSeededAtStartAndAnswersByModel) {
  auto reply = get("/v1/devices/check?model=iphone%2015%20pro");
  expect_check(reply, true);
  auto device = reply.json()["device"];
  EXPECT_EQ(device["brand"], "Apple");
  EXPECT_EQ(device["model"], "iPhone 15 Pro");
  EXPECT_EQ(device["kind"], "phone");
  EXPECT_EQ(device["esim_capable"], true);

  expect_check(get("/v1/devices/check?model=Apple+iPhone+8"), false);

  auto unknown = get("/v1/devices/check?model=Nokia%203310");
  expect_check(unknown, nullptr);
  EXPECT_TRUE(unknown.json()["device"].is_null());
  EXPECT_NE(unknown.json()["reason"].get<std::string>().find("*#06#"), std::string::npos);
}

TEST_P(DevicesApiTest, AnEidProvesAnEuicc) {
  auto reply = get("/v1/devices/check?eid=" + std::string(kEid));
  expect_check(reply, true);
  EXPECT_TRUE(reply.json()["device"].is_null());

  std::string bad(kEid);
  bad.back() = '6';
  auto refused = get("/v1/devices/check?eid=" + bad);
  expect_problem(refused, 400, "invalid_eid");
  EXPECT_NE(refused.json()["detail"].get<std::string>().find("check digits"), std::string::npos);
  expect_problem(get("/v1/devices/check?eid=8904903212345"), 400, "invalid_eid");
}

TEST_P(DevicesApiTest, AnImeiIsLookedUpByItsTac) {
  auto unknown = get("/v1/devices/check?imei=490154203237518");
  expect_check(unknown, nullptr);

  auto imported = app_->devices().import_csv(
      "brand,model,kind,esim_capable,tacs\nAcme,Test Phone,phone,true,99000001\n");
  ASSERT_TRUE(imported.is_ok());
  ASSERT_TRUE(imported->problems.empty());
  auto known = get("/v1/devices/check?imei=" + std::string(kTestImei));
  expect_check(known, true);
  EXPECT_EQ(known.json()["device"]["model"], "Test Phone");

  auto bad_digit = get("/v1/devices/check?imei=490154203237519");
  expect_problem(bad_digit, 400, "invalid_imei");
  EXPECT_NE(bad_digit.json()["detail"].get<std::string>().find("check digit"), std::string::npos);
  auto short_one = get("/v1/devices/check?imei=4901542032");
  expect_problem(short_one, 400, "invalid_imei");
  EXPECT_NE(short_one.json()["detail"].get<std::string>().find("length"), std::string::npos);
  auto letters = get("/v1/devices/check?imei=49015420323751A");
  expect_problem(letters, 400, "invalid_imei");
  EXPECT_NE(letters.json()["detail"].get<std::string>().find("non-digit"), std::string::npos);
}

TEST_P(DevicesApiTest, TakesExactlyOneParameter) {
  expect_problem(get("/v1/devices/check"), 400, "validation_failed");
  expect_problem(get("/v1/devices/check?imei=490154203237518&eid=" + std::string(kEid)), 400,
                 "validation_failed");
  expect_problem(get("/v1/devices/check?model=a&model=b"), 400, "validation_failed");
  expect_problem(get("/v1/devices/check?serial=123"), 400, "validation_failed");
  expect_problem(get("/v1/devices/check?model="), 400, "validation_failed");
}

TEST_P(DevicesApiTest, IsForAdminAppAndSupport) {
  for (auto scope : {auth::Scope::kApp, auth::Scope::kSupport}) {
    EXPECT_EQ(
        get("/v1/devices/check?model=pixel%208", app_->create_api_key_for_tests({scope})).status,
        200);
  }
  for (auto scope : {auth::Scope::kFinance, auth::Scope::kPartner}) {
    expect_problem(
        get("/v1/devices/check?model=pixel%208", app_->create_api_key_for_tests({scope})), 403,
        "forbidden");
  }
  expect_problem(http_request(app_->port(), "GET", "/v1/devices/check?model=pixel%208"), 401,
                 "unauthenticated");
}

INSTANTIATE_TEST_SUITE_P(Engines, DevicesApiTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::testing
