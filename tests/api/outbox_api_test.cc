// GET /v1/admin/outbox over HTTP on both storages: with no SMSC configured, messages the app
// enqueues stay queued and operators read them here; scopes and the limit bound.
#include <string>

#include "api/api_fixture.h"
#include "messaging/templates.h"

namespace station::testing {
namespace {

class OutboxApiTest : public ApiTest {};

TEST_P(OutboxApiTest, ListsQueuedMessagesNewestFirst) {
  auto empty = get("/v1/admin/outbox");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(empty.json()["messages"].empty());

  auto english = messaging::render("activation_code", "en", {{"code", "LPA:1$smdp.test$M1"}});
  auto chinese = messaging::render("activation_code", "zh-CN", {{"code", "LPA:1$smdp.test$M2"}});
  ASSERT_TRUE(english.is_ok() && chinese.is_ok());
  ASSERT_TRUE(app_->messenger().enqueue("+8613800138000", *english, "en", std::nullopt).is_ok());
  ASSERT_TRUE(
      app_->messenger().enqueue("8613900139000", *chinese, "zh-CN", std::nullopt).is_ok());

  auto listed = get("/v1/admin/outbox");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json body = listed.json();
  const auto& messages = body["messages"];
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0]["text"], "您的 eSIM 激活码：LPA:1$smdp.test$M2");
  EXPECT_EQ(messages[0]["language"], "zh-CN");
  EXPECT_EQ(messages[0]["state"], "queued");
  EXPECT_EQ(messages[1]["destination"], "8613800138000");
  EXPECT_EQ(messages[1]["text"], "Your eSIM activation code: LPA:1$smdp.test$M1");
  EXPECT_TRUE(messages[1]["smsc_message_id"].is_null());
  EXPECT_EQ(messages[1]["attempts"], 0);
  EXPECT_EQ(messages[1]["id"].get<std::string>().rfind("msg_", 0), 0U);

  auto one = get("/v1/admin/outbox?limit=1");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.json()["messages"].size(), 1U);
  expect_problem(get("/v1/admin/outbox?limit=0"), 400, "validation_failed");
  expect_problem(get("/v1/admin/outbox?limit=201"), 400, "validation_failed");
  expect_problem(get("/v1/admin/outbox?limit=x"), 400, "validation_failed");
}

TEST_P(OutboxApiTest, IsForAdminAndSupportOnly) {
  EXPECT_EQ(get("/v1/admin/outbox", app_->create_api_key_for_tests({auth::Scope::kSupport})).status,
            200);
  for (auto scope : {auth::Scope::kApp, auth::Scope::kFinance, auth::Scope::kPartner}) {
    expect_problem(get("/v1/admin/outbox", app_->create_api_key_for_tests({scope})), 403,
                   "forbidden");
  }
  expect_problem(http_request(app_->port(), "GET", "/v1/admin/outbox"), 401, "unauthenticated");
}

INSTANTIATE_TEST_SUITE_P(Engines, OutboxApiTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::testing
