#include "storage/database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/limits.h"
#include "schema/migrations.h"
#include "storage/scratch_database.h"
#include "support/sigkill.h"
#include "support/status_assertions.h"

namespace station::storage {
namespace {

using testing::Engine;
using testing::ScratchDatabase;
using ::station::testing::must;

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// ---------------------------------------------------------------------------------------------
// Opening

TEST(DatabaseOpenTest, RejectsUnknownSchemesWithoutEchoingTheUrl) {
  for (const char* url :
       {"", "sqlite", "mysql://root:hunter2@db/station", "postgres:/x", "file:/tmp/station.db"}) {
    auto opened = Database::open(DatabaseOptions{.url = url});
    ASSERT_FALSE(opened.is_ok()) << url;
    EXPECT_EQ(opened.status().code(), ErrorCode::kValidationFailed) << url;
    EXPECT_NE(opened.status().message().find("sqlite:"), std::string::npos);
    EXPECT_EQ(opened.status().message().find("hunter2"), std::string::npos);
  }
}

TEST(DatabaseOpenTest, RejectsPoolSizesOutOfRange) {
  auto scratch = must(ScratchDatabase::create(Engine::kSqlite));
  for (std::uint32_t size : {0u, limits::kStoragePoolConnectionsMax + 1}) {
    auto opened = Database::open(DatabaseOptions{.url = scratch->url(), .pool_size = size});
    ASSERT_FALSE(opened.is_ok());
    EXPECT_EQ(opened.status().code(), ErrorCode::kValidationFailed);
  }
}

TEST(DatabaseOpenTest, SqliteNeedsAFilePath) {
  for (const char* url : {"sqlite:", "sqlite::memory:"}) {
    auto opened = Database::open(DatabaseOptions{.url = url});
    ASSERT_FALSE(opened.is_ok()) << url;
    EXPECT_EQ(opened.status().code(), ErrorCode::kValidationFailed) << url;
  }
}

TEST(DatabaseOpenTest, SqliteCreatesMissingParentDirectories) {
  auto scratch = must(ScratchDatabase::create(Engine::kSqlite));
  const std::string path = scratch->directory() + "/a/b/station.db";
  auto database = must(Database::open(DatabaseOptions{.url = "sqlite:" + path}));
  EXPECT_EQ(database->dialect(), Dialect::kSqlite);
  EXPECT_EQ(database->describe(), "sqlite:" + path);
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(DatabaseOpenTest, SqliteFailsWhenTheParentIsAFile) {
  auto scratch = must(ScratchDatabase::create(Engine::kSqlite));
  const std::string file = scratch->directory() + "/plain-file";
  { auto created = must(Database::open(DatabaseOptions{.url = "sqlite:" + file})); }
  auto opened = Database::open(DatabaseOptions{.url = "sqlite:" + file + "/station.db"});
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kStorageError);
}

TEST(DatabaseOpenTest, UnreachablePostgresIsUnavailable) {
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  auto opened =
      Database::open(DatabaseOptions{.url = "postgres://station:hunter2@127.0.0.1:1/station"});
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kUnavailable) << opened.status().to_string();
  EXPECT_EQ(opened.status().message().find("hunter2"), std::string::npos);
}

TEST(DatabaseOpenTest, DefaultUrlIsSqliteInTheDataDirectory) {
  EXPECT_EQ(default_database_url("/var/lib/station"), "sqlite:/var/lib/station/station.db");
  EXPECT_EQ(default_database_url("/var/lib/station/"), "sqlite:/var/lib/station/station.db");
  EXPECT_EQ(default_database_url("data"), "sqlite:data/station.db");
}

// Each test opens a SQLite pool of two connections whose writers give up after 50 ms.
class SqliteWritersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_ = must(ScratchDatabase::create(Engine::kSqlite));
    database_ = must(Database::open(
        DatabaseOptions{.url = scratch_->url(), .pool_size = 2, .busy_timeout_ms = 50}));
  }

  // Declared first so that it is destroyed last, after every Database on it.
  std::unique_ptr<ScratchDatabase> scratch_;
  std::unique_ptr<Database> database_;
};

// One writer at a time in a SQLite pool: the next waits at the pool's gate, starts as soon as
// the last one ends, and gives up with kUnavailable after busy_timeout_ms.
TEST_F(SqliteWritersTest, TheNextWriterStartsWhenTheLastEndsAndGivesUpAfterTheBusyTimeout) {
  auto first = must(database_->acquire());
  auto second = must(database_->acquire());
  ASSERT_OK(first->execute_script("CREATE TABLE t (n BIGINT)"));

  ASSERT_OK(first->begin(Durability::kDurable));
  EXPECT_EQ(second->begin(Durability::kDurable).code(), ErrorCode::kUnavailable);
  ASSERT_OK(first->commit());
  ASSERT_OK(second->begin(Durability::kDeferred));
  ASSERT_OK(second->rollback());

  // A writer waiting while another holds the lock goes on once that one commits.
  auto patient =
      must(Database::open(DatabaseOptions{.url = scratch_->url(), .busy_timeout_ms = 60'000}));
  auto holder = must(patient->acquire());
  auto waiter = must(patient->acquire());
  ASSERT_OK(holder->begin(Durability::kDurable));
  ASSERT_OK(holder->execute("INSERT INTO t (n) VALUES (1)"));
  Status waited;
  std::thread writer([&] {
    waited = waiter->begin(Durability::kDurable);
    if (waited.is_ok()) waited = waiter->execute("INSERT INTO t (n) VALUES (2)");
    if (waited.is_ok()) waited = waiter->commit();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_OK(holder->commit());
  writer.join();
  EXPECT_OK(waited);
  auto rows = must(holder->query("SELECT COUNT(*) FROM t"));
  EXPECT_EQ(rows[0].int_at(0), 2);
}

TEST_F(SqliteWritersTest, AWritingStatementOutsideATransactionWaitsAtTheGateAndAReadDoesNot) {
  auto holder = must(database_->acquire());
  auto other = must(database_->acquire());
  ASSERT_OK(holder->execute_script("CREATE TABLE t (n BIGINT NOT NULL)"));
  ASSERT_OK(holder->execute("INSERT INTO t (n) VALUES (1)"));

  ASSERT_OK(holder->begin(Durability::kDurable));
  Status refused = other->execute("DELETE FROM t");
  EXPECT_EQ(refused.code(), ErrorCode::kUnavailable);
  // The gate's refusal, not SQLite's busy handler's ("database is locked").
  EXPECT_NE(refused.message().find("no other write transaction of this process"),
            std::string::npos);
  EXPECT_EQ(must(other->query("SELECT COUNT(*) FROM t"))[0].int_at(0), 1);
  ASSERT_OK(holder->commit());

  // The autocommit write gave the gate back: a transaction and another write go on at once.
  ASSERT_OK(other->execute("DELETE FROM t"));
  ASSERT_OK(holder->begin(Durability::kDurable));
  ASSERT_OK(holder->rollback());
  // So does one that fails while it runs.
  EXPECT_EQ(other->execute("INSERT INTO t (n) VALUES (NULL)").code(), ErrorCode::kConflict);
  ASSERT_OK(holder->begin(Durability::kDurable));
  ASSERT_OK(holder->commit());
}

TEST_F(SqliteWritersTest, AConnectionOpensWhileAnotherOfItsPoolWrites) {
  auto writer = must(database_->acquire());
  ASSERT_OK(writer->execute_script("CREATE TABLE t (n BIGINT)"));
  ASSERT_OK(writer->begin(Durability::kDurable));
  ASSERT_OK(writer->execute("INSERT INTO t (n) VALUES (1)"));
  // The pool opens its second connection now, on the writer's own thread: opening sets the
  // journal mode, which must not wait for the writer's gate.
  auto reader = database_->acquire();
  ASSERT_OK(reader.status());
  EXPECT_EQ(must((*reader)->query("SELECT COUNT(*) FROM t"))[0].int_at(0), 0);
  ASSERT_OK(writer->commit());
}

// ---------------------------------------------------------------------------------------------
// Both engines

class DatabaseTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    STATION_SKIP_UNLESS_ENGINE_AVAILABLE(GetParam());
    scratch_ = must(ScratchDatabase::create(GetParam()));
    database_ = must(Database::open(scratch_->options()));
  }

  Engine engine() const { return GetParam(); }
  ConnectionLease connect() { return must(database_->acquire()); }
  // A second Database on the same storage, as another process would open it.
  std::unique_ptr<Database> open_again(std::uint32_t pool_size = 8,
                                       std::uint32_t acquire_timeout_ms = 5'000) {
    return must(Database::open(DatabaseOptions{
        .url = scratch_->url(), .pool_size = pool_size, .acquire_timeout_ms = acquire_timeout_ms}));
  }
  void create_items(Connection& connection) {
    ASSERT_OK(connection.execute_script(
        "CREATE TABLE items (id BIGINT PRIMARY KEY, amount BIGINT, label TEXT)"));
  }
  std::int64_t count_items(Connection& connection) {
    return must(connection.query("SELECT COUNT(*) FROM items")).at(0).int_at(0);
  }

  // Declared first so that it is destroyed last, after every Database on it.
  std::unique_ptr<ScratchDatabase> scratch_;
  std::unique_ptr<Database> database_;
};

TEST_P(DatabaseTest, ReportsItsDialect) {
  const Dialect expected = engine() == Engine::kSqlite ? Dialect::kSqlite : Dialect::kPostgres;
  EXPECT_EQ(database_->dialect(), expected);
  EXPECT_EQ(connect()->dialect(), expected);
}

TEST_P(DatabaseTest, SessionsAreDurable) {
  auto connection = connect();
  if (engine() == Engine::kSqlite) {
    EXPECT_EQ(must(connection->query("PRAGMA journal_mode")).at(0).text_at(0), "wal");
    EXPECT_EQ(must(connection->query("PRAGMA synchronous")).at(0).int_at(0), 2);  // FULL
    EXPECT_EQ(must(connection->query("PRAGMA foreign_keys")).at(0).int_at(0), 1);
  } else {
    EXPECT_EQ(must(connection->query("SHOW synchronous_commit")).at(0).text_at(0), "on");
    EXPECT_EQ(must(connection->query("SHOW statement_timeout")).at(0).text_at(0), "30s");
  }
}

TEST_P(DatabaseTest, RoundTripsNullIntegersAndText) {
  auto connection = connect();
  create_items(*connection);
  const std::vector<std::vector<Value>> rows = {
      {std::int64_t{1}, kInt64Min, std::string("ascii")},
      {std::int64_t{2}, kInt64Max, std::string("ünïcødé ✓ 中文 🚀")},
      {std::int64_t{3}, nullptr, nullptr},
      {std::int64_t{4}, std::int64_t{0}, std::string()},
      {std::int64_t{5}, std::int64_t{-1}, std::string("it's \"quoted\" ? $1 -- not a comment")},
  };
  for (const auto& row : rows) {
    ASSERT_OK(connection->execute("INSERT INTO items (id, amount, label) VALUES (?, ?, ?)", row));
    EXPECT_EQ(connection->changes(), 1);
  }
  const Rows read = must(connection->query("SELECT id, amount, label FROM items ORDER BY id"));
  ASSERT_EQ(read.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(read[i].size(), 3u);
    for (std::size_t column = 0; column < 3; ++column) {
      EXPECT_EQ(read[i].value_at(column), rows[i][column]) << "row " << i << " column " << column;
    }
  }
  EXPECT_EQ(read[0].int_at(1), kInt64Min);
  EXPECT_EQ(read[1].int_at(1), kInt64Max);
  EXPECT_TRUE(read[2].is_null(1));
  EXPECT_EQ(read[2].int_or(1, 42), 42);
  EXPECT_EQ(read[2].text_or(2, "none"), "none");
  EXPECT_EQ(read[0].text_or(2, "none"), "ascii");

  const Value wanted = kInt64Max;
  const Rows found =
      must(connection->query("SELECT id FROM items WHERE amount = ?", std::span(&wanted, 1)));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].int_at(0), 2);
}

TEST_P(DatabaseTest, QuestionMarksInsideLiteralsAreNotPlaceholders) {
  auto connection = connect();
  create_items(*connection);
  const Value id = std::int64_t{7};
  ASSERT_OK(connection->execute("INSERT INTO items (id, amount, label) VALUES (?, 1, 'a ''?'' b?')",
                                std::span(&id, 1)));
  const Rows rows =
      must(connection->query("SELECT 'what?', label FROM items WHERE id = ?", std::span(&id, 1)));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text_at(0), "what?");
  EXPECT_EQ(rows[0].text_at(1), "a '?' b?");
}

TEST_P(DatabaseTest, ChangesCountsTheRowsOfTheLastExecute) {
  auto connection = connect();
  create_items(*connection);
  ASSERT_OK(connection->execute(
      "INSERT INTO items (id, amount, label) VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c')"));
  EXPECT_EQ(connection->changes(), 3);
  const Value from = std::int64_t{2};
  ASSERT_OK(connection->execute("UPDATE items SET amount = amount + 1 WHERE id >= ?",
                                std::span(&from, 1)));
  EXPECT_EQ(connection->changes(), 2);
  ASSERT_OK(connection->execute("DELETE FROM items WHERE id > 100"));
  EXPECT_EQ(connection->changes(), 0);
}

TEST_P(DatabaseTest, SumOverBigintIsAnInteger) {
  auto connection = connect();
  create_items(*connection);
  const std::vector<Value> halves = {std::int64_t{1}, kInt64Max / 2, std::int64_t{2},
                                     kInt64Max / 2};
  ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (?, ?), (?, ?)", halves));
  const Rows sum = must(connection->query("SELECT SUM(amount), COUNT(*) FROM items"));
  EXPECT_EQ(sum.at(0).int_at(0), kInt64Max - 1);
  EXPECT_EQ(sum.at(0).int_at(1), 2);

  const Rows empty = must(connection->query("SELECT SUM(amount) FROM items WHERE id < 0"));
  EXPECT_TRUE(empty.at(0).is_null(0));
  EXPECT_EQ(empty.at(0).int_or(0, 0), 0);
}

TEST_P(DatabaseTest, SumBeyondInt64IsAStorageError) {
  auto connection = connect();
  create_items(*connection);
  const std::vector<Value> values = {kInt64Max, std::int64_t{1}};
  ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (1, ?), (2, ?)", values));
  auto sum = connection->query("SELECT SUM(amount) FROM items");
  ASSERT_FALSE(sum.is_ok());
  EXPECT_EQ(sum.status().code(), ErrorCode::kStorageError) << sum.status().to_string();
}

TEST_P(DatabaseTest, OnlyIntegralNumbersAreReadAsIntegers) {
  auto connection = connect();
  EXPECT_EQ(must(connection->query("SELECT CAST(5 AS NUMERIC)")).at(0).int_at(0), 5);
  if (engine() == Engine::kPostgres) {  // SQLite keeps 5.00 a REAL
    EXPECT_EQ(must(connection->query("SELECT CAST(-5.00 AS NUMERIC(10, 2))")).at(0).int_at(0), -5);
  }
  auto fractional = connection->query("SELECT CAST(1.5 AS NUMERIC)");
  ASSERT_FALSE(fractional.is_ok());
  EXPECT_EQ(fractional.status().code(), ErrorCode::kStorageError);
}

TEST_P(DatabaseTest, TransactionCommits) {
  auto connection = connect();
  create_items(*connection);
  {
    auto transaction = must(Transaction::begin(*connection));
    ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (1, 10)"));
    ASSERT_OK(transaction.commit());
  }
  auto other = connect();
  EXPECT_EQ(count_items(*other), 1);
}

TEST_P(DatabaseTest, TransactionRollsBackWhenDestroyedUncommitted) {
  auto connection = connect();
  create_items(*connection);
  {
    auto transaction = must(Transaction::begin(*connection));
    ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (1, 10)"));
    EXPECT_EQ(count_items(*connection), 1);
    auto moved = std::move(transaction);  // only the moved-to transaction rolls back
  }
  EXPECT_EQ(count_items(*connection), 0);
  // The connection is out of the transaction and can start another.
  auto transaction = must(Transaction::begin(*connection));
  ASSERT_OK(transaction.commit());
}

// The connection's own durability setting: SQLite's synchronous (2 is FULL), PostgreSQL's
// synchronous_commit.
std::string durability_setting(Connection& connection) {
  if (connection.dialect() == Dialect::kSqlite) {
    return std::to_string(must(connection.query("PRAGMA synchronous")).at(0).int_at(0));
  }
  return must(connection.query("SHOW synchronous_commit")).at(0).text_at(0);
}

TEST_P(DatabaseTest, DeferredTransactionCommitsAndLeavesTheConnectionDurable) {
  auto connection = connect();
  create_items(*connection);
  const std::string durable = durability_setting(*connection);
  EXPECT_EQ(durable, engine() == Engine::kSqlite ? "2" : "on");
  {
    auto transaction = must(Transaction::begin(*connection, Durability::kDeferred));
    ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (1, 10)"));
    ASSERT_OK(transaction.commit());
  }
  EXPECT_EQ(count_items(*connect()), 1);
  EXPECT_EQ(durability_setting(*connection), durable);
  {
    auto transaction = must(Transaction::begin(*connection, Durability::kDeferred));
    ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (2, 20)"));
  }  // rolled back
  EXPECT_EQ(count_items(*connection), 1);
  EXPECT_EQ(durability_setting(*connection), durable);
}

// What kDeferred promises: a commit that returned survives the death of the process that made
// it, even by SIGKILL straight after.
TEST_P(DatabaseTest, DeferredCommitSurvivesSigkillOfItsProcess) {
  create_items(*connect());
  ASSERT_TRUE(station::testing::run_until_sigkill([&](const station::testing::Die& die) {
    auto database = Database::open(scratch_->options());
    if (!database.is_ok()) return 2;
    auto connection = (*database)->acquire();
    if (!connection.is_ok()) return 3;
    for (std::int64_t id = 1; id <= 50; ++id) {
      auto transaction = Transaction::begin(**connection, Durability::kDeferred);
      if (!transaction.is_ok() ||
          !(*connection)
               ->execute("INSERT INTO items (id, amount) VALUES (?, 1)", std::vector<Value>{id})
               .is_ok() ||
          !transaction->commit().is_ok()) {
        return 4;
      }
    }
    die();  // the connection still open: nothing of SQLite's runs after the commits
    return 5;
  }));
  auto reopened = open_again();
  EXPECT_EQ(count_items(*must(reopened->acquire())), 50);
}

TEST_P(DatabaseTest, AFailedStatementAbortsItsTransaction) {
  auto connection = connect();
  create_items(*connection);
  ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (1, 10)"));
  {
    auto transaction = must(Transaction::begin(*connection));
    ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (2, 20)"));
    Status duplicate = connection->execute("INSERT INTO items (id, amount) VALUES (1, 30)");
    EXPECT_EQ(duplicate.code(), ErrorCode::kConflict) << duplicate.to_string();
    Status after = connection->execute("INSERT INTO items (id, amount) VALUES (3, 30)");
    EXPECT_EQ(after.code(), ErrorCode::kStorageError) << after.to_string();
    Status committed = transaction.commit();
    EXPECT_EQ(committed.code(), ErrorCode::kStorageError) << committed.to_string();
  }
  EXPECT_EQ(count_items(*connection), 1);
  auto transaction = must(Transaction::begin(*connection));
  ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (2, 20)"));
  ASSERT_OK(transaction.commit());
  EXPECT_EQ(count_items(*connection), 2);
}

TEST_P(DatabaseTest, ConstraintViolationsAreConflicts) {
  auto connection = connect();
  ASSERT_OK(connection->execute_script(
      "CREATE TABLE parents (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
      "CREATE TABLE children (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL "
      "REFERENCES parents(id))"));
  ASSERT_OK(connection->execute("INSERT INTO parents (id, name) VALUES (1, 'one')"));
  const char* violations[] = {
      "INSERT INTO parents (id, name) VALUES (1, 'again')",   // primary key
      "INSERT INTO parents (id, name) VALUES (2, 'one')",     // unique
      "INSERT INTO parents (id, name) VALUES (3, NULL)",      // not null
      "INSERT INTO children (id, parent_id) VALUES (1, 99)",  // foreign key
  };
  for (const char* sql : violations) {
    Status status = connection->execute(sql);
    EXPECT_EQ(status.code(), ErrorCode::kConflict) << sql << ": " << status.to_string();
  }
}

TEST_P(DatabaseTest, ErrorsNeverQuoteParameterValues) {
  auto connection = connect();
  create_items(*connection);
  const std::vector<Value> row = {std::int64_t{1}, std::int64_t{1}, std::string("s3cr3t-value")};
  ASSERT_OK(connection->execute("INSERT INTO items (id, amount, label) VALUES (?, ?, ?)", row));
  Status duplicate =
      connection->execute("INSERT INTO items (id, amount, label) VALUES (?, ?, ?)", row);
  EXPECT_EQ(duplicate.code(), ErrorCode::kConflict);
  EXPECT_EQ(duplicate.message().find("s3cr3t"), std::string::npos) << duplicate.message();
  const Value secret = std::string("s3cr3t-not-a-number");
  Status mistyped =
      connection->execute("INSERT INTO items (id, amount) VALUES (2, ?)", std::span(&secret, 1));
  if (engine() == Engine::kPostgres) {  // SQLite stores the text as it is: no error to check
    EXPECT_FALSE(mistyped.is_ok());
    EXPECT_EQ(mistyped.message().find("s3cr3t"), std::string::npos) << mistyped.message();
  }
}

TEST_P(DatabaseTest, PlaceholderCountMismatchIsABug) {
  auto connection = connect();
  create_items(*connection);
  const Value one = std::int64_t{1};
  Status status =
      connection->execute("INSERT INTO items (id, amount) VALUES (?, ?)", std::span(&one, 1));
  EXPECT_EQ(status.code(), ErrorCode::kInternal) << status.to_string();
}

TEST_P(DatabaseTest, TextWithANulByteIsRefusedNotTruncated) {
  auto connection = connect();
  create_items(*connection);
  const Value label = std::string("key\0suffix", 10);
  Status status = connection->execute("INSERT INTO items (id, amount, label) VALUES (1, 1, ?)",
                                      std::span(&label, 1));
  EXPECT_EQ(status.code(), ErrorCode::kValidationFailed) << status.to_string();
  EXPECT_EQ(count_items(*connection), 0);
}

TEST_P(DatabaseTest, ExecuteTakesOneStatement) {
  auto connection = connect();
  EXPECT_FALSE(connection->execute("SELECT 1; SELECT 2").is_ok());
  EXPECT_FALSE(connection->execute("THIS IS NOT SQL").is_ok());
}

TEST_P(DatabaseTest, StatementCacheEvictionKeepsStatementsWorking) {
  auto connection = connect();
  const std::size_t statements = limits::kSqlStatementCacheEntriesMax + 10;
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < statements; ++i) {
      const Rows rows = must(connection->query("SELECT " + std::to_string(i)));
      ASSERT_EQ(rows.at(0).int_at(0), static_cast<std::int64_t>(i));
    }
  }
}

TEST_P(DatabaseTest, PoolExhaustionIsUnavailableAfterTheTimeout) {
  auto database = open_again(/*pool_size=*/1, /*acquire_timeout_ms=*/20);
  std::optional<ConnectionLease> held(must(database->acquire()));
  auto waited = database->acquire();
  ASSERT_FALSE(waited.is_ok());
  EXPECT_EQ(waited.status().code(), ErrorCode::kUnavailable);
  held.reset();
  EXPECT_TRUE(database->acquire().is_ok());
}

TEST_P(DatabaseTest, AWaitingAcquireGetsAReleasedConnection) {
  auto database = open_again(/*pool_size=*/1, /*acquire_timeout_ms=*/60'000);
  std::optional<ConnectionLease> held(must(database->acquire()));
  Status acquired(ErrorCode::kInternal, "not run");
  std::thread waiter([&] {
    auto lease = database->acquire();
    acquired = lease.is_ok() ? Status::ok() : lease.status();
  });
  held.reset();
  waiter.join();
  EXPECT_OK(acquired);
}

TEST_P(DatabaseTest, LeaseReturnedInsideATransactionIsNotReused) {
  auto database = open_again(/*pool_size=*/1);
  {
    auto connection = must(database->acquire());
    create_items(*connection);
    ASSERT_OK(connection->begin(Durability::kDurable));
    ASSERT_OK(connection->execute("INSERT INTO items (id, amount) VALUES (1, 10)"));
  }
  auto connection = must(database->acquire());
  EXPECT_EQ(count_items(*connection), 0);
  auto transaction = must(Transaction::begin(*connection));
  ASSERT_OK(transaction.commit());
}

TEST_P(DatabaseTest, MovedLeaseReturnsItsOldConnectionToThePool) {
  auto database = open_again(/*pool_size=*/2, /*acquire_timeout_ms=*/20);
  auto first = must(database->acquire());
  auto second = must(database->acquire());
  first = std::move(second);  // first's connection goes back to the pool
  EXPECT_TRUE(database->acquire().is_ok());
}

TEST_P(DatabaseTest, OwnershipLockIsExclusiveUntilReleased) {
  auto other = open_again();
  std::unique_ptr<OwnershipLock> held = must(database_->lock_exclusive());
  for (Database* database : {database_.get(), other.get()}) {
    auto second = database->lock_exclusive();
    ASSERT_FALSE(second.is_ok());
    EXPECT_EQ(second.status().code(), ErrorCode::kUnavailable);
    EXPECT_NE(second.status().message().find("in use by another station process"),
              std::string::npos)
        << second.status().message();
  }
  held.reset();
  EXPECT_TRUE(other->lock_exclusive().is_ok());
}

TEST_P(DatabaseTest, ConcurrentWritersDoNotLoseWrites) {
  {
    auto connection = connect();
    create_items(*connection);
    ASSERT_OK(connection->execute_script(
        "CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);"
        "INSERT INTO counter (id, n) VALUES (1, 0)"));
  }
  constexpr int kThreads = 4;
  constexpr int kTransactionsPerThread = 25;
  constexpr int kAttemptsMax = 100;
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  auto write = [&](int thread, int i) -> Status {
    STATION_ASSIGN_OR_RETURN(ConnectionLease connection, database_->acquire());
    STATION_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*connection));
    const std::vector<Value> row = {std::int64_t{thread * 1000 + i}, std::int64_t{i}};
    STATION_RETURN_IF_ERROR(
        connection->execute("INSERT INTO items (id, amount) VALUES (?, ?)", row));
    STATION_RETURN_IF_ERROR(connection->execute("UPDATE counter SET n = n + 1 WHERE id = 1"));
    return transaction.commit();
  };
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&, thread] {
      for (int i = 0; i < kTransactionsPerThread; ++i) {
        Status status;
        for (int attempt = 0; attempt < kAttemptsMax; ++attempt) {
          status = write(thread, i);
          if (status.code() != ErrorCode::kUnavailable) break;
        }
        if (!status.is_ok()) {
          std::lock_guard lock(failures_mutex);
          failures.push_back(status.to_string());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  auto connection = connect();
  EXPECT_EQ(count_items(*connection), kThreads * kTransactionsPerThread);
  EXPECT_EQ(must(connection->query("SELECT n FROM counter")).at(0).int_at(0),
            kThreads * kTransactionsPerThread);
}

// ---------------------------------------------------------------------------------------------
// Migrations

constexpr Migration kFirst{1, "first", "CREATE TABLE first (id BIGINT PRIMARY KEY)"};
constexpr Migration kSecond{
    2, "second",
    "CREATE TABLE second (id BIGINT PRIMARY KEY); CREATE INDEX second_idx ON second (id)"};
constexpr Migration kThird{3, "third", "CREATE TABLE third (id BIGINT PRIMARY KEY)"};

TEST_P(DatabaseTest, MigrateAppliesEachVersionOnce) {
  const Migration two[] = {kFirst, kSecond};
  ASSERT_OK(database_->migrate(two));
  ASSERT_OK(database_->migrate(two));
  const Migration three[] = {kFirst, kSecond, kThird};
  ASSERT_OK(database_->migrate(three));

  auto connection = connect();
  const Rows applied = must(connection->query(
      "SELECT version, name, applied_at_ms FROM schema_migrations ORDER BY version"));
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_EQ(applied[0].int_at(0), 1);
  EXPECT_EQ(applied[1].text_at(1), "second");
  EXPECT_EQ(applied[2].int_at(0), 3);
  EXPECT_GT(applied[2].int_at(2), 0);
  ASSERT_OK(connection->execute("INSERT INTO third (id) VALUES (1)"));
}

TEST_P(DatabaseTest, MigrateRefusesADatabaseNewerThanTheBuild) {
  const Migration two[] = {kFirst, kSecond};
  ASSERT_OK(database_->migrate(two));
  const Migration one[] = {kFirst};
  Status status = database_->migrate(one);
  EXPECT_EQ(status.code(), ErrorCode::kInternal) << status.to_string();
  EXPECT_NE(status.message().find("newer"), std::string::npos) << status.message();
}

TEST_P(DatabaseTest, MigrateRejectsVersionsOutOfOrder) {
  const Migration unordered[] = {kSecond, kFirst};
  EXPECT_EQ(database_->migrate(unordered).code(), ErrorCode::kInternal);
}

TEST_P(DatabaseTest, FailedMigrationLeavesNoTrace) {
  const Migration broken{2, "broken",
                         "CREATE TABLE partial (id BIGINT PRIMARY KEY); CREATE TABLE first (id "
                         "BIGINT PRIMARY KEY)"};
  const Migration migrations[] = {kFirst, broken};
  Status status = database_->migrate(migrations);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("migration 2 (broken)"), std::string::npos) << status.message();

  auto connection = connect();
  const Rows applied = must(connection->query("SELECT version FROM schema_migrations"));
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].int_at(0), 1);
  EXPECT_FALSE(connection->query("SELECT COUNT(*) FROM partial").is_ok());
}

TEST_P(DatabaseTest, TheStationSchemaApplies) {
  const auto migrations = schema::all_migrations();
  ASSERT_FALSE(migrations.empty());
  ASSERT_OK(database_->migrate(migrations));
  ASSERT_OK(database_->migrate(migrations));
  auto connection = connect();
  EXPECT_EQ(must(connection->query("SELECT MAX(version) FROM schema_migrations")).at(0).int_at(0),
            migrations.back().version);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL only

using PostgresDatabaseTest = DatabaseTest;

TEST_P(PostgresDatabaseTest, ReconnectsAfterLosingItsConnection) {
  auto database = open_again(/*pool_size=*/1);
  {
    auto connection = must(database->acquire());
    auto killed = connection->query("SELECT pg_terminate_backend(pg_backend_pid())");
    ASSERT_FALSE(killed.is_ok());
    EXPECT_EQ(killed.status().code(), ErrorCode::kUnavailable) << killed.status().to_string();
  }
  auto connection = must(database->acquire());
  EXPECT_EQ(must(connection->query("SELECT 1")).at(0).int_at(0), 1);
}

std::string engine_test_name(const ::testing::TestParamInfo<Engine>& param_info) {
  return std::string(testing::engine_name(param_info.param));
}

INSTANTIATE_TEST_SUITE_P(Engines, DatabaseTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres), engine_test_name);
INSTANTIATE_TEST_SUITE_P(Engines, PostgresDatabaseTest, ::testing::Values(Engine::kPostgres),
                         engine_test_name);

}  // namespace
}  // namespace station::storage
