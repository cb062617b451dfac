#include "ledger/ledger_journal.h"

#include <fmt/format.h>

#include <array>
#include <cassert>
#include <charconv>
#include <limits>

#include "common/limits.h"
#include "ledger/ledger_rows.h"

namespace station::ledger::internal {
namespace {

using storage::Value;

constexpr std::string_view kJournalVersion = "j1";

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void integer(std::int64_t value) {
    fmt::format_int digits(value);
    out_.append(digits.data(), digits.size());
    out_ += ' ';
  }
  void optional(const std::optional<std::int64_t>& value) {
    if (value) return integer(*value);
    out_ += "- ";
  }
  void text(std::string_view value) {
    fmt::format_int length(value.size());
    out_.append(length.data(), length.size());
    out_ += ':';
    out_.append(value);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view text) : rest_(text) {}

  bool failed() const { return failed_; }
  bool at_end() const { return rest_.empty(); }

  std::int64_t integer() {
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(rest_.data(), rest_.data() + rest_.size(), value);
    if (error != std::errc() || end == rest_.data() + rest_.size() || *end != ' ') {
      failed_ = true;
      return 0;
    }
    rest_.remove_prefix(static_cast<std::size_t>(end - rest_.data()) + 1);
    return value;
  }
  std::optional<std::int64_t> optional() {
    if (rest_.starts_with("- ")) {
      rest_.remove_prefix(2);
      return std::nullopt;
    }
    return integer();
  }
  // A count of items that each take at least `bytes_min` bytes: bounded by what is left, so a
  // corrupt count cannot make the caller reserve memory the text could never fill.
  std::size_t count(std::size_t bytes_min) {
    std::int64_t value = integer();
    if (value < 0 || static_cast<std::size_t>(value) > rest_.size() / bytes_min) {
      failed_ = true;
      return 0;
    }
    return static_cast<std::size_t>(value);
  }
  std::string text() {
    std::size_t length = 0;
    auto [end, error] = std::from_chars(rest_.data(), rest_.data() + rest_.size(), length);
    const std::size_t digits = static_cast<std::size_t>(end - rest_.data());
    if (error != std::errc() || digits == rest_.size() || *end != ':' ||
        length > rest_.size() - digits - 1) {
      failed_ = true;
      return {};
    }
    std::string value(rest_.substr(digits + 1, length));
    rest_.remove_prefix(digits + 1 + length);
    return value;
  }
  template <typename Enum>
  Enum name(std::optional<Enum> (*parse)(std::string_view)) {
    auto parsed = parse(text());
    if (!parsed) failed_ = true;
    return parsed.value_or(Enum{});
  }

 private:
  std::string_view rest_;
  bool failed_ = false;
};

std::optional<ErrorCode> parse_error_name(std::string_view name) {
  for (auto code = ErrorCode::kOk; code <= ErrorCode::kInternal;
       code = static_cast<ErrorCode>(static_cast<int>(code) + 1)) {
    if (error_name(code) == name) return code;
  }
  return std::nullopt;
}

Status corrupt_entry(std::string_view what) {
  return Status(ErrorCode::kInternal, fmt::format("ledger journal entry: {}", what));
}

}  // namespace

RequestShape RequestShape::of(const TransferRequest& request) {
  RequestShape shape;
  shape.phase = request.phase;
  shape.debit_account_id = request.debit_account_id;
  shape.credit_account_id = request.credit_account_id;
  shape.pending_id = request.pending_id;
  shape.amount_minor = request.amount_minor;
  if (request.currency) {
    std::string_view code = request.currency->code();
    assert(code.size() == shape.currency.size());
    std::copy(code.begin(), code.end(), shape.currency.begin());
  }
  shape.timeout_seconds = request.timeout_seconds;
  return shape;
}

std::string stored_fingerprint(const RequestShape& shape, std::string_view caller_fingerprint) {
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", transfer_phase_name(shape.phase),
                     shape.debit_account_id, shape.credit_account_id, shape.pending_id,
                     shape.amount_minor, shape.currency_code(), shape.timeout_seconds,
                     caller_fingerprint);
}

Status parse_stored_fingerprint(std::string_view text, RequestShape& shape,
                                std::string& caller_fingerprint) {
  const Status corrupt(ErrorCode::kInternal,
                       fmt::format("idempotency record: malformed fingerprint {}", text));
  std::array<std::string_view, 7> fields;
  for (auto& field : fields) {
    const std::size_t bar = text.find('|');
    if (bar == std::string_view::npos) return corrupt;
    field = text.substr(0, bar);
    text.remove_prefix(bar + 1);
  }
  auto number = [](std::string_view digits, auto& out) {
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return error == std::errc() && end == digits.data() + digits.size();
  };
  auto phase = parse_transfer_phase(fields[0]);
  if (!phase || !number(fields[1], shape.debit_account_id) ||
      !number(fields[2], shape.credit_account_id) || !number(fields[3], shape.pending_id) ||
      !number(fields[4], shape.amount_minor) || fields[5].size() != shape.currency.size() ||
      !number(fields[6], shape.timeout_seconds)) {
    return corrupt;
  }
  shape.phase = *phase;
  std::copy(fields[5].begin(), fields[5].end(), shape.currency.begin());
  caller_fingerprint = std::string(text);
  return Status::ok();
}

void encode_journal_entry(const JournalEntry& entry, std::string& out) {
  Writer w(out);
  w.text(kJournalVersion);
  w.integer(static_cast<std::int64_t>(entry.balances.size()));
  w.integer(static_cast<std::int64_t>(entry.transfers.size()));
  w.integer(static_cast<std::int64_t>(entry.resolved.size()));
  w.integer(static_cast<std::int64_t>(entry.keys.size()));
  w.integer(entry.created_at_ms);
  for (const auto& b : entry.balances) {
    w.integer(b.id);
    w.integer(b.balance_minor);
    w.integer(b.pending_debit_minor);
    w.integer(b.pending_credit_minor);
  }
  for (const auto& t : entry.transfers) {
    w.integer(t.id);
    w.text(transfer_phase_name(t.phase));
    w.text(transfer_state_name(t.state));
    w.integer(t.pending_id);
    w.integer(t.debit_account_id);
    w.integer(t.credit_account_id);
    w.integer(t.amount_minor);
    w.text(t.currency);
    w.text(t.category);
    w.text(t.reference);
    w.text(t.description);
    w.optional(t.expires_at_ms);
    w.integer(t.debit_balance_after_minor);
    w.integer(t.credit_balance_after_minor);
    w.text(t.idempotency_key);
    w.integer(t.created_at_ms);
    w.optional(t.resolved_at_ms);
  }
  for (const auto& r : entry.resolved) {
    w.integer(r.id);
    w.text(transfer_state_name(r.state));
    w.integer(r.resolved_at_ms);
  }
  for (const auto& k : entry.keys) {
    w.text(k.key);
    w.text(transfer_phase_name(k.shape.phase));
    w.integer(k.shape.debit_account_id);
    w.integer(k.shape.credit_account_id);
    w.integer(k.shape.pending_id);
    w.integer(k.shape.amount_minor);
    w.text(k.shape.currency_code());
    w.integer(k.shape.timeout_seconds);
    w.text(k.fingerprint);
    w.integer(k.transfer_id);
    w.text(k.transfer_id == 0 ? error_name(k.refusal) : std::string_view());
    w.text(k.refusal_detail);
  }
}

Result<JournalEntry> decode_journal_entry(std::string_view text) {
  Reader r(text);
  if (r.text() != kJournalVersion || r.failed()) return corrupt_entry("unknown version");
  JournalEntry entry;
  // The least bytes each item takes in the text, to bound the counts.
  const std::size_t balances = r.count(8);
  const std::size_t transfers = r.count(40);
  const std::size_t resolved = r.count(6);
  const std::size_t keys = r.count(10);
  entry.created_at_ms = r.integer();
  if (r.failed()) return corrupt_entry("bad header");
  entry.balances.resize(balances);
  for (auto& b : entry.balances) {
    b.id = r.integer();
    b.balance_minor = r.integer();
    b.pending_debit_minor = r.integer();
    b.pending_credit_minor = r.integer();
  }
  entry.transfers.resize(transfers);
  for (auto& t : entry.transfers) {
    t.id = r.integer();
    t.phase = r.name(parse_transfer_phase);
    t.state = r.name(parse_transfer_state);
    t.pending_id = r.integer();
    t.debit_account_id = r.integer();
    t.credit_account_id = r.integer();
    t.amount_minor = r.integer();
    t.currency = r.text();
    t.category = r.text();
    t.reference = r.text();
    t.description = r.text();
    t.expires_at_ms = r.optional();
    t.debit_balance_after_minor = r.integer();
    t.credit_balance_after_minor = r.integer();
    t.idempotency_key = r.text();
    t.created_at_ms = r.integer();
    t.resolved_at_ms = r.optional();
    if (r.failed()) break;
  }
  entry.resolved.resize(resolved);
  for (auto& res : entry.resolved) {
    res.id = r.integer();
    res.state = r.name(parse_transfer_state);
    res.resolved_at_ms = r.integer();
  }
  entry.keys.resize(keys);
  for (auto& k : entry.keys) {
    k.key = r.text();
    k.shape.phase = r.name(parse_transfer_phase);
    k.shape.debit_account_id = r.integer();
    k.shape.credit_account_id = r.integer();
    k.shape.pending_id = r.integer();
    k.shape.amount_minor = r.integer();
    std::string currency = r.text();
    if (currency.size() != k.shape.currency.size()) return corrupt_entry("bad currency");
    std::copy(currency.begin(), currency.end(), k.shape.currency.begin());
    const std::int64_t timeout = r.integer();
    if (timeout < 0 || timeout > limits::kPendingTimeoutSecondsMax) {
      return corrupt_entry("bad timeout");
    }
    k.shape.timeout_seconds = static_cast<std::uint32_t>(timeout);
    k.fingerprint = r.text();
    k.transfer_id = r.integer();
    std::string refusal = r.text();
    k.refusal_detail = r.text();
    if (k.transfer_id == 0) {
      auto code = parse_error_name(refusal);
      if (!code || !is_business_refusal(*code)) return corrupt_entry("a key with no outcome");
      k.refusal = *code;
    }
  }
  if (r.failed() || !r.at_end()) return corrupt_entry("truncated or malformed");
  return entry;
}

Status write_journal_rows(storage::Connection& connection, const JournalEntry& entry) {
  std::vector<Value> values;
  auto write = [&](std::string_view what, std::string_view table, std::string_view columns,
                   std::size_t column_count, std::string_view tail) -> Status {
    Status written = insert_rows(connection, fmt::format("INSERT INTO {} ({})", table, columns),
                                 column_count, values, tail);
    values.clear();
    if (written.is_ok()) return written;
    return Status(ErrorCode::kStorageError, fmt::format("{}: {}", what, written.to_string()));
  };

  // A transfer's idempotency record goes into its row. The keys that made transfers are in the
  // order their transfers were made, which is the transfers' (id) order; expiries have none.
  values.reserve(entry.transfers.size() * kTransferInsertColumnCount);
  auto made = entry.keys.begin();
  for (const auto& transfer : entry.transfers) {
    append_transfer_values(transfer, values);
    while (made != entry.keys.end() && made->transfer_id == 0) ++made;
    if (made != entry.keys.end() && made->transfer_id == transfer.id) {
      values.emplace_back(stored_fingerprint(made->shape, made->fingerprint));
      ++made;
    } else {
      assert(transfer.phase == TransferPhase::kExpire);
      values.emplace_back(nullptr);
    }
  }
  assert(std::none_of(made, entry.keys.end(), [](const JournalKey& k) { return k.transfer_id; }));
  STATION_RETURN_IF_ERROR(write("ledger: transfers", "transfers", kTransferInsertColumns,
                                kTransferInsertColumnCount, ""));
  for (const auto& r : entry.resolved) {
    std::array<Value, 3> params = {std::string(transfer_state_name(r.state)), r.resolved_at_ms,
                                   r.id};
    if (Status s = connection.execute(
            "UPDATE transfers SET state = ?, resolved_at_ms = ? WHERE id = ?", params);
        !s.is_ok()) {
      return Status(ErrorCode::kStorageError,
                    fmt::format("ledger: resolving pending transfer {}: {}", r.id, s.to_string()));
    }
  }
  // Every one of these accounts exists (a batch creating accounts is written at once, before any
  // later entry), so only the upsert's DO UPDATE part ever runs: one statement updates many rows
  // on both engines. The other columns are never stored; they only satisfy NOT NULL.
  for (const auto& b : entry.balances) {
    values.emplace_back(b.id);
    values.emplace_back(std::string("wallet"));
    values.emplace_back(nullptr);
    values.emplace_back(std::string("XXX"));
    values.emplace_back(std::int64_t{0});
    values.emplace_back(std::int64_t{0});
    values.emplace_back(b.balance_minor);
    values.emplace_back(b.pending_debit_minor);
    values.emplace_back(b.pending_credit_minor);
    values.emplace_back(std::int64_t{0});
  }
  STATION_RETURN_IF_ERROR(write("ledger: balances", "accounts", kAccountColumns,
                                kAccountColumnCount,
                                " ON CONFLICT (id) DO UPDATE SET "
                                "balance_minor = excluded.balance_minor, "
                                "pending_debit_minor = excluded.pending_debit_minor, "
                                "pending_credit_minor = excluded.pending_credit_minor"));
  for (const auto& k : entry.keys) {
    if (k.transfer_id != 0) continue;  // in its transfer's row
    values.emplace_back(k.key);
    values.emplace_back(stored_fingerprint(k.shape, k.fingerprint));
    values.emplace_back(nullptr);
    values.emplace_back(std::string(error_name(k.refusal)));
    values.emplace_back(k.refusal_detail);
    values.emplace_back(entry.created_at_ms);
  }
  return write("ledger: idempotency records", "idempotency", kIdempotencyColumns,
               kIdempotencyColumnCount, "");
}

Status append_journal(storage::Connection& connection, Id sequence, std::string_view text) {
  std::array<Value, 2> params = {sequence, std::string(text)};
  return connection.execute("INSERT INTO ledger_journal (seq, entry) VALUES (?, ?)", params);
}

Result<std::uint64_t> apply_journal(storage::Connection& connection, std::uint64_t weight_min,
                                    bool in_transaction) {
  std::uint64_t applied = 0;
  for (;;) {
    std::optional<storage::Transaction> transaction;
    if (!in_transaction) {
      STATION_ASSIGN_OR_RETURN(auto begun, storage::Transaction::begin(connection));
      transaction.emplace(std::move(begun));
    }
    // Small entries (a transfer or a few each) share a transaction, so each does not cost a
    // commit of its own; one row at a time in memory, as an entry may be large.
    std::uint64_t in_transaction_weight = 0;
    bool empty = false;
    while (in_transaction || in_transaction_weight < limits::kLedgerJournalApplyTransfersMin) {
      STATION_ASSIGN_OR_RETURN(
          auto rows,
          connection.query("SELECT seq, entry FROM ledger_journal ORDER BY seq LIMIT 1"));
      if (rows.empty()) {
        empty = true;
        break;
      }
      STATION_ASSIGN_OR_RETURN(auto entry, decode_journal_entry(rows[0].text_at(1)));
      STATION_RETURN_IF_ERROR(write_journal_rows(connection, entry));
      std::array<Value, 1> sequence = {rows[0].int_at(0)};
      STATION_RETURN_IF_ERROR(
          connection.execute("DELETE FROM ledger_journal WHERE seq = ?", sequence));
      in_transaction_weight += entry.weight();
    }
    if (transaction) STATION_RETURN_IF_ERROR(transaction->commit());
    applied += in_transaction_weight;
    if (empty || in_transaction || applied >= weight_min) return applied;
  }
}

Result<std::int64_t> journal_rows_waiting(storage::Connection& connection) {
  STATION_ASSIGN_OR_RETURN(auto rows, connection.query("SELECT COUNT(*) FROM ledger_journal"));
  return rows.empty() ? 0 : rows[0].int_or(0, 0);
}

}  // namespace station::ledger::internal

namespace station::ledger {

Status apply_stopped_journal(storage::Connection& connection) {
  auto applied = internal::apply_journal(connection, std::numeric_limits<std::uint64_t>::max(),
                                         /*in_transaction=*/false);
  if (!applied.is_ok()) {
    return Status(ErrorCode::kStorageError,
                  fmt::format("applying the ledger journal: {}", applied.status().to_string()));
  }
  STATION_ASSIGN_OR_RETURN(auto waiting, internal::journal_rows_waiting(connection));
  if (waiting != 0) return Status(ErrorCode::kInternal, "the ledger journal did not empty");
  return Status::ok();
}

}  // namespace station::ledger
