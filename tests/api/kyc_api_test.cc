// Identity verification over HTTP on both storages: a customer submits, operators review
// (approve, reject, resubmit), scopes, bad input, and that the document number is never
// returned or stored.
#include <string>

#include "api/api_fixture.h"

namespace station::testing {
namespace {

constexpr std::string_view kKey =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kNumber = "E98765432";

json identity_body(const std::string& number = std::string(kNumber)) {
  return json{{"document_type", "passport"},
              {"document_number", number},
              {"full_name", "李雷"},
              {"date_of_birth", "1990-02-28"},
              {"nationality", "CN"}};
}

// As ApiTest, with a secrets key: submissions hash the document number with it.
class KycApiTest : public ApiTest {
 protected:
  void SetUp() override {
    STATION_SKIP_UNLESS_ENGINE_AVAILABLE(GetParam());
    auto store = ScratchDatabase::create(GetParam());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    auto keyring = secrets::parse_key_list(kKey);
    ASSERT_TRUE(keyring.is_ok());
    cli::AppOptions options;
    options.database_url = store_->url();
    options.server.listen_host = "127.0.0.1";
    options.server.listen_port = 0;
    options.server.threads = 2;
    options.keyring = std::make_shared<const secrets::Keyring>(std::move(keyring).value());
    auto app = cli::App::start(options, clock_);
    ASSERT_TRUE(app.is_ok()) << app.status().to_string();
    app_ = std::move(app).value();
    ASSERT_TRUE(app_->first_admin_key().has_value());
    admin_key_ = *app_->first_admin_key();
    runner_ = std::thread([this] { app_->run(); });
  }

  HttpReply submit(const std::string& customer, const json& body, const std::string& key = "") {
    return post("/v1/customers/" + customer + "/identity", body, "", key);
  }
  HttpReply approve(const std::string& customer, const std::string& key = "") {
    return post("/v1/admin/kyc/" + customer + "/approve", json::object(), "", key);
  }
  HttpReply reject(const std::string& customer, const std::string& reason,
                   const std::string& key = "") {
    return post("/v1/admin/kyc/" + customer + "/reject", {{"reason", reason}}, "", key);
  }
};

TEST_P(KycApiTest, SubmitThenApprove) {
  std::string customer = create_customer();
  expect_problem(get("/v1/customers/" + customer + "/identity"), 404, "not_found");
  auto submitted = submit(customer, identity_body("e9876-5432"));
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  auto identity = submitted.json();
  EXPECT_EQ(identity["state"], "pending");
  EXPECT_EQ(identity["customer_id"], customer);
  EXPECT_EQ(identity["document_type"], "passport");
  EXPECT_EQ(identity["document_last4"], "5432");
  EXPECT_EQ(identity["full_name"], "李雷");
  EXPECT_EQ(identity["date_of_birth"], "1990-02-28");
  EXPECT_EQ(identity["nationality"], "CN");
  EXPECT_TRUE(identity["rejection_reason"].is_null());
  EXPECT_TRUE(identity["reviewed_at"].is_null());
  EXPECT_FALSE(identity.contains("document_number"));
  EXPECT_FALSE(identity.contains("document_hash"));
  EXPECT_EQ(submitted.body.find("98765"), std::string::npos);

  expect_problem(submit(customer, identity_body()), 409, "conflict");
  auto queue = get("/v1/admin/kyc?state=pending");
  ASSERT_EQ(queue.status, 200) << queue.body;
  ASSERT_EQ(queue.json()["identities"].size(), 1U);
  EXPECT_EQ(queue.json()["identities"][0]["customer_id"], customer);

  auto approved = approve(customer);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.json()["state"], "verified");
  EXPECT_FALSE(approved.json()["reviewed_at"].is_null());
  EXPECT_EQ(approved.json()["reviewed_by"].get<std::string>().rfind("key:", 0), 0U);
  EXPECT_EQ(get("/v1/customers/" + customer + "/identity").json()["state"], "verified");
  EXPECT_EQ(get("/v1/admin/kyc?state=pending").json()["identities"].size(), 0U);
  EXPECT_EQ(get("/v1/admin/kyc?state=verified").json()["identities"].size(), 1U);
  EXPECT_EQ(get("/v1/admin/kyc").json()["identities"].size(), 1U);
  expect_problem(approve(customer), 409, "conflict");
  expect_problem(reject(customer, "late"), 409, "conflict");
  EXPECT_EQ(app_->identities().state(*parse_public_id("cus", customer)).value(),
            kyc::IdentityState::kVerified);

  // Approving without a body works too.
  std::string other = create_customer();
  ASSERT_EQ(submit(other, identity_body()).status, 201);
  auto bare = http_request(app_->port(), "POST", "/v1/admin/kyc/" + other + "/approve", "",
                           {{"Authorization", "Bearer " + admin_key_}});
  EXPECT_EQ(bare.status, 200) << bare.body;
}

TEST_P(KycApiTest, RejectWithAReasonThenSubmitAgain) {
  std::string customer = create_customer();
  ASSERT_EQ(submit(customer, identity_body()).status, 201);
  expect_problem(reject(customer, ""), 400, "validation_failed");
  expect_problem(post("/v1/admin/kyc/" + customer + "/reject", json::object(), ""), 400,
                 "validation_failed");
  auto rejected = reject(customer, "The photo page is unreadable");
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(rejected.json()["state"], "rejected");
  EXPECT_EQ(rejected.json()["rejection_reason"], "The photo page is unreadable");
  auto read = get("/v1/customers/" + customer + "/identity");
  EXPECT_EQ(read.json()["rejection_reason"], "The photo page is unreadable");

  json again = identity_body("G11223344");
  again["document_type"] = "national_id";
  auto resubmitted = submit(customer, again);
  ASSERT_EQ(resubmitted.status, 201) << resubmitted.body;
  EXPECT_EQ(resubmitted.json()["state"], "pending");
  EXPECT_EQ(resubmitted.json()["document_last4"], "3344");
  EXPECT_TRUE(resubmitted.json()["rejection_reason"].is_null());
}

TEST_P(KycApiTest, BadInputIsRefused) {
  std::string customer = create_customer();
  auto with = [](const std::string& member, const json& value) {
    json body = identity_body();
    body[member] = value;
    return body;
  };
  const std::string v = "validation_failed";
  expect_problem(submit(customer, with("document_type", "visa")), 400, v);
  expect_problem(submit(customer, with("document_number", "12")), 400, v);
  expect_problem(submit(customer, with("document_number", "AB/1234")), 400, v);
  expect_problem(submit(customer, with("document_number", 12345678)), 400, v);
  expect_problem(submit(customer, with("full_name", "")), 400, v);
  expect_problem(submit(customer, with("date_of_birth", "28/02/1990")), 400, v);
  expect_problem(submit(customer, with("date_of_birth", "1990-02-30")), 400, v);
  expect_problem(submit(customer, with("date_of_birth", "2999-01-01")), 400, v);
  expect_problem(submit(customer, with("nationality", "China")), 400, v);
  expect_problem(submit(customer, with("nationality", "XX")), 400, v);
  expect_problem(submit(customer, with("photo", "...")), 400, v);
  json missing = identity_body();
  missing.erase("nationality");
  expect_problem(submit(customer, missing), 400, v);
  expect_problem(submit("cus_0000000000000", identity_body()), 404, "not_found");
  expect_problem(submit("not-a-customer", identity_body()), 404, "not_found");
  expect_problem(approve("cus_0000000000000"), 404, "not_found");
  expect_problem(approve(customer), 404, "not_found");  // never submitted
  expect_problem(get("/v1/admin/kyc?state=approved"), 400, v);
  expect_problem(get("/v1/admin/kyc?limit=0"), 400, v);
  EXPECT_EQ(get("/v1/admin/kyc").json()["identities"].size(), 0U);
}

TEST_P(KycApiTest, ScopesAppSubmitsSupportReviews) {
  std::string customer = create_customer();
  std::string app = app_->create_api_key_for_tests({auth::Scope::kApp});
  std::string support = app_->create_api_key_for_tests({auth::Scope::kSupport});
  std::string finance = app_->create_api_key_for_tests({auth::Scope::kFinance});
  std::string partner = app_->create_api_key_for_tests({auth::Scope::kPartner});
  expect_problem(submit(customer, identity_body(), support), 403, "forbidden");
  expect_problem(submit(customer, identity_body(), finance), 403, "forbidden");
  ASSERT_EQ(submit(customer, identity_body(), app).status, 201);
  auto app_view = get("/v1/customers/" + customer + "/identity", app);
  ASSERT_EQ(app_view.status, 200);
  EXPECT_FALSE(app_view.json().contains("reviewed_by"));
  EXPECT_EQ(get("/v1/customers/" + customer + "/identity", support).status, 200);
  expect_problem(get("/v1/customers/" + customer + "/identity", partner), 403, "forbidden");
  expect_problem(get("/v1/admin/kyc", app), 403, "forbidden");
  expect_problem(approve(customer, app), 403, "forbidden");
  expect_problem(reject(customer, "no", finance), 403, "forbidden");
  EXPECT_EQ(get("/v1/admin/kyc?state=pending", support).status, 200);
  auto approved = approve(customer, support);
  ASSERT_EQ(approved.status, 200) << approved.body;
  expect_problem(http_request(app_->port(), "GET", "/v1/admin/kyc"), 401, "unauthenticated");
}

TEST_P(KycApiTest, TheDocumentNumberIsNotStoredAndDecisionsAreAudited) {
  std::string customer = create_customer();
  ASSERT_EQ(submit(customer, identity_body()).status, 201);
  ASSERT_EQ(reject(customer, "blurred").status, 200);
  ASSERT_EQ(submit(customer, identity_body()).status, 201);
  ASSERT_EQ(approve(customer).status, 200);
  auto connection = app_->database().acquire();
  ASSERT_TRUE(connection.is_ok());
  auto rows = (*connection)->query(
      "SELECT document_hash, document_key_id, document_last4, full_name FROM identities");
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 1U);
  for (std::size_t i = 0; i < (*rows)[0].size(); ++i) {
    EXPECT_EQ((*rows)[0].text_at(i).find("98765"), std::string::npos);
  }
  EXPECT_EQ((*rows)[0].text_at(0).size(), 64U);
  app_->flush_audit();
  auto entries = auth::list_audit_entries(**connection, 20);
  ASSERT_TRUE(entries.is_ok());
  std::vector<std::string> actions;
  for (const auto& entry : *entries) {
    if (entry.target == customer && entry.action.rfind("identity.", 0) == 0) {
      actions.push_back(entry.action);
      EXPECT_EQ(entry.detail.find("98765"), std::string::npos);
      EXPECT_FALSE(entry.request_id.empty());
    }
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"identity.approve", "identity.submit",
                                               "identity.reject", "identity.submit"}));
}

INSTANTIATE_TEST_SUITE_P(Engines, KycApiTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::testing
