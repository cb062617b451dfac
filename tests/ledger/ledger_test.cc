#include "ledger/ledger.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/limits.h"
#include "ledger_fixture.h"

namespace station::ledger::testing {
namespace {

using storage::Value;

constexpr std::int64_t kHourMs = 3'600'000;

// Cash has no floor (it goes negative by what the operator owes), revenue neither.
class LedgerBasicsTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    cash_ = make_account(AccountKind::kCash, std::nullopt, "cash:CNY");
    revenue_ = make_account(AccountKind::kRevenue, std::nullopt, "revenue:CNY");
  }
  Transfer topup(const Account& to, std::int64_t amount, std::string key) {
    return ok(single(cash_.id, to.id, amount, std::move(key)));
  }
  TransferOutcome charge(const Account& from, std::int64_t amount, std::string key) {
    return run(single(from.id, revenue_.id, amount, std::move(key)));
  }

  Account cash_;
  Account revenue_;
};
STATION_LEDGER_ENGINES(LedgerBasicsTest);

// ---- Accounts

TEST_P(LedgerBasicsTest, CreatesAccountsAndRefusesDuplicateIdsAndCodes) {
  Account w = wallet();
  EXPECT_GT(w.id, 0);
  EXPECT_EQ(w.balance_minor, 0);
  EXPECT_EQ(w.floor_minor, 0);
  EXPECT_EQ(w.created_at_ms, kStartMs);
  EXPECT_EQ(ledger_->account_by_code("cash:CNY")->id, cash_.id);
  EXPECT_FALSE(ledger_->account_by_code("cash:USD").has_value());

  AccountSpec same_code;
  same_code.kind = AccountKind::kCash;
  same_code.code = "cash:CNY";
  same_code.currency = *Currency::from_code("CNY");
  EXPECT_EQ(ledger_->create_account_and_wait(same_code).status().code(), ErrorCode::kConflict);

  AccountSpec same_id;
  same_id.id = w.id;
  same_id.currency = *Currency::from_code("CNY");
  EXPECT_EQ(ledger_->create_account_and_wait(same_id).status().code(), ErrorCode::kConflict);

  AccountSpec chosen_id;
  chosen_id.id = 42;
  chosen_id.currency = *Currency::from_code("CNY");
  EXPECT_EQ(must(ledger_->create_account_and_wait(chosen_id)).id, 42);

  AccountSpec no_currency;
  EXPECT_EQ(ledger_->create_account_and_wait(no_currency).status().code(),
            ErrorCode::kValidationFailed);
  AccountSpec positive_floor;
  positive_floor.currency = *Currency::from_code("CNY");
  positive_floor.floor_minor = 1;
  EXPECT_EQ(ledger_->create_account_and_wait(positive_floor).status().code(),
            ErrorCode::kValidationFailed);
}

TEST_P(LedgerBasicsTest, AccountAttachedWriteCommitsWithTheAccountOrNotAtAll) {
  AccountSpec spec;
  spec.currency = *Currency::from_code("CNY");
  spec.floor_minor = 0;
  auto failed = ledger_->create_account_and_wait(spec, [](storage::Connection&, const Account&) {
    return Status(ErrorCode::kValidationFailed, "the customer is not valid");
  });
  EXPECT_EQ(failed.status().code(), ErrorCode::kValidationFailed);

  Id audited_account = 0;
  auto made = ledger_->create_account_and_wait(
      spec, [&](storage::Connection& connection, const Account& account) {
        audited_account = account.id;
        std::array<Value, 1> params = {account.id};
        return connection.execute(
            "INSERT INTO audit_log (id, at_ms, actor, action, target, request_id, outcome, detail) "
            "VALUES (?, 0, 'test', 'account.create', '', '', 'succeeded', '{}')",
            params);
      });
  ASSERT_TRUE(made.is_ok());
  EXPECT_EQ(audited_account, made->id);
  auto lease = connection();
  auto rows = must(lease->query("SELECT COUNT(*) FROM accounts"));
  EXPECT_EQ(rows[0].int_at(0), 3);  // cash, revenue and the one that committed
}

// ---- Idempotency

TEST_P(LedgerBasicsTest, ReplaysASuccessAndMovesMoneyOnce) {
  Account w = wallet();
  TransferOutcome first = run(single(cash_.id, w.id, 100, "topup-1"));
  ASSERT_TRUE(first.status.is_ok());
  EXPECT_FALSE(first.replayed);
  EXPECT_EQ(first.transfer->credit_balance_after_minor, 100);
  EXPECT_EQ(first.transfer->debit_balance_after_minor, -100);

  TransferOutcome again = run(single(cash_.id, w.id, 100, "topup-1"));
  ASSERT_TRUE(again.status.is_ok());
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.transfer->id, first.transfer->id);
  EXPECT_EQ(again.transfer->credit_balance_after_minor, 100);
  EXPECT_EQ(now(w).balance_minor, 100);
  EXPECT_EQ(now(cash_).balance_minor, -100);
  EXPECT_EQ(ledger_->stats().transfers_replayed, 1u);
}

TEST_P(LedgerBasicsTest, ReplaysAnInsufficientFundsRefusalEvenAfterFunding) {
  Account w = wallet();
  TransferOutcome refused = charge(w, 50, "charge-1");
  EXPECT_EQ(refused.status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_FALSE(refused.replayed);

  topup(w, 100, "topup-1");
  TransferOutcome retried = charge(w, 50, "charge-1");
  EXPECT_EQ(retried.status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_TRUE(retried.replayed);
  EXPECT_FALSE(retried.transfer.has_value());

  reopen();  // the refusal is durable too
  TransferOutcome after_restart = charge(w, 50, "charge-1");
  EXPECT_EQ(after_restart.status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_TRUE(after_restart.replayed);
  EXPECT_EQ(now(w).balance_minor, 100);
}

TEST_P(LedgerBasicsTest, RefusesAKeyReusedForADifferentRequest) {
  Account w = wallet();
  Transfer first = topup(w, 100, "k");
  // Another caller digest, and the same digest with other money: both are a different request.
  TransferOutcome other_digest = run(single(cash_.id, w.id, 100, "k", "other"));
  EXPECT_EQ(other_digest.status.code(), ErrorCode::kIdempotencyKeyReused);
  TransferOutcome other_amount = run(single(cash_.id, w.id, 101, "k"));
  EXPECT_EQ(other_amount.status.code(), ErrorCode::kIdempotencyKeyReused);
  EXPECT_FALSE(other_amount.replayed);
  // The reuse was not stored: the original still replays.
  TransferOutcome original = run(single(cash_.id, w.id, 100, "k"));
  EXPECT_TRUE(original.replayed);
  EXPECT_EQ(original.transfer->id, first.id);
  EXPECT_EQ(now(w).balance_minor, 100);
}

TEST_P(LedgerBasicsTest, ValidationErrorsAreNotStoredUnderTheKey) {
  Account w = wallet();
  EXPECT_EQ(run(single(cash_.id, w.id, 0, "k")).status.code(), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(run(single(cash_.id, w.id, limits::kTransferAmountMinorMax + 1, "k")).status.code(),
            ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(run(single(w.id, w.id, 10, "k")).status.code(), ErrorCode::kValidationFailed);
  TransferRequest no_currency = single(cash_.id, w.id, 10, "k");
  no_currency.currency.reset();
  EXPECT_EQ(run(no_currency).status.code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(run(single(cash_.id, w.id, 10, "")).status.code(), ErrorCode::kIdempotencyKeyInvalid);
  EXPECT_EQ(run(single(cash_.id, w.id, 10, std::string(256, 'k'))).status.code(),
            ErrorCode::kIdempotencyKeyInvalid);
  TransferRequest void_with_amount = resolve(TransferPhase::kVoid, 1, 5, "k");
  EXPECT_EQ(run(void_with_amount).status.code(), ErrorCode::kValidationFailed);

  // Decided by the writer but still a request error: the currency differs from the accounts'.
  TransferRequest wrong_currency = single(cash_.id, w.id, 10, "k");
  wrong_currency.currency = Currency::from_code("USD");
  TransferOutcome mismatch = run(wrong_currency);
  EXPECT_EQ(mismatch.status.code(), ErrorCode::kCurrencyMismatch);

  TransferOutcome fixed = run(single(cash_.id, w.id, 10, "k"));
  ASSERT_TRUE(fixed.status.is_ok()) << fixed.status.to_string();
  EXPECT_FALSE(fixed.replayed);
  EXPECT_EQ(now(w).balance_minor, 10);
}

TEST_P(LedgerBasicsTest, UnknownAccountsAreAStoredRefusal) {
  Account w = wallet();
  TransferOutcome refused = run(single(cash_.id, 999, 10, "k"));
  EXPECT_EQ(refused.status.code(), ErrorCode::kAccountNotFound);
  EXPECT_TRUE(run(single(cash_.id, 999, 10, "k")).replayed);
  EXPECT_EQ(now(w).balance_minor, 0);
}

TEST_P(LedgerBasicsTest, SameKeyTwiceInOneBatchReplaysTheFirst) {
  Account w = wallet();
  Account parked = wallet();
  std::promise<TransferOutcome> first_done, second_done, refused_done, refused_again_done;
  {
    WriterGate gate(*ledger_, single(cash_.id, parked.id, 1, "gate"));
    ledger_->submit(single(cash_.id, w.id, 100, "dup"),
                    [&](TransferOutcome o) { first_done.set_value(std::move(o)); });
    ledger_->submit(single(cash_.id, w.id, 100, "dup"),
                    [&](TransferOutcome o) { second_done.set_value(std::move(o)); });
    ledger_->submit(single(parked.id, revenue_.id, 500, "dup-refused"),
                    [&](TransferOutcome o) { refused_done.set_value(std::move(o)); });
    ledger_->submit(single(parked.id, revenue_.id, 500, "dup-refused"),
                    [&](TransferOutcome o) { refused_again_done.set_value(std::move(o)); });
  }
  TransferOutcome first = first_done.get_future().get();
  TransferOutcome second = second_done.get_future().get();
  ASSERT_TRUE(first.status.is_ok());
  ASSERT_TRUE(second.status.is_ok());
  EXPECT_FALSE(first.replayed);
  EXPECT_TRUE(second.replayed);
  EXPECT_EQ(first.transfer->id, second.transfer->id);
  TransferOutcome refused = refused_done.get_future().get();
  TransferOutcome refused_again = refused_again_done.get_future().get();
  EXPECT_EQ(refused.status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_FALSE(refused.replayed);
  EXPECT_EQ(refused_again.status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_TRUE(refused_again.replayed);
  EXPECT_EQ(now(w).balance_minor, 100);

  // The four were one batch (the test would prove nothing otherwise).
  LedgerStats stats = ledger_->stats();
  auto bounds = batch_size_bucket_bounds();
  std::size_t four =
      static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), 4u) - bounds.begin());
  EXPECT_EQ(stats.batch_size_buckets.at(four), 1u);
}

// ---- Limits

TEST_P(LedgerBasicsTest, AWalletWithFloorZeroNeverGoesNegative) {
  Account w = wallet();
  topup(w, 100, "t");
  EXPECT_TRUE(charge(w, 60, "c1").status.is_ok());
  EXPECT_EQ(charge(w, 60, "c2").status.code(), ErrorCode::kInsufficientFunds);
  TransferOutcome exact = charge(w, 40, "c3");
  ASSERT_TRUE(exact.status.is_ok());
  EXPECT_EQ(exact.transfer->debit_balance_after_minor, 0);
  EXPECT_EQ(charge(w, 1, "c4").status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_EQ(now(w).balance_minor, 0);
}

TEST_P(LedgerBasicsTest, AnOverdraftFloorAllowsDownToIt) {
  Account w = wallet(-500);
  EXPECT_TRUE(charge(w, 400, "c1").status.is_ok());
  TransferOutcome to_floor = charge(w, 100, "c2");
  ASSERT_TRUE(to_floor.status.is_ok());
  EXPECT_EQ(to_floor.transfer->debit_balance_after_minor, -500);
  EXPECT_EQ(charge(w, 1, "c3").status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_EQ(now(w).balance_minor, -500);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBasicsTest, RefusesABalanceOverflow) {
  // Two unfloored accounts at the edges of int64 (still summing to zero), set on disk.
  Account high = make_account(AccountKind::kRevenue, std::nullopt);
  Account low = make_account(AccountKind::kCash, std::nullopt);
  ledger_->shutdown();
  {
    constexpr std::int64_t kEdge = std::numeric_limits<std::int64_t>::max() - 10;
    auto lease = connection();
    std::array<Value, 2> high_params = {kEdge, high.id};
    ASSERT_OK(lease->execute("UPDATE accounts SET balance_minor = ? WHERE id = ?", high_params));
    std::array<Value, 2> low_params = {-kEdge, low.id};
    ASSERT_OK(lease->execute("UPDATE accounts SET balance_minor = ? WHERE id = ?", low_params));
  }
  reopen();
  TransferOutcome overflow = run(single(cash_.id, high.id, 11, "over"));
  EXPECT_EQ(overflow.status.code(), ErrorCode::kOverflow);
  EXPECT_TRUE(run(single(cash_.id, high.id, 11, "over")).replayed);
  EXPECT_TRUE(run(single(cash_.id, high.id, 10, "fits")).status.is_ok());
  EXPECT_EQ(now(high).balance_minor, std::numeric_limits<std::int64_t>::max());
}

// ---- Two-phase transfers

TEST_P(LedgerBasicsTest, APendingTransferReservesAndAFullPostMovesIt) {
  Account w = wallet();
  topup(w, 1000, "t");
  Transfer reserved = ok(pending(w.id, revenue_.id, 300, "p"));
  EXPECT_EQ(reserved.phase, TransferPhase::kPending);
  EXPECT_EQ(reserved.state, TransferState::kPending);
  EXPECT_EQ(reserved.debit_balance_after_minor, 1000);
  EXPECT_EQ(now(w).balance_minor, 1000);
  EXPECT_EQ(now(w).available_minor(), 700);
  EXPECT_EQ(now(w).pending_debit_minor, 300);
  EXPECT_EQ(now(revenue_).pending_credit_minor, 300);
  // The reservation counts against the floor.
  EXPECT_EQ(charge(w, 701, "too-much").status.code(), ErrorCode::kInsufficientFunds);

  Transfer posted = ok(resolve(TransferPhase::kPost, reserved.id, 0, "post"));
  EXPECT_EQ(posted.phase, TransferPhase::kPost);
  EXPECT_EQ(posted.state, TransferState::kPosted);
  EXPECT_EQ(posted.pending_id, reserved.id);
  EXPECT_EQ(posted.amount_minor, 300);
  EXPECT_EQ(posted.debit_account_id, w.id);
  EXPECT_EQ(posted.debit_balance_after_minor, 700);
  EXPECT_EQ(now(w).balance_minor, 700);
  EXPECT_EQ(now(w).pending_debit_minor, 0);
  EXPECT_EQ(now(revenue_).balance_minor, 300);
  EXPECT_EQ(now(revenue_).pending_credit_minor, 0);

  auto lease = connection();
  Transfer stored = must(get_transfer(*lease, reserved.id));
  EXPECT_EQ(stored.state, TransferState::kPosted);
  EXPECT_EQ(stored.resolved_at_ms, kStartMs);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBasicsTest, APartialPostReleasesTheRest) {
  Account w = wallet();
  topup(w, 1000, "t");
  Transfer reserved = ok(pending(w.id, revenue_.id, 300, "p"));
  EXPECT_EQ(run(resolve(TransferPhase::kPost, reserved.id, 301, "too-much")).status.code(),
            ErrorCode::kAmountOutOfRange);
  Transfer posted = ok(resolve(TransferPhase::kPost, reserved.id, 200, "post"));
  EXPECT_EQ(posted.amount_minor, 200);
  EXPECT_EQ(now(w).balance_minor, 800);
  EXPECT_EQ(now(w).available_minor(), 800);
  EXPECT_EQ(now(revenue_).balance_minor, 200);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBasicsTest, AVoidReleasesTheReservation) {
  Account w = wallet();
  topup(w, 1000, "t");
  Transfer reserved = ok(pending(w.id, revenue_.id, 300, "p"));
  Transfer voided = ok(resolve(TransferPhase::kVoid, reserved.id, 0, "void"));
  EXPECT_EQ(voided.phase, TransferPhase::kVoid);
  EXPECT_EQ(voided.amount_minor, 300);
  EXPECT_EQ(now(w).balance_minor, 1000);
  EXPECT_EQ(now(w).available_minor(), 1000);
  EXPECT_EQ(now(revenue_).pending_credit_minor, 0);
  auto lease = connection();
  EXPECT_EQ(must(get_transfer(*lease, reserved.id)).state, TransferState::kVoided);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBasicsTest, ResolvingTwiceOrSomethingElseIsRefused) {
  Account w = wallet();
  Transfer top = topup(w, 1000, "t");
  Transfer reserved = ok(pending(w.id, revenue_.id, 300, "p"));
  ok(resolve(TransferPhase::kPost, reserved.id, 0, "post"));
  EXPECT_EQ(run(resolve(TransferPhase::kPost, reserved.id, 0, "post-again")).status.code(),
            ErrorCode::kPendingTransferResolved);
  EXPECT_EQ(run(resolve(TransferPhase::kVoid, reserved.id, 0, "void")).status.code(),
            ErrorCode::kPendingTransferResolved);
  EXPECT_EQ(run(resolve(TransferPhase::kPost, 12345, 0, "unknown")).status.code(),
            ErrorCode::kPendingTransferNotFound);
  EXPECT_EQ(run(resolve(TransferPhase::kVoid, top.id, 0, "not-pending")).status.code(),
            ErrorCode::kPendingTransferNotFound);
  // The original post's key still replays its success.
  EXPECT_TRUE(run(resolve(TransferPhase::kPost, reserved.id, 0, "post")).replayed);
  EXPECT_EQ(now(w).balance_minor, 700);
}

TEST_P(LedgerBasicsTest, APendingTransferExpiresOnTheInjectedClock) {
  Account w = wallet();
  topup(w, 1000, "t");
  Transfer reserved = ok(pending(w.id, revenue_.id, 300, "p", 60));
  EXPECT_EQ(reserved.expires_at_ms, kStartMs + 60'000);

  clock_.advance_ms(59'999);
  ASSERT_OK(ledger_->expire_due_now());
  EXPECT_EQ(now(w).pending_debit_minor, 300);

  clock_.advance_ms(1);
  ASSERT_OK(ledger_->expire_due_now());
  EXPECT_EQ(now(w).pending_debit_minor, 0);
  EXPECT_EQ(now(w).available_minor(), 1000);
  EXPECT_EQ(now(revenue_).pending_credit_minor, 0);
  EXPECT_EQ(ledger_->stats().pending_transfers, 0u);

  auto lease = connection();
  Transfer stored = must(get_transfer(*lease, reserved.id));
  EXPECT_EQ(stored.state, TransferState::kExpired);
  EXPECT_EQ(stored.resolved_at_ms, kStartMs + 60'000);
  auto history = must(list_account_transfers(*lease, w.id, std::nullopt, 10));
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].phase, TransferPhase::kExpire);
  EXPECT_EQ(history[0].pending_id, reserved.id);
  EXPECT_EQ(history[0].idempotency_key, "expire:" + std::to_string(reserved.id));

  EXPECT_EQ(run(resolve(TransferPhase::kPost, reserved.id, 0, "late")).status.code(),
            ErrorCode::kPendingTransferResolved);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBasicsTest, TheWriterExpiresDueTransfersByItself) {
  Account w = wallet();
  topup(w, 1000, "t");
  ok(pending(w.id, revenue_.id, 300, "p", 1));
  clock_.advance_ms(1'000);
  // No expire_due_now(): the writer looks at the clock on its own every kLedgerWriterWakeMs.
  for (int i = 0; i < 1'000 && now(w).pending_debit_minor != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(now(w).pending_debit_minor, 0);
}

TEST_P(LedgerBasicsTest, ManyDueTransfersExpireOverSeveralRounds) {
  Account w = wallet();
  topup(w, 1'000'000, "t");
  constexpr int kPendings = static_cast<int>(limits::kLedgerExpiriesPerBatchMax) + 100;
  std::vector<std::promise<TransferOutcome>> done(kPendings);
  {
    WriterGate gate(*ledger_, single(cash_.id, revenue_.id, 1, "gate"));
    for (int i = 0; i < kPendings; ++i) {
      ledger_->submit(pending(w.id, revenue_.id, 1, "p" + std::to_string(i), 60),
                      [&done, i](TransferOutcome o) { done[i].set_value(std::move(o)); });
    }
  }
  for (auto& d : done) ASSERT_TRUE(d.get_future().get().status.is_ok());
  EXPECT_EQ(now(w).pending_debit_minor, kPendings);
  clock_.advance_ms(60'000);
  ASSERT_OK(ledger_->expire_due_now());
  EXPECT_EQ(now(w).pending_debit_minor, 0);
  EXPECT_EQ(ledger_->stats().pending_transfers, 0u);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBasicsTest, ABatchLargerThanOneStatementIsWrittenInChunks) {
  constexpr int kTransfers = 2'000;  // over kSqlParamsPerStatementMax / 17 transfer rows
  std::vector<Account> wallets;
  for (int i = 0; i < 10; ++i) wallets.push_back(wallet());
  std::vector<std::promise<TransferOutcome>> done(kTransfers);
  {
    WriterGate gate(*ledger_, single(cash_.id, revenue_.id, 1, "gate"));
    for (int i = 0; i < kTransfers; ++i) {
      ledger_->submit(single(cash_.id, wallets[i % 10].id, 1 + i % 7, "t" + std::to_string(i)),
                      [&done, i](TransferOutcome o) { done[i].set_value(std::move(o)); });
    }
  }
  std::int64_t total = 0;
  for (int i = 0; i < kTransfers; ++i) {
    TransferOutcome o = done[i].get_future().get();
    ASSERT_TRUE(o.status.is_ok()) << o.status.to_string();
    total += o.transfer->amount_minor;
  }
  EXPECT_EQ(now(cash_).balance_minor, -total - 1);
  LedgerStats stats = ledger_->stats();
  auto bounds = batch_size_bucket_bounds();
  std::size_t bucket = static_cast<std::size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), std::uint64_t{kTransfers}) - bounds.begin());
  EXPECT_EQ(stats.batch_size_buckets.at(bucket), 1u);
  reopen();
  EXPECT_EQ(now(cash_).balance_minor, -total - 1);
  EXPECT_EQ(ledger_->stats().idempotency_records, std::uint64_t{kTransfers} + 1);
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBasicsTest, APostAfterTheDeadlineIsRefusedEvenBeforeTheWriterExpiresIt) {
  Account w = wallet();
  topup(w, 1000, "t");
  Transfer reserved = ok(pending(w.id, revenue_.id, 300, "p", 60));
  clock_.advance_ms(60'000);
  EXPECT_EQ(run(resolve(TransferPhase::kPost, reserved.id, 0, "late")).status.code(),
            ErrorCode::kPendingTransferResolved);
  ASSERT_OK(ledger_->expire_due_now());
  EXPECT_EQ(now(w).balance_minor, 1000);
  EXPECT_EQ(now(w).pending_debit_minor, 0);
}

TEST_P(LedgerBasicsTest, APendingTransferSurvivesARestartAndStillExpires) {
  Account w = wallet();
  topup(w, 1000, "t");
  Transfer reserved = ok(pending(w.id, revenue_.id, 300, "p", 60));
  Transfer kept = ok(pending(w.id, revenue_.id, 100, "p2"));  // no timeout
  reopen();
  EXPECT_EQ(now(w).pending_debit_minor, 400);
  EXPECT_EQ(ledger_->stats().pending_transfers, 2u);

  clock_.advance_ms(61'000);
  ASSERT_OK(ledger_->expire_due_now());
  EXPECT_EQ(now(w).pending_debit_minor, 100);
  auto lease = connection();
  EXPECT_EQ(must(get_transfer(*lease, reserved.id)).state, TransferState::kExpired);
  // New ids stay above the stored ones although the generator was made afresh.
  Transfer posted = ok(resolve(TransferPhase::kPost, kept.id, 0, "post"));
  EXPECT_GT(posted.id, kept.id);
  EXPECT_EQ(now(w).balance_minor, 900);
  EXPECT_TRUE(check().ok);
}

// ---- Durability and checks

TEST_P(LedgerBasicsTest, AReopenedLedgerHasTheSameBalancesAndKeys) {
  Account w = wallet();
  Transfer first = topup(w, 500, "t1");
  ASSERT_TRUE(charge(w, 120, "c1").status.is_ok());
  reopen();
  EXPECT_EQ(now(w).balance_minor, 380);
  EXPECT_EQ(now(cash_).balance_minor, -500);
  EXPECT_EQ(now(revenue_).balance_minor, 120);
  EXPECT_EQ(ledger_->account_by_code("cash:CNY")->id, cash_.id);
  TransferOutcome replay = run(single(cash_.id, w.id, 500, "t1"));
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.transfer->id, first.id);
  CheckReport report = check();
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(report.accounts_checked, 3u);
  EXPECT_EQ(report.transfers_checked, 2u);
}

TEST_P(LedgerBasicsTest, CheckLedgerFindsATamperedBalanceAndOpenRefusesIt) {
  Account w = wallet();
  topup(w, 500, "t1");
  ASSERT_TRUE(check().ok);
  ledger_->shutdown();
  {
    auto lease = connection();
    std::array<Value, 1> params = {w.id};
    ASSERT_OK(lease->execute("UPDATE accounts SET balance_minor = balance_minor + 1 WHERE id = ?",
                             params));
  }
  CheckReport report = check();
  EXPECT_FALSE(report.ok);
  ASSERT_FALSE(report.problems.empty());
  bool names_the_wallet = false;
  for (const auto& problem : report.problems) {
    if (problem.find(std::to_string(w.id)) != std::string::npos) names_the_wallet = true;
  }
  EXPECT_TRUE(names_the_wallet);

  ledger_.reset();
  auto refused = Ledger::open(*database_, clock_, *ids_, {});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInternal);
}

TEST_P(LedgerBasicsTest, CheckLedgerFindsATamperedTransfer) {
  Account w = wallet();
  Transfer top = topup(w, 500, "t1");
  ledger_->shutdown();
  auto lease = connection();
  std::array<Value, 1> params = {top.id};
  ASSERT_OK(lease->execute("UPDATE transfers SET amount_minor = 499 WHERE id = ?", params));
  EXPECT_FALSE(must(check_ledger(*lease)).ok);
}

// ---- Attached writes and batch failures

TEST_P(LedgerBasicsTest, AFailingAttachedWriteFailsOnlyItsOwnRequest) {
  Account w = wallet();
  Account parked = wallet();
  auto audit = [](Id audit_id) {
    return [audit_id](storage::Connection& connection, const Transfer& made) {
      std::array<Value, 3> params = {audit_id, made.created_at_ms, std::to_string(made.id)};
      return connection.execute(
          "INSERT INTO audit_log (id, at_ms, actor, action, target, request_id, outcome, detail) "
          "VALUES (?, ?, 'test', 'topup', ?, '', 'succeeded', '{}')",
          params);
    };
  };
  TransferRequest before = single(cash_.id, w.id, 10, "before");
  before.attached_write = audit(1);
  TransferRequest bad = single(cash_.id, w.id, 20, "bad");
  bad.attached_write = [](storage::Connection&, const Transfer&) {
    return Status(ErrorCode::kConflict, "the order was cancelled");
  };
  TransferRequest after = single(cash_.id, w.id, 40, "after");
  after.attached_write = audit(2);

  std::promise<TransferOutcome> before_done, bad_done, after_done;
  {
    WriterGate gate(*ledger_, single(cash_.id, parked.id, 1, "gate"));
    ledger_->submit(before, [&](TransferOutcome o) { before_done.set_value(std::move(o)); });
    ledger_->submit(bad, [&](TransferOutcome o) { bad_done.set_value(std::move(o)); });
    ledger_->submit(after, [&](TransferOutcome o) { after_done.set_value(std::move(o)); });
  }
  EXPECT_TRUE(before_done.get_future().get().status.is_ok());
  TransferOutcome failed = bad_done.get_future().get();
  EXPECT_EQ(failed.status.code(), ErrorCode::kConflict);
  EXPECT_EQ(failed.status.message(), "the order was cancelled");
  EXPECT_TRUE(after_done.get_future().get().status.is_ok());
  EXPECT_EQ(ledger_->stats().batch_commit_failures, 1u);
  EXPECT_EQ(now(w).balance_minor, 50);
  {
    auto lease = connection();
    EXPECT_EQ(must(lease->query("SELECT COUNT(*) FROM audit_log"))[0].int_at(0), 2);
  }

  // Nothing was stored under the failed request's key: it can still succeed.
  bad.attached_write = nullptr;
  TransferOutcome retried = run(bad);
  EXPECT_TRUE(retried.status.is_ok());
  EXPECT_FALSE(retried.replayed);
  EXPECT_EQ(now(w).balance_minor, 70);
  EXPECT_TRUE(check().ok);
}

// Attached rows of one writer round are inserted together, after the transfers; a row that
// cannot be inserted (here a duplicate audit id) fails only the request that added it.
TEST_P(LedgerBasicsTest, AttachedRowsAreWrittenTogetherAndABadRowFailsOnlyItsRequest) {
  Account w = wallet();
  Account parked = wallet();
  auto audit = [](Id audit_id) {
    return [audit_id](const Transfer& made, AttachedRows& rows) {
      rows.add("INSERT INTO audit_log (id, at_ms, actor, action, target, request_id, outcome, "
               "detail)",
               {audit_id, made.created_at_ms, std::string("test"), std::string("topup"),
                std::to_string(made.id), std::string(), std::string("succeeded"),
                std::string("{}")});
    };
  };
  std::vector<TransferRequest> requests;
  for (int i = 0; i < 3; ++i) {
    requests.push_back(single(cash_.id, w.id, 10 << i, fmt::format("rows-{}", i)));
  }
  requests[0].attached_rows = audit(11);
  requests[1].attached_rows = audit(12);
  requests[2].attached_rows = audit(11);  // the same id again

  std::vector<std::promise<TransferOutcome>> done(requests.size());
  {
    WriterGate gate(*ledger_, single(cash_.id, parked.id, 1, "gate"));
    for (std::size_t i = 0; i < requests.size(); ++i) {
      ledger_->submit(requests[i],
                      [&done, i](TransferOutcome o) { done[i].set_value(std::move(o)); });
    }
  }
  EXPECT_TRUE(done[0].get_future().get().status.is_ok());
  EXPECT_TRUE(done[1].get_future().get().status.is_ok());
  EXPECT_FALSE(done[2].get_future().get().status.is_ok());
  EXPECT_EQ(ledger_->stats().batch_commit_failures, 1u);
  EXPECT_EQ(now(w).balance_minor, 10 + 20);
  {
    auto lease = connection();
    EXPECT_EQ(must(lease->query("SELECT COUNT(*) FROM audit_log"))[0].int_at(0), 2);
  }
  EXPECT_TRUE(check().ok);
}

TEST_P(LedgerBasicsTest, ALoneStorageFailureIsAStorageErrorNotASuccess) {
  Account w = wallet();
  TransferRequest broken = single(cash_.id, w.id, 10, "k");
  broken.attached_write = [](storage::Connection& connection, const Transfer&) {
    return connection.execute("INSERT INTO no_such_table VALUES (1)");
  };
  TransferOutcome failed = run(broken);
  EXPECT_EQ(failed.status.code(), ErrorCode::kStorageError) << failed.status.to_string();
  EXPECT_FALSE(failed.transfer.has_value());
  EXPECT_EQ(now(w).balance_minor, 0);
  auto lease = connection();
  EXPECT_EQ(must(lease->query("SELECT COUNT(*) FROM transfers"))[0].int_at(0), 0);
}

TEST_P(LedgerBasicsTest, AFailedLedgerWriteLeavesMemoryUntouchedAndTheKeyFree) {
  Account w = wallet();
  Account parked = wallet();
  // A constraint the ledger does not know about makes its own INSERT of that key's transfer fail.
  {
    auto lease = connection();
    ASSERT_OK(lease->execute_script(
        lease->dialect() == storage::Dialect::kSqlite
            ? "CREATE TRIGGER clash BEFORE INSERT ON transfers WHEN NEW.idempotency_key = 'clash' "
              "BEGIN SELECT RAISE(ABORT, 'clash'); END"
            : "ALTER TABLE transfers ADD CONSTRAINT clash CHECK (idempotency_key <> 'clash')"));
  }
  std::promise<TransferOutcome> clash_done, neighbour_done;
  // An attached write makes the batch write its rows at once (not through the journal), so the
  // clash fails the batch's own transaction.
  TransferRequest clash_request = single(cash_.id, w.id, 10, "clash");
  clash_request.attached_write = [](storage::Connection&, const Transfer&) { return Status::ok(); };
  {
    WriterGate gate(*ledger_, single(cash_.id, parked.id, 1, "gate"));
    ledger_->submit(clash_request,
                    [&](TransferOutcome o) { clash_done.set_value(std::move(o)); });
    ledger_->submit(single(cash_.id, w.id, 20, "neighbour"),
                    [&](TransferOutcome o) { neighbour_done.set_value(std::move(o)); });
  }
  TransferOutcome clash = clash_done.get_future().get();
  EXPECT_EQ(clash.status.code(), ErrorCode::kStorageError) << clash.status.to_string();
  EXPECT_TRUE(neighbour_done.get_future().get().status.is_ok());
  EXPECT_EQ(now(w).balance_minor, 20);
  EXPECT_EQ(now(cash_).balance_minor, -21);
  EXPECT_TRUE(check().ok);

  {
    auto lease = connection();
    ASSERT_OK(lease->execute_script(lease->dialect() == storage::Dialect::kSqlite
                                        ? "DROP TRIGGER clash"
                                        : "ALTER TABLE transfers DROP CONSTRAINT clash"));
  }
  TransferOutcome retried = run(single(cash_.id, w.id, 10, "clash"));
  EXPECT_TRUE(retried.status.is_ok());
  EXPECT_FALSE(retried.replayed);
  EXPECT_EQ(now(w).balance_minor, 30);
}

// ---- Queue bounds and shutdown

TEST_P(LedgerBasicsTest, AFullQueueAndAStoppedLedgerAnswerUnavailable) {
  reopen(LedgerOptions{.queue_depth_max = 1});
  Account w = wallet();
  std::promise<TransferOutcome> queued_done;
  TransferOutcome overflowed;
  {
    WriterGate gate(*ledger_, single(cash_.id, w.id, 1, "gate"));
    ledger_->submit(single(cash_.id, w.id, 1, "queued"),
                    [&](TransferOutcome o) { queued_done.set_value(std::move(o)); });
    overflowed = run(single(cash_.id, w.id, 1, "overflow"));  // answered at once
  }
  EXPECT_EQ(overflowed.status.code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(queued_done.get_future().get().status.is_ok());

  // Shutdown finishes what is queued, then refuses.
  std::promise<TransferOutcome> last_done;
  ledger_->submit(single(cash_.id, w.id, 1, "last"),
                  [&](TransferOutcome o) { last_done.set_value(std::move(o)); });
  ledger_->shutdown();
  EXPECT_TRUE(last_done.get_future().get().status.is_ok());
  EXPECT_EQ(run(single(cash_.id, w.id, 1, "late")).status.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(ledger_->expire_due_now().code(), ErrorCode::kUnavailable);
  ledger_->shutdown();  // idempotent
  EXPECT_EQ(now(w).balance_minor, 3);
}

TEST_P(LedgerBasicsTest, RejectsOptionsOutOfBounds) {
  ledger_->shutdown();
  for (LedgerOptions options :
       {LedgerOptions{.queue_depth_max = 0}, LedgerOptions{.batch_transfers_max = 0},
        LedgerOptions{.idempotency_retention_hours = 1}}) {
    auto opened = Ledger::open(*database_, clock_, *ids_, options);
    ASSERT_FALSE(opened.is_ok());
    EXPECT_EQ(opened.status().code(), ErrorCode::kValidationFailed);
  }
}

// ---- Retention

TEST_P(LedgerBasicsTest, IdempotencyRecordsArePrunedAfterTheRetentionOnly) {
  reopen(LedgerOptions{.idempotency_retention_hours = 24});
  Account w = wallet();
  topup(w, 100, "old");
  clock_.advance_ms(2 * kHourMs);
  topup(w, 100, "young");
  EXPECT_EQ(ledger_->stats().idempotency_records, 2u);

  clock_.advance_ms(23 * kHourMs);       // "old" is 25 hours old, "young" 23
  ASSERT_OK(ledger_->expire_due_now());  // a writer round: it prunes first
  EXPECT_EQ(ledger_->stats().idempotency_records, 1u);
  EXPECT_TRUE(run(single(cash_.id, w.id, 100, "young")).replayed);
  // Past its retention the key is free again (here: for a different request).
  TransferOutcome reused = run(single(cash_.id, w.id, 7, "old"));
  EXPECT_TRUE(reused.status.is_ok());
  EXPECT_FALSE(reused.replayed);

  clock_.advance_ms(2 * kHourMs);  // "young" is now 25 hours old: dropped when opening
  reopen(LedgerOptions{.idempotency_retention_hours = 24});
  EXPECT_EQ(ledger_->stats().idempotency_records, 1u);  // the second "old"
  EXPECT_TRUE(run(single(cash_.id, w.id, 7, "old")).replayed);
  TransferOutcome young_again = run(single(cash_.id, w.id, 100, "young"));
  EXPECT_TRUE(young_again.status.is_ok());
  EXPECT_FALSE(young_again.replayed);
}

TEST_P(LedgerBasicsTest, RecordsStoredBeforeMigration15StillReplay) {
  // A store written by a build whose idempotency table also held the records of transfers made.
  ledger_.reset();
  database_.reset();
  scratch_ = must(storage::testing::ScratchDatabase::create(GetParam()));
  database_ = must(storage::Database::open(scratch_->options()));
  auto all = schema::all_migrations();
  auto before = std::find_if(all.begin(), all.end(), [](const auto& m) { return m.version > 11; });
  ASSERT_OK(database_->migrate({all.begin(), before}));
  const Id transfer_id = first_id_at(kStartMs) + 7;
  {
    auto lease = must(database_->acquire());
    ASSERT_OK(lease->execute_script(fmt::format(
        "INSERT INTO accounts VALUES (1, 'cash', 'cash:CNY', 'CNY', 0, 0, -100, 0, 0, {0});"
        "INSERT INTO accounts VALUES (2, 'wallet', NULL, 'CNY', 1, 0, 100, 0, 0, {0});"
        "INSERT INTO transfers VALUES ({1}, 'single', 'posted', NULL, 1, 2, 100, 'CNY', 'test', "
        "'', '', NULL, -100, 100, 'legacy', {0}, NULL);"
        "INSERT INTO idempotency VALUES ('legacy', 'single|1|2|0|100|CNY|0|fp', {1}, NULL, NULL, "
        "{0});"
        "INSERT INTO idempotency VALUES ('refused', 'single|2|1|0|500|CNY|0|fp', NULL, "
        "'insufficient_funds', 'no money', {0});",
        kStartMs, transfer_id)));
  }
  ASSERT_OK(database_->migrate(all));
  open_ledger();

  TransferOutcome replay = run(single(1, 2, 100, "legacy"));
  ASSERT_TRUE(replay.status.is_ok()) << replay.status.to_string();
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.transfer->id, transfer_id);
  EXPECT_EQ(run(single(1, 2, 5, "legacy")).status.code(), ErrorCode::kIdempotencyKeyReused);
  TransferOutcome refused = run(single(2, 1, 500, "refused"));
  EXPECT_EQ(refused.status.code(), ErrorCode::kInsufficientFunds);
  EXPECT_TRUE(refused.replayed);
  EXPECT_EQ(ledger_->account(2)->balance_minor, 100);
  auto lease = connection();
  EXPECT_EQ(must(lease->query("SELECT COUNT(*) FROM idempotency"))[0].int_at(0), 1);
  EXPECT_TRUE(check().ok);
}

// ---- Reads

TEST_P(LedgerBasicsTest, ListsAnAccountsTransfersNewestFirstInPages) {
  Account w = wallet();
  Account other = wallet();
  std::vector<Id> made;
  for (int i = 0; i < 5; ++i) made.push_back(topup(w, 10 + i, "t" + std::to_string(i)).id);
  topup(other, 1, "other");
  made.push_back(charge(w, 5, "c").transfer->id);

  auto lease = connection();
  auto page1 = must(list_account_transfers(*lease, w.id, std::nullopt, 4));
  ASSERT_EQ(page1.size(), 4u);
  EXPECT_EQ(page1[0].id, made[5]);
  EXPECT_EQ(page1[3].id, made[2]);
  auto page2 = must(list_account_transfers(*lease, w.id, page1.back().id, 4));
  ASSERT_EQ(page2.size(), 2u);
  EXPECT_EQ(page2[0].id, made[1]);
  EXPECT_EQ(page2[1].id, made[0]);
  EXPECT_EQ(page2[1].credit_balance_after_minor, 10);

  EXPECT_EQ(list_account_transfers(*lease, w.id, std::nullopt, 0).status().code(),
            ErrorCode::kValidationFailed);
  EXPECT_EQ(
      list_account_transfers(*lease, w.id, std::nullopt, limits::kPageSizeMax + 2).status().code(),
      ErrorCode::kValidationFailed);
  EXPECT_EQ(get_transfer(*lease, 999).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace station::ledger::testing
