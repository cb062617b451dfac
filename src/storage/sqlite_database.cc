#include "storage/sqlite_database.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <semaphore>
#include <string>
#include <utility>

#include "common/limits.h"
#include "storage/connection_pool.h"
#include "storage/statement_cache.h"
#include "storage/statement_checks.h"

namespace station::storage {
namespace {

using internal::check_parameters;
using internal::ConnectionPool;
using internal::PooledConnection;
using internal::sql_excerpt;
using internal::StatementCache;

ErrorCode error_code_for(int result_code) {
  switch (result_code & 0xff) {  // the primary code of an extended result code
    case SQLITE_CONSTRAINT:
      return ErrorCode::kConflict;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kStorageError;
  }
}

Status sqlite_error(sqlite3* db, int result_code, std::string_view sql) {
  return Status(error_code_for(result_code),
                fmt::format("sqlite: {} (in \"{}\")", sqlite3_errmsg(db), sql_excerpt(sql)));
}

// SQLite lets one connection write at a time; the others' BEGIN IMMEDIATE fails with
// SQLITE_BUSY, and its busy handler retries after sleeps of 1, 2, 5, 10 ms and more, so a writer
// that arrives while another waits for its fsync idles for milliseconds after the lock is free.
// The connections of one pool take this gate first instead, in begin() and for a writing
// statement outside a transaction (autocommit, such as a sweeper's DELETE): the next writer
// starts as soon as the last one ends. SQLite's busy handler still serves scripts (migrations)
// and writers of other processes. A semaphore, not a mutex: a lease (and its open transaction)
// may end on another thread.
using WriterGate = std::binary_semaphore;

class SqliteConnection final : public PooledConnection {
 public:
  static Result<std::unique_ptr<PooledConnection>> open(const std::string& path,
                                                        std::uint32_t busy_timeout_ms,
                                                        std::shared_ptr<WriterGate> writers);
  ~SqliteConnection() override;

  Dialect dialect() const override { return Dialect::kSqlite; }
  Status execute(std::string_view sql, std::span<const Value> params) override;
  Result<Rows> query(std::string_view sql, std::span<const Value> params) override;
  Status execute_script(std::string_view sql) override;
  std::int64_t changes() const override { return changes_; }
  Status begin(Durability durability) override;
  Status commit() override;
  Status rollback() override;
  bool reusable() const override {
    return !in_transaction_ && !deferred_ && sqlite3_get_autocommit(db_) != 0;
  }

 private:
  SqliteConnection(sqlite3* db, std::uint32_t busy_timeout_ms, std::shared_ptr<WriterGate> writers)
      : db_(db),
        busy_timeout_ms_(busy_timeout_ms),
        writers_(std::move(writers)),
        statements_(limits::kSqlStatementCacheEntriesMax) {}

  Result<sqlite3_stmt*> prepare(std::string_view sql);
  // Runs a statement to completion; appends its rows to `rows` unless that is null.
  Status run(std::string_view sql, std::span<const Value> params, Rows* rows);
  // Refuses work inside a transaction that a failed statement aborted.
  Status check_not_aborted(std::string_view sql) const;
  // Marks the open transaction (if any) aborted when `status` is a failure.
  Status note_outcome(Status status);
  // After a kDeferred transaction: back to synchronous=FULL (SQLite refuses to change it inside
  // a transaction, hence around it). A connection that cannot is not reused (reusable()).
  Status end_deferred();
  // Waits for the writer gate, at most busy_timeout_ms; kUnavailable then.
  Status enter_gate();
  // Passes the writer gate on when this connection holds it and its transaction has ended.
  void leave_gate_if_done();
  // Calls leave_gate_if_done() of a connection (if any) when leaving scope.
  class LeaveGateOnExit {
   public:
    explicit LeaveGateOnExit(SqliteConnection* connection) : connection_(connection) {}
    ~LeaveGateOnExit() {
      if (connection_ != nullptr) connection_->leave_gate_if_done();
    }
    LeaveGateOnExit(const LeaveGateOnExit&) = delete;
    LeaveGateOnExit& operator=(const LeaveGateOnExit&) = delete;

   private:
    SqliteConnection* const connection_;
  };

  sqlite3* const db_;
  const std::uint32_t busy_timeout_ms_;
  const std::shared_ptr<WriterGate> writers_;
  bool holds_gate_ = false;
  StatementCache<sqlite3_stmt*> statements_;
  std::int64_t changes_ = 0;
  bool in_transaction_ = false;
  bool transaction_aborted_ = false;
  bool deferred_ = false;  // synchronous=NORMAL for the open transaction
};

Result<std::unique_ptr<PooledConnection>> SqliteConnection::open(
    const std::string& path, std::uint32_t busy_timeout_ms, std::shared_ptr<WriterGate> writers) {
  sqlite3* db = nullptr;
  // NOMUTEX: a pooled connection is used by one thread at a time.
  const int opened = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (opened != SQLITE_OK) {
    Status status(ErrorCode::kStorageError,
                  fmt::format("sqlite: cannot open {}: {}", path,
                              db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(opened)));
    sqlite3_close_v2(db);
    return status;
  }
  std::unique_ptr<SqliteConnection> connection(
      new SqliteConnection(db, busy_timeout_ms, std::move(writers)));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout_ms));

  // journal_mode answers with the mode in force: a file system without shared memory support
  // may refuse WAL, and we must not silently run without it. Through sqlite3_exec, not query():
  // SQLite counts this pragma as a write, so query() would take the writer gate, and a
  // connection may be opened while another of its pool writes, even on the writer's thread.
  constexpr std::string_view kWal = "PRAGMA journal_mode=WAL";
  std::string mode;
  const auto first_column = [](void* out, int columns, char** values, char**) {
    if (columns > 0 && values[0] != nullptr) *static_cast<std::string*>(out) = values[0];
    return 0;
  };
  if (int set = sqlite3_exec(db, kWal.data(), first_column, &mode, nullptr); set != SQLITE_OK) {
    return sqlite_error(db, set, kWal);
  }
  if (mode != "wal") {
    return Status(ErrorCode::kStorageError,
                  fmt::format("sqlite: {} cannot use write-ahead logging", path));
  }
  // A page cache of 32 MiB (the default is 2 MiB): the ledger writes rows behind in
  // transactions of tens of thousands, whose index pages would otherwise be read back from the
  // kernel again and again. Memory is only taken as pages are used.
  STATION_RETURN_IF_ERROR(connection->execute_script(
      "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-32768;"));
  return std::unique_ptr<PooledConnection>(std::move(connection));
}

SqliteConnection::~SqliteConnection() {
  statements_.clear([](sqlite3_stmt* statement) { sqlite3_finalize(statement); });
  sqlite3_close_v2(db_);  // rolls back an open transaction
  if (holds_gate_) writers_->release();
}

Status SqliteConnection::enter_gate() {
  assert(!holds_gate_);
  if (!writers_->try_acquire_for(std::chrono::milliseconds(busy_timeout_ms_))) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("sqlite: no other write transaction of this process ended within "
                              "{} ms",
                              busy_timeout_ms_));
  }
  holds_gate_ = true;
  return Status::ok();
}

void SqliteConnection::leave_gate_if_done() {
  if (holds_gate_ && sqlite3_get_autocommit(db_) != 0) {
    holds_gate_ = false;
    writers_->release();
  }
}

Result<sqlite3_stmt*> SqliteConnection::prepare(std::string_view sql) {
  if (sqlite3_stmt** cached = statements_.find(sql)) return *cached;
  sqlite3_stmt* statement = nullptr;
  const char* tail = nullptr;
  const int prepared = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &statement, &tail);
  if (prepared != SQLITE_OK) return sqlite_error(db_, prepared, sql);
  const std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
  if (statement == nullptr || rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    sqlite3_finalize(statement);
    return Status(ErrorCode::kInternal,
                  fmt::format("execute() and query() take exactly one statement; use "
                              "execute_script() for several (in \"{}\")",
                              sql_excerpt(sql)));
  }
  if (auto evicted = statements_.evict_if_full()) sqlite3_finalize(*evicted);
  return statements_.insert(sql, statement);
}

Status bind(sqlite3* db, sqlite3_stmt* statement, std::span<const Value> params,
            std::string_view sql) {
  STATION_RETURN_IF_ERROR(check_parameters(
      static_cast<std::size_t>(sqlite3_bind_parameter_count(statement)), params, sql));
  for (std::size_t i = 0; i < params.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    const Value& value = params[i];
    int bound = SQLITE_OK;
    if (const auto* integer = std::get_if<std::int64_t>(&value)) {
      bound = sqlite3_bind_int64(statement, index, *integer);
    } else if (const auto* text = std::get_if<std::string>(&value)) {
      // No copy: the caller's values outlive the statement's execution (static destructor).
      bound =
          sqlite3_bind_text64(statement, index, text->data(), text->size(), nullptr, SQLITE_UTF8);
    } else {
      bound = sqlite3_bind_null(statement, index);
    }
    if (bound != SQLITE_OK) return sqlite_error(db, bound, sql);
  }
  return Status::ok();
}

Result<Value> read_column(sqlite3_stmt* statement, int column, std::string_view sql) {
  switch (sqlite3_column_type(statement, column)) {
    case SQLITE_NULL:
      return Value(nullptr);
    case SQLITE_INTEGER:
      return Value(static_cast<std::int64_t>(sqlite3_column_int64(statement, column)));
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
      // column_blob then column_bytes: the stored bytes, with no conversion between them.
      const auto* bytes = static_cast<const char*>(sqlite3_column_blob(statement, column));
      const auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement, column));
      return Value(std::string(bytes == nullptr ? "" : bytes, bytes == nullptr ? 0 : size));
    }
    default:
      // REAL is outside the portable subset (database.h): values are integers or text.
      return Status(ErrorCode::kStorageError,
                    fmt::format("sqlite: column {} holds a floating-point value (in \"{}\")",
                                column, sql_excerpt(sql)));
  }
}

// Resets a statement when leaving scope, which ends its read transaction and keeps it reusable.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~ResetOnExit() { sqlite3_reset(statement_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

Status SqliteConnection::run(std::string_view sql, std::span<const Value> params, Rows* rows) {
  STATION_ASSIGN_OR_RETURN(sqlite3_stmt * statement, prepare(sql));
  // A writing statement outside a transaction is a write transaction of its own. Its gate is
  // left after the reset (declared first, destroyed last), when its commit or rollback is done.
  const bool autocommit_write =
      !holds_gate_ && sqlite3_get_autocommit(db_) != 0 && sqlite3_stmt_readonly(statement) == 0;
  if (autocommit_write) STATION_RETURN_IF_ERROR(enter_gate());
  const LeaveGateOnExit leave_gate(autocommit_write ? this : nullptr);
  const ResetOnExit reset(statement);
  STATION_RETURN_IF_ERROR(bind(db_, statement, params, sql));
  const int columns = sqlite3_column_count(statement);
  for (;;) {
    const int stepped = sqlite3_step(statement);
    if (stepped == SQLITE_DONE) return Status::ok();
    if (stepped != SQLITE_ROW) return sqlite_error(db_, stepped, sql);
    if (rows == nullptr) continue;
    std::vector<Value> values;
    values.reserve(static_cast<std::size_t>(columns));
    for (int column = 0; column < columns; ++column) {
      STATION_ASSIGN_OR_RETURN(Value value, read_column(statement, column, sql));
      values.push_back(std::move(value));
    }
    rows->emplace_back(std::move(values));
  }
}

Status SqliteConnection::check_not_aborted(std::string_view sql) const {
  if (!transaction_aborted_) return Status::ok();
  return Status(ErrorCode::kStorageError,
                fmt::format("sqlite: the transaction was aborted by a failed statement; roll it "
                            "back (in \"{}\")",
                            sql_excerpt(sql)));
}

Status SqliteConnection::note_outcome(Status status) {
  if (!status.is_ok() && in_transaction_) transaction_aborted_ = true;
  return status;
}

Status SqliteConnection::execute(std::string_view sql, std::span<const Value> params) {
  STATION_RETURN_IF_ERROR(check_not_aborted(sql));
  STATION_RETURN_IF_ERROR(note_outcome(run(sql, params, nullptr)));
  changes_ = sqlite3_changes64(db_);
  return Status::ok();
}

Result<Rows> SqliteConnection::query(std::string_view sql, std::span<const Value> params) {
  STATION_RETURN_IF_ERROR(check_not_aborted(sql));
  Rows rows;
  STATION_RETURN_IF_ERROR(note_outcome(run(sql, params, &rows)));
  return rows;
}

Status SqliteConnection::execute_script(std::string_view sql) {
  STATION_RETURN_IF_ERROR(check_not_aborted(sql));
  const std::string terminated(sql);  // sqlite3_exec wants a NUL-terminated string
  const int executed = sqlite3_exec(db_, terminated.c_str(), nullptr, nullptr, nullptr);
  if (executed == SQLITE_OK) return Status::ok();
  return note_outcome(sqlite_error(db_, executed, sql));
}

Status SqliteConnection::begin(Durability durability) {
  assert(!in_transaction_ && !holds_gate_ && "begin() inside a transaction");
  STATION_RETURN_IF_ERROR(enter_gate());
  if (durability == Durability::kDeferred) {
    // In WAL mode, NORMAL writes the commit to the WAL without an fsync; the next FULL commit's
    // fsync of the WAL (or a checkpoint, which syncs the WAL first) carries it to the disk.
    if (Status normal = run("PRAGMA synchronous=NORMAL", {}, nullptr); !normal.is_ok()) {
      leave_gate_if_done();
      return normal;
    }
    deferred_ = true;
  }
  if (Status begun = run("BEGIN IMMEDIATE", {}, nullptr); !begun.is_ok()) {
    leave_gate_if_done();
    if (deferred_) end_deferred().ignore();
    return begun;
  }
  in_transaction_ = true;
  transaction_aborted_ = false;
  return Status::ok();
}

Status SqliteConnection::end_deferred() {
  STATION_RETURN_IF_ERROR(run("PRAGMA synchronous=FULL", {}, nullptr));
  deferred_ = false;
  return Status::ok();
}

Status SqliteConnection::commit() {
  assert(in_transaction_ && "commit() outside a transaction");
  if (transaction_aborted_) {
    Status status = check_not_aborted("COMMIT");
    rollback().ignore();
    return status;
  }
  // A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open for a retry or rollback.
  STATION_RETURN_IF_ERROR(run("COMMIT", {}, nullptr));
  in_transaction_ = false;
  leave_gate_if_done();
  // The commit stands whether or not the setting comes back; a connection still in NORMAL is
  // closed by the pool rather than reused.
  if (deferred_) end_deferred().ignore();
  return Status::ok();
}

Status SqliteConnection::rollback() {
  in_transaction_ = false;
  transaction_aborted_ = false;
  // Some errors (e.g. SQLITE_FULL) roll the transaction back by themselves; then there is
  // nothing left to undo.
  Status rolled_back =
      sqlite3_get_autocommit(db_) != 0 ? Status::ok() : run("ROLLBACK", {}, nullptr);
  leave_gate_if_done();
  if (deferred_ && sqlite3_get_autocommit(db_) != 0) end_deferred().ignore();
  return rolled_back;
}

class FileLock final : public OwnershipLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() override { ::close(fd_); }  // closing releases the flock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  const int fd_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, std::unique_ptr<ConnectionPool> pool)
      : path_(std::move(path)), pool_(std::move(pool)) {}

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string describe() const override { return "sqlite:" + path_; }
  Result<ConnectionLease> acquire() override { return pool_->acquire(); }
  Result<std::unique_ptr<OwnershipLock>> lock_exclusive() override;

 private:
  const std::string path_;
  const std::unique_ptr<ConnectionPool> pool_;
};

Result<std::unique_ptr<OwnershipLock>> SqliteDatabase::lock_exclusive() {
  const std::string lock_path = path_ + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(ErrorCode::kStorageError,
                  fmt::format("cannot open lock file {}: {}", lock_path, std::strerror(errno)));
  }
  // flock locks belong to the open file description, so a second lock_exclusive() in this
  // process conflicts with the first just as another process would.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Status(
          ErrorCode::kUnavailable,
          fmt::format("database is in use by another station process (lock file {})", lock_path));
    }
    return Status(ErrorCode::kStorageError,
                  fmt::format("cannot lock {}: {}", lock_path, std::strerror(error)));
  }
  return std::unique_ptr<OwnershipLock>(new FileLock(fd));
}

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite_database(std::string_view path,
                                                       const DatabaseOptions& options) {
  // A pool of ":memory:" connections would be a pool of unrelated databases.
  if (path.empty() || path == ":memory:") {
    return Status(ErrorCode::kValidationFailed,
                  "sqlite: URL needs a file path, e.g. sqlite:/var/lib/station/station.db");
  }
  std::string file(path);
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  if (!parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      return Status(ErrorCode::kStorageError, fmt::format("sqlite: cannot create directory {}: {}",
                                                          parent.string(), error.message()));
    }
  }
  const std::uint32_t busy_timeout_ms = options.busy_timeout_ms;
  auto writers = std::make_shared<WriterGate>(1);
  STATION_ASSIGN_OR_RETURN(
      std::unique_ptr<ConnectionPool> pool,
      ConnectionPool::create(options.pool_size, options.acquire_timeout_ms,
                             [file, busy_timeout_ms, writers] {
                               return SqliteConnection::open(file, busy_timeout_ms, writers);
                             }));
  return std::unique_ptr<Database>(new SqliteDatabase(std::move(file), std::move(pool)));
}

}  // namespace station::storage
