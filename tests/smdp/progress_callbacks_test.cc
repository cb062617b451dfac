// ES2+ HandleDownloadProgressInfo on both engines: an operator's download order is reported to
// a real HTTPS endpoint on loopback (verified TLS, bearer token) at each notification point, with
// the SGP.22 JSON body; a failing endpoint gets the report again after the back-off, in order,
// until the attempt limit; the queue holds at most its bound. Station's own orders are not
// reported there.
#include <gtest/gtest.h>

#include <deque>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "smdp_fixture.h"

namespace station::smdp::test {
namespace {

constexpr std::string_view kToken = "operator-token-1234";
constexpr std::string_view kPath = "/gsma/rsp2/es2plus/handleDownloadProgressInfo";

// The operator's ES2+ endpoint: HTTPS on a loopback port with the test PKI's DPtls certificate
// (any certificate the CI vouches for would do); records what arrives, answers the statuses
// queued in `answers` (200 when none).
class OperatorEndpoint {
 public:
  explicit OperatorEndpoint(const std::string& pki_dir) {
    router_.add("POST", std::string(kPath),
                [this](http::Request& request, http::Responder respond) {
                  int status = 200;
                  {
                    std::lock_guard lock(mutex_);
                    received_.push_back(request);
                    if (!answers_.empty()) {
                      status = answers_.front();
                      answers_.pop_front();
                    }
                  }
                  respond(http::json_response(status, "{}"));
                });
    http::ServerOptions options;
    options.listen_host = "127.0.0.1";
    options.listen_port = 0;
    options.shutdown_grace_ms = 500;
    options.tls = http::TlsFiles{pki_dir + "/dp_tls.pem", pki_dir + "/dp_tls.key.pem"};
    server_ = std::make_unique<http::Server>(options, router_, metrics_, nullptr);
    EXPECT_TRUE(server_->listen().is_ok());
    runner_ = std::thread([this] { server_->run(); });
  }
  ~OperatorEndpoint() {
    server_->stop();
    runner_.join();
  }

  std::string url() const { return fmt::format("https://localhost:{}{}", server_->port(), kPath); }
  void answer_next(int status) {
    std::lock_guard lock(mutex_);
    answers_.push_back(status);
  }
  std::vector<http::Request> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  http::Router router_;
  metrics::Registry metrics_;
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
  std::mutex mutex_;
  std::vector<http::Request> received_;  // GUARDED_BY(mutex_)
  std::deque<int> answers_;              // GUARDED_BY(mutex_)
};

class ProgressCallbacksTest : public SmdpTest {
 protected:
  void SetUp() override {
    SmdpTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    endpoint_ = std::make_unique<OperatorEndpoint>(pki_dir_);
    config_.url = endpoint_->url();
    config_.ca_file = pki_dir_ + "/ci.pem";
    config_.bearer_token = std::string(kToken);
    config_.attempts_max = 3;
    config_.retry_base_ms = 1'000;
    config_.retry_max_ms = 4'000;
    config_.queue_max = 8;
    ASSERT_TRUE(check_config(config_).is_ok()) << check_config(config_).to_string();
    callbacks_ = std::make_unique<ProgressCallbacks>(*database_, *ids_, *clock_, metrics_, config_,
                                                     address_);
    smdp_->set_progress_callbacks(callbacks_.get());
  }
  void TearDown() override {
    if (smdp_) smdp_->set_progress_callbacks(nullptr);
    callbacks_.reset();
    endpoint_.reset();
    SmdpTest::TearDown();
  }

  std::vector<nlohmann::json> bodies() {
    std::vector<nlohmann::json> out;
    for (const auto& request : endpoint_->received()) {
      out.push_back(nlohmann::json::parse(request.body));
    }
    return out;
  }

  // Up to two seconds for the sender thread to deliver something.
  void wait_for_a_report() {
    for (int i = 0; i < 200 && endpoint_->received().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  ProgressCallbackConfig config_;
  std::unique_ptr<OperatorEndpoint> endpoint_;
  std::unique_ptr<ProgressCallbacks> callbacks_;
};

TEST_P(ProgressCallbacksTest, EachStepOfAnOperatorsOrderReachesItsEndpoint) {
  std::string code = order_profile();
  ASSERT_TRUE(new_device()->download(code, std::nullopt, *client_).is_ok());
  auto delivered = callbacks_->deliver_due();
  ASSERT_TRUE(delivered.is_ok()) << delivered.status().to_string();
  EXPECT_EQ(*delivered, 3u);

  auto requests = endpoint_->received();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].header("authorization").value_or(""), fmt::format("Bearer {}", kToken));
  EXPECT_EQ(requests[0].header("x-admin-protocol").value_or(""), "gsma/rsp/v2.2.0");
  auto sent = bodies();
  const int points[] = {1, 3, 4};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(sent[i]["notificationPointId"], points[i]);
    EXPECT_EQ(sent[i]["notificationPointStatus"]["status"], "Executed-Success");
    EXPECT_EQ(sent[i]["iccid"], last_iccid_);
    EXPECT_EQ(sent[i]["eid"], pki_.eid);
    EXPECT_EQ(sent[i]["header"]["functionRequesterIdentifier"], address_);
    // yyyy-MM-ddTHH:mm:ssZ
    EXPECT_EQ(sent[i]["timestamp"].get<std::string>().size(), 20u);
  }
  EXPECT_TRUE(sent[2].contains("resultData"));  // the ProfileInstallationResult
  EXPECT_NE(sent[0]["header"]["functionCallIdentifier"],
            sent[1]["header"]["functionCallIdentifier"]);
  // Delivered rows are not sent again.
  EXPECT_EQ(callbacks_->deliver_due().value(), 0u);
}

TEST_P(ProgressCallbacksTest, ARefusalIsReportedWithItsCodes) {
  std::string code = order_profile(std::nullopt, std::string("12345678"));
  ASSERT_FALSE(new_device()->download(code, std::string("87654321"), *client_).is_ok());
  ASSERT_TRUE(callbacks_->deliver_due().is_ok());
  auto sent = bodies();
  ASSERT_EQ(sent.size(), 2u);  // 1: eligibility passed; 2: the wrong code
  EXPECT_EQ(sent[1]["notificationPointId"], 2);
  EXPECT_EQ(sent[1]["notificationPointStatus"]["status"], "Failed");
  EXPECT_EQ(sent[1]["notificationPointStatus"]["statusCodeData"]["subjectCode"], "8.2.7");
  EXPECT_EQ(sent[1]["notificationPointStatus"]["statusCodeData"]["reasonCode"], "3.8");
}

TEST_P(ProgressCallbacksTest, AFailingEndpointGetsTheReportAgainAfterTheBackOffInOrder) {
  std::string code = order_profile();
  ASSERT_TRUE(new_device()->download(code, std::nullopt, *client_).is_ok());
  endpoint_->answer_next(503);
  EXPECT_EQ(callbacks_->deliver_due().value(), 0u);  // the first fails; the others wait
  EXPECT_EQ(endpoint_->received().size(), 1u);
  EXPECT_EQ(callbacks_->deliver_due().value(), 0u);  // not due yet: nothing sent
  EXPECT_EQ(endpoint_->received().size(), 1u);
  clock_->advance_ms(config_.retry_base_ms);
  EXPECT_EQ(callbacks_->deliver_due().value(), 3u);
  auto sent = bodies();
  ASSERT_EQ(sent.size(), 4u);
  // The same report again (same call identifier), then the rest in order.
  EXPECT_EQ(sent[0], sent[1]);
  EXPECT_EQ(sent[2]["notificationPointId"], 3);
  EXPECT_EQ(sent[3]["notificationPointId"], 4);
}

TEST_P(ProgressCallbacksTest, AReportIsGivenUpAfterTheAttemptLimitAndTheQueueIsBounded) {
  ProgressInfo info{.eid = pki_.eid, .iccid = test_iccid(1)};
  ASSERT_TRUE(callbacks_->enqueue(info).is_ok());
  for (std::uint32_t attempt = 0; attempt < config_.attempts_max; ++attempt) {
    endpoint_->answer_next(500);
    EXPECT_EQ(callbacks_->deliver_due().value(), 0u);
    clock_->advance_ms(config_.retry_max_ms);
  }
  EXPECT_EQ(endpoint_->received().size(), config_.attempts_max);
  EXPECT_EQ(metric("station_smdp_progress_callbacks_total{outcome=\"undeliverable\"}"), 1);
  EXPECT_EQ(callbacks_->deliver_due().value(), 0u);
  EXPECT_EQ(endpoint_->received().size(), config_.attempts_max);  // given up: not sent again

  for (std::size_t i = 0; i < config_.queue_max; ++i) {
    ASSERT_TRUE(callbacks_->enqueue(info).is_ok());
  }
  EXPECT_EQ(callbacks_->enqueue(info).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(metric("station_smdp_progress_callbacks_total{outcome=\"dropped\"}"), 1);
}

TEST_P(ProgressCallbacksTest, StationsOwnOrdersAreNotReportedToTheOperator) {
  std::string code = order_profile(std::nullopt, std::nullopt, Id{7});
  ASSERT_TRUE(new_device()->download(code, std::nullopt, *client_).is_ok());
  EXPECT_EQ(callbacks_->deliver_due().value(), 0u);
  EXPECT_TRUE(endpoint_->received().empty());
}

TEST_P(ProgressCallbacksTest, TheSenderThreadDeliversWithoutBeingAsked) {
  auto owner = database_->lock_exclusive();
  ASSERT_TRUE(owner.is_ok()) << owner.status().to_string();
  callbacks_->start(**owner);
  ASSERT_TRUE(callbacks_->enqueue(ProgressInfo{.iccid = test_iccid(2)}).is_ok());
  wait_for_a_report();
  callbacks_->stop();
  EXPECT_EQ(endpoint_->received().size(), 1u);
}

// The sender's lease is the store's ownership lock, which `station serve` and `station smdp`
// take at start: while one process holds it, a second on the same store (another Database on
// the same URL, as another process would open it) cannot take it, so it never starts a sender
// and each report goes out once; when the first goes, the second can take over.
TEST_P(ProgressCallbacksTest, OnlyTheProcessThatOwnsTheStoreSends) {
  auto owner = database_->lock_exclusive();
  ASSERT_TRUE(owner.is_ok()) << owner.status().to_string();
  auto other = storage::Database::open(scratch_->options());
  ASSERT_TRUE(other.is_ok()) << other.status().to_string();
  auto refused = (*other)->lock_exclusive();
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);

  callbacks_->start(**owner);
  ASSERT_TRUE(callbacks_->enqueue(ProgressInfo{.iccid = test_iccid(2)}).is_ok());
  wait_for_a_report();
  callbacks_->stop();
  EXPECT_EQ(endpoint_->received().size(), 1u);

  owner->reset();
  auto next = (*other)->lock_exclusive();
  EXPECT_TRUE(next.is_ok()) << next.status().to_string();
  ProgressCallbacks successor(**other, *ids_, *clock_, metrics_, config_, address_);
  successor.start(**next);
  successor.stop();
  EXPECT_EQ(endpoint_->received().size(), 1u);  // nothing left to send twice
}

TEST(ProgressCallbackConfigTest, RefusesWhatCannotWork) {
  ProgressCallbackConfig config{.url = "https://operator.example/es2", .ca_file = "ca.pem"};
  EXPECT_TRUE(check_config(config).is_ok());
  config.url = "http://operator.example/es2";  // never in clear
  EXPECT_FALSE(check_config(config).is_ok());
  config.url = "https://operator.example/es2";
  config.bearer_token = "two words";
  EXPECT_FALSE(check_config(config).is_ok());
  config.bearer_token = "";
  config.ca_file = "";
  EXPECT_FALSE(check_config(config).is_ok());
  config.ca_file = "ca.pem";
  config.attempts_max = 0;
  EXPECT_FALSE(check_config(config).is_ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, ProgressCallbacksTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::smdp::test
