#include "ledger/ledger_journal.h"

#include <fmt/format.h>

#include <array>
#include <cassert>
#include <charconv>
#include <limits>
#include <unordered_map>

#include "common/limits.h"
#include "ledger/ledger_rows.h"

namespace station::ledger::internal {
namespace {

using storage::Value;

// Written by this build; version 1 is still read (decode_version_1()).
constexpr std::string_view kJournalVersion = "j2";
constexpr std::string_view kJournalVersion1 = "j1";

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
  void letter(char value) { out_ += value; }
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
  void fail() { failed_ = true; }
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
  char letter() {
    if (rest_.empty()) {
      failed_ = true;
      return '\0';
    }
    const char value = rest_.front();
    rest_.remove_prefix(1);
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

namespace {

// One letter per phase and state in version 2 (version 1 wrote their names).
constexpr std::array<std::pair<TransferPhase, char>, 5> kPhaseLetters = {{
    {TransferPhase::kSingle, 's'},
    {TransferPhase::kPending, 'p'},
    {TransferPhase::kPost, 'o'},
    {TransferPhase::kVoid, 'v'},
    {TransferPhase::kExpire, 'e'},
}};
constexpr std::array<std::pair<TransferState, char>, 4> kStateLetters = {{
    {TransferState::kPosted, 'P'},
    {TransferState::kPending, 'N'},
    {TransferState::kVoided, 'V'},
    {TransferState::kExpired, 'E'},
}};

template <typename Enum, std::size_t N>
char letter_of(const std::array<std::pair<Enum, char>, N>& letters, Enum value) {
  for (const auto& [known, letter] : letters) {
    if (known == value) return letter;
  }
  assert(false && "every value has a letter");
  return '?';
}

template <typename Enum, std::size_t N>
Enum read_letter(Reader& r, const std::array<std::pair<Enum, char>, N>& letters) {
  const char letter = r.letter();
  for (const auto& [known, known_letter] : letters) {
    if (known_letter == letter) return known;
  }
  r.fail();
  return Enum{};
}

// A key record of a made transfer, version 2: the marker says where its money fields are.
constexpr char kNoKey = 'n';        // an expiry, made by the ledger, has no key
constexpr char kShapeOfRow = 'r';   // the request's money fields are the row's (shape_of_row())
constexpr char kShapeWritten = 'w'; // written out, as for a refusal

// The money fields of the request that made a single or pending transfer, from its row: its
// accounts, amount and currency, and the timeout that set its expiry (batch time + timeout).
// Posts and voids are not derived: a post of the full amount may have asked for 0 or for it.
std::optional<RequestShape> shape_of_row(const Transfer& t, std::int64_t created_at_ms) {
  if (t.phase != TransferPhase::kSingle && t.phase != TransferPhase::kPending) return std::nullopt;
  if (t.currency.size() != 3) return std::nullopt;
  RequestShape shape;
  shape.phase = t.phase;
  shape.debit_account_id = t.debit_account_id;
  shape.credit_account_id = t.credit_account_id;
  shape.amount_minor = t.amount_minor;
  std::copy(t.currency.begin(), t.currency.end(), shape.currency.begin());
  if (t.expires_at_ms) {
    const std::int64_t timeout_ms = *t.expires_at_ms - created_at_ms;
    if (timeout_ms <= 0 || timeout_ms % 1000 != 0 ||
        timeout_ms / 1000 > limits::kPendingTimeoutSecondsMax) {
      return std::nullopt;
    }
    shape.timeout_seconds = static_cast<std::uint32_t>(timeout_ms / 1000);
  }
  return shape;
}

void write_shape(Writer& w, const RequestShape& shape) {
  w.text(transfer_phase_name(shape.phase));
  w.integer(shape.debit_account_id);
  w.integer(shape.credit_account_id);
  w.integer(shape.pending_id);
  w.integer(shape.amount_minor);
  w.text(shape.currency_code());
  w.integer(shape.timeout_seconds);
}

Status read_shape(Reader& r, RequestShape& shape) {
  shape.phase = r.name(parse_transfer_phase);
  shape.debit_account_id = r.integer();
  shape.credit_account_id = r.integer();
  shape.pending_id = r.integer();
  shape.amount_minor = r.integer();
  std::string currency = r.text();
  if (currency.size() != shape.currency.size()) return corrupt_entry("bad currency");
  std::copy(currency.begin(), currency.end(), shape.currency.begin());
  const std::int64_t timeout = r.integer();
  if (timeout < 0 || timeout > limits::kPendingTimeoutSecondsMax) {
    return corrupt_entry("bad timeout");
  }
  shape.timeout_seconds = static_cast<std::uint32_t>(timeout);
  return Status::ok();
}

// A key record in full: every refusal, and every key record of version 1.
void write_key(Writer& w, const JournalKey& k) {
  w.text(k.key);
  write_shape(w, k.shape);
  w.text(k.fingerprint);
  w.integer(k.transfer_id);
  w.text(k.transfer_id == 0 ? error_name(k.refusal) : std::string_view());
  w.text(k.refusal_detail);
}

Status read_key(Reader& r, JournalKey& k) {
  k.key = r.text();
  STATION_RETURN_IF_ERROR(read_shape(r, k.shape));
  k.fingerprint = r.text();
  k.transfer_id = r.integer();
  std::string refusal = r.text();
  k.refusal_detail = r.text();
  if (k.transfer_id == 0) {
    auto code = parse_error_code(refusal);
    if (!code || !is_business_refusal(*code)) return corrupt_entry("a key with no outcome");
    k.refusal = *code;
  }
  return Status::ok();
}

void read_balances(Reader& r, JournalEntry& entry) {
  for (auto& b : entry.balances) {
    b.id = r.integer();
    b.balance_minor = r.integer();
    b.pending_debit_minor = r.integer();
    b.pending_credit_minor = r.integer();
  }
}

// The fields of a transfer from its amount to its key, the same in both versions.
void read_transfer_body(Reader& r, Transfer& t) {
  t.amount_minor = r.integer();
  t.currency = r.text();
  t.category = r.text();
  t.reference = r.text();
  t.description = r.text();
  t.expires_at_ms = r.optional();
  t.debit_balance_after_minor = r.integer();
  t.credit_balance_after_minor = r.integer();
  t.idempotency_key = r.text();
}

// Version 1 (builds before 2026-11-30), read so that a journal left by one is still applied.
Result<JournalEntry> decode_version_1(Reader& r) {
  JournalEntry entry;
  // The least bytes each item takes in the text, to bound the counts.
  const std::size_t balances = r.count(8);
  const std::size_t transfers = r.count(40);
  const std::size_t resolved = r.count(6);
  const std::size_t keys = r.count(10);
  entry.created_at_ms = r.integer();
  if (r.failed()) return corrupt_entry("bad header");
  entry.balances.resize(balances);
  read_balances(r, entry);
  entry.transfers.resize(transfers);
  for (auto& t : entry.transfers) {
    t.id = r.integer();
    t.phase = r.name(parse_transfer_phase);
    t.state = r.name(parse_transfer_state);
    t.pending_id = r.integer();
    t.debit_account_id = r.integer();
    t.credit_account_id = r.integer();
    read_transfer_body(r, t);
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
  for (auto& k : entry.keys) STATION_RETURN_IF_ERROR(read_key(r, k));
  return entry;
}

Result<JournalEntry> decode_version_2(Reader& r) {
  JournalEntry entry;
  const std::size_t balances = r.count(8);
  const std::size_t transfers = r.count(30);
  const std::size_t resolved = r.count(5);
  const std::size_t refusals = r.count(10);
  entry.created_at_ms = r.integer();
  if (r.failed()) return corrupt_entry("bad header");
  entry.balances.resize(balances);
  read_balances(r, entry);
  auto account_at = [&](std::int64_t index) -> Id {
    if (index < 0 || static_cast<std::size_t>(index) >= entry.balances.size()) {
      r.fail();
      return 0;
    }
    return entry.balances[static_cast<std::size_t>(index)].id;
  };
  entry.transfers.resize(transfers);
  entry.keys.reserve(transfers + refusals);
  Id previous_id = 0;
  for (auto& t : entry.transfers) {
    const std::int64_t step = r.integer();
    if (step <= 0 || step > std::numeric_limits<Id>::max() - previous_id) {
      return corrupt_entry("bad id");
    }
    t.id = previous_id + step;
    previous_id = t.id;
    t.phase = read_letter(r, kPhaseLetters);
    t.state = read_letter(r, kStateLetters);
    t.pending_id = r.optional().value_or(0);
    t.debit_account_id = account_at(r.integer());
    t.credit_account_id = account_at(r.integer());
    read_transfer_body(r, t);
    t.created_at_ms = entry.created_at_ms;
    t.resolved_at_ms = r.optional();
    const char marker = r.letter();
    if (r.failed()) break;
    if (marker == kNoKey) continue;
    JournalKey& k = entry.keys.emplace_back();
    k.key = t.idempotency_key;
    k.transfer_id = t.id;
    if (marker == kShapeOfRow) {
      auto shape = shape_of_row(t, entry.created_at_ms);
      if (!shape) return corrupt_entry("a key shaped by a row that shapes none");
      k.shape = *shape;
    } else if (marker == kShapeWritten) {
      STATION_RETURN_IF_ERROR(read_shape(r, k.shape));
    } else {
      return corrupt_entry("bad key marker");
    }
    k.fingerprint = r.text();
  }
  entry.resolved.resize(resolved);
  for (auto& res : entry.resolved) {
    res.id = r.integer();
    res.state = read_letter(r, kStateLetters);
    res.resolved_at_ms = r.integer();
  }
  for (std::size_t i = 0; i < refusals && !r.failed(); ++i) {
    JournalKey& k = entry.keys.emplace_back();
    STATION_RETURN_IF_ERROR(read_key(r, k));
    if (k.transfer_id != 0) return corrupt_entry("a refusal with a transfer");
  }
  return entry;
}

}  // namespace

Status encode_journal_entry(const JournalEntry& entry, std::string& out) {
  // Accounts are written once, with their final balances; transfers name them by position.
  std::unordered_map<Id, std::int64_t> account_index;
  account_index.reserve(entry.balances.size());
  for (const auto& b : entry.balances) {
    account_index.emplace(b.id, static_cast<std::int64_t>(account_index.size()));
  }
  auto index_of = [&](Id id) -> std::optional<std::int64_t> {
    auto it = account_index.find(id);
    if (it == account_index.end()) return std::nullopt;
    return it->second;
  };
  const auto refusals = static_cast<std::int64_t>(
      std::count_if(entry.keys.begin(), entry.keys.end(),
                    [](const JournalKey& k) { return k.transfer_id == 0; }));

  Writer w(out);
  w.text(kJournalVersion);
  w.integer(static_cast<std::int64_t>(entry.balances.size()));
  w.integer(static_cast<std::int64_t>(entry.transfers.size()));
  w.integer(static_cast<std::int64_t>(entry.resolved.size()));
  w.integer(refusals);
  w.integer(entry.created_at_ms);
  for (const auto& b : entry.balances) {
    w.integer(b.id);
    w.integer(b.balance_minor);
    w.integer(b.pending_debit_minor);
    w.integer(b.pending_credit_minor);
  }
  // The keys that made transfers are in the transfers' order (write_journal_rows()).
  auto made = entry.keys.begin();
  Id previous_id = 0;
  for (const auto& t : entry.transfers) {
    auto debit = index_of(t.debit_account_id);
    auto credit = index_of(t.credit_account_id);
    if (t.id <= previous_id || !debit || !credit || t.created_at_ms != entry.created_at_ms) {
      return Status(ErrorCode::kInternal,
                    fmt::format("ledger journal: transfer {} does not fit its entry", t.id));
    }
    w.integer(t.id - previous_id);
    previous_id = t.id;
    w.letter(letter_of(kPhaseLetters, t.phase));
    w.letter(letter_of(kStateLetters, t.state));
    w.optional(t.pending_id == 0 ? std::nullopt : std::optional<std::int64_t>(t.pending_id));
    w.integer(*debit);
    w.integer(*credit);
    w.integer(t.amount_minor);
    w.text(t.currency);
    w.text(t.category);
    w.text(t.reference);
    w.text(t.description);
    w.optional(t.expires_at_ms);
    w.integer(t.debit_balance_after_minor);
    w.integer(t.credit_balance_after_minor);
    w.text(t.idempotency_key);
    w.optional(t.resolved_at_ms);
    while (made != entry.keys.end() && made->transfer_id == 0) ++made;
    if (made == entry.keys.end() || made->transfer_id != t.id) {
      w.letter(kNoKey);
      continue;
    }
    if (made->key != t.idempotency_key) {
      return Status(ErrorCode::kInternal,
                    fmt::format("ledger journal: transfer {} has another key", t.id));
    }
    if (shape_of_row(t, entry.created_at_ms) == made->shape) {
      w.letter(kShapeOfRow);
    } else {
      w.letter(kShapeWritten);
      write_shape(w, made->shape);
    }
    w.text(made->fingerprint);
    ++made;
  }
  for (const auto& r : entry.resolved) {
    w.integer(r.id);
    w.letter(letter_of(kStateLetters, r.state));
    w.integer(r.resolved_at_ms);
  }
  for (const auto& k : entry.keys) {
    if (k.transfer_id == 0) write_key(w, k);
  }
  return Status::ok();
}

Result<JournalEntry> decode_journal_entry(std::string_view text) {
  Reader r(text);
  const std::string version = r.text();
  if (r.failed()) return corrupt_entry("unknown version");
  Result<JournalEntry> entry = corrupt_entry("unknown version");
  if (version == kJournalVersion) {
    entry = decode_version_2(r);
  } else if (version == kJournalVersion1) {
    entry = decode_version_1(r);
  }
  if (!entry.is_ok()) return entry;
  if (r.failed() || !r.at_end()) return corrupt_entry("truncated or malformed");
  return entry;
}

Status write_journal_rows(storage::Connection& connection, const JournalEntry& entry) {
  std::vector<Value> values;
  auto write = [&](std::string_view what, std::string_view table, std::string_view columns,
                   std::size_t column_count, std::string_view tail) -> Status {
    Status written = storage::insert_rows(
        connection, fmt::format("INSERT INTO {} ({})", table, columns), column_count, values, tail);
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

Status append_journal(storage::Connection& connection, Id sequence, std::string text) {
  std::array<Value, 2> params = {sequence, std::move(text)};
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
