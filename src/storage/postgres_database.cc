#include "storage/postgres_database.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <array>
#include <bit>
#include <cassert>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/limits.h"
#include "storage/connection_pool.h"
#include "storage/statement_cache.h"
#include "storage/statement_checks.h"

namespace station::storage {

PostgresSql rewrite_placeholders(std::string_view sql) {
  PostgresSql rewritten{.text = {}, .placeholders = 0};
  rewritten.text.reserve(sql.size() + sql.size() / 4);
  char open_quote = 0;  // ' for a string literal, " for a quoted identifier, 0 outside both
  for (const char c : sql) {
    if (open_quote != 0) {
      // A doubled quote inside a literal ('it''s') closes and reopens it: same result.
      if (c == open_quote) open_quote = 0;
      rewritten.text += c;
    } else if (c == '\'' || c == '"') {
      open_quote = c;
      rewritten.text += c;
    } else if (c == '?') {
      rewritten.text += '$';
      rewritten.text += std::to_string(++rewritten.placeholders);
    } else {
      rewritten.text += c;
    }
  }
  return rewritten;
}

std::string redact_postgres_url(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  std::string redacted(url.substr(0, scheme_end + 3));
  std::string_view rest = url.substr(scheme_end + 3);

  // User info ends at the first '@' before any '/', as libpq parses it.
  const std::size_t at_or_slash = rest.find_first_of("@/");
  if (at_or_slash != std::string_view::npos && rest[at_or_slash] == '@') {
    const std::string_view user_info = rest.substr(0, at_or_slash);
    redacted += user_info.substr(0, user_info.find(':'));
    redacted += '@';
    rest.remove_prefix(at_or_slash + 1);
  }

  const std::size_t query_start = rest.find('?');
  redacted += rest.substr(0, query_start);
  if (query_start == std::string_view::npos) return redacted;
  std::string_view query = rest.substr(query_start + 1);
  char separator = '?';
  while (!query.empty()) {
    const std::size_t end = query.find('&');
    const std::string_view parameter = query.substr(0, end);
    if (!parameter.starts_with("password=")) {
      redacted += separator;
      redacted += parameter;
      separator = '&';
    }
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
  }
  return redacted;
}

namespace {

using internal::check_parameters;
using internal::ConnectionPool;
using internal::PooledConnection;
using internal::sql_excerpt;
using internal::StatementCache;

// Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across server versions.
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kNumericOid = 1700;

constexpr std::uint64_t fnv1a_64(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

// The session advisory lock key of lock_exclusive(): one fixed number for "station ledger", so
// every station process on a database contends for the same lock.
constexpr std::int64_t kOwnershipLockKey = std::bit_cast<std::int64_t>(fnv1a_64("station ledger"));

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using ConnectionHandle = std::unique_ptr<PGconn, ConnectionCloser>;

struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultHandle = std::unique_ptr<PGresult, ResultClearer>;

// libpq's messages end in a newline and may span lines; a Status message is one line.
std::string one_line(const char* message) {
  std::string line;
  bool pending_space = false;
  for (const char* c = message == nullptr ? "" : message; *c != '\0'; ++c) {
    if (*c == '\n' || *c == '\t' || *c == '\r') {
      pending_space = true;
      continue;
    }
    if (pending_space && !line.empty() && line.back() != ' ') line += ' ';
    pending_space = false;
    line += *c;
  }
  return line;
}

ErrorCode error_code_for(std::string_view sqlstate) {
  if (sqlstate.starts_with("23")) return ErrorCode::kConflict;  // integrity constraint
  if (sqlstate == "40001" || sqlstate == "40P01") return ErrorCode::kUnavailable;  // retry
  // Connection exceptions, insufficient resources, operator intervention (shutdown, statement
  // timeout): the same statement may succeed later.
  if (sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57")) {
    return ErrorCode::kUnavailable;
  }
  return ErrorCode::kStorageError;
}

// REQUIRES: `result` (possibly null) is the failed outcome of a command on `connection`.
Status postgres_error(PGconn* connection, const PGresult* result, std::string_view sql) {
  const char* sqlstate = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  if (sqlstate == nullptr) {
    // No answer from the server: the connection failed (or libpq ran out of memory).
    const ErrorCode code =
        PQstatus(connection) == CONNECTION_OK ? ErrorCode::kStorageError : ErrorCode::kUnavailable;
    return Status(code, fmt::format("postgres: {} (in \"{}\")",
                                    one_line(PQerrorMessage(connection)), sql_excerpt(sql)));
  }
  const std::string_view state = sqlstate;
  // Only the primary message: DETAIL quotes row values. Data exceptions (class 22, e.g. invalid
  // input syntax) quote the offending value even in the primary message, so they get none.
  const std::string primary = state.starts_with("22")
                                  ? "invalid data"
                                  : one_line(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  return Status(error_code_for(state), fmt::format("postgres: {} (SQLSTATE {}, in \"{}\")", primary,
                                                   state, sql_excerpt(sql)));
}

// Integral NUMERIC text ("-12", "12.000") as int64; nullopt for fractions, NaN, infinities and
// values outside int64.
std::optional<std::int64_t> parse_integral_numeric(std::string_view text) {
  const std::size_t point = text.find('.');
  if (point != std::string_view::npos) {
    if (text.find_first_not_of('0', point + 1) != std::string_view::npos) return std::nullopt;
    text = text.substr(0, point);
  }
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<Value> read_value(const PGresult* result, int row, int column, Oid type,
                         std::string_view sql) {
  if (PQgetisnull(result, row, column) != 0) return Value(nullptr);
  const std::string_view text(PQgetvalue(result, row, column),
                              static_cast<std::size_t>(PQgetlength(result, row, column)));
  if (type != kInt2Oid && type != kInt4Oid && type != kInt8Oid && type != kNumericOid) {
    return Value(std::string(text));
  }
  if (const std::optional<std::int64_t> value = parse_integral_numeric(text)) return Value(*value);
  return Status(ErrorCode::kStorageError,
                fmt::format("postgres: column {} is not an integer within int64 (in \"{}\")",
                            column, sql_excerpt(sql)));
}

// Opens a session with the settings every station connection relies on.
Result<ConnectionHandle> connect(const std::string& url) {
  // Keywords are applied in order and the URL (dbname) comes last, so a connect_timeout given in
  // the URL overrides this default.
  const std::string connect_timeout = std::to_string(limits::kPostgresConnectTimeoutSeconds);
  const std::array<const char*, 4> keywords = {"connect_timeout", "fallback_application_name",
                                               "dbname", nullptr};
  const std::array<const char*, 4> values = {connect_timeout.c_str(), "station", url.c_str(),
                                             nullptr};
  ConnectionHandle connection(PQconnectdbParams(keywords.data(), values.data(), 1));
  if (connection == nullptr) {
    return Status(ErrorCode::kUnavailable, "postgres: out of memory while connecting");
  }
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("postgres: cannot connect to {}: {}", redact_postgres_url(url),
                              one_line(PQerrorMessage(connection.get()))));
  }
  // synchronous_commit=on: a commit returns only once it is durable, whatever the server's
  // default. Warnings still reach stderr; notices do not.
  const std::string settings = fmt::format(
      "SET synchronous_commit = on; SET client_min_messages = warning; "
      "SET statement_timeout = {}",
      limits::kPostgresStatementTimeoutMs);
  const ResultHandle set(PQexec(connection.get(), settings.c_str()));
  if (PQresultStatus(set.get()) != PGRES_COMMAND_OK) {
    return postgres_error(connection.get(), set.get(), settings);
  }
  return connection;
}

class PostgresConnection final : public PooledConnection {
 public:
  explicit PostgresConnection(ConnectionHandle connection)
      : connection_(std::move(connection)), statements_(limits::kSqlStatementCacheEntriesMax) {}

  Dialect dialect() const override { return Dialect::kPostgres; }
  Status execute(std::string_view sql, std::span<const Value> params) override;
  Result<Rows> query(std::string_view sql, std::span<const Value> params) override;
  Status execute_script(std::string_view sql) override;
  std::int64_t changes() const override { return changes_; }
  Status begin(Durability durability) override;
  Status commit() override;
  Status rollback() override;
  bool reusable() const override {
    return !broken_ && PQstatus(connection_.get()) == CONNECTION_OK &&
           PQtransactionStatus(connection_.get()) == PQTRANS_IDLE;
  }

 private:
  struct Prepared {
    std::string name;
    std::size_t placeholders;
  };

  Result<const Prepared*> prepare(std::string_view sql);
  // Runs a prepared statement; the result is a successful one.
  Result<ResultHandle> run(std::string_view sql, std::span<const Value> params);
  // Runs SQL with the simple protocol (several statements, no parameters).
  Result<ResultHandle> run_simple(const std::string& sql);

  ConnectionHandle connection_;
  StatementCache<Prepared> statements_;
  std::uint64_t statements_prepared_ = 0;  // names statements uniquely for this session
  std::int64_t changes_ = 0;
  // Set when an evicted statement could not be deallocated; the pool then closes the session.
  bool broken_ = false;
  // Reused for each statement's parameters, so running one allocates nothing for them.
  std::vector<const char*> param_texts_;
  std::vector<std::array<char, 24>> int_texts_;  // int64 in decimal: at most 20 characters
};

Result<const PostgresConnection::Prepared*> PostgresConnection::prepare(std::string_view sql) {
  if (const Prepared* cached = statements_.find(sql)) return cached;
  if (auto evicted = statements_.evict_if_full()) {
    const std::string deallocate = "DEALLOCATE " + evicted->name;
    const ResultHandle result(PQexec(connection_.get(), deallocate.c_str()));
    // Fails inside an aborted transaction; the server keeps the statement until the session
    // ends, so end it soon rather than let statements pile up.
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) broken_ = true;
  }
  PostgresSql rewritten = rewrite_placeholders(sql);
  std::string name = fmt::format("station_{}", ++statements_prepared_);
  // No parameter types: the server infers each from where it appears.
  const ResultHandle result(
      PQprepare(connection_.get(), name.c_str(), rewritten.text.c_str(), 0, nullptr));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return postgres_error(connection_.get(), result.get(), sql);
  }
  return &statements_.insert(sql, Prepared{std::move(name), rewritten.placeholders});
}

Result<ResultHandle> PostgresConnection::run(std::string_view sql, std::span<const Value> params) {
  STATION_ASSIGN_OR_RETURN(const Prepared* prepared, prepare(sql));
  STATION_RETURN_IF_ERROR(check_parameters(prepared->placeholders, params, sql));
  param_texts_.resize(params.size());
  int_texts_.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Value& value = params[i];
    if (const auto* integer = std::get_if<std::int64_t>(&value)) {
      std::array<char, 24>& buffer = int_texts_[i];
      const auto [end, error] =
          std::to_chars(buffer.data(), buffer.data() + buffer.size() - 1, *integer);
      assert(error == std::errc());
      *end = '\0';
      param_texts_[i] = buffer.data();
    } else if (const auto* text = std::get_if<std::string>(&value)) {
      param_texts_[i] = text->c_str();
    } else {
      param_texts_[i] = nullptr;  // SQL NULL
    }
  }
  ResultHandle result(PQexecPrepared(connection_.get(), prepared->name.c_str(),
                                     static_cast<int>(params.size()), param_texts_.data(), nullptr,
                                     nullptr, /*resultFormat=text*/ 0));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return postgres_error(connection_.get(), result.get(), sql);
  }
  return result;
}

Result<ResultHandle> PostgresConnection::run_simple(const std::string& sql) {
  ResultHandle result(PQexec(connection_.get(), sql.c_str()));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return postgres_error(connection_.get(), result.get(), sql);
  }
  return result;
}

Status PostgresConnection::execute(std::string_view sql, std::span<const Value> params) {
  STATION_ASSIGN_OR_RETURN(ResultHandle result, run(sql, params));
  const std::string_view affected = PQcmdTuples(result.get());  // empty for e.g. DDL
  changes_ = 0;
  std::from_chars(affected.data(), affected.data() + affected.size(), changes_);
  return Status::ok();
}

Result<Rows> PostgresConnection::query(std::string_view sql, std::span<const Value> params) {
  STATION_ASSIGN_OR_RETURN(ResultHandle result, run(sql, params));
  const int row_count = PQntuples(result.get());
  const int column_count = PQnfields(result.get());
  std::vector<Oid> types(static_cast<std::size_t>(column_count));
  for (int column = 0; column < column_count; ++column) {
    types[static_cast<std::size_t>(column)] = PQftype(result.get(), column);
  }
  Rows rows;
  rows.reserve(static_cast<std::size_t>(row_count));
  for (int row = 0; row < row_count; ++row) {
    std::vector<Value> values;
    values.reserve(types.size());
    for (int column = 0; column < column_count; ++column) {
      STATION_ASSIGN_OR_RETURN(
          Value value,
          read_value(result.get(), row, column, types[static_cast<std::size_t>(column)], sql));
      values.push_back(std::move(value));
    }
    rows.emplace_back(std::move(values));
  }
  return rows;
}

Status PostgresConnection::execute_script(std::string_view sql) {
  return run_simple(std::string(sql)).status();
}

Status PostgresConnection::begin(Durability durability) {
  // SET LOCAL ends with the transaction, so the connection goes back to the pool as it came.
  return run_simple(durability == Durability::kDeferred
                        ? "BEGIN; SET LOCAL synchronous_commit = off"
                        : "BEGIN")
      .status();
}

Status PostgresConnection::commit() {
  STATION_ASSIGN_OR_RETURN(ResultHandle result, run_simple("COMMIT"));
  // COMMIT of a transaction that a failed statement aborted succeeds as a command but rolls
  // back: the tag says which happened.
  if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
    return Status(ErrorCode::kStorageError,
                  "postgres: the transaction was aborted by a failed statement and rolled back");
  }
  return Status::ok();
}

Status PostgresConnection::rollback() {
  // After a failed COMMIT there is nothing to roll back; ROLLBACK would only warn.
  if (PQtransactionStatus(connection_.get()) == PQTRANS_IDLE) return Status::ok();
  return run_simple("ROLLBACK").status();
}

// Holds the advisory lock for as long as its session lives; closing the session releases it.
class AdvisoryLock final : public OwnershipLock {
 public:
  explicit AdvisoryLock(ConnectionHandle connection) : connection_(std::move(connection)) {}

 private:
  ConnectionHandle connection_;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(std::string url, std::unique_ptr<ConnectionPool> pool)
      : url_(std::move(url)), pool_(std::move(pool)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string describe() const override { return redact_postgres_url(url_); }
  Result<ConnectionLease> acquire() override { return pool_->acquire(); }
  Result<std::unique_ptr<OwnershipLock>> lock_exclusive() override;

 private:
  const std::string url_;
  const std::unique_ptr<ConnectionPool> pool_;
};

Result<std::unique_ptr<OwnershipLock>> PostgresDatabase::lock_exclusive() {
  STATION_ASSIGN_OR_RETURN(ConnectionHandle connection, connect(url_));
  const std::string sql = fmt::format("SELECT pg_try_advisory_lock({})", kOwnershipLockKey);
  const ResultHandle result(PQexec(connection.get(), sql.c_str()));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    return postgres_error(connection.get(), result.get(), sql);
  }
  if (PQntuples(result.get()) != 1 || std::string_view(PQgetvalue(result.get(), 0, 0)) != "t") {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("database is in use by another station process (advisory lock {} "
                              "on {})",
                              kOwnershipLockKey, redact_postgres_url(url_)));
  }
  return std::unique_ptr<OwnershipLock>(new AdvisoryLock(std::move(connection)));
}

}  // namespace

Result<std::unique_ptr<Database>> open_postgres_database(const DatabaseOptions& options) {
  assert(options.url.starts_with("postgres://") || options.url.starts_with("postgresql://"));
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &parse_error);
  if (parsed == nullptr) {
    // libpq's message names the bad part without echoing the URL (which may hold a password).
    Status status(ErrorCode::kValidationFailed,
                  fmt::format("postgres: invalid URL: {}", one_line(parse_error)));
    PQfreemem(parse_error);
    return status;
  }
  PQconninfoFree(parsed);
  const std::string url = options.url;
  STATION_ASSIGN_OR_RETURN(
      std::unique_ptr<ConnectionPool> pool,
      ConnectionPool::create(options.pool_size, options.acquire_timeout_ms,
                             [url]() -> Result<std::unique_ptr<PooledConnection>> {
                               STATION_ASSIGN_OR_RETURN(ConnectionHandle connection, connect(url));
                               return std::unique_ptr<PooledConnection>(
                                   new PostgresConnection(std::move(connection)));
                             }));
  return std::unique_ptr<Database>(new PostgresDatabase(url, std::move(pool)));
}

}  // namespace station::storage
