// In-process ledger throughput: transfers submitted asynchronously in bursts, so the writer
// group-commits them, durably, into a real SQLite file (WAL, synchronous=FULL) or PostgreSQL
// (STATION_TEST_POSTGRES_URL). Reported as transfers per second (items_per_second).
//
//   build/bench/ledger_bench --benchmark_min_time=3
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "ledger/ledger.h"
#include "schema/migrations.h"

namespace station {
namespace {

constexpr int kWallets = 1'000;

struct Fixture {
  std::filesystem::path directory;
  std::unique_ptr<storage::Database> database;
  std::unique_ptr<storage::OwnershipLock> lock;
  SystemClock clock;
  IdGenerator ids{clock};
  std::unique_ptr<ledger::Ledger> ledger;
  Id cash = 0;
  std::vector<Id> wallets;
  std::uint64_t next_key = 0;

  explicit Fixture(bool postgres) {
    storage::DatabaseOptions options;
    if (postgres) {
      const char* url = std::getenv("STATION_TEST_POSTGRES_URL");
      if (url == nullptr) std::abort();
      options.url = url;
      auto db = storage::Database::open(options);
      if (!db.is_ok()) std::abort();
      auto connection = (*db)->acquire();
      if (!connection.is_ok() ||
          !(*connection)->execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
               .is_ok()) {
        std::abort();
      }
    } else {
      directory = std::filesystem::temp_directory_path() /
                  ("station-bench-" + std::to_string(std::random_device()()));
      options.url = storage::default_database_url(directory.string());
    }
    database = std::move(storage::Database::open(options)).value();
    lock = std::move(database->lock_exclusive()).value();
    if (!database->migrate(schema::all_migrations()).is_ok()) std::abort();
    ledger = std::move(ledger::Ledger::open(*database, clock, ids, {})).value();
    auto currency = *Currency::from_code("CNY");
    cash = ledger->create_account_and_wait({0, ledger::AccountKind::kCash, "cash:CNY", currency,
                                            std::nullopt})
               ->id;
    for (int i = 0; i < kWallets; ++i) {
      wallets.push_back(
          ledger->create_account_and_wait({0, ledger::AccountKind::kWallet, "", currency, 0})->id);
    }
  }

  ~Fixture() {
    ledger->shutdown();
    ledger.reset();
    lock.reset();
    database.reset();
    if (!directory.empty()) std::filesystem::remove_all(directory);
  }

  // Submits `count` top-ups at once and waits for every answer.
  void burst(int count) {
    std::mutex mutex;
    std::condition_variable done;
    int remaining = count;
    std::atomic<int> failures{0};
    for (int i = 0; i < count; ++i) {
      ledger::TransferRequest request;
      request.idempotency_key = "bench-" + std::to_string(++next_key);
      request.fingerprint = request.idempotency_key;
      request.debit_account_id = cash;
      request.credit_account_id = wallets[next_key % wallets.size()];
      request.amount_minor = static_cast<std::int64_t>(next_key % 10'000) + 1;
      request.currency = Currency::from_code("CNY");
      request.category = "topup";
      ledger->submit(std::move(request), [&](ledger::TransferOutcome outcome) {
        if (!outcome.status.is_ok()) failures++;
        std::lock_guard guard(mutex);
        if (--remaining == 0) done.notify_one();
      });
    }
    std::unique_lock guard(mutex);
    done.wait(guard, [&] { return remaining == 0; });
    if (failures.load() != 0) std::abort();
  }
};

void run(benchmark::State& state, bool postgres) {
  Fixture fixture(postgres);
  const int burst = static_cast<int>(state.range(0));
  // Batches of the measured bursts only: the fixture's account creations are batches of one.
  const auto before = fixture.ledger->stats();
  for (auto _ : state) fixture.burst(burst);
  state.SetItemsProcessed(state.iterations() * burst);
  const auto after = fixture.ledger->stats();
  const auto batches = after.batches_committed - before.batches_committed;
  state.counters["mean_batch"] =
      batches == 0 ? 0
                   : static_cast<double>(after.batch_size_sum - before.batch_size_sum) /
                         static_cast<double>(batches);
}

void BM_LedgerTopupsSqlite(benchmark::State& state) { run(state, false); }
void BM_LedgerTopupsPostgres(benchmark::State& state) {
  if (std::getenv("STATION_TEST_POSTGRES_URL") == nullptr) {
    state.SkipWithError("STATION_TEST_POSTGRES_URL not set");
    return;
  }
  run(state, true);
}

BENCHMARK(BM_LedgerTopupsSqlite)->Arg(1)->Arg(64)->Arg(1'024)->Arg(8'192)->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerTopupsPostgres)->Arg(1)->Arg(1'024)->Arg(8'192)->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace station

BENCHMARK_MAIN();
