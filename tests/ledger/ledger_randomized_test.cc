// A randomized run against a model (after LevelDB's DBTest.Randomized). Threads submit random
// top-ups, charges, pending transfers, posts and voids, with deliberate retries, duplicates in
// flight and key reuse, while the clock moves so some pending transfers expire. Afterwards every
// outcome is checked: one outcome per key, no wallet below its floor, and a sequential replay of
// the committed transfers in id order (the order the writer applied them) meets every recorded
// balance and ends at the ledger's balances; check_ledger agrees.
//
// The seed (printed; set STATION_TEST_SEED to repeat it) fixes each thread's choices. The
// interleaving of the threads is the scheduler's, so a failure may need a few runs to recur.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "ledger_fixture.h"

namespace station::ledger::testing {
namespace {

constexpr int kThreads = 6;
constexpr int kOperationsPerThread = 400;
constexpr int kWallets = 8;

std::uint64_t test_seed() {
  if (const char* text = std::getenv("STATION_TEST_SEED"); text != nullptr && *text != '\0') {
    return std::strtoull(text, nullptr, 10);
  }
  return std::random_device{}();
}

struct Submission {
  TransferRequest request;
  TransferOutcome outcome;
  bool deliberate_reuse = false;  // same key, different request: must be refused
};

struct Model {
  struct Balances {
    std::int64_t balance = 0;
    std::int64_t pending_debit = 0;
    std::int64_t pending_credit = 0;
  };
  std::map<Id, Balances> accounts;
  std::map<Id, std::int64_t> pending_amounts;

  // Applies one committed transfer as the ledger's rules say it must act.
  void apply(const Transfer& t) {
    Balances& debit = accounts[t.debit_account_id];
    Balances& credit = accounts[t.credit_account_id];
    switch (t.phase) {
      case TransferPhase::kSingle:
        debit.balance -= t.amount_minor;
        credit.balance += t.amount_minor;
        break;
      case TransferPhase::kPending:
        debit.pending_debit += t.amount_minor;
        credit.pending_credit += t.amount_minor;
        pending_amounts[t.id] = t.amount_minor;
        break;
      case TransferPhase::kPost:
      case TransferPhase::kVoid:
      case TransferPhase::kExpire: {
        std::int64_t reserved = pending_amounts.at(t.pending_id);
        pending_amounts.erase(t.pending_id);
        debit.pending_debit -= reserved;
        credit.pending_credit -= reserved;
        if (t.phase == TransferPhase::kPost) {
          debit.balance -= t.amount_minor;
          credit.balance += t.amount_minor;
        }
        break;
      }
    }
  }
};

class LedgerRandomizedTest : public LedgerTest {};
STATION_LEDGER_ENGINES(LedgerRandomizedTest);

TEST_P(LedgerRandomizedTest, ConcurrentTrafficKeepsEveryInvariant) {
  const std::uint64_t seed = test_seed();
  std::printf("[   SEED   ] STATION_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE("STATION_TEST_SEED=" + std::to_string(seed));

  Account cash = make_account(AccountKind::kCash, std::nullopt, "cash:CNY");
  Account revenue = make_account(AccountKind::kRevenue, std::nullopt, "revenue:CNY");
  std::vector<Account> wallets;
  std::map<Id, std::int64_t> floors;
  for (int i = 0; i < kWallets; ++i) {
    wallets.push_back(wallet(i % 3 == 0 ? -500 : 0));
    floors[wallets.back().id] = *wallets.back().floor_minor;
  }

  std::mutex registry_mutex;
  std::vector<TransferRequest> finished;  // GUARDED_BY(registry_mutex): requests answered
  std::vector<std::vector<Submission>> submissions(kThreads);
  auto started = std::chrono::steady_clock::now();

  auto run_thread = [&](int thread_index) {
    std::mt19937_64 random(seed * 1'000'003 + static_cast<std::uint64_t>(thread_index));
    auto below = [&](std::int64_t n) {
      return static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(n));
    };
    std::vector<std::pair<Id, std::int64_t>> open_pendings;  // made by this thread
    auto record = [&](const TransferRequest& request, TransferOutcome outcome, bool reuse) {
      if (!reuse && outcome.status.is_ok() && !outcome.replayed &&
          request.phase == TransferPhase::kPending) {
        open_pendings.emplace_back(outcome.transfer->id, outcome.transfer->amount_minor);
      }
      submissions[thread_index].push_back(Submission{request, std::move(outcome), reuse});
      if (!reuse) {
        std::lock_guard lock(registry_mutex);
        finished.push_back(request);
      }
    };

    for (int op = 0; op < kOperationsPerThread; ++op) {
      if (thread_index == 0 && op % 40 == 39) clock_.advance_ms(10'000);
      std::string key = "t" + std::to_string(thread_index) + "-" + std::to_string(op);
      const Account& some_wallet = wallets[static_cast<std::size_t>(below(kWallets))];
      const std::int64_t dice = below(100);
      TransferRequest request;
      bool reuse = false;
      if (dice < 25) {
        request = LedgerTest::single(cash.id, some_wallet.id, 1 + below(1000), key);
      } else if (dice < 50) {
        request = LedgerTest::single(some_wallet.id, revenue.id, 1 + below(600), key);
      } else if (dice < 62) {
        request = LedgerTest::pending(some_wallet.id, revenue.id, 1 + below(400), key,
                                      below(2) == 0 ? 0 : 30);
      } else if (dice < 72 && !open_pendings.empty()) {
        auto pick =
            static_cast<std::size_t>(below(static_cast<std::int64_t>(open_pendings.size())));
        auto [pending_id, amount] = open_pendings[pick];
        open_pendings.erase(open_pendings.begin() + static_cast<std::ptrdiff_t>(pick));
        const bool post = below(3) != 0;
        request =
            LedgerTest::resolve(post ? TransferPhase::kPost : TransferPhase::kVoid, pending_id,
                                post && below(2) == 0 ? 1 + below(amount) : 0, key);
      } else {
        std::lock_guard lock(registry_mutex);
        if (finished.empty()) continue;
        request =
            finished[static_cast<std::size_t>(below(static_cast<std::int64_t>(finished.size())))];
        if (dice >= 95) {  // the same key for something else
          reuse = true;
          request.fingerprint += "-changed";
        }
      }

      if (below(10) == 0 && !reuse) {
        // A duplicate in flight: both copies are queued before either is answered.
        std::promise<TransferOutcome> first, second;
        ledger_->submit(request, [&](TransferOutcome o) { first.set_value(std::move(o)); });
        ledger_->submit(request, [&](TransferOutcome o) { second.set_value(std::move(o)); });
        record(request, first.get_future().get(), false);
        record(request, second.get_future().get(), false);
      } else {
        record(request, ledger_->submit_and_wait(request), reuse);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(run_thread, t);
  for (auto& thread : threads) thread.join();
  auto elapsed = std::chrono::steady_clock::now() - started;

  LedgerStats stats = ledger_->stats();
  std::printf("[   INFO   ] %llu transfers in %llu batches, %.0f ms\n",
              static_cast<unsigned long long>(stats.transfers_committed),
              static_cast<unsigned long long>(stats.batches_committed),
              std::chrono::duration<double, std::milli>(elapsed).count());

  // One outcome per key: every answer for a key agrees, and exactly one was not a replay.
  struct KeyOutcomes {
    ErrorCode code = ErrorCode::kOk;
    Id transfer_id = 0;
    int originals = 0;
    int answers = 0;
  };
  std::map<std::string, KeyOutcomes> by_key;
  std::vector<Transfer> committed;
  for (const auto& thread_submissions : submissions) {
    for (const auto& s : thread_submissions) {
      const TransferOutcome& o = s.outcome;
      if (s.deliberate_reuse) {
        EXPECT_EQ(o.status.code(), ErrorCode::kIdempotencyKeyReused) << s.request.idempotency_key;
        continue;
      }
      ASSERT_TRUE(o.status.is_ok() || is_business_refusal(o.status.code()))
          << s.request.idempotency_key << ": " << o.status.to_string();
      KeyOutcomes& k = by_key[s.request.idempotency_key];
      Id transfer_id = o.transfer ? o.transfer->id : 0;
      if (k.answers++ == 0) {
        k.code = o.status.code();
        k.transfer_id = transfer_id;
      } else {
        EXPECT_EQ(k.code, o.status.code()) << s.request.idempotency_key;
        EXPECT_EQ(k.transfer_id, transfer_id) << s.request.idempotency_key;
      }
      if (!o.replayed) {
        ++k.originals;
        if (o.transfer) committed.push_back(*o.transfer);
      }
      // No outcome ever shows a wallet below its floor.
      if (o.transfer) {
        if (auto floor = floors.find(o.transfer->debit_account_id); floor != floors.end()) {
          EXPECT_GE(o.transfer->debit_balance_after_minor, floor->second);
        }
        if (auto floor = floors.find(o.transfer->credit_account_id); floor != floors.end()) {
          EXPECT_GE(o.transfer->credit_balance_after_minor, floor->second);
        }
      }
    }
  }
  for (const auto& [key, k] : by_key) EXPECT_EQ(k.originals, 1) << key;

  // Settle what is due, then replay everything committed, in id order, on the model.
  ASSERT_OK(ledger_->expire_due_now());
  auto lease = connection();
  auto expiry_rows = must(lease->query("SELECT id FROM transfers WHERE phase = 'expire'"));
  for (const auto& row : expiry_rows)
    committed.push_back(must(get_transfer(*lease, row.int_at(0))));
  std::sort(committed.begin(), committed.end(),
            [](const Transfer& a, const Transfer& b) { return a.id < b.id; });
  Model model;
  for (const Transfer& t : committed) {
    model.apply(t);
    const Model::Balances& debit = model.accounts[t.debit_account_id];
    EXPECT_EQ(t.debit_balance_after_minor, debit.balance) << "transfer " << t.id;
    EXPECT_EQ(t.credit_balance_after_minor, model.accounts[t.credit_account_id].balance);
    if (auto floor = floors.find(t.debit_account_id); floor != floors.end()) {
      EXPECT_GE(debit.balance - debit.pending_debit, floor->second) << "transfer " << t.id;
    }
  }
  std::int64_t sum = 0;
  std::vector<Account> all = wallets;
  all.push_back(cash);
  all.push_back(revenue);
  for (const Account& a : all) {
    Account actual = now(a);
    sum += actual.balance_minor;
    EXPECT_EQ(actual.balance_minor, model.accounts[a.id].balance) << "account " << a.id;
    EXPECT_EQ(actual.pending_debit_minor, model.accounts[a.id].pending_debit);
    EXPECT_EQ(actual.pending_credit_minor, model.accounts[a.id].pending_credit);
  }
  EXPECT_EQ(sum, 0);

  // Every key's transfer exists, exactly once.
  auto duplicated = must(lease->query(
      "SELECT idempotency_key FROM transfers GROUP BY idempotency_key HAVING COUNT(*) > 1"));
  EXPECT_TRUE(duplicated.empty());
  for (const auto& [key, k] : by_key) {
    if (k.transfer_id == 0) continue;
    EXPECT_EQ(must(get_transfer(*lease, k.transfer_id)).idempotency_key, key);
  }
  auto row_count = must(lease->query("SELECT COUNT(*) FROM transfers"));
  EXPECT_EQ(static_cast<std::size_t>(row_count[0].int_at(0)), committed.size());

  CheckReport report = must(check_ledger(*lease));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems.front());
}

}  // namespace
}  // namespace station::ledger::testing
