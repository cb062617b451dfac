// The v1 API over real HTTP on loopback, on both storages: the happy paths, idempotency, and
// every kind of bad input, each checked to change nothing.
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/api_fixture.h"

namespace station {
namespace {

using nlohmann::json;
using storage::testing::Engine;
using testing::ApiTest;
using testing::http_request;
using testing::HttpReply;

TEST_P(ApiTest, CustomerGetsAnEmptyWalletInItsCurrency) {
  std::string customer = create_customer();
  auto wallet = get("/v1/customers/" + customer + "/wallet").json();
  EXPECT_EQ(wallet["currency"], "CNY");
  EXPECT_EQ(wallet["balance_minor"], 0);
  EXPECT_TRUE(wallet["account_id"].get<std::string>().starts_with("acc_"));
  auto details = get("/v1/customers/" + customer).json();
  EXPECT_EQ(details["name"], "李雷");
  EXPECT_EQ(details["language"], "zh-CN");
}

TEST_P(ApiTest, TopupCreditsTheWalletAndIsReadable) {
  std::string customer = create_customer();
  auto reply = topup(customer, 5000, "k1");
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto body = reply.json();
  EXPECT_EQ(body["status"], "succeeded");
  EXPECT_EQ(body["balance_minor"], 5000);
  EXPECT_EQ(body["channel"], "app");
  EXPECT_EQ(balance(customer), 5000);
  auto read = get("/v1/topups/" + body["id"].get<std::string>());
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.json()["amount_minor"], 5000);
  EXPECT_EQ(read.json()["customer_id"], customer);
}

TEST_P(ApiTest, SameKeySameRequestReplaysWithoutMovingMoneyAgain) {
  std::string customer = create_customer();
  auto first = topup(customer, 700, "same-key");
  ASSERT_EQ(first.status, 201);
  EXPECT_TRUE(first.header("idempotent-replayed").empty());
  auto second = topup(customer, 700, "same-key");
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  EXPECT_EQ(second.json()["id"], first.json()["id"]);
  EXPECT_EQ(second.json()["balance_minor"], 700);
  EXPECT_EQ(balance(customer), 700);
}

TEST_P(ApiTest, SameKeyDifferentRequestIsRefused) {
  std::string customer = create_customer();
  ASSERT_EQ(topup(customer, 700, "k").status, 201);
  expect_problem(topup(customer, 701, "k"), 409, "idempotency_key_reused");
  expect_problem(charge(customer, 700, "k"), 409, "idempotency_key_reused");
  EXPECT_EQ(balance(customer), 700);
}

TEST_P(ApiTest, KeysAreScopedPerApiKey) {
  std::string customer = create_customer();
  auto partner = app_->create_api_key_for_tests({auth::Scope::kPartner});
  ASSERT_EQ(topup(customer, 100, "shared").status, 201);
  auto other = post("/v1/topups",
                    {{"customer_id", customer}, {"amount_minor", 100}, {"currency", "CNY"},
                     {"channel", "partner"}},
                    "shared", partner);
  ASSERT_EQ(other.status, 201) << other.body;
  EXPECT_TRUE(other.header("idempotent-replayed").empty());
  EXPECT_EQ(balance(customer), 200);
}

TEST_P(ApiTest, InsufficientFundsChangesNothingAndReplaysAsARefusal) {
  std::string customer = create_customer();
  ASSERT_EQ(topup(customer, 300, "t1").status, 201);
  expect_problem(charge(customer, 301, "c1"), 409, "insufficient_funds");
  EXPECT_EQ(balance(customer), 300);
  ASSERT_EQ(topup(customer, 1000, "t2").status, 201);
  auto replay = charge(customer, 301, "c1");
  expect_problem(replay, 409, "insufficient_funds");
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(balance(customer), 1300);
  auto ok = charge(customer, 301, "c2");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.json()["balance_minor"], 999);
  EXPECT_TRUE(ok.json()["id"].get<std::string>().starts_with("ch_"));
}

TEST_P(ApiTest, TransactionsAreNewestFirstWithCursorPagination) {
  std::string customer = create_customer();
  for (int i = 1; i <= 5; ++i) {
    ASSERT_EQ(topup(customer, i * 100, "p" + std::to_string(i)).status, 201);
  }
  ASSERT_EQ(charge(customer, 50, "pc").status, 201);
  std::vector<json> seen;
  std::string target = "/v1/customers/" + customer + "/transactions?limit=4";
  auto page = get(target).json();
  for (auto& item : page["data"]) seen.push_back(item);
  ASSERT_TRUE(page["next_cursor"].is_string());
  page = get(target + "&cursor=" + page["next_cursor"].get<std::string>()).json();
  for (auto& item : page["data"]) seen.push_back(item);
  EXPECT_TRUE(page["next_cursor"].is_null());
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[0]["type"], "charge");
  EXPECT_EQ(seen[0]["direction"], "debit");
  EXPECT_EQ(seen[0]["balance_after_minor"], 1450);
  EXPECT_EQ(seen[1]["amount_minor"], 500);
  EXPECT_EQ(seen[5]["amount_minor"], 100);
  EXPECT_EQ(seen[5]["balance_after_minor"], 100);
  expect_problem(get("/v1/customers/" + customer + "/transactions?limit=0"), 400,
                 "validation_failed");
  expect_problem(get("/v1/customers/" + customer + "/transactions?limit=201"), 400,
                 "validation_failed");
  expect_problem(get(target + "&cursor=garbage"), 400, "validation_failed");
}

TEST_P(ApiTest, BadInputGetsAProblemAndChangesNothing) {
  std::string customer = create_customer();
  ASSERT_EQ(topup(customer, 1000, "base").status, 201);
  auto raw = [&](const std::string& body, std::map<std::string, std::string> headers) {
    return http_request(app_->port(), "POST", "/v1/topups", body, headers);
  };
  auto headers = auth();
  headers["Idempotency-Key"] = "bad-1";
  expect_problem(raw("{not json", headers), 400, "malformed_request");
  expect_problem(raw("[1,2]", headers), 400, "malformed_request");
  expect_problem(raw(R"({"customer_id":"x","customer_id":"y"})", headers), 400,
                 "malformed_request");
  expect_problem(raw(std::string(40, '[') + std::string(40, ']'), headers), 400,
                 "malformed_request");
  auto text_headers = headers;
  text_headers["Content-Type"] = "text/plain";
  expect_problem(raw("{}", text_headers), 415, "unsupported_media_type");
  expect_problem(raw(std::string(200 * 1024, ' '), headers), 413, "payload_too_large");

  json good = {{"customer_id", customer}, {"amount_minor", 100}, {"currency", "CNY"},
               {"channel", "app"}};
  auto with = [&](const std::string& field, const json& value) {
    json body = good;
    if (value.is_discarded()) {
      body.erase(field);
    } else {
      body[field] = value;
    }
    return post("/v1/topups", body, "bad-2");
  };
  expect_problem(with("amount_minor", json::value_t::discarded), 400, "validation_failed");
  expect_problem(with("amount_minor", "100"), 400, "validation_failed");
  expect_problem(with("amount_minor", 1.5), 400, "validation_failed");
  expect_problem(with("amount_minor", 0), 400, "amount_out_of_range");
  expect_problem(with("amount_minor", -5), 400, "amount_out_of_range");
  expect_problem(with("amount_minor", 1'000'000'000'001LL), 400, "amount_out_of_range");
  expect_problem(raw(R"({"customer_id":")" + customer +
                         R"(","amount_minor":99999999999999999999999,"currency":"CNY","channel":"app"})",
                     headers),
                 400, "amount_out_of_range");
  expect_problem(with("currency", "USD"), 422, "currency_mismatch");
  expect_problem(with("currency", "XYZ"), 400, "validation_failed");
  expect_problem(with("channel", "pigeon"), 400, "validation_failed");
  expect_problem(with("customer_id", "cus_0000000000001"), 404, "not_found");
  expect_problem(with("customer_id", 42), 400, "validation_failed");
  expect_problem(with("surprise", true), 400, "validation_failed");

  expect_problem(post("/v1/topups", good, ""), 400, "idempotency_key_invalid");
  expect_problem(post("/v1/topups", good, std::string(256, 'k')), 400, "idempotency_key_invalid");
  expect_problem(post("/v1/topups", good, "has space"), 400, "idempotency_key_invalid");

  expect_problem(http_request(app_->port(), "POST", "/v1/topups", good.dump(),
                              {{"Content-Type", "application/json"}, {"Idempotency-Key", "a"}}),
                 401, "unauthenticated");
  expect_problem(post("/v1/topups", good, "a", "stk_AAAAAAAA_" + std::string(43, 'A')), 401,
                 "unauthenticated");
  expect_problem(post("/v1/topups", good, "a", "not-a-key"), 401, "unauthenticated");
  auto support = app_->create_api_key_for_tests({auth::Scope::kSupport});
  expect_problem(post("/v1/topups", good, "a", support), 403, "forbidden");
  auto partner = app_->create_api_key_for_tests({auth::Scope::kPartner});
  expect_problem(post("/v1/topups", good, "a", partner), 403, "forbidden");  // channel app

  expect_problem(get("/v1/customers/nope/wallet"), 404, "not_found");
  expect_problem(get("/v1/nothing-here"), 404, "not_found");
  expect_problem(http_request(app_->port(), "DELETE", "/v1/topups", "", auth()), 405,
                 "method_not_allowed");

  // None of it moved money, and the validation failures did not burn their keys.
  EXPECT_EQ(balance(customer), 1000);
  EXPECT_EQ(post("/v1/topups", good, "bad-2").status, 201);
  EXPECT_EQ(balance(customer), 1100);
}

TEST_P(ApiTest, CustomerValidation) {
  expect_problem(post("/v1/customers", {{"name", ""}}, ""), 400, "validation_failed");
  expect_problem(post("/v1/customers", {{"name", "A"}, {"phone", "12345"}}, ""), 400,
                 "validation_failed");
  expect_problem(post("/v1/customers", {{"name", "A"}, {"email", "nope"}}, ""), 400,
                 "validation_failed");
  expect_problem(post("/v1/customers", {{"name", "A"}, {"currency", "ABC"}}, ""), 400,
                 "validation_failed");
  expect_problem(post("/v1/customers", {{"name", "A"}, {"language", "fr"}}, ""), 400,
                 "validation_failed");
  expect_problem(post("/v1/customers", {{"name", std::string("A\x01", 2)}}, ""), 400,
                 "validation_failed");
  auto usd = post("/v1/customers", {{"name", "Han Meimei"}, {"currency", "USD"}, {"language", "en"}},
                  "");
  ASSERT_EQ(usd.status, 201) << usd.body;
  EXPECT_EQ(usd.json()["currency"], "USD");
}

TEST_P(ApiTest, OpenApiDocumentIsServedAndListsEveryRoute) {
  auto reply = http_request(app_->port(), "GET", "/v1/openapi.json");
  ASSERT_EQ(reply.status, 200);
  auto document = reply.json();
  EXPECT_EQ(document["openapi"], "3.1.0");
  for (const char* path : {"/v1/customers", "/v1/customers/{id}", "/v1/customers/{id}/wallet",
                           "/v1/customers/{id}/transactions", "/v1/topups", "/v1/topups/{id}",
                           "/v1/charges", "/v1/charges/{id}", "/healthz", "/readyz", "/metrics"}) {
    EXPECT_TRUE(document["paths"].contains(path)) << path;
  }
  // The document covers the JSON API and the operational endpoints; the portal's HTML pages
  // (docs/portal.md) are not an API.
  auto is_api_route = [](const std::string& path) {
    return path.starts_with("/v1/") || path == "/healthz" || path == "/readyz" ||
           path == "/metrics";
  };
  for (const auto& route : app_->routes()) {
    if (!is_api_route(route.second)) continue;
    EXPECT_TRUE(document["paths"].contains(route.second)) << route.second;
    std::string method = route.first;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(document["paths"][route.second].contains(method)) << route.first << " "
                                                                  << route.second;
  }
}

TEST_P(ApiTest, OperationalEndpointsAndMetrics) {
  EXPECT_EQ(http_request(app_->port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(app_->port(), "GET", "/readyz").status, 200);
  std::string customer = create_customer();
  ASSERT_EQ(topup(customer, 10, "m").status, 201);
  auto metrics = http_request(app_->port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("station_http_requests_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("station_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.body.find("station_ledger_transfers_committed_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("station_ledger_batch_size_bucket"), std::string::npos);
  EXPECT_NE(metrics.body.find("station_storage_commit_seconds_bucket"), std::string::npos);
}

TEST_P(ApiTest, ConcurrentTopupsAndChargesKeepEveryInvariant) {
  constexpr int kCustomers = 4;
  constexpr int kThreads = 8;
  constexpr int kOperationsPerThread = 60;
  std::vector<std::string> customers;
  for (int i = 0; i < kCustomers; ++i) customers.push_back(create_customer());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::map<std::string, std::int64_t> expected;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOperationsPerThread; ++i) {
        const std::string& customer = customers[(t + i) % kCustomers];
        std::string key = "c" + std::to_string(t) + "-" + std::to_string(i);
        bool is_charge = (i % 3) != 0;
        std::int64_t amount = 50 + (i * 37 + t * 11) % 200;
        auto reply = is_charge ? charge(customer, amount, key) : topup(customer, amount, key);
        if (reply.status == 201) {
          std::int64_t after = reply.json()["balance_minor"];
          if (after < 0) failures++;
          std::lock_guard lock(mutex);
          expected[customer] += is_charge ? -amount : amount;
        } else if (!(is_charge && reply.status == 409)) {
          failures++;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& customer : customers) EXPECT_EQ(balance(customer), expected[customer]);
  auto connection = app_->database().acquire();
  ASSERT_TRUE(connection.is_ok());
  auto report = ledger::check_ledger(**connection);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->ok) << (report->problems.empty() ? "" : report->problems[0]);
}

TEST_P(ApiTest, StateChangesAreAudited) {
  std::string customer = create_customer();
  ASSERT_EQ(topup(customer, 10, "audited").status, 201);
  auto refused = charge(customer, 1000, "refused");
  ASSERT_EQ(refused.status, 409);
  app_->flush_audit();
  auto connection = app_->database().acquire();
  ASSERT_TRUE(connection.is_ok());
  auto entries = auth::list_audit_entries(**connection, 50);
  ASSERT_TRUE(entries.is_ok());
  std::set<std::string> actions;
  for (const auto& e : *entries) {
    actions.insert(e.action + ":" + e.outcome);
    EXPECT_FALSE(e.actor.empty());
    if (e.action != "api_key.create") {
      EXPECT_FALSE(e.request_id.empty()) << e.action;
    }
  }
  EXPECT_TRUE(actions.contains("customer.create:succeeded"));
  EXPECT_TRUE(actions.contains("topup.create:succeeded"));
  EXPECT_TRUE(actions.contains("charge.create:insufficient_funds"));
}

INSTANTIATE_TEST_SUITE_P(Engines, ApiTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test) { return std::string(storage::testing::engine_name(test.param)); });

}  // namespace
}  // namespace station
