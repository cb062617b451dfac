// Client batches (Ledger::submit_batch) and the journal they are made durable through.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/limits.h"
#include "ledger_fixture.h"
#include "support/sigkill.h"

namespace station::ledger::testing {
namespace {

class LedgerBatchTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    cash_ = make_account(AccountKind::kCash, std::nullopt, "cash:CNY");
    revenue_ = make_account(AccountKind::kRevenue, std::nullopt, "revenue:CNY");
  }
  TransferRequest topup(const Account& to, std::int64_t amount, std::string key) {
    return single(cash_.id, to.id, amount, std::move(key));
  }
  TransferRequest charge(const Account& from, std::int64_t amount, std::string key) {
    return single(from.id, revenue_.id, amount, std::move(key));
  }
  std::int64_t journal_rows() {
    auto lease = must(database_->acquire());  // as it is, without waiting for the journal
    return must(lease->query("SELECT COUNT(*) FROM ledger_journal"))[0].int_at(0);
  }

  Account cash_;
  Account revenue_;
};
STATION_LEDGER_ENGINES(LedgerBatchTest);

TEST_P(LedgerBatchTest, DecidesInOrderAndAnswersEachRequest) {
  Account w = wallet();
  TransferRequest zero = charge(w, 0, "zero");  // a validation error: never stored
  std::vector<TransferRequest> batch = {topup(w, 100, "in"),  charge(w, 150, "too-much"),
                                        charge(w, 60, "fits"), zero,
                                        single(cash_.id, 999'999, 5, "nobody")};
  std::vector<TransferOutcome> outcomes = ledger_->submit_batch_and_wait(batch);
  ASSERT_EQ(outcomes.size(), 5u);
  EXPECT_TRUE(outcomes[0].status.is_ok());
  EXPECT_EQ(outcomes[0].transfer->credit_balance_after_minor, 100);
  EXPECT_EQ(outcomes[1].status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_TRUE(outcomes[2].status.is_ok()) << outcomes[2].status.to_string();
  EXPECT_EQ(outcomes[2].transfer->debit_balance_after_minor, 40);
  EXPECT_EQ(outcomes[3].status.code(), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(outcomes[4].status.code(), ErrorCode::kAccountNotFound);
  for (const auto& outcome : outcomes) EXPECT_FALSE(outcome.replayed);
  EXPECT_EQ(now(w).balance_minor, 40);

  // The same batch again: successes and business refusals replay, the validation error is new.
  std::vector<TransferOutcome> again = ledger_->submit_batch_and_wait(batch);
  EXPECT_TRUE(again[0].replayed);
  EXPECT_EQ(again[0].transfer->id, outcomes[0].transfer->id);
  EXPECT_TRUE(again[1].replayed);
  EXPECT_EQ(again[1].status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_TRUE(again[2].replayed);
  EXPECT_FALSE(again[3].replayed);
  EXPECT_TRUE(again[4].replayed);
  EXPECT_EQ(now(w).balance_minor, 40);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBatchTest, AKeyRepeatedInOneBatchReplaysItsFirstOutcome) {
  Account w = wallet();
  std::vector<TransferOutcome> outcomes = ledger_->submit_batch_and_wait(
      {topup(w, 100, "k"), topup(w, 100, "k"), topup(w, 999, "k"), charge(w, 500, "no"),
       charge(w, 500, "no"), charge(w, 50, "later")});
  ASSERT_EQ(outcomes.size(), 6u);
  EXPECT_TRUE(outcomes[0].status.is_ok());
  EXPECT_FALSE(outcomes[0].replayed);
  EXPECT_TRUE(outcomes[1].replayed);
  EXPECT_EQ(outcomes[1].transfer->id, outcomes[0].transfer->id);
  EXPECT_EQ(outcomes[2].status.code(), ErrorCode::kIdempotencyKeyReused);
  EXPECT_EQ(outcomes[3].status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_FALSE(outcomes[3].replayed);
  EXPECT_EQ(outcomes[4].status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_TRUE(outcomes[4].replayed);
  EXPECT_TRUE(outcomes[5].status.is_ok());
  EXPECT_EQ(now(w).balance_minor, 50);
  EXPECT_EQ(ledger_->stats().idempotency_records, 3u);
}

TEST_P(LedgerBatchTest, ConcurrentBatchesNeverTakeAWalletBelowItsFloor) {
  Account w = wallet();
  ASSERT_TRUE(run(topup(w, 1'000, "fund")).status.is_ok());
  constexpr int kThreads = 6;
  constexpr int kBatches = 5;
  constexpr int kPerBatch = 40;
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<TransferRequest> batch;
        for (int i = 0; i < kPerBatch; ++i) {
          batch.push_back(charge(w, 7, fmt::format("c-{}-{}-{}", t, b, i)));
        }
        for (const auto& outcome : ledger_->submit_batch_and_wait(std::move(batch))) {
          if (outcome.status.is_ok()) {
            ++succeeded;
          } else if (outcome.status.code() == ErrorCode::kInsufficientFunds) {
            ++refused;
          } else {
            ADD_FAILURE() << outcome.status.to_string();
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded + refused, kThreads * kBatches * kPerBatch);
  EXPECT_EQ(succeeded.load(), 1'000 / 7);  // every charge fits until the money runs out
  EXPECT_EQ(now(w).balance_minor, 1'000 % 7);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBatchTest, BoundsTheBatchSize) {
  reopen(LedgerOptions{.batch_transfers_max = 4});
  Account w = wallet();
  std::vector<TransferRequest> five;
  for (int i = 0; i < 5; ++i) five.push_back(topup(w, 1, "b" + std::to_string(i)));
  for (const auto& outcome : ledger_->submit_batch_and_wait(five)) {
    EXPECT_EQ(outcome.status.code(), ErrorCode::kValidationFailed);
  }
  EXPECT_TRUE(ledger_->submit_batch_and_wait({}).empty());
  five.pop_back();
  for (const auto& outcome : ledger_->submit_batch_and_wait(five)) {
    EXPECT_TRUE(outcome.status.is_ok());
  }
  EXPECT_EQ(now(w).balance_minor, 4);
}

TEST_P(LedgerBatchTest, JournaledTransfersAreReadAfterAFlushAndSurviveARestart) {
  Account w = wallet();
  std::vector<TransferRequest> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(topup(w, 1 + i, "j" + std::to_string(i)));
  std::vector<TransferOutcome> outcomes = ledger_->submit_batch_and_wait(batch);
  const Id last = outcomes.back().transfer->id;
  {
    auto lease = connection();  // flushes the journal first
    EXPECT_EQ(must(get_transfer(*lease, last)).amount_minor, 100);
    EXPECT_EQ(must(list_account_transfers(*lease, w.id, std::nullopt, 10)).front().id, last);
  }
  EXPECT_EQ(journal_rows(), 0);
  EXPECT_EQ(ledger_->stats().journal_transfers_waiting, 0u);

  outcomes = ledger_->submit_batch_and_wait({topup(w, 7, "after-flush")});
  reopen();
  EXPECT_EQ(now(w).balance_minor, 5'050 + 7);
  EXPECT_TRUE(run(topup(w, 7, "after-flush")).replayed);
  EXPECT_TRUE(check().ok);
}

// A batch whose journal row cannot be written is redone one request at a time, each small
// enough to write its rows at once: nothing is lost and nothing is written twice.
TEST_P(LedgerBatchTest, AFailedJournalWriteFallsBackToWritingEachTransferAtOnce) {
  Account w = wallet();
  {
    auto lease = connection();
    ASSERT_OK(lease->execute("ALTER TABLE ledger_journal RENAME TO ledger_journal_away"));
  }
  std::vector<TransferRequest> batch;  // large enough to go through the journal
  for (std::size_t i = 0; i < limits::kLedgerJournalBatchTransfersMin; ++i) {
    batch.push_back(topup(w, 1, "a" + std::to_string(i)));
  }
  for (const auto& outcome : ledger_->submit_batch_and_wait(batch)) {
    EXPECT_TRUE(outcome.status.is_ok()) << outcome.status.to_string();
    EXPECT_FALSE(outcome.replayed);
  }
  EXPECT_EQ(ledger_->stats().batch_commit_failures, 1u);
  const auto count = static_cast<std::int64_t>(limits::kLedgerJournalBatchTransfersMin);
  EXPECT_EQ(now(w).balance_minor, count);
  {
    auto lease = connection();
    ASSERT_OK(lease->execute("ALTER TABLE ledger_journal_away RENAME TO ledger_journal"));
  }
  for (const auto& outcome : ledger_->submit_batch_and_wait(batch)) {
    EXPECT_TRUE(outcome.replayed);
  }
  EXPECT_EQ(now(w).balance_minor, count);
  EXPECT_TRUE(check().ok);
}

// A process acknowledges a batch from the journal and is killed with SIGKILL before the rows are
// written: opening the ledger again applies the journal, every acknowledged transfer is there
// exactly once, and check_ledger passes.
TEST_P(LedgerBatchTest, KilledAfterAcknowledgingTheJournalLosesNothing) {
  Account w = wallet();
  const Id cash = cash_.id;
  ledger_->shutdown();
  ledger_.reset();  // one ledger per database: the child owns it until it dies

  // The child acknowledges the batch from the journal and dies before the writer is idle long
  // enough to apply it.
  ASSERT_TRUE(station::testing::run_until_sigkill([&](const station::testing::Die& die) {
    auto database = storage::Database::open(scratch_->options());
    if (!database.is_ok()) return 2;
    IdGenerator ids(clock_);
    auto ledger = Ledger::open(**database, clock_, ids, {});
    if (!ledger.is_ok()) return 3;
    std::vector<TransferRequest> batch;
    for (int i = 0; i < 500; ++i) {
      batch.push_back(single(cash, w.id, 2, "crash-" + std::to_string(i)));
    }
    for (const auto& outcome : (*ledger)->submit_batch_and_wait(std::move(batch))) {
      if (!outcome.status.is_ok()) return 4;
    }
    die();
    return 5;
  }));

  EXPECT_EQ(journal_rows(), 1);  // acknowledged, not yet in the tables
  open_ledger();
  EXPECT_EQ(journal_rows(), 0);
  EXPECT_EQ(now(w).balance_minor, 1'000);
  EXPECT_TRUE(run(single(cash, w.id, 2, "crash-499")).replayed);
  EXPECT_EQ(now(w).balance_minor, 1'000);
  CheckReport report = check();
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems.front());
  EXPECT_EQ(report.transfers_checked, 500u);
}

}  // namespace
}  // namespace station::ledger::testing
