#include "storage/database.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <set>
#include <utility>

#include "common/clock.h"
#include "common/limits.h"
#include "storage/postgres_database.h"
#include "storage/sqlite_database.h"

namespace station::storage {

bool Row::is_null(std::size_t column) const {
  return std::holds_alternative<std::nullptr_t>(values_.at(column));
}

std::int64_t Row::int_at(std::size_t column) const {
  const Value& value = values_.at(column);
  assert(std::holds_alternative<std::int64_t>(value) && "column does not hold an integer");
  return std::get<std::int64_t>(value);
}

const std::string& Row::text_at(std::size_t column) const {
  const Value& value = values_.at(column);
  assert(std::holds_alternative<std::string>(value) && "column does not hold text");
  return std::get<std::string>(value);
}

std::int64_t Row::int_or(std::size_t column, std::int64_t fallback) const {
  return is_null(column) ? fallback : int_at(column);
}

std::string Row::text_or(std::size_t column, std::string fallback) const {
  return is_null(column) ? std::move(fallback) : text_at(column);
}

Result<Transaction> Transaction::begin(Connection& connection, Durability durability) {
  STATION_RETURN_IF_ERROR(connection.begin(durability));
  return Transaction(connection);
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(other.connection_), open_(std::exchange(other.open_, false)) {}

Transaction::~Transaction() {
  // A failed rollback leaves the connection inside a transaction; the pool then closes it
  // instead of reusing it, which rolls back too.
  if (open_) connection_->rollback().ignore();
}

Status Transaction::commit() {
  assert(open_ && "commit() of a transaction that is already finished");
  Status status = connection_->commit();
  if (status.is_ok()) open_ = false;
  return status;
}

ConnectionLease::ConnectionLease(std::unique_ptr<Connection> connection,
                                 std::function<void(std::unique_ptr<Connection>)> release)
    : connection_(std::move(connection)), release_(std::move(release)) {
  assert(connection_ != nullptr && release_);
}

ConnectionLease& ConnectionLease::operator=(ConnectionLease&& other) noexcept {
  if (this != &other) {
    if (connection_ != nullptr) release_(std::move(connection_));
    connection_ = std::move(other.connection_);
    release_ = std::move(other.release_);
  }
  return *this;
}

ConnectionLease::~ConnectionLease() {
  if (connection_ != nullptr) release_(std::move(connection_));
}

Result<std::unique_ptr<Database>> Database::open(const DatabaseOptions& options) {
  if (options.pool_size == 0 || options.pool_size > limits::kStoragePoolConnectionsMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("database pool size must be between 1 and {}",
                              limits::kStoragePoolConnectionsMax));
  }
  const std::string_view url = options.url;
  if (url.starts_with("sqlite:")) return open_sqlite_database(url.substr(7), options);
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return open_postgres_database(options);
  }
  // The URL is not echoed: a mistyped scheme may still carry a password.
  return Status(ErrorCode::kValidationFailed,
                "database URL must start with sqlite: (sqlite:/path/to/station.db), postgres:// "
                "or postgresql://");
}

namespace {

Status check_migration_order(std::span<const Migration> migrations) {
  int previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous) {
      return Status(ErrorCode::kInternal,
                    fmt::format("migration versions must be positive and increasing; {} follows {}",
                                migration.version, previous));
    }
    previous = migration.version;
  }
  return Status::ok();
}

}  // namespace

namespace {

// "(?, ?, ?), (?, ?, ?)" for `rows` rows of `columns` placeholders.
std::string placeholders(std::size_t rows, std::size_t columns) {
  std::string one = "(";
  for (std::size_t c = 0; c < columns; ++c) one += c == 0 ? "?" : ", ?";
  one += ")";
  std::string out;
  out.reserve(rows * (one.size() + 2));
  for (std::size_t r = 0; r < rows; ++r) {
    if (r > 0) out += ", ";
    out += one;
  }
  return out;
}

}  // namespace

Status insert_rows(Connection& connection, std::string_view head, std::size_t column_count,
                   std::span<const Value> values, std::string_view tail) {
  assert(column_count > 0 && column_count <= limits::kSqlParamsPerStatementMax &&
         values.size() % column_count == 0);
  const std::size_t rows_per_statement = limits::kSqlParamsPerStatementMax / column_count;
  std::size_t rows_left = values.size() / column_count;
  std::size_t offset = 0;
  while (rows_left > 0) {
    std::size_t rows = std::min(rows_left, rows_per_statement);
    std::string sql = fmt::format("{} VALUES {}{}", head, placeholders(rows, column_count), tail);
    STATION_RETURN_IF_ERROR(connection.execute(sql, values.subspan(offset, rows * column_count)));
    offset += rows * column_count;
    rows_left -= rows;
  }
  return Status::ok();
}

Status Database::migrate(std::span<const Migration> migrations) {
  STATION_RETURN_IF_ERROR(check_migration_order(migrations));
  const std::int64_t newest_known = migrations.empty() ? 0 : migrations.back().version;

  STATION_ASSIGN_OR_RETURN(ConnectionLease connection, acquire());
  STATION_RETURN_IF_ERROR(connection->execute_script(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)"));
  STATION_ASSIGN_OR_RETURN(Rows applied_rows,
                           connection->query("SELECT version FROM schema_migrations"));
  std::set<std::int64_t> applied;
  for (const Row& row : applied_rows) applied.insert(row.int_at(0));
  if (!applied.empty() && *applied.rbegin() > newest_known) {
    return Status(ErrorCode::kInternal,
                  fmt::format("the database schema is at version {}, newer than this build knows "
                              "({}); run a newer station",
                              *applied.rbegin(), newest_known));
  }

  const SystemClock clock;
  for (const Migration& migration : migrations) {
    if (applied.contains(migration.version)) continue;
    STATION_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*connection));
    // Another process may be migrating too. SQLite's begin() already holds the write lock;
    // PostgreSQL needs the table lock. Either way, check again under the lock.
    if (dialect() == Dialect::kPostgres) {
      STATION_RETURN_IF_ERROR(
          connection->execute_script("LOCK TABLE schema_migrations IN EXCLUSIVE MODE"));
    }
    const Value version = std::int64_t{migration.version};
    STATION_ASSIGN_OR_RETURN(
        Rows present, connection->query("SELECT version FROM schema_migrations WHERE version = ?",
                                        std::span(&version, 1)));
    if (!present.empty()) continue;  // rolled back: nothing was written
    Status applied_status = connection->execute_script(migration.sql);
    if (!applied_status.is_ok()) {
      return Status(applied_status.code(),
                    fmt::format("migration {} ({}) failed: {}", migration.version, migration.name,
                                applied_status.message()));
    }
    const Value record[] = {version, std::string(migration.name), clock.now_unix_ms()};
    STATION_RETURN_IF_ERROR(connection->execute(
        "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)", record));
    STATION_RETURN_IF_ERROR(transaction.commit());
  }
  return Status::ok();
}

std::string default_database_url(std::string_view data_dir) {
  std::string url = "sqlite:";
  url += data_dir;
  if (!data_dir.empty() && !data_dir.ends_with('/')) url += '/';
  url += "station.db";
  return url;
}

}  // namespace station::storage
