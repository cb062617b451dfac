// The SM-DP+ under concurrency, on both engines: two LPAs racing on one Matching ID (exactly one
// gets the profile), and the bounded workers that run the binding's calls (a full queue is
// answered 503 with Retry-After at once, and the SM-DP+ serves again when it drains).
#include <future>
#include <latch>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "smdp_fixture.h"

namespace station::smdp::test {
namespace {

using inventory::ProfileState;

class SmdpConcurrencyTest : public SmdpTest {};

TEST_P(SmdpConcurrencyTest, OfTwoLpasRacingOnOneMatchingIdExactlyOneGetsTheProfile) {
  constexpr int kRounds = 3;  // the fixture's three profiles
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(fmt::format("round {}", round));
    const std::string code = order_profile();
    const std::string iccid = last_iccid_;
    std::array devices = {new_device(), new_device()};
    std::array<std::optional<Result<lpa::DownloadOutcome>>, 2> outcomes;
    std::latch start(2);
    std::array<std::thread, 2> lpas;
    for (std::size_t i = 0; i < lpas.size(); ++i) {
      lpas[i] = std::thread([&, i] {
        start.arrive_and_wait();
        outcomes[i] = devices[i]->download(code, std::nullopt, *client_);
      });
    }
    for (auto& thread : lpas) thread.join();

    const int winners = (outcomes[0]->is_ok() ? 1 : 0) + (outcomes[1]->is_ok() ? 1 : 0);
    ASSERT_EQ(winners, 1) << (outcomes[0]->is_ok() ? "ok" : outcomes[0]->status().to_string())
                          << " / "
                          << (outcomes[1]->is_ok() ? "ok" : outcomes[1]->status().to_string());
    const std::size_t winner = outcomes[0]->is_ok() ? 0 : 1;
    const std::size_t loser = 1 - winner;
    EXPECT_EQ((*outcomes[winner])->iccid, iccid);
    EXPECT_TRUE((*outcomes[winner])->notification_delivered);
    // SGP.22 AuthenticateClient / GetBoundProfilePackage: 8.2.6 (Matching ID) 3.8 (refused),
    // whether the winner was still downloading or done.
    const Status& refused = outcomes[loser]->status();
    EXPECT_EQ(refused.code(), ErrorCode::kConflict) << refused.to_string();
    EXPECT_NE(refused.message().find("subject 8.2.6, reason 3.8"), std::string::npos)
        << refused.to_string();
    EXPECT_EQ(devices[winner]->state.state().profiles.size(), 1u);
    EXPECT_TRUE(devices[loser]->state.state().profiles.empty());
    EXPECT_EQ(profile_state(iccid), ProfileState::kInstalled);
  }
  EXPECT_EQ(metric("station_smdp_sessions_completed_total"), kRounds);
  EXPECT_EQ(metric("station_smdp_sessions_failed_total{reason=\"matching_id_used\"}") +
                metric("station_smdp_sessions_failed_total{reason=\"matching_id_in_use\"}"),
            kRounds);
  // No session was left holding a download: every one completed or failed.
  auto connection = database_->acquire().value();
  auto open = connection->query(
      "SELECT COUNT(*) FROM smdp_sessions WHERE state NOT IN ('completed', 'failed')");
  ASSERT_TRUE(open.is_ok()) << open.status().to_string();
  EXPECT_EQ((*open)[0].int_at(0), 0);
}

TEST_P(SmdpConcurrencyTest, AFullWorkQueueIsAnswered503WithRetryAfterAndServesOnceDrained) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::size_t blockers = 0;
  while (workers_->try_post([released] { released.wait(); })) ++blockers;
  ASSERT_EQ(blockers, kWorkHeldMax);

  http::ClientRequest request;
  request.url = fmt::format("https://{}/gsma/rsp2/es9plus/initiateAuthentication", address_);
  request.headers = {{"Content-Type", "application/json;charset=UTF-8"},
                     {"X-Admin-Protocol", "gsma/rsp/v2.2.0"}};
  request.body = "{}";
  auto busy = client_->send(request);
  ASSERT_TRUE(busy.is_ok()) << busy.status().to_string();
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->header("Retry-After"), "1");
  EXPECT_EQ(busy->header("Content-Type"), "application/problem+json");
  auto problem = nlohmann::json::parse(busy->body);
  EXPECT_EQ(problem["code"], "unavailable");
  EXPECT_EQ(problem["status"], 503);

  release.set_value();
  // Once the blockers are done, calls run again: a whole download goes through.
  while (workers_->held() > 0) std::this_thread::yield();
  auto outcome = new_device()->download(order_profile(), std::nullopt, *client_);
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kInstalled);
}

INSTANTIATE_TEST_SUITE_P(Engines, SmdpConcurrencyTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::smdp::test
