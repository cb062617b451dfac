// In-process ledger throughput: transfers submitted asynchronously, one by one in bursts or as
// client batches (Ledger::submit_batch), so the writer group-commits them, durably, into a real
// SQLite file (WAL, synchronous=FULL) or PostgreSQL (STATION_TEST_POSTGRES_URL). Reported as
// acknowledged transfers per second (items_per_second); `sustained_per_s` also counts the time
// to write the rows the journal still held at the end (Ledger::flush_journal()), and
// `journal_waiting` is how many transfers that was.
//
//   scripts/with-postgres.sh build/bench/ledger_bench --benchmark_min_time=2
#include <algorithm>
#include <chrono>
#include <ctime>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
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
  std::optional<Currency> currency = Currency::from_code("CNY");
  std::uint64_t next_key = 0;

  explicit Fixture(bool postgres, ledger::LedgerOptions ledger_options = {}) {
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
    ledger = std::move(ledger::Ledger::open(*database, clock, ids, ledger_options)).value();
    cash = ledger->create_account_and_wait({0, ledger::AccountKind::kCash, "cash:CNY", *currency,
                                            std::nullopt})
               ->id;
    for (int i = 0; i < kWallets; ++i) {
      wallets.push_back(
          ledger->create_account_and_wait({0, ledger::AccountKind::kWallet, "", *currency, 0})->id);
    }
  }

  ~Fixture() {
    ledger->shutdown();
    ledger.reset();
    lock.reset();
    database.reset();
    if (!directory.empty()) std::filesystem::remove_all(directory);
  }

  ledger::TransferRequest topup() {
    ledger::TransferRequest request;
    request.idempotency_key = "bench-" + std::to_string(++next_key);
    request.fingerprint = request.idempotency_key;
    request.debit_account_id = cash;
    request.credit_account_id = wallets[next_key % wallets.size()];
    request.amount_minor = static_cast<std::int64_t>(next_key % 10'000) + 1;
    request.currency = currency;
    request.category = "topup";
    return request;
  }

  // Submits one client batch of `size` top-ups; `answers` counts it until it is answered.
  void submit_batch(int size) {
    std::vector<ledger::TransferRequest> requests;
    requests.reserve(static_cast<std::size_t>(size));
    for (int i = 0; i < size; ++i) requests.push_back(topup());
    answers.expect();
    auto all_succeeded = [](const std::vector<ledger::TransferOutcome>& outcomes) {
      return std::all_of(outcomes.begin(), outcomes.end(),
                         [](const auto& outcome) { return outcome.status.is_ok(); });
    };
    ledger->submit_batch(std::move(requests),
                         [this, all_succeeded](std::vector<ledger::TransferOutcome> outcomes) {
                           answers.answered(all_succeeded(outcomes));
                         });
  }

  // Submits `in_flight` client batches of `size` top-ups each, then waits for every answer.
  void batches(int size, int in_flight) {
    for (int b = 0; b < in_flight; ++b) submit_batch(size);
    answers.wait_below(1);
  }

  // Keeps up to `in_flight` client batches of `size` submitted: waits until fewer are, then
  // builds and submits one more, so building the next batch overlaps the writer's work on the
  // earlier ones, as a server's many connections do. drain() waits for the last answers.
  void stream(int size, int in_flight) {
    answers.wait_below(in_flight);
    submit_batch(size);
  }
  void drain() { answers.wait_below(1); }

  // Submits `count` top-ups at once and waits for every answer.
  void burst(int count) {
    for (int i = 0; i < count; ++i) {
      answers.expect();
      ledger->submit(topup(), [this](ledger::TransferOutcome outcome) {
        answers.answered(outcome.status.is_ok());
      });
    }
    answers.wait_below(1);
  }

  // Submissions not answered yet. A refused top-up ends the benchmark: it measures successes.
  class Answers {
   public:
    void expect() {
      std::lock_guard guard(mutex_);
      ++outstanding_;
    }
    void answered(bool ok) {
      if (!ok) std::abort();
      std::lock_guard guard(mutex_);
      --outstanding_;
      changed_.notify_all();
    }
    void wait_below(int limit) {
      std::unique_lock guard(mutex_);
      changed_.wait(guard, [&] { return outstanding_ < limit; });
    }

   private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int outstanding_ = 0;
  };
  Answers answers;
};

double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// `submit(fixture)` submits and waits for what one iteration counts.
template <typename Submit>
void measure(benchmark::State& state, Fixture& fixture, std::int64_t per_iteration,
             Submit submit, void (Fixture::*drain)() = nullptr) {
  // Batches of the measured work only: the fixture's account creations are batches of one.
  const auto before = fixture.ledger->stats();
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = process_cpu_seconds();
  for (auto _ : state) submit(fixture);
  if (drain != nullptr) (fixture.*drain)();
  const double cpu_acknowledged = process_cpu_seconds();
  const auto after = fixture.ledger->stats();
  if (!fixture.ledger->flush_journal().is_ok()) std::abort();
  const auto applied = std::chrono::steady_clock::now();
  const double cpu_applied = process_cpu_seconds();
  const auto transfers = static_cast<double>(state.iterations() * per_iteration);
  state.SetItemsProcessed(state.iterations() * per_iteration);
  const auto batches = after.batches_committed - before.batches_committed;
  state.counters["mean_batch"] =
      batches == 0 ? 0
                   : static_cast<double>(after.batch_size_sum - before.batch_size_sum) /
                         static_cast<double>(batches);
  state.counters["journal_waiting"] = static_cast<double>(after.journal_transfers_waiting);
  state.counters["sustained_per_s"] =
      transfers / std::chrono::duration<double>(applied - started).count();
  // CPU time of the whole process (client and writer) per transfer: what the rate would be
  // bound by on idle cores, whatever else shares the machine.
  state.counters["cpu_us_per_ack"] = (cpu_acknowledged - cpu_started) * 1e6 / transfers;
  state.counters["cpu_us_per_apply"] =
      after.journal_transfers_waiting == 0
          ? 0
          : (cpu_applied - cpu_acknowledged) * 1e6 /
                static_cast<double>(after.journal_transfers_waiting);
}

void run(benchmark::State& state, bool postgres) {
  Fixture fixture(postgres);
  const int burst = static_cast<int>(state.range(0));
  measure(state, fixture, burst, [burst](Fixture& f) { f.burst(burst); });
}

void run_batches(benchmark::State& state, bool postgres) {
  const int size = static_cast<int>(state.range(0));
  const int in_flight = static_cast<int>(state.range(1));
  // The writer's round (one commit, one fsync): the default, or every batch in flight at once.
  ledger::LedgerOptions options;
  options.batch_transfers_max = static_cast<std::size_t>(state.range(2));
  Fixture fixture(postgres, options);
  measure(state, fixture, std::int64_t{size} * in_flight,
          [size, in_flight](Fixture& f) { f.batches(size, in_flight); });
}

void run_stream(benchmark::State& state, bool postgres) {
  const int size = static_cast<int>(state.range(0));
  const int in_flight = static_cast<int>(state.range(1));
  ledger::LedgerOptions options;
  options.batch_transfers_max = static_cast<std::size_t>(state.range(2));
  Fixture fixture(postgres, options);
  measure(
      state, fixture, size, [size, in_flight](Fixture& f) { f.stream(size, in_flight); },
      &Fixture::drain);
}

bool postgres_available(benchmark::State& state) {
  if (std::getenv("STATION_TEST_POSTGRES_URL") != nullptr) return true;
  state.SkipWithError("STATION_TEST_POSTGRES_URL not set");
  return false;
}

void BM_LedgerTopupsSqlite(benchmark::State& state) { run(state, false); }
void BM_LedgerTopupsPostgres(benchmark::State& state) {
  if (postgres_available(state)) run(state, true);
}
void BM_LedgerStreamSqlite(benchmark::State& state) { run_stream(state, false); }
void BM_LedgerStreamPostgres(benchmark::State& state) {
  if (postgres_available(state)) run_stream(state, true);
}
void BM_LedgerBatchesSqlite(benchmark::State& state) { run_batches(state, false); }
void BM_LedgerBatchesPostgres(benchmark::State& state) {
  if (postgres_available(state)) run_batches(state, true);
}

BENCHMARK(BM_LedgerTopupsSqlite)->Arg(1)->Arg(64)->Arg(1'024)->Arg(8'192)->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerTopupsPostgres)->Arg(1)->Arg(1'024)->Arg(8'192)->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// Client batches of 8,192, 1 or 4 in flight, with writer rounds of 8,192 (the default) or of
// 32,768 (all four batches in one commit).
BENCHMARK(BM_LedgerBatchesSqlite)
    ->Args({8'192, 1, 8'192})
    ->Args({8'192, 4, 8'192})
    ->Args({8'192, 4, 32'768})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// What the writer acknowledges while its journal has room, which is what a burst sees: 393,216
// transfers (under kLedgerJournalWaitingTransfersMax), so no row is written behind during the
// measurement. Journal: rounds of one client batch of 65,536, answered before the next is
// built. Stream: client batches of 32,768 kept 3 in flight, rounds of up to 65,536, so the
// client builds the next batch while the writer decides and commits.
BENCHMARK(BM_LedgerBatchesSqlite)
    ->Name("BM_LedgerJournalSqlite")
    ->Args({65'536, 1, 65'536})
    ->Iterations(6)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerBatchesPostgres)
    ->Name("BM_LedgerJournalPostgres")
    ->Args({65'536, 1, 65'536})
    ->Iterations(6)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerStreamSqlite)
    ->Args({32'768, 3, 65'536})
    ->Iterations(12)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerStreamPostgres)
    ->Args({32'768, 3, 65'536})
    ->Iterations(12)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerBatchesPostgres)
    ->Args({8'192, 1, 8'192})
    ->Args({8'192, 4, 8'192})
    ->Args({8'192, 4, 32'768})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace station

BENCHMARK_MAIN();
