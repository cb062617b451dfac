// The API test fixture: an App on a fresh store of either engine, served on a loopback port by
// a thread of its own, and short helpers for requests and problem+json checks. Test files of
// other routes derive from ApiTest and instantiate their suites over both engines.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "storage/scratch_database.h"
#include "support/http_client.h"

namespace station::testing {

using nlohmann::json;
using storage::testing::Engine;
using storage::testing::ScratchDatabase;

class ApiTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    STATION_SKIP_UNLESS_ENGINE_AVAILABLE(GetParam());
    auto store = ScratchDatabase::create(GetParam());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    options_.database_url = store_->url();
    options_.server.listen_host = "127.0.0.1";
    options_.server.listen_port = 0;
    options_.server.threads = 2;
    customize(options_);
    start_app();
    ASSERT_TRUE(app_->first_admin_key().has_value());
    admin_key_ = *app_->first_admin_key();
  }

  void start_app() {
    auto app = cli::App::start(options_, clock_);
    ASSERT_TRUE(app.is_ok()) << app.status().to_string();
    app_ = std::move(app).value();
    runner_ = std::thread([this] { app_->run(); });
  }

  // Stops the App and starts another on the same store (on a new port), as after a restart.
  void restart_app() {
    app_->stop();
    runner_.join();
    app_.reset();
    start_app();
  }

  // Lets a suite change the App's options (keys, settings) before it starts.
  virtual void customize(cli::AppOptions& /*options*/) {}

  void TearDown() override {
    if (app_) {
      app_->stop();
      runner_.join();
    }
    app_.reset();  // before store_: the scratch database outlives every connection to it
  }

  std::map<std::string, std::string> auth(const std::string& key = "") const {
    return {{"Authorization", "Bearer " + (key.empty() ? admin_key_ : key)},
            {"Content-Type", "application/json"}};
  }

  HttpReply post(const std::string& target, const json& body, const std::string& idempotency_key,
                 const std::string& key = "") {
    auto headers = auth(key);
    if (!idempotency_key.empty()) headers["Idempotency-Key"] = idempotency_key;
    return http_request(app_->port(), "POST", target, body.dump(), headers);
  }

  HttpReply get(const std::string& target, const std::string& key = "") {
    return http_request(app_->port(), "GET", target, "", auth(key));
  }

  std::string create_customer(const std::string& currency = "CNY") {
    auto reply = post("/v1/customers",
                      {{"name", "李雷"}, {"phone", "+8613800138000"},
                       {"email", "li.lei@example.com"}, {"currency", currency}},
                      "");
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.json()["id"];
  }

  std::int64_t balance(const std::string& customer) {
    auto reply = get("/v1/customers/" + customer + "/wallet");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json()["balance_minor"];
  }

  HttpReply topup(const std::string& customer, std::int64_t amount, const std::string& key,
                  const std::string& channel = "app") {
    return post("/v1/topups",
                {{"customer_id", customer}, {"amount_minor", amount}, {"currency", "CNY"},
                 {"channel", channel}, {"reference", "order-" + key}},
                key);
  }

  HttpReply charge(const std::string& customer, std::int64_t amount, const std::string& key) {
    return post("/v1/charges",
                {{"customer_id", customer}, {"amount_minor", amount}, {"currency", "CNY"},
                 {"description", "Plan 10 GB / 30 days"}},
                key);
  }

  static void expect_problem(const HttpReply& reply, int status, const std::string& code) {
    EXPECT_EQ(reply.status, status) << reply.body;
    EXPECT_EQ(reply.header("content-type"), "application/problem+json") << reply.body;
    auto body = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << reply.body;
    EXPECT_EQ(body.value("code", ""), code) << reply.body;
    EXPECT_EQ(body.value("status", 0), status);
    EXPECT_FALSE(body.value("title", "").empty());
    EXPECT_FALSE(reply.header("x-request-id").empty());
  }

  SystemClock clock_;
  cli::AppOptions options_;
  std::unique_ptr<ScratchDatabase> store_;
  std::unique_ptr<cli::App> app_;
  std::thread runner_;
  std::string admin_key_;
};

}  // namespace station::testing
