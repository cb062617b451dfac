// storage: one SQL interface, two engines (SQLite, the zero-set-up default; PostgreSQL, for
// production).
//
// Domains write their SQL once, in the portable subset both engines accept: `?` placeholders
// (rewritten to $1..$n for PostgreSQL), BIGINT/INTEGER/TEXT columns, INSERT ... ON CONFLICT,
// no engine-specific functions. Values are NULL, int64 or text (binary data is stored as text,
// e.g. base64), which keeps both engines' behaviour identical and testable by one suite.
//
// Connections come from a pool and are used by one thread at a time. Transactions are explicit.
// Durability: SQLite runs in WAL mode with synchronous=FULL, PostgreSQL with its defaults
// (synchronous_commit=on); a commit that returned ok is on disk, unless its transaction was
// begun with Durability::kDeferred (see there).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace station::storage {

enum class Dialect { kSqlite, kPostgres };

// How far a transaction's commit has gone when commit() returns.
enum class Durability {
  // On disk: survives a crash of the machine. The default, and the only choice for money and
  // for anything a client may act on without being able to ask again.
  kDurable,
  // Handed to the operating system (SQLite: WAL with synchronous=NORMAL) or to the database
  // server (PostgreSQL: synchronous_commit=off), without waiting for the disk: it survives the
  // death of Station's process (kill -9), is visible to every later transaction and ordered
  // before it, and reaches the disk with the next durable commit (SQLite syncs the whole WAL;
  // PostgreSQL flushes its WAL in order) or on its own moments later. A power loss before then
  // may lose it, never half of it. Only for records whose loss a client repairs by retrying,
  // e.g. the first steps of an SGP.22 download session, which an LPA starts again.
  kDeferred,
};

using Value = std::variant<std::nullptr_t, std::int64_t, std::string>;

class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}

  std::size_t size() const { return values_.size(); }
  bool is_null(std::size_t column) const;
  // REQUIRES: the column holds an integer (a PostgreSQL NUMERIC that fits int64 counts).
  std::int64_t int_at(std::size_t column) const;
  // REQUIRES: the column holds text.
  const std::string& text_at(std::size_t column) const;
  // NULL becomes the fallback.
  std::int64_t int_or(std::size_t column, std::int64_t fallback) const;
  std::string text_or(std::size_t column, std::string fallback) const;
  const Value& value_at(std::size_t column) const { return values_.at(column); }

 private:
  std::vector<Value> values_;
};

using Rows = std::vector<Row>;

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;

  // Runs one statement with `?` placeholders. Prepared statements are cached per connection.
  // PostgreSQL infers each parameter's type from where it appears; where nothing says (e.g.
  // `SELECT ?`), it is text: write CAST(? AS BIGINT) for an integer.
  // Inside a transaction, a failed statement aborts it: later statements fail and commit() rolls
  // back and fails (PostgreSQL's rule, enforced for SQLite too so both engines behave alike).
  virtual Status execute(std::string_view sql, std::span<const Value> params = {}) = 0;
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params = {}) = 0;
  // Runs several `;`-separated statements without parameters (migrations).
  virtual Status execute_script(std::string_view sql) = 0;
  // Rows changed by the last execute().
  virtual std::int64_t changes() const = 0;

  // SQLite takes the write lock at begin (BEGIN IMMEDIATE) so writers never deadlock on upgrade.
  virtual Status begin(Durability durability) = 0;
  virtual Status commit() = 0;
  virtual Status rollback() = 0;
};

// Rolls back on destruction unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& connection,
                                   Durability durability = Durability::kDurable);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Connection& connection) : connection_(&connection) {}
  Connection* connection_;
  bool open_ = true;
};

// Writes rows of `column_count` values each with as few multi-row statements as
// limits::kSqlParamsPerStatementMax allows (a round trip per statement on PostgreSQL, so many
// rows must not mean many statements): `head` is "INSERT INTO t (cols)", `tail` is appended
// after the VALUES list (e.g. an ON CONFLICT clause) and may be empty.
Status insert_rows(Connection& connection, std::string_view head, std::size_t column_count,
                   std::span<const Value> values, std::string_view tail = {});

// A pooled connection; returns itself to the pool when destroyed.
class ConnectionLease {
 public:
  ConnectionLease(std::unique_ptr<Connection> connection,
                  std::function<void(std::unique_ptr<Connection>)> release);
  ConnectionLease(ConnectionLease&&) noexcept = default;
  // Returns the connection this lease held (if any) to its pool before taking `other`'s.
  ConnectionLease& operator=(ConnectionLease&& other) noexcept;
  ~ConnectionLease();
  Connection& operator*() { return *connection_; }
  Connection* operator->() { return connection_.get(); }

 private:
  std::unique_ptr<Connection> connection_;
  std::function<void(std::unique_ptr<Connection>)> release_;
};

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;  // portable DDL; see the header comment
};

// Held while a process owns the database's writable state (the ledger keeps balances in memory,
// so two servers on one database would disagree). Released on destruction or process death.
class OwnershipLock {
 public:
  virtual ~OwnershipLock() = default;
};

struct DatabaseOptions {
  // "sqlite:/path/to/station.db", "postgres://user@host:port/db" or "postgresql://...".
  std::string url;
  std::uint32_t pool_size = 8;
  std::uint32_t acquire_timeout_ms = 5'000;
  // SQLite: the wait for the write lock. A transaction (begin()), or a writing execute() or
  // query() outside one, waits at its pool's writer gate for the other writers of this process;
  // scripts (execute_script()) and writers in other processes wait in SQLite's busy handler.
  std::uint32_t busy_timeout_ms = 5'000;
};

class Database {
 public:
  virtual ~Database() = default;

  static Result<std::unique_ptr<Database>> open(const DatabaseOptions& options);

  virtual Dialect dialect() const = 0;
  // A URL safe to log (no password).
  virtual std::string describe() const = 0;
  // Waits up to acquire_timeout_ms for a free connection; kUnavailable after that.
  // REQUIRES: every lease is destroyed before the Database.
  virtual Result<ConnectionLease> acquire() = 0;
  // kUnavailable when another process holds it.
  virtual Result<std::unique_ptr<OwnershipLock>> lock_exclusive() = 0;

  // Applies, in order, each migration whose version is not yet in schema_migrations, each in its
  // own transaction. Refuses (kInternal) a database whose newest version is unknown to this build.
  Status migrate(std::span<const Migration> migrations);
};

// The data directory's default database URL: sqlite:<dir>/station.db.
std::string default_database_url(std::string_view data_dir);

}  // namespace station::storage
