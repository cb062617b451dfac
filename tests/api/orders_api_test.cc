// The ordering journey over HTTP on both engines: wallet and card payments (the built-in
// provider's real signed webhooks), refusals that change nothing, idempotent replays, an empty
// profile pool, concurrent orders racing for the last profiles, cancellation with refund, QR
// images, and webhook signatures that are wrong, stale or redelivered.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "api_fixture.h"
#include "ledger/ledger.h"
#include "orders/payments.h"

namespace station::testing {
namespace {

constexpr std::string_view kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kWebhookSecret = "whsec_test_orders";
constexpr std::int64_t kPrice = 3'000;

char luhn_digit(const std::string& body) {
  int sum = 0;
  bool twice = true;  // the check digit is appended, so the last body digit is doubled
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

std::string iccid(int n) {
  std::string body = fmt::format("898601{:012d}", n);
  return body + luhn_digit(body);
}

// 30 digits followed by the two ISO 7064 MOD 97-10 check digits.
std::string eid(int n) {
  std::string body = fmt::format("89049032{:022d}", n);
  int remainder = 0;
  for (char c : body + "00") remainder = (remainder * 10 + (c - '0')) % 97;
  return body + fmt::format("{:02d}", 98 - remainder);
}

class OrdersApiTest : public ApiTest {
 protected:
  void customize(cli::AppOptions& options) override {
    auto keyring = std::make_shared<secrets::Keyring>();
    ASSERT_TRUE(keyring->add_hex(kKeyHex).is_ok());
    options.keyring = keyring;
    options.payment_webhook_secret = std::string(kWebhookSecret);
    options.payment_webhook_delay_ms = 50;
    options.orders.smdp_address = "smdp.example.test";
    options.orders.payment_timeout_seconds = timeout_seconds_;
  }

  void SetUp() override {
    ApiTest::SetUp();
    if (!app_) return;
    auto plan = post("/v1/admin/plans",
                     {{"code", "CN-10GB-30D"},
                      {"name", {{"zh-CN", "中国 10GB 30天"}, {"en", "China 10 GB, 30 days"}}},
                      {"data_mb", 10'240},
                      {"validity_days", 30},
                      {"price_minor", kPrice},
                      {"currency", "CNY"}},
                     "");
    ASSERT_EQ(plan.status, 201) << plan.body;
  }

  void import_profiles(int count, int first = 1) {
    std::string csv = "iccid,imsi,ki,opc\n";
    for (int i = first; i < first + count; ++i) {
      csv += fmt::format("{},46001{:010d},{},{}\n", iccid(i), i, std::string(32, 'A'),
                         std::string(32, 'B'));
    }
    auto imported = app_->inventory().import_csv(csv);
    ASSERT_TRUE(imported.is_ok()) << imported.status().to_string();
    ASSERT_EQ(imported->imported, static_cast<std::size_t>(count));
  }

  // A customer with a verified identity and `balance` in the wallet.
  std::string verified_customer(std::int64_t balance) {
    std::string customer = create_customer();
    auto submitted = post("/v1/customers/" + customer + "/identity",
                          {{"document_type", "passport"},
                           {"document_number", "E12345678"},
                           {"full_name", "李雷"},
                           {"date_of_birth", "1990-01-31"},
                           {"nationality", "CN"}},
                          "");
    EXPECT_EQ(submitted.status, 201) << submitted.body;
    auto approved = post("/v1/admin/kyc/" + customer + "/approve", json::object(), "");
    EXPECT_EQ(approved.status, 200) << approved.body;
    if (balance > 0) {
      EXPECT_EQ(topup(customer, balance, "seed-" + customer).status, 201);
    }
    return customer;
  }

  json order_body(const std::string& customer, const std::string& payment = "wallet",
                  int device = 1) {
    return {{"customer_id", customer},
            {"plan_code", "CN-10GB-30D"},
            {"device", {{"eid", eid(device)}}},
            {"delivery", "app"},
            {"payment", payment}};
  }

  json order(const std::string& id) {
    auto reply = get("/v1/orders/" + id);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json();
  }

  // Polls until the order reaches `state` (webhooks arrive asynchronously).
  json wait_for_state(const std::string& id, const std::string& state) {
    json current;
    for (int i = 0; i < 200; ++i) {
      current = order(id);
      if (current.value("state", "") == state) return current;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "order " << id << " never reached " << state << ": " << current.dump();
    return current;
  }

  std::string profile_state(const std::string& iccid_text) {
    auto profile = app_->inventory().get(iccid_text);
    EXPECT_TRUE(profile.is_ok());
    return profile.is_ok() ? std::string(inventory::profile_state_name(profile->state)) : "";
  }

  HttpReply webhook(const json& event, std::int64_t signed_at, std::string_view secret) {
    std::string body = event.dump();
    return http_request(app_->port(), "POST", "/v1/payments/webhooks/testpay", body,
                        {{"Content-Type", "application/json"},
                         {"Station-Signature", orders::sign_webhook(secret, signed_at, body)}});
  }

  static std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void expect_ledger_consistent() {
    auto connection = app_->database().acquire();
    ASSERT_TRUE(connection.is_ok());
    auto report = ledger::check_ledger(**connection);
    ASSERT_TRUE(report.is_ok()) << report.status().to_string();
    EXPECT_TRUE(report->ok) << (report->problems.empty() ? "" : report->problems.front());
  }

  std::uint32_t timeout_seconds_ = 900;
};

TEST_P(OrdersApiTest, WalletOrderIssuesAnActivationCodeAndTakesThePrice) {
  import_profiles(2);
  std::string customer = verified_customer(10'000);
  auto reply = post("/v1/orders", order_body(customer), "order-1");
  ASSERT_EQ(reply.status, 201) << reply.body;
  json created = reply.json();
  EXPECT_EQ(created["state"], "code_issued");
  std::string code = created["activation_code"];
  EXPECT_TRUE(code.starts_with("LPA:1$smdp.example.test$")) << code;
  EXPECT_EQ(code.size(), std::string("LPA:1$smdp.example.test$").size() + 23);
  EXPECT_EQ(created["iccid"], iccid(1));
  EXPECT_EQ(created["price_minor"], kPrice);
  std::vector<std::string> states;
  for (const auto& event : created["history"]) states.push_back(event["to"]);
  EXPECT_EQ(states, (std::vector<std::string>{"created", "paid", "profile_reserved",
                                              "code_issued"}));
  EXPECT_EQ(balance(customer), 10'000 - kPrice);
  EXPECT_EQ(profile_state(iccid(1)), "released");
  EXPECT_EQ(profile_state(iccid(2)), "available");

  // The same key and body replays the order; another body under it is refused.
  auto replay = post("/v1/orders", order_body(customer), "order-1");
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.json()["id"], created["id"]);
  expect_problem(post("/v1/orders", order_body(customer, "wallet", 2), "order-1"), 409,
                 "idempotency_key_reused");
  EXPECT_EQ(balance(customer), 10'000 - kPrice);
  EXPECT_EQ(order(created["id"])["activation_code"], code);

  auto png = get("/v1/orders/" + std::string(created["id"]) + "/qr.png");
  EXPECT_EQ(png.status, 200);
  EXPECT_EQ(png.header("content-type"), "image/png");
  EXPECT_EQ(png.header("cache-control"), "no-store");
  EXPECT_EQ(png.body.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto svg = get("/v1/orders/" + std::string(created["id"]) + "/qr.svg");
  EXPECT_EQ(svg.status, 200);
  EXPECT_EQ(svg.header("content-type"), "image/svg+xml");
  EXPECT_NE(svg.body.find("<svg"), std::string::npos);

  expect_ledger_consistent();
}

TEST_P(OrdersApiTest, CustomerOrdersAreListedNewestFirstInPages) {
  import_profiles(3);
  std::string customer = verified_customer(10'000);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto reply = post("/v1/orders", order_body(customer, "wallet", i), fmt::format("list-{}", i));
    ASSERT_EQ(reply.status, 201) << reply.body;
    ids.push_back(reply.json()["id"]);
  }
  auto first = get("/v1/customers/" + customer + "/orders?limit=2");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.json()["data"].size(), 2u);
  EXPECT_EQ(first.json()["data"][0]["id"], ids[2]);
  EXPECT_EQ(first.json()["data"][1]["id"], ids[1]);
  EXPECT_FALSE(first.json()["data"][0].contains("history"));
  std::string cursor = first.json()["next_cursor"];
  auto second = get("/v1/customers/" + customer + "/orders?limit=2&cursor=" + cursor);
  ASSERT_EQ(second.status, 200);
  ASSERT_EQ(second.json()["data"].size(), 1u);
  EXPECT_EQ(second.json()["data"][0]["id"], ids[0]);
  EXPECT_TRUE(second.json()["next_cursor"].is_null());
  expect_problem(get("/v1/customers/" + customer + "/orders?limit=0"), 400, "validation_failed");
  expect_problem(get("/v1/customers/" + customer + "/orders?cursor=nope"), 400,
                 "validation_failed");
  expect_problem(get("/v1/customers/cus_0000000000000/orders"), 404, "not_found");
}

TEST_P(OrdersApiTest, RefusalsBeforeTheOrderChangeNothing) {
  import_profiles(1);
  std::string unverified = create_customer();
  topup(unverified, 10'000, "seed-unverified");
  expect_problem(post("/v1/orders", order_body(unverified), "k1"), 409, "identity_not_verified");

  std::string customer = verified_customer(10'000);
  json bad_imei = order_body(customer);
  bad_imei["device"] = {{"imei", "490154203237519"}};  // Luhn check digit off by one
  expect_problem(post("/v1/orders", bad_imei, "k2"), 400, "invalid_imei");
  json both = order_body(customer);
  both["device"]["imei"] = "490154203237518";
  expect_problem(post("/v1/orders", both, "k3"), 400, "validation_failed");
  json unknown_plan = order_body(customer);
  unknown_plan["plan_code"] = "NOPE";
  expect_problem(post("/v1/orders", unknown_plan, "k4"), 404, "not_found");
  json extra = order_body(customer);
  extra["coupon"] = "FREE";
  expect_problem(post("/v1/orders", extra, "k5"), 400, "validation_failed");
  expect_problem(post("/v1/orders", order_body(customer), ""), 400, "idempotency_key_invalid");
  json sms_card = order_body(customer);
  sms_card["card"] = {{"token", "tok_visa"}};
  expect_problem(post("/v1/orders", sms_card, "k6"), 400, "validation_failed");

  EXPECT_EQ(balance(customer), 10'000);
  EXPECT_EQ(profile_state(iccid(1)), "available");
  // A refusal that stored nothing may be retried under the same key once fixed.
  auto fixed = post("/v1/orders", order_body(customer), "k2");
  EXPECT_EQ(fixed.status, 201) << fixed.body;
}

TEST_P(OrdersApiTest, InsufficientFundsFailsTheOrderAndReplaysTheRefusal) {
  import_profiles(1);
  std::string customer = verified_customer(kPrice - 1);
  auto reply = post("/v1/orders", order_body(customer), "poor");
  expect_problem(reply, 409, "insufficient_funds");
  std::string id = reply.json()["order_id"];
  EXPECT_EQ(order(id)["state"], "failed");
  EXPECT_EQ(order(id)["failure"]["code"], "insufficient_funds");
  auto replay = post("/v1/orders", order_body(customer), "poor");
  expect_problem(replay, 409, "insufficient_funds");
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(balance(customer), kPrice - 1);
  EXPECT_EQ(profile_state(iccid(1)), "available");
}

TEST_P(OrdersApiTest, EmptyPoolVoidsTheReservation) {
  std::string customer = verified_customer(10'000);
  auto reply = post("/v1/orders", order_body(customer), "empty");
  expect_problem(reply, 409, "no_profile_available");
  auto wallet = get("/v1/customers/" + customer + "/wallet").json();
  EXPECT_EQ(wallet["balance_minor"], 10'000);
  EXPECT_EQ(wallet["available_minor"], 10'000);  // the reservation was voided, not left pending
  EXPECT_EQ(order(reply.json()["order_id"])["state"], "failed");
  expect_ledger_consistent();
}

TEST_P(OrdersApiTest, ConcurrentOrdersNeverShareAProfile) {
  // The issue's case: N parallel orders against a pool of N - 1 profiles.
  constexpr int kOrders = 6;
  constexpr int kProfiles = kOrders - 1;
  import_profiles(kProfiles);
  std::vector<std::string> customers;
  for (int i = 0; i < kOrders; ++i) customers.push_back(verified_customer(10'000));
  std::vector<HttpReply> replies(kOrders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOrders; ++i) {
    threads.emplace_back([&, i] {
      replies[i] = post("/v1/orders", order_body(customers[i], "wallet", i), fmt::format("race-{}", i));
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> iccids;
  int refused = 0;
  for (int i = 0; i < kOrders; ++i) {
    if (replies[i].status == 201) {
      iccids.insert(replies[i].json()["iccid"].get<std::string>());
      EXPECT_EQ(balance(customers[i]), 10'000 - kPrice);
    } else {
      expect_problem(replies[i], 409, "no_profile_available");
      EXPECT_EQ(balance(customers[i]), 10'000);
      ++refused;
    }
  }
  EXPECT_EQ(iccids.size(), static_cast<std::size_t>(kProfiles));
  EXPECT_EQ(refused, kOrders - kProfiles);
  expect_ledger_consistent();
}

TEST_P(OrdersApiTest, CancelBeforeDownloadReleasesTheProfileAndRefunds) {
  import_profiles(1);
  std::string customer = verified_customer(10'000);
  auto created = post("/v1/orders", order_body(customer), "to-cancel");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = created.json()["id"];
  auto cancelled = post("/v1/orders/" + id + "/cancel", json::object(), "");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.json()["state"], "refunded");
  EXPECT_TRUE(cancelled.json()["activation_code"].is_null());  // the code died with the order
  EXPECT_EQ(balance(customer), 10'000);
  EXPECT_EQ(profile_state(iccid(1)), "available");
  expect_problem(post("/v1/orders/" + id + "/cancel", json::object(), ""), 409,
                 "order_not_cancellable");
  expect_problem(get("/v1/orders/" + id + "/qr.png"), 404, "not_found");
  expect_problem(get("/v1/orders/ord_0000000000000/qr.png"), 404, "not_found");
  expect_ledger_consistent();
}

TEST_P(OrdersApiTest, CardPaymentIsConfirmedBySignedWebhook) {
  import_profiles(1);
  std::string customer = verified_customer(0);
  json body = order_body(customer, "card");
  body["card"] = {{"token", "tok_visa"}};
  auto reply = post("/v1/orders", body, "card-ok");
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(reply.json()["state"], "awaiting_payment");
  EXPECT_TRUE(reply.json()["activation_code"].is_null());
  json done = wait_for_state(reply.json()["id"], "code_issued");
  EXPECT_TRUE(done["activation_code"].get<std::string>().starts_with("LPA:1$"));
  EXPECT_EQ(balance(customer), 0);  // the card paid, not the wallet
  expect_ledger_consistent();
}

TEST_P(OrdersApiTest, DeclinedCardFailsTheOrder) {
  import_profiles(1);
  std::string customer = verified_customer(0);
  json body = order_body(customer, "card");
  body["card"] = {{"token", "tok_decline"}};
  auto reply = post("/v1/orders", body, "card-declined");
  ASSERT_EQ(reply.status, 201) << reply.body;
  json failed = wait_for_state(reply.json()["id"], "failed");
  EXPECT_EQ(failed["failure"]["code"], "payment_declined");
  EXPECT_EQ(profile_state(iccid(1)), "available");
}

TEST_P(OrdersApiTest, WebhooksAreCheckedAndRedeliveryChangesNothing) {
  import_profiles(2);
  std::string customer = verified_customer(0);
  json body = order_body(customer, "card");
  body["card"] = {{"token", "tok_timeout"}};  // the provider stays silent: the test speaks
  auto reply = post("/v1/orders", body, "card-manual");
  ASSERT_EQ(reply.status, 201) << reply.body;
  std::string id = reply.json()["id"];
  std::string intent = reply.json()["payment"]["intent_id"];
  json event = {{"id", "evt_manual_1"},
                {"type", "payment_intent.succeeded"},
                {"created", now_seconds()},
                {"data",
                 {{"intent_id", intent}, {"amount_minor", kPrice}, {"currency", "CNY"}}}};

  expect_problem(webhook(event, now_seconds(), "not-the-secret"), 400,
                 "webhook_signature_invalid");
  expect_problem(webhook(event, now_seconds() - 301, kWebhookSecret), 400,
                 "webhook_timestamp_out_of_tolerance");
  auto unsigned_reply = http_request(app_->port(), "POST", "/v1/payments/webhooks/testpay",
                                     event.dump(), {{"Content-Type", "application/json"}});
  expect_problem(unsigned_reply, 400, "webhook_signature_invalid");
  EXPECT_EQ(order(id)["state"], "awaiting_payment");

  EXPECT_EQ(webhook(event, now_seconds(), kWebhookSecret).status, 200);
  EXPECT_EQ(order(id)["state"], "code_issued");
  auto cash = app_->ledger().account_by_code("cash:CNY");
  ASSERT_TRUE(cash.has_value());
  const std::int64_t cash_after_first = cash->balance_minor;
  EXPECT_EQ(webhook(event, now_seconds(), kWebhookSecret).status, 200);  // redelivery
  EXPECT_EQ(app_->ledger().account_by_code("cash:CNY")->balance_minor, cash_after_first);
  EXPECT_EQ(order(id)["history"].size(), 5u);  // created, awaiting_payment, paid, reserved, issued
  EXPECT_EQ(profile_state(iccid(2)), "available");
  expect_ledger_consistent();

  auto metrics = http_request(app_->port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("station_payment_webhooks_total{outcome=\"succeeded\"} 2"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("station_payment_webhooks_total{outcome=\"webhook_signature_invalid\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.find("station_orders_total{outcome=\"succeeded\"} 1"), std::string::npos);
}

// A crash between reserving the price and posting it leaves an order in `created` with an open
// reservation and an allocated profile. The next start must give both back and fail the order.
TEST_P(OrdersApiTest, RecoveryAfterACrashReturnsTheMoneyAndTheProfile) {
  import_profiles(1);
  std::string customer = verified_customer(10'000);
  auto wallet_id = parse_public_id("acc", get("/v1/customers/" + customer + "/wallet")
                                              .json()["account_id"]
                                              .get<std::string>());
  auto revenue = app_->ledger().account_by_code("revenue:CNY");
  if (!revenue) {  // created on first use: a charge makes it
    ASSERT_EQ(charge(customer, 1, "make-revenue").status, 201);
    revenue = app_->ledger().account_by_code("revenue:CNY");
  }
  ASSERT_TRUE(wallet_id && revenue);
  const std::int64_t before = balance(customer);

  ledger::TransferRequest reserve;
  reserve.idempotency_key = "crash-test-reserve";
  reserve.phase = ledger::TransferPhase::kPending;
  reserve.debit_account_id = *wallet_id;
  reserve.credit_account_id = revenue->id;
  reserve.amount_minor = kPrice;
  reserve.currency = Currency::from_code("CNY");
  reserve.category = "order";
  auto reserved = app_->ledger().submit_and_wait(std::move(reserve));
  ASSERT_TRUE(reserved.status.is_ok()) << reserved.status.to_string();
  auto profile = app_->inventory().allocate_one(std::nullopt, "order interrupted by the test");
  ASSERT_TRUE(profile.is_ok());
  const Id order_id = 424242;
  {
    auto connection = app_->database().acquire();
    ASSERT_TRUE(connection.is_ok());
    auto customer_id = parse_public_id("cus", customer);
    std::vector<storage::Value> params = {order_id, *customer_id, reserved.transfer->id,
                                          profile->iccid};
    ASSERT_TRUE((*connection)
                    ->execute("INSERT INTO orders (id, customer_id, plan_version_id, plan_code, "
                              "price_minor, currency, eid, delivery, payment_method, state, "
                              "idempotency_key, fingerprint, created_by, created_at_ms, "
                              "updated_at_ms, reservation_transfer_id, iccid) VALUES (?, ?, 1, "
                              "'CN-10GB-30D', 3000, 'CNY', NULL, 'app', 'wallet', 'created', "
                              "'crash', 'f', 'test', 1, 1, ?, ?)",
                              params)
                    .is_ok());
  }
  EXPECT_EQ(get("/v1/customers/" + customer + "/wallet").json()["available_minor"],
            before - kPrice);

  restart_app();
  auto recovered = order(format_public_id("ord", order_id));
  EXPECT_EQ(recovered["state"], "failed");
  EXPECT_EQ(recovered["failure"]["code"], "unavailable");
  auto wallet = get("/v1/customers/" + customer + "/wallet").json();
  EXPECT_EQ(wallet["balance_minor"], before);
  EXPECT_EQ(wallet["available_minor"], before);
  EXPECT_EQ(profile_state(profile->iccid), "available");
  expect_ledger_consistent();
}

class OrdersTimeoutApiTest : public OrdersApiTest {
 protected:
  void customize(cli::AppOptions& options) override {
    timeout_seconds_ = 1;
    OrdersApiTest::customize(options);
  }
};

TEST_P(OrdersTimeoutApiTest, UnconfirmedCardPaymentTimesOut) {
  import_profiles(1);
  std::string customer = verified_customer(0);
  json body = order_body(customer, "card");
  body["card"] = {{"token", "tok_timeout"}};
  auto reply = post("/v1/orders", body, "card-timeout");
  ASSERT_EQ(reply.status, 201) << reply.body;
  json failed = wait_for_state(reply.json()["id"], "failed");
  EXPECT_EQ(failed["failure"]["code"], "payment_timed_out");
  auto replay = post("/v1/orders", body, "card-timeout");
  expect_problem(replay, 409, "payment_timed_out");
}

INSTANTIATE_TEST_SUITE_P(Engines, OrdersApiTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });
INSTANTIATE_TEST_SUITE_P(Engines, OrdersTimeoutApiTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::testing
