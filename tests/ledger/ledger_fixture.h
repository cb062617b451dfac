// Test fixture for the ledger: a fresh migrated database per test on either engine, a
// ManualClock, and short helpers for accounts and transfers.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/clock.h"
#include "common/id.h"
#include "ledger/ledger.h"
#include "schema/migrations.h"
#include "storage/scratch_database.h"
#include "support/status_assertions.h"

namespace station::ledger::testing {

using storage::testing::Engine;

using ::station::testing::must;

inline constexpr std::int64_t kStartMs = 1'800'000'000'000;  // 2027-01-15

class LedgerTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    STATION_SKIP_UNLESS_ENGINE_AVAILABLE(GetParam());
    scratch_ = must(storage::testing::ScratchDatabase::create(GetParam()));
    database_ = must(storage::Database::open(scratch_->options()));
    ASSERT_OK(database_->migrate(schema::all_migrations()));
    open_ledger();
  }

  void TearDown() override {
    ledger_.reset();
    database_.reset();
    scratch_.reset();
  }

  void open_ledger(LedgerOptions options = {}) {
    // A new generator, as after a restart: the ledger must seed it with the stored ids.
    ids_ = std::make_unique<IdGenerator>(clock_);
    ledger_ = must(Ledger::open(*database_, clock_, *ids_, options));
  }

  void reopen(LedgerOptions options = {}) {
    ledger_->shutdown();
    ledger_.reset();
    open_ledger(options);
  }

  Account make_account(AccountKind kind, std::optional<std::int64_t> floor_minor,
                       std::string code = "", const char* currency = "CNY") {
    AccountSpec spec;
    spec.kind = kind;
    spec.code = std::move(code);
    spec.currency = *Currency::from_code(currency);
    spec.floor_minor = floor_minor;
    return must(ledger_->create_account_and_wait(spec));
  }
  Account wallet(std::int64_t floor_minor = 0) {
    return make_account(AccountKind::kWallet, floor_minor);
  }

  static TransferRequest single(Id debit, Id credit, std::int64_t amount_minor, std::string key,
                                std::string fingerprint = "fp") {
    TransferRequest request;
    request.idempotency_key = std::move(key);
    request.fingerprint = std::move(fingerprint);
    request.debit_account_id = debit;
    request.credit_account_id = credit;
    request.amount_minor = amount_minor;
    request.currency = Currency::from_code("CNY");
    request.category = "test";
    return request;
  }
  static TransferRequest pending(Id debit, Id credit, std::int64_t amount_minor, std::string key,
                                 std::uint32_t timeout_seconds = 0) {
    TransferRequest request = single(debit, credit, amount_minor, std::move(key));
    request.phase = TransferPhase::kPending;
    request.timeout_seconds = timeout_seconds;
    return request;
  }
  static TransferRequest resolve(TransferPhase phase, Id pending_id, std::int64_t amount_minor,
                                 std::string key) {
    TransferRequest request;
    request.phase = phase;
    request.idempotency_key = std::move(key);
    request.fingerprint = "fp";
    request.pending_id = pending_id;
    request.amount_minor = amount_minor;
    request.currency = Currency::from_code("CNY");
    return request;
  }

  TransferOutcome run(TransferRequest request) {
    return ledger_->submit_and_wait(std::move(request));
  }
  // A transfer the test needs to succeed.
  Transfer ok(TransferRequest request) {
    TransferOutcome outcome = run(std::move(request));
    EXPECT_TRUE(outcome.status.is_ok()) << outcome.status.to_string();
    if (!outcome.transfer) {
      ADD_FAILURE() << "no transfer";
      std::abort();
    }
    return *outcome.transfer;
  }

  Account now(const Account& account) { return *ledger_->account(account.id); }

  // Like every reader of the tables, waits first for the journal to be applied (ledger.h).
  storage::ConnectionLease connection() {
    if (ledger_) EXPECT_OK(ledger_->flush_journal());
    return must(database_->acquire());
  }
  CheckReport check() {
    auto lease = connection();
    return must(check_ledger(*lease));
  }

  ManualClock clock_{kStartMs};
  std::unique_ptr<storage::testing::ScratchDatabase> scratch_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<IdGenerator> ids_;
  std::unique_ptr<Ledger> ledger_;
};

inline std::string engine_test_name(const ::testing::TestParamInfo<Engine>& info) {
  return std::string(storage::testing::engine_name(info.param));
}

#define STATION_LEDGER_ENGINES(suite)                                                        \
  INSTANTIATE_TEST_SUITE_P(Engines, suite,                                                   \
                           ::testing::Values(::station::ledger::testing::Engine::kSqlite,    \
                                             ::station::ledger::testing::Engine::kPostgres), \
                           ::station::ledger::testing::engine_test_name)

}  // namespace station::ledger::testing

namespace station::ledger::testing {

// Holds the writer thread inside a callback (tests only: real callbacks must not block), so that
// everything submitted meanwhile queues up and is taken as one batch on release().
class WriterGate {
 public:
  WriterGate(Ledger& ledger, TransferRequest request) {
    // The callback holds its own reference to the shared state: the gate may be gone by the
    // time the writer wakes up from wait().
    ledger.submit(std::move(request), [this, released = released_future_](TransferOutcome) {
      entered_.set_value();
      released.wait();
    });
    entered_.get_future().wait();
  }
  ~WriterGate() {
    if (!released_) release();
  }
  void release() {
    released_ = true;
    released_promise_.set_value();
  }

 private:
  std::promise<void> entered_;
  std::promise<void> released_promise_;
  std::shared_future<void> released_future_ = released_promise_.get_future().share();
  bool released_ = false;
};

}  // namespace station::ledger::testing
