// The plan catalogue over HTTP on both storages: POST/PUT /v1/admin/plans, GET /v1/plans and
// /v1/plans/{code}; strict bodies, versioning, scopes.
#include <algorithm>
#include <string>
#include <vector>

#include "api/api_fixture.h"

namespace station::testing {
namespace {

json plan_body(const std::string& code = "CN-10GB-30D") {
  return json{{"code", code},
              {"name", {{"zh-CN", "中国大陆 10GB 30天"}, {"en", "China 10 GB, 30 days"}}},
              {"data_mb", 10240},
              {"validity_days", 30},
              {"price_minor", 4900},
              {"currency", "CNY"},
              {"countries", {"CN"}}};
}

class PlansApiTest : public ApiTest {
 protected:
  HttpReply put(const std::string& target, const json& body, const std::string& key = "") {
    return http_request(app_->port(), "PUT", target, body.dump(), auth(key));
  }
};

TEST_P(PlansApiTest, CreateReadAndListAPlan) {
  auto created = post("/v1/admin/plans", plan_body(), "");
  ASSERT_EQ(created.status, 201) << created.body;
  auto plan = created.json();
  EXPECT_EQ(plan["code"], "CN-10GB-30D");
  EXPECT_EQ(plan["version"], 1);
  EXPECT_EQ(plan["name"]["zh-CN"], "中国大陆 10GB 30天");
  EXPECT_EQ(plan["name"]["en"], "China 10 GB, 30 days");
  EXPECT_EQ(plan["data_mb"], 10240);
  EXPECT_EQ(plan["validity_days"], 30);
  EXPECT_EQ(plan["price_minor"], 4900);
  EXPECT_EQ(plan["currency"], "CNY");
  EXPECT_EQ(plan["countries"], json::array({"CN"}));
  EXPECT_EQ(plan["active"], true);
  EXPECT_EQ(plan["id"].get<std::string>().rfind("pln_", 0), 0U);
  EXPECT_FALSE(plan["created_at"].get<std::string>().empty());

  auto read = get("/v1/plans/CN-10GB-30D");
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.json(), plan);

  // The contract's minimal body: no countries, no active flag; unlimited data.
  json minimal = {{"code", "WORLD-UNL"},
                  {"name", {{"zh-CN", "全球无限"}, {"en", "World unlimited"}}},
                  {"data_mb", nullptr},
                  {"validity_days", 7},
                  {"price_minor", 9900},
                  {"currency", "CNY"}};
  auto unlimited = post("/v1/admin/plans", minimal, "");
  ASSERT_EQ(unlimited.status, 201) << unlimited.body;
  EXPECT_TRUE(unlimited.json()["data_mb"].is_null());
  EXPECT_EQ(unlimited.json()["countries"], json::array());

  auto listed = get("/v1/plans");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.json()["plans"].size(), 2U);
  EXPECT_EQ(listed.json()["plans"][0]["code"], "CN-10GB-30D");
  EXPECT_EQ(listed.json()["plans"][1]["code"], "WORLD-UNL");
}

TEST_P(PlansApiTest, PutMakesANewVersionAndTheOldIdStaysReadable) {
  auto created = post("/v1/admin/plans", plan_body(), "");
  ASSERT_EQ(created.status, 201) << created.body;
  json cheaper = plan_body();
  cheaper.erase("code");
  cheaper["price_minor"] = 3900;
  auto updated = put("/v1/admin/plans/CN-10GB-30D", cheaper);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.json()["version"], 2);
  EXPECT_EQ(updated.json()["price_minor"], 3900);
  EXPECT_NE(updated.json()["id"], created.json()["id"]);
  EXPECT_EQ(get("/v1/plans/CN-10GB-30D").json()["version"], 2);
  auto version_id = parse_public_id("pln", created.json()["id"].get<std::string>());
  ASSERT_TRUE(version_id.has_value());
  auto sold = app_->plans().version(*version_id);
  ASSERT_TRUE(sold.is_ok());
  EXPECT_EQ(sold->price_minor, 4900);

  // The same body again changes nothing.
  auto again = put("/v1/admin/plans/CN-10GB-30D", cheaper);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json()["version"], 2);

  // Deactivated plans leave the public list but stay readable by code.
  cheaper["active"] = false;
  ASSERT_EQ(put("/v1/admin/plans/CN-10GB-30D", cheaper).status, 200);
  EXPECT_EQ(get("/v1/plans").json()["plans"].size(), 0U);
  EXPECT_EQ(get("/v1/plans/CN-10GB-30D").json()["active"], false);

  json renamed = plan_body("OTHER");
  expect_problem(put("/v1/admin/plans/CN-10GB-30D", renamed), 400, "validation_failed");
  expect_problem(put("/v1/admin/plans/NOPE", plan_body("NOPE")), 404, "not_found");
  expect_problem(get("/v1/plans/NOPE"), 404, "not_found");
}

TEST_P(PlansApiTest, BadBodiesAreRefusedWithTheirCode) {
  ASSERT_EQ(post("/v1/admin/plans", plan_body(), "").status, 201);
  expect_problem(post("/v1/admin/plans", plan_body(), ""), 409, "conflict");

  auto with = [](const std::string& member, const json& value) {
    json body = plan_body("NEW-PLAN");
    body[member] = value;
    return body;
  };
  auto without = [](const std::string& member) {
    json body = plan_body("NEW-PLAN");
    body.erase(member);
    return body;
  };
  const std::string v = "validation_failed";
  expect_problem(post("/v1/admin/plans", with("code", "has space"), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("code", std::string(65, 'A')), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("name", "just text"), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("name", {{"en", "only en"}}), ""), 400, v);
  expect_problem(post("/v1/admin/plans",
                      with("name", {{"zh-CN", "a"}, {"en", "b"}, {"fr", "c"}}), ""),
                 400, v);
  expect_problem(post("/v1/admin/plans", with("name", {{"zh-CN", ""}, {"en", "b"}}), ""), 400, v);
  expect_problem(post("/v1/admin/plans", without("data_mb"), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("data_mb", 0), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("data_mb", "10GB"), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("data_mb", 1.5), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("validity_days", 0), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("validity_days", 3651), ""), 400, v);
  expect_problem(post("/v1/admin/plans", without("validity_days"), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("price_minor", 0), ""), 400, "amount_out_of_range");
  expect_problem(post("/v1/admin/plans", with("price_minor", -1), ""), 400, "amount_out_of_range");
  expect_problem(post("/v1/admin/plans", with("price_minor", 1'000'000'000'001LL), ""), 400,
                 "amount_out_of_range");
  expect_problem(post("/v1/admin/plans", with("currency", "XYZ"), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("countries", "CN"), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("countries", {"CN", "EU"}), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("countries", {"CN", "CN"}), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("countries", {1}), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("active", "yes"), ""), 400, v);
  expect_problem(post("/v1/admin/plans", with("colour", "red"), ""), 400, v);
  auto duplicate = http_request(app_->port(), "POST", "/v1/admin/plans",
                                R"({"code":"A","code":"B"})", auth());
  expect_problem(duplicate, 400, "malformed_request");
  auto text = auth();
  text["Content-Type"] = "text/plain";
  expect_problem(http_request(app_->port(), "POST", "/v1/admin/plans", plan_body("X").dump(), text),
                 415, "unsupported_media_type");
  EXPECT_EQ(get("/v1/plans").json()["plans"].size(), 1U);
}

TEST_P(PlansApiTest, EveryScopeReadsOnlyAdminWrites) {
  ASSERT_EQ(post("/v1/admin/plans", plan_body(), "").status, 201);
  for (auto scope : {auth::Scope::kApp, auth::Scope::kSupport, auth::Scope::kFinance,
                     auth::Scope::kPartner}) {
    std::string key = app_->create_api_key_for_tests({scope});
    EXPECT_EQ(get("/v1/plans", key).status, 200) << auth::scope_name(scope);
    EXPECT_EQ(get("/v1/plans/CN-10GB-30D", key).status, 200) << auth::scope_name(scope);
    expect_problem(post("/v1/admin/plans", plan_body("B"), "", key), 403, "forbidden");
    expect_problem(put("/v1/admin/plans/CN-10GB-30D", plan_body(), key), 403, "forbidden");
  }
  expect_problem(http_request(app_->port(), "GET", "/v1/plans"), 401, "unauthenticated");
}

TEST_P(PlansApiTest, ChangesAreAudited) {
  ASSERT_EQ(post("/v1/admin/plans", plan_body(), "").status, 201);
  json changed = plan_body();
  changed["validity_days"] = 31;
  ASSERT_EQ(put("/v1/admin/plans/CN-10GB-30D", changed).status, 200);
  auto connection = app_->database().acquire();
  ASSERT_TRUE(connection.is_ok());
  auto entries = auth::list_audit_entries(**connection, 10);
  ASSERT_TRUE(entries.is_ok());
  std::vector<std::string> actions;
  for (const auto& entry : *entries) actions.push_back(entry.action);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "plan.create"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "plan.update"), 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, PlansApiTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::testing
