#include "ledger/ledger_impl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iterator>
#include <map>

#include "common/limits.h"
#include "ledger/ledger_rows.h"

namespace station::ledger::internal {
namespace {

using storage::Value;

constexpr std::int64_t kMsPerHour = 3'600'000;

Status storage_failure(std::string_view what, const Status& cause) {
  return Status(ErrorCode::kStorageError, fmt::format("{}: {}", what, cause.to_string()));
}

Status unavailable() {
  return Status(ErrorCode::kUnavailable, "the ledger is shutting down or its queue is full");
}

std::optional<ErrorCode> parse_error_name(std::string_view name) {
  for (auto code = ErrorCode::kOk; code <= ErrorCode::kInternal;
       code = static_cast<ErrorCode>(static_cast<int>(code) + 1)) {
    if (error_name(code) == name) return code;
  }
  return std::nullopt;
}

// What an idempotency key is compared by: the caller's digest plus the money fields, so the
// same key reused for different money is caught whatever the caller's digest covers.
std::string full_fingerprint(const TransferRequest& request) {
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", transfer_phase_name(request.phase),
                     request.debit_account_id, request.credit_account_id, request.pending_id,
                     request.amount_minor,
                     request.currency ? request.currency->code() : std::string_view(),
                     request.timeout_seconds, request.fingerprint);
}

Status invalid(std::string message) {
  return Status(ErrorCode::kValidationFailed, std::move(message));
}

Status check_text(std::string_view field, const std::string& value, std::size_t bytes_max) {
  if (value.size() > bytes_max) {
    return invalid(fmt::format("{} must be at most {} bytes", field, bytes_max));
  }
  return Status::ok();
}

// Everything that can be checked without the ledger's state.
Status validate(const TransferRequest& request) {
  if (request.idempotency_key.empty() ||
      request.idempotency_key.size() > limits::kIdempotencyKeyBytesMax) {
    return Status(
        ErrorCode::kIdempotencyKeyInvalid,
        fmt::format("the idempotency key must be 1 to {} bytes", limits::kIdempotencyKeyBytesMax));
  }
  STATION_RETURN_IF_ERROR(
      check_text("fingerprint", request.fingerprint, limits::kFingerprintBytesMax));
  STATION_RETURN_IF_ERROR(
      check_text("category", request.category, limits::kTransferCategoryBytesMax));
  STATION_RETURN_IF_ERROR(check_text("reference", request.reference, limits::kReferenceBytesMax));
  STATION_RETURN_IF_ERROR(
      check_text("description", request.description, limits::kDescriptionBytesMax));
  if (!request.currency || !request.currency->is_set()) return invalid("currency is required");
  const Status amount_out_of_range(
      ErrorCode::kAmountOutOfRange,
      fmt::format("amount_minor must be between 1 and {}", limits::kTransferAmountMinorMax));
  switch (request.phase) {
    case TransferPhase::kSingle:
    case TransferPhase::kPending:
      if (request.debit_account_id == 0 || request.credit_account_id == 0) {
        return invalid("debit and credit accounts are required");
      }
      if (request.debit_account_id == request.credit_account_id) {
        return invalid("debit and credit accounts must differ");
      }
      if (request.pending_id != 0) return invalid("pending_id is for post and void only");
      if (request.amount_minor <= 0 || request.amount_minor > limits::kTransferAmountMinorMax) {
        return amount_out_of_range;
      }
      if (request.phase == TransferPhase::kSingle && request.timeout_seconds != 0) {
        return invalid("a timeout is for pending transfers only");
      }
      if (request.timeout_seconds > limits::kPendingTimeoutSecondsMax) {
        return invalid(
            fmt::format("timeout_seconds must be at most {}", limits::kPendingTimeoutSecondsMax));
      }
      return Status::ok();
    case TransferPhase::kPost:
    case TransferPhase::kVoid:
      if (request.pending_id == 0) return invalid("pending_id is required");
      if (request.debit_account_id != 0 || request.credit_account_id != 0) {
        return invalid("post and void take their accounts from the pending transfer");
      }
      if (request.timeout_seconds != 0) return invalid("a timeout is for pending transfers only");
      if (request.phase == TransferPhase::kVoid && request.amount_minor != 0) {
        return invalid("a void releases the whole pending amount and takes no amount");
      }
      if (request.amount_minor < 0 || request.amount_minor > limits::kTransferAmountMinorMax) {
        return amount_out_of_range;
      }
      return Status::ok();
    case TransferPhase::kExpire:
      return invalid("only the ledger expires pending transfers");
  }
  return invalid("unknown phase");
}

Status validate(const AccountSpec& spec) {
  if (spec.id < 0) return invalid("an account id is positive (or 0 to have one assigned)");
  if (!spec.currency.is_set()) return invalid("currency is required");
  STATION_RETURN_IF_ERROR(check_text("code", spec.code, limits::kAccountCodeBytesMax));
  if (spec.floor_minor && *spec.floor_minor > 0) {
    return invalid("a floor is at most 0: a new account starts with a zero balance");
  }
  return Status::ok();
}

std::size_t bucket_index(std::span<const std::uint64_t> bounds, std::uint64_t value) {
  auto it = std::lower_bound(bounds.begin(), bounds.end(), value);
  return static_cast<std::size_t>(it - bounds.begin());
}

}  // namespace

// A transfer's effect on its two accounts: `move_minor` goes from the debit account's balance to
// the credit account's; `reserve_minor` is added to both pending totals (negative: released).
struct LedgerImpl::Movement {
  std::int64_t move_minor = 0;
  std::int64_t reserve_minor = 0;
};

struct LedgerImpl::Decision {
  Status status;
  std::optional<Transfer> transfer;  // TransferWork: made or replayed; ExpireWork: made
  std::optional<Account> account;    // AccountWork: created
  bool replayed = false;
};

struct LedgerImpl::Batch {
  struct StagedAccount {
    Account account;
    bool created = false;  // inserted by this batch (else its balances are updated)
  };

  Batch(std::int64_t now, std::vector<Work> items) : now_ms(now), work(std::move(items)) {}

  const std::int64_t now_ms;  // business time of every row the batch writes
  std::vector<Work> work;
  std::vector<Decision> decisions;  // one per work item, in order

  // Staged: final values after the batch; written by its transaction, published after commit.
  std::unordered_map<Id, StagedAccount> accounts;
  std::unordered_map<std::string, Id> created_codes;
  std::unordered_map<Id, Transfer> transfers;  // new rows, and earlier pending rows resolved
  std::vector<Id> new_transfer_ids;            // in creation order
  std::vector<Id> resolved_pending_ids;        // committed before this batch
  std::unordered_map<std::string, KeyRecord> keys;
  std::vector<std::string> new_keys;  // in decision order

  // E.g. only replays. Attached writes run only beside a new account or transfer.
  bool writes_nothing() const { return accounts.empty() && transfers.empty() && keys.empty(); }

  void stage_account(const Account& account) {
    // A new entry is an update of a committed account; an existing one keeps its `created`.
    accounts.try_emplace(account.id).first->second.account = account;
  }
};

// ---- Opening and closing

LedgerImpl::LedgerImpl(storage::Database& database, const Clock& clock, IdGenerator& ids,
                       LedgerOptions options)
    : database_(database),
      clock_(clock),
      ids_(ids),
      options_(options),
      retention_ms_(static_cast<std::int64_t>(options.idempotency_retention_hours) * kMsPerHour),
      batch_size_buckets_(batch_size_bucket_bounds().size() + 1),
      commit_latency_us_buckets_(commit_latency_bucket_bounds_us().size() + 1) {}

Result<std::unique_ptr<LedgerImpl>> LedgerImpl::open(storage::Database& database,
                                                     const Clock& clock, IdGenerator& ids,
                                                     LedgerOptions options) {
  if (options.queue_depth_max == 0 || options.queue_depth_max > limits::kLedgerQueueDepthMax) {
    return invalid(fmt::format("queue_depth_max must be 1 to {}", limits::kLedgerQueueDepthMax));
  }
  if (options.batch_transfers_max == 0 ||
      options.batch_transfers_max > limits::kLedgerBatchTransfersMax) {
    return invalid(
        fmt::format("batch_transfers_max must be 1 to {}", limits::kLedgerBatchTransfersMax));
  }
  if (options.idempotency_retention_hours < limits::kIdempotencyRetentionHoursMin) {
    return invalid(fmt::format("idempotency retention must be at least {} hours",
                               limits::kIdempotencyRetentionHoursMin));
  }
  std::unique_ptr<LedgerImpl> ledger(new LedgerImpl(database, clock, ids, options));
  STATION_RETURN_IF_ERROR(ledger->load());
  ledger->writer_ = std::thread([raw = ledger.get()] { raw->run_writer(); });
  return ledger;
}

Status LedgerImpl::load() {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const std::int64_t now_ms = clock_.now_unix_ms();

  // Records past their retention are forgotten first, so a key that comes back after it is a
  // fresh key in memory and on disk alike.
  std::array<Value, 1> cutoff = {now_ms - retention_ms_};
  STATION_RETURN_IF_ERROR(
      connection->execute("DELETE FROM idempotency WHERE created_at_ms < ?", cutoff));

  STATION_ASSIGN_OR_RETURN(auto account_rows, connection->query(fmt::format(
                                                  "SELECT {} FROM accounts", kAccountColumns)));
  for (const auto& row : account_rows) {
    STATION_ASSIGN_OR_RETURN(auto account, account_from_row(row));
    if (!account.code.empty()) account_ids_by_code_.emplace(account.code, account.id);
    ids_.observe(account.id);
    accounts_.emplace(account.id, std::move(account));
  }

  std::array<Value, 2> open_pending = {std::string(transfer_phase_name(TransferPhase::kPending)),
                                       std::string(transfer_state_name(TransferState::kPending))};
  STATION_ASSIGN_OR_RETURN(
      auto pending_rows,
      connection->query(
          fmt::format("SELECT {} FROM transfers WHERE phase = ? AND state = ?", kTransferColumns),
          open_pending));
  for (const auto& row : pending_rows) {
    STATION_ASSIGN_OR_RETURN(auto transfer, transfer_from_row(row));
    if (transfer.expires_at_ms) deadlines_.emplace(*transfer.expires_at_ms, transfer.id);
    open_pendings_.emplace(transfer.id, std::move(transfer));
  }

  STATION_ASSIGN_OR_RETURN(
      auto key_rows,
      connection->query(fmt::format("SELECT {} FROM idempotency ORDER BY created_at_ms, key",
                                    kIdempotencyColumns)));
  for (const auto& row : key_rows) {
    KeyRecord record;
    record.fingerprint = row.text_at(1);
    record.transfer_id = row.int_or(2, 0);
    if (record.transfer_id == 0) {
      auto code = parse_error_name(row.text_or(3, ""));
      if (!code || !is_business_refusal(*code)) {
        return Status(
            ErrorCode::kInternal,
            fmt::format("idempotency record {}: neither a transfer nor a refusal", row.text_at(0)));
      }
      record.refusal = *code;
      record.refusal_detail = row.text_or(4, "");
    }
    record.created_at_ms = row.int_at(5);
    key_ages_.emplace_back(record.created_at_ms, row.text_at(0));
    keys_.emplace(row.text_at(0), std::move(record));
  }

  STATION_ASSIGN_OR_RETURN(auto max_rows, connection->query("SELECT MAX(id) FROM transfers"));
  if (!max_rows.empty()) ids_.observe(max_rows[0].int_or(0, 0));

  idempotency_records_ = keys_.size();
  pending_transfers_ = open_pendings_.size();
  next_prune_at_ms_ = now_ms + limits::kIdempotencyPruneIntervalMs;
  // The database is outside this program's control: a ledger that does not balance on disk is
  // refused here (an operating error), so the assertions after each batch only ever catch bugs.
  if (auto broken = find_broken_invariant()) {
    return Status(ErrorCode::kInternal,
                  fmt::format("the stored ledger is inconsistent ({}); run `station admin ledger "
                              "check` for details",
                              *broken));
  }
  return Status::ok();
}

LedgerImpl::~LedgerImpl() { shutdown(); }

void LedgerImpl::shutdown() {
  std::call_once(shutdown_once_, [this] {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  });
}

// ---- Callers

bool LedgerImpl::enqueue(Work& work) {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_ || queue_.size() >= options_.queue_depth_max) return false;
    queue_.push_back(std::move(work));
  }
  queue_cv_.notify_one();
  return true;
}

void LedgerImpl::submit(TransferRequest request, TransferCallback done) {
  assert(done && "submit() needs a callback");
  if (Status invalid_request = validate(request); !invalid_request.is_ok()) {
    ++transfers_refused_;
    return done(TransferOutcome{std::move(invalid_request), std::nullopt, false});
  }
  Work work = TransferWork{std::move(request), std::move(done)};
  if (!enqueue(work)) {
    ++transfers_refused_;
    std::get<TransferWork>(work).done(TransferOutcome{unavailable(), std::nullopt, false});
  }
}

void LedgerImpl::create_account(AccountSpec spec, AccountWrite attached_write,
                                AccountCallback done) {
  assert(done && "create_account() needs a callback");
  if (Status invalid_spec = validate(spec); !invalid_spec.is_ok()) {
    return done(std::move(invalid_spec));
  }
  Work work = AccountWork{std::move(spec), std::move(attached_write), std::move(done)};
  if (!enqueue(work)) std::get<AccountWork>(work).done(unavailable());
}

Status LedgerImpl::expire_due_now() {
  // Each round expires up to kLedgerExpiriesPerBatchMax, so this ends once the due ones are gone.
  for (;;) {
    std::promise<std::pair<Status, bool>> answer;
    auto future = answer.get_future();
    Work work = SweepWork{[&answer](Status status, bool all_due_expired) {
      answer.set_value({std::move(status), all_due_expired});
    }};
    if (!enqueue(work)) return unavailable();
    auto [status, all_due_expired] = future.get();
    if (!status.is_ok() || all_due_expired) return status;
  }
}

std::optional<Account> LedgerImpl::account(Id id) const {
  std::shared_lock lock(state_mutex_);
  auto it = accounts_.find(id);
  if (it == accounts_.end()) return std::nullopt;
  return it->second;
}

std::optional<Account> LedgerImpl::account_by_code(std::string_view code) const {
  std::shared_lock lock(state_mutex_);
  auto it = account_ids_by_code_.find(std::string(code));
  if (it == account_ids_by_code_.end()) return std::nullopt;
  return accounts_.at(it->second);
}

LedgerStats LedgerImpl::stats() const {
  LedgerStats stats;
  stats.transfers_committed = transfers_committed_;
  stats.transfers_refused = transfers_refused_;
  stats.transfers_replayed = transfers_replayed_;
  stats.batches_committed = batches_committed_;
  stats.batch_commit_failures = batch_commit_failures_;
  stats.idempotency_records = idempotency_records_;
  stats.pending_transfers = pending_transfers_;
  {
    std::lock_guard lock(queue_mutex_);
    stats.queue_depth = queue_.size();
  }
  std::lock_guard lock(histogram_mutex_);
  stats.batch_size_buckets = batch_size_buckets_;
  stats.commit_latency_us_buckets = commit_latency_us_buckets_;
  stats.batch_size_sum = batch_size_sum_;
  stats.commit_latency_us_sum = commit_latency_us_sum_;
  return stats;
}

void LedgerImpl::count_batch(std::size_t size, std::uint64_t commit_latency_us) {
  ++batches_committed_;
  std::lock_guard lock(histogram_mutex_);
  ++batch_size_buckets_[bucket_index(batch_size_bucket_bounds(), size)];
  ++commit_latency_us_buckets_[bucket_index(commit_latency_bucket_bounds_us(), commit_latency_us)];
  batch_size_sum_ += size;
  commit_latency_us_sum_ += commit_latency_us;
}

// ---- The writer

void LedgerImpl::run_writer() {
  bool more_due = false;
  for (;;) {
    std::vector<Work> queued;
    bool last_round = false;
    {
      std::unique_lock lock(queue_mutex_);
      if (!more_due) {
        queue_cv_.wait_for(lock, std::chrono::milliseconds(limits::kLedgerWriterWakeMs),
                           [this] { return !queue_.empty() || stopping_; });
      }
      const std::size_t count = std::min(queue_.size(), options_.batch_transfers_max);
      queued.reserve(count);
      for (std::size_t i = 0; i < count; ++i) {
        queued.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      last_round = stopping_ && queue_.empty();
    }
    const std::int64_t now_ms = clock_.now_unix_ms();
    // Pruning first: a batch answered after it (e.g. expire_due_now()'s) has seen it done.
    if (now_ms >= next_prune_at_ms_) prune_idempotency(now_ms);
    // Expiries go first, so a post arriving after the deadline finds the transfer expired.
    std::vector<Work> work = take_due_expiries(now_ms, &more_due);
    std::move(queued.begin(), queued.end(), std::back_inserter(work));
    if (!work.empty()) process(std::move(work), now_ms);
    if (last_round) return;
  }
}

std::vector<LedgerImpl::Work> LedgerImpl::take_due_expiries(std::int64_t now_ms, bool* more_due) {
  std::vector<Work> expiries;
  while (!deadlines_.empty() && deadlines_.top().first <= now_ms &&
         expiries.size() < limits::kLedgerExpiriesPerBatchMax) {
    auto [expires_at_ms, pending_id] = deadlines_.top();
    deadlines_.pop();
    // Deadlines of transfers posted or voided meanwhile are dropped here, lazily.
    auto it = open_pendings_.find(pending_id);
    if (it == open_pendings_.end() || it->second.expires_at_ms != expires_at_ms) continue;
    expiries.emplace_back(ExpireWork{pending_id, expires_at_ms});
  }
  *more_due = has_due_deadline(now_ms);
  return expiries;
}

bool LedgerImpl::has_due_deadline(std::int64_t now_ms) const {
  return !deadlines_.empty() && deadlines_.top().first <= now_ms;
}

void LedgerImpl::process(std::vector<Work> work, std::int64_t now_ms) {
  Batch batch(now_ms, std::move(work));
  auto started = std::chrono::steady_clock::now();
  Status written;
  {
    auto lease = database_.acquire();
    if (!lease.is_ok()) {
      // No connection (pool exhausted or database down): retrying alone would only wait again.
      return fail(batch, Status(ErrorCode::kUnavailable, "no database connection for the ledger: " +
                                                             lease.status().to_string()));
    }
    written = decide_and_persist(batch, **lease);
  }  // the lease goes back before any retry takes one
  if (written.is_ok()) {
    auto latency = std::chrono::steady_clock::now() - started;
    count_batch(batch.work.size(),
                static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
    publish(batch);
    answer(batch);
    return;
  }
  if (batch.work.size() == 1) return fail(batch, written);
  // Memory is untouched: redo each item alone, so only the bad one fails.
  ++batch_commit_failures_;
  for (auto& item : batch.work) {
    std::vector<Work> alone;
    alone.push_back(std::move(item));
    process(std::move(alone), now_ms);
  }
}

Status LedgerImpl::decide_and_persist(Batch& batch, storage::Connection& connection) {
  batch.decisions.reserve(batch.work.size());
  for (auto& item : batch.work) batch.decisions.push_back(decide(batch, connection, item));
  if (batch.writes_nothing()) return Status::ok();

  auto transaction = storage::Transaction::begin(connection);
  if (!transaction.is_ok()) return storage_failure("ledger batch begin", transaction.status());
  std::vector<Value> values;
  // Writes what was appended to `values` as rows of `table`, then empties it.
  auto write = [&](std::string_view what, std::string_view table, std::string_view columns,
                   std::size_t column_count, std::string_view tail) -> Status {
    Status written = insert_rows(connection, fmt::format("INSERT INTO {} ({})", table, columns),
                                 column_count, values, tail);
    values.clear();
    return written.is_ok() ? written : storage_failure(what, written);
  };

  for (const auto& [id, staged] : batch.accounts) {
    if (staged.created) append_account_values(staged.account, values);
  }
  STATION_RETURN_IF_ERROR(
      write("ledger batch: new accounts", "accounts", kAccountColumns, kAccountColumnCount, ""));
  for (const auto& [id, staged] : batch.accounts) {
    if (!staged.created) append_account_values(staged.account, values);
  }
  // An upsert updates many rows in one statement on both engines; every one of these rows
  // exists, so only the DO UPDATE part ever runs.
  STATION_RETURN_IF_ERROR(write("ledger batch: balances", "accounts", kAccountColumns,
                                kAccountColumnCount,
                                " ON CONFLICT (id) DO UPDATE SET "
                                "balance_minor = excluded.balance_minor, "
                                "pending_debit_minor = excluded.pending_debit_minor, "
                                "pending_credit_minor = excluded.pending_credit_minor"));
  for (Id id : batch.new_transfer_ids) append_transfer_values(batch.transfers.at(id), values);
  STATION_RETURN_IF_ERROR(
      write("ledger batch: transfers", "transfers", kTransferColumns, kTransferColumnCount, ""));
  for (Id id : batch.resolved_pending_ids) append_transfer_values(batch.transfers.at(id), values);
  STATION_RETURN_IF_ERROR(write("ledger batch: resolved pending transfers", "transfers",
                                kTransferColumns, kTransferColumnCount,
                                " ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                                "resolved_at_ms = excluded.resolved_at_ms"));
  for (const auto& key : batch.new_keys) {
    const KeyRecord& record = batch.keys.at(key);
    const bool refusal = record.transfer_id == 0;
    values.emplace_back(key);
    values.emplace_back(record.fingerprint);
    values.emplace_back(refusal ? Value(nullptr) : Value(record.transfer_id));
    values.emplace_back(refusal ? Value(std::string(error_name(record.refusal))) : Value(nullptr));
    values.emplace_back(refusal ? Value(record.refusal_detail) : Value(nullptr));
    values.emplace_back(record.created_at_ms);
  }
  STATION_RETURN_IF_ERROR(write("ledger batch: idempotency records", "idempotency",
                                kIdempotencyColumns, kIdempotencyColumnCount, ""));

  // The callers' own rows, in request order; their errors are theirs, passed on unchanged.
  for (std::size_t i = 0; i < batch.work.size(); ++i) {
    const Decision& decision = batch.decisions[i];
    if (auto* transfer_work = std::get_if<TransferWork>(&batch.work[i])) {
      if (decision.status.is_ok() && !decision.replayed && transfer_work->request.attached_write) {
        STATION_RETURN_IF_ERROR(
            transfer_work->request.attached_write(connection, *decision.transfer));
      }
    } else if (auto* account_work = std::get_if<AccountWork>(&batch.work[i])) {
      if (decision.account && account_work->attached_write) {
        STATION_RETURN_IF_ERROR(account_work->attached_write(connection, *decision.account));
      }
    }
  }
  if (Status s = transaction->commit(); !s.is_ok()) {
    return storage_failure("ledger batch commit", s);
  }
  return Status::ok();
}

void LedgerImpl::publish(Batch& batch) {
  {
    std::unique_lock lock(state_mutex_);
    for (auto& [id, staged] : batch.accounts) {
      if (staged.created && !staged.account.code.empty()) {
        account_ids_by_code_.emplace(staged.account.code, id);
      }
      accounts_.insert_or_assign(id, std::move(staged.account));
    }
  }
  for (auto& [id, transfer] : batch.transfers) {
    if (transfer.phase != TransferPhase::kPending) continue;
    if (transfer.state == TransferState::kPending) {
      if (transfer.expires_at_ms) deadlines_.emplace(*transfer.expires_at_ms, id);
      open_pendings_.insert_or_assign(id, std::move(transfer));
    } else {
      open_pendings_.erase(id);
    }
  }
  for (auto& key : batch.new_keys) {
    auto& record = batch.keys.at(key);
    key_ages_.emplace_back(record.created_at_ms, key);
    keys_.insert_or_assign(key, std::move(record));
  }
  idempotency_records_ = keys_.size();
  pending_transfers_ = open_pendings_.size();
  assert_invariants();
}

void LedgerImpl::answer(Batch& batch) {
  for (std::size_t i = 0; i < batch.work.size(); ++i) {
    Decision& decision = batch.decisions[i];
    if (auto* transfer_work = std::get_if<TransferWork>(&batch.work[i])) {
      if (decision.replayed) {
        ++transfers_replayed_;
      } else if (decision.status.is_ok()) {
        ++transfers_committed_;
      } else {
        ++transfers_refused_;
      }
      transfer_work->done(TransferOutcome{std::move(decision.status), std::move(decision.transfer),
                                          decision.replayed});
    } else if (auto* account_work = std::get_if<AccountWork>(&batch.work[i])) {
      if (decision.account) {
        account_work->done(std::move(*decision.account));
      } else {
        account_work->done(std::move(decision.status));
      }
    } else if (std::holds_alternative<ExpireWork>(batch.work[i])) {
      if (decision.transfer) ++transfers_committed_;
    } else {
      std::get<SweepWork>(batch.work[i]).done(Status::ok(), !has_due_deadline(batch.now_ms));
    }
  }
}

void LedgerImpl::fail(Batch& batch, const Status& status) {
  assert(!status.is_ok());
  for (auto& item : batch.work) {
    if (auto* transfer_work = std::get_if<TransferWork>(&item)) {
      ++transfers_refused_;
      transfer_work->done(TransferOutcome{status, std::nullopt, false});
    } else if (auto* account_work = std::get_if<AccountWork>(&item)) {
      account_work->done(status);
    } else if (auto* expiry = std::get_if<ExpireWork>(&item)) {
      deadlines_.emplace(expiry->expires_at_ms, expiry->pending_id);  // tried again later
    } else {
      std::get<SweepWork>(item).done(status, false);
    }
  }
}

void LedgerImpl::prune_idempotency(std::int64_t now_ms) {
  const std::int64_t cutoff_ms = now_ms - retention_ms_;
  std::vector<Value> expired_keys;
  for (const auto& [created_at_ms, key] : key_ages_) {
    if (created_at_ms >= cutoff_ms || expired_keys.size() >= limits::kIdempotencyPruneKeysMax) {
      break;
    }
    expired_keys.emplace_back(key);
  }
  next_prune_at_ms_ = now_ms + limits::kIdempotencyPruneIntervalMs;
  if (expired_keys.empty()) return;

  auto deleted = [&]() -> Status {
    STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
    STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
    std::string sql = "DELETE FROM idempotency WHERE key IN (?";
    for (std::size_t i = 1; i < expired_keys.size(); ++i) sql += ", ?";
    sql += ")";
    STATION_RETURN_IF_ERROR(connection->execute(sql, expired_keys));
    return transaction.commit();
  }();
  if (!deleted.is_ok()) return;  // kept in memory and on disk alike; tried again next interval

  for (std::size_t i = 0; i < expired_keys.size(); ++i) {
    assert(keys_.at(key_ages_.front().second).created_at_ms == key_ages_.front().first);
    keys_.erase(key_ages_.front().second);
    key_ages_.pop_front();
  }
  idempotency_records_ = keys_.size();
  // More expired records than one pass takes: go again at the next wake.
  if (!key_ages_.empty() && key_ages_.front().first < cutoff_ms) next_prune_at_ms_ = now_ms;
}

std::optional<std::string> LedgerImpl::find_broken_invariant() const {
  __extension__ typedef __int128 Wide;                              // sums of many int64 values
  std::map<std::string_view, Wide> balance_sums;                    // per currency
  std::unordered_map<Id, std::pair<Wide, Wide>> open_pending_sums;  // per account: out, in
  for (const auto& [id, pending] : open_pendings_) {
    auto debit = accounts_.find(pending.debit_account_id);
    auto credit = accounts_.find(pending.credit_account_id);
    if (debit == accounts_.end() || credit == accounts_.end()) {
      return fmt::format("pending transfer {} names a missing account", id);
    }
    if (pending.state != TransferState::kPending || pending.amount_minor <= 0) {
      return fmt::format("pending transfer {} is not open", id);
    }
    open_pending_sums[pending.debit_account_id].first += pending.amount_minor;
    open_pending_sums[pending.credit_account_id].second += pending.amount_minor;
  }
  for (const auto& [id, account] : accounts_) {
    balance_sums[account.currency.code()] += account.balance_minor;
    auto [pending_out, pending_in] = open_pending_sums[id];
    if (pending_out != account.pending_debit_minor || pending_in != account.pending_credit_minor) {
      return fmt::format("account {}: pending totals {}/{} differ from its open transfers", id,
                         account.pending_debit_minor, account.pending_credit_minor);
    }
    if (account.floor_minor &&
        Wide{account.balance_minor} - account.pending_debit_minor < *account.floor_minor) {
      return fmt::format("account {} is below its floor {}", id, *account.floor_minor);
    }
  }
  for (const auto& [currency, sum] : balance_sums) {
    if (sum != 0) return fmt::format("{} balances do not sum to zero", currency);
  }
  if (keys_.size() != key_ages_.size()) return std::string("idempotency index out of step");
  return std::nullopt;
}

void LedgerImpl::assert_invariants() const {
#ifndef NDEBUG
  if (auto broken = find_broken_invariant()) {
    std::fprintf(stderr, "ledger invariant broken after a batch: %s\n", broken->c_str());
    std::abort();
  }
#endif
}

// ---- Deciding

LedgerImpl::Decision LedgerImpl::decide(Batch& batch, storage::Connection& connection, Work& work) {
  if (auto* transfer_work = std::get_if<TransferWork>(&work)) {
    return decide_transfer(batch, connection, transfer_work->request);
  }
  if (auto* account_work = std::get_if<AccountWork>(&work)) {
    return decide_account(batch, account_work->spec);
  }
  if (auto* expiry = std::get_if<ExpireWork>(&work)) return decide_expiry(batch, *expiry);
  return Decision{};  // a sweep only waits for its batch
}

LedgerImpl::Decision LedgerImpl::decide_transfer(Batch& batch, storage::Connection& connection,
                                                 const TransferRequest& request) {
  std::string fingerprint = full_fingerprint(request);
  if (const KeyRecord* record = find_key(batch, request.idempotency_key)) {
    if (record->fingerprint != fingerprint) {
      return Decision{Status(ErrorCode::kIdempotencyKeyReused,
                             "this idempotency key was used for a different request")};
    }
    return replay(batch, connection, *record);
  }
  auto made = make_transfer(batch, connection, request);
  // Business refusals are decided outcomes: stored, so a retry replays them. Other errors
  // (validation against state, storage) leave the key free.
  if (!made.is_ok() && !is_business_refusal(made.status().code())) {
    return Decision{made.status()};
  }
  KeyRecord record;
  record.fingerprint = std::move(fingerprint);
  record.created_at_ms = batch.now_ms;
  if (made.is_ok()) {
    record.transfer_id = made->id;
  } else {
    record.refusal = made.status().code();
    record.refusal_detail = made.status().message();
  }
  batch.keys.emplace(request.idempotency_key, std::move(record));
  batch.new_keys.push_back(request.idempotency_key);
  if (!made.is_ok()) return Decision{made.status()};
  return Decision{Status::ok(), std::move(made).value()};
}

LedgerImpl::Decision LedgerImpl::replay(Batch& batch, storage::Connection& connection,
                                        const KeyRecord& record) {
  if (record.transfer_id == 0) {
    return Decision{Status(record.refusal, record.refusal_detail), std::nullopt, std::nullopt,
                    true};
  }
  auto transfer = load_transfer(batch, connection, record.transfer_id);
  if (!transfer.is_ok()) return Decision{transfer.status()};
  return Decision{Status::ok(), std::move(transfer).value(), std::nullopt, true};
}

Result<Transfer> LedgerImpl::make_transfer(Batch& batch, storage::Connection& connection,
                                           const TransferRequest& request) {
  Transfer row;
  row.phase = request.phase;
  row.currency = std::string(request.currency->code());
  row.category = request.category;
  row.reference = request.reference;
  row.description = request.description;
  row.idempotency_key = request.idempotency_key;

  if (request.phase == TransferPhase::kSingle || request.phase == TransferPhase::kPending) {
    row.state =
        request.phase == TransferPhase::kSingle ? TransferState::kPosted : TransferState::kPending;
    row.debit_account_id = request.debit_account_id;
    row.credit_account_id = request.credit_account_id;
    row.amount_minor = request.amount_minor;
    if (request.phase == TransferPhase::kPending && request.timeout_seconds > 0) {
      row.expires_at_ms = batch.now_ms + std::int64_t{request.timeout_seconds} * 1000;
    }
    Movement movement = request.phase == TransferPhase::kSingle ? Movement{request.amount_minor, 0}
                                                                : Movement{0, request.amount_minor};
    return stage_transfer(batch, std::move(row), movement, nullptr, TransferState::kPending);
  }

  assert(request.phase == TransferPhase::kPost || request.phase == TransferPhase::kVoid);
  STATION_ASSIGN_OR_RETURN(const Transfer* pending,
                           find_open_pending(batch, connection, request.pending_id));
  if (pending->expires_at_ms && *pending->expires_at_ms <= batch.now_ms) {
    // Due but not yet expired by the writer: business time says it is over.
    return Status(ErrorCode::kPendingTransferResolved, "the pending transfer has expired");
  }
  if (request.amount_minor > pending->amount_minor) {
    return Status(ErrorCode::kAmountOutOfRange,
                  fmt::format("a post is at most the pending amount, {}", pending->amount_minor));
  }
  row.pending_id = pending->id;
  row.debit_account_id = pending->debit_account_id;
  row.credit_account_id = pending->credit_account_id;
  if (row.category.empty()) row.category = pending->category;
  if (row.reference.empty()) row.reference = pending->reference;
  if (row.description.empty()) row.description = pending->description;
  if (request.phase == TransferPhase::kPost) {
    row.state = TransferState::kPosted;
    row.amount_minor = request.amount_minor == 0 ? pending->amount_minor : request.amount_minor;
    const Movement post{row.amount_minor, -pending->amount_minor};
    return stage_transfer(batch, std::move(row), post, pending, TransferState::kPosted);
  }
  row.state = TransferState::kVoided;
  row.amount_minor = pending->amount_minor;
  const Movement release{0, -pending->amount_minor};
  return stage_transfer(batch, std::move(row), release, pending, TransferState::kVoided);
}

LedgerImpl::Decision LedgerImpl::decide_expiry(Batch& batch, const ExpireWork& expiry) {
  auto it = open_pendings_.find(expiry.pending_id);
  // Resolved meanwhile (by an earlier batch, or earlier in this one): nothing to expire.
  if (it == open_pendings_.end() || batch.transfers.contains(expiry.pending_id)) return Decision{};
  const Transfer& pending = it->second;
  Transfer row;
  row.phase = TransferPhase::kExpire;
  row.state = TransferState::kExpired;
  row.pending_id = pending.id;
  row.debit_account_id = pending.debit_account_id;
  row.credit_account_id = pending.credit_account_id;
  row.amount_minor = pending.amount_minor;
  row.currency = pending.currency;
  row.category = pending.category;
  row.reference = pending.reference;
  row.description = pending.description;
  row.idempotency_key = fmt::format("expire:{}", pending.id);
  const Movement release{0, -pending.amount_minor};
  auto made = stage_transfer(batch, std::move(row), release, &pending, TransferState::kExpired);
  assert(made.is_ok() && "releasing a reservation cannot be refused");
  if (!made.is_ok()) return Decision{made.status()};
  return Decision{Status::ok(), std::move(made).value()};
}

Result<Transfer> LedgerImpl::stage_transfer(Batch& batch, Transfer row, const Movement& movement,
                                            const Transfer* pending, TransferState pending_state) {
  const Account* debit = find_account(batch, row.debit_account_id);
  const Account* credit = find_account(batch, row.credit_account_id);
  if (debit == nullptr || credit == nullptr) {
    return Status(ErrorCode::kAccountNotFound,
                  fmt::format("no account {}",
                              debit == nullptr ? row.debit_account_id : row.credit_account_id));
  }
  if (debit->currency.code() != row.currency || credit->currency.code() != row.currency) {
    return Status(ErrorCode::kCurrencyMismatch,
                  fmt::format("the accounts hold {} and {}, not {}", debit->currency.code(),
                              credit->currency.code(), row.currency));
  }

  Account new_debit = *debit;
  Account new_credit = *credit;
  auto debit_balance = checked_sub(debit->balance_minor, movement.move_minor);
  auto debit_pending = checked_add(debit->pending_debit_minor, movement.reserve_minor);
  auto credit_balance = checked_add(credit->balance_minor, movement.move_minor);
  auto credit_pending = checked_add(credit->pending_credit_minor, movement.reserve_minor);
  std::optional<std::int64_t> available_after;
  if (debit_balance && debit_pending) available_after = checked_sub(*debit_balance, *debit_pending);
  // Only a movement that lowers the available balance can be refused for it.
  const bool lowers_available = movement.move_minor + movement.reserve_minor > 0;
  if (lowers_available && debit->floor_minor && available_after &&
      *available_after < *debit->floor_minor) {
    return Status(ErrorCode::kInsufficientFunds,
                  fmt::format("account {} has {} available above its floor, {} is needed",
                              debit->id, debit->available_minor() - *debit->floor_minor,
                              movement.move_minor + movement.reserve_minor));
  }
  if (!debit_balance || !debit_pending || !credit_balance || !credit_pending || !available_after) {
    return Status(ErrorCode::kOverflow, "a balance would leave the representable range");
  }
  // After this point the transfer must succeed: stage it.
  assert(*debit_pending >= 0 && *credit_pending >= 0);
  new_debit.balance_minor = *debit_balance;
  new_debit.pending_debit_minor = *debit_pending;
  new_credit.balance_minor = *credit_balance;
  new_credit.pending_credit_minor = *credit_pending;

  row.id = ids_.next();
  row.created_at_ms = batch.now_ms;
  row.debit_balance_after_minor = new_debit.balance_minor;
  row.credit_balance_after_minor = new_credit.balance_minor;

  if (pending != nullptr) {
    auto staged = batch.transfers.find(pending->id);
    if (staged == batch.transfers.end()) {
      staged = batch.transfers.emplace(pending->id, *pending).first;
      batch.resolved_pending_ids.push_back(pending->id);
    }
    assert(staged->second.state == TransferState::kPending);
    staged->second.state = pending_state;
    staged->second.resolved_at_ms = batch.now_ms;
  }
  batch.stage_account(new_debit);
  batch.stage_account(new_credit);
  batch.transfers.emplace(row.id, row);
  batch.new_transfer_ids.push_back(row.id);
  return row;
}

LedgerImpl::Decision LedgerImpl::decide_account(Batch& batch, const AccountSpec& spec) {
  if (spec.id != 0 && find_account(batch, spec.id) != nullptr) {
    return Decision{Status(ErrorCode::kConflict, fmt::format("account {} exists", spec.id))};
  }
  if (!spec.code.empty() && code_taken(batch, spec.code)) {
    return Decision{
        Status(ErrorCode::kConflict, fmt::format("an account with code {} exists", spec.code))};
  }
  Account account;
  if (spec.id != 0) {
    ids_.observe(spec.id);
    account.id = spec.id;
  } else {
    account.id = ids_.next();
  }
  account.kind = spec.kind;
  account.code = spec.code;
  account.currency = spec.currency;
  account.floor_minor = spec.floor_minor;
  account.created_at_ms = batch.now_ms;
  if (!account.code.empty()) batch.created_codes.emplace(account.code, account.id);
  batch.accounts.emplace(account.id, Batch::StagedAccount{account, true});
  return Decision{Status::ok(), std::nullopt, std::move(account)};
}

// ---- Lookups: the batch's staged state first, then the committed state

const Account* LedgerImpl::find_account(const Batch& batch, Id id) const {
  if (auto staged = batch.accounts.find(id); staged != batch.accounts.end()) {
    return &staged->second.account;
  }
  // The writer is the only thread that changes accounts_, so it reads without the lock.
  auto committed = accounts_.find(id);
  return committed == accounts_.end() ? nullptr : &committed->second;
}

bool LedgerImpl::code_taken(const Batch& batch, const std::string& code) const {
  return batch.created_codes.contains(code) || account_ids_by_code_.contains(code);
}

const LedgerImpl::KeyRecord* LedgerImpl::find_key(const Batch& batch,
                                                  const std::string& key) const {
  if (auto staged = batch.keys.find(key); staged != batch.keys.end()) return &staged->second;
  auto committed = keys_.find(key);
  return committed == keys_.end() ? nullptr : &committed->second;
}

Result<const Transfer*> LedgerImpl::find_open_pending(const Batch& batch,
                                                      storage::Connection& connection,
                                                      Id pending_id) {
  const Status not_found(ErrorCode::kPendingTransferNotFound,
                         fmt::format("no pending transfer {}", pending_id));
  const Status resolved(ErrorCode::kPendingTransferResolved,
                        fmt::format("pending transfer {} is already resolved", pending_id));
  if (auto staged = batch.transfers.find(pending_id); staged != batch.transfers.end()) {
    if (staged->second.phase != TransferPhase::kPending) return not_found;
    if (staged->second.state != TransferState::kPending) return resolved;
    return &staged->second;
  }
  if (auto open = open_pendings_.find(pending_id); open != open_pendings_.end()) {
    return &open->second;
  }
  // Not open: resolved earlier, or not a pending transfer at all. Rare, so asked of the database.
  auto stored = get_transfer(connection, pending_id);
  if (!stored.is_ok()) {
    if (stored.status().code() == ErrorCode::kNotFound) return not_found;
    return storage_failure("looking up a pending transfer", stored.status());
  }
  if (stored->phase != TransferPhase::kPending) return not_found;
  if (stored->state == TransferState::kPending) {
    return Status(ErrorCode::kInternal,
                  fmt::format("pending transfer {} is open on disk but not in memory", pending_id));
  }
  return resolved;
}

Result<Transfer> LedgerImpl::load_transfer(const Batch& batch, storage::Connection& connection,
                                           Id id) {
  if (auto staged = batch.transfers.find(id); staged != batch.transfers.end()) {
    return staged->second;
  }
  if (auto open = open_pendings_.find(id); open != open_pendings_.end()) return open->second;
  auto stored = get_transfer(connection, id);
  if (!stored.is_ok()) return storage_failure("loading a replayed transfer", stored.status());
  return stored;
}

}  // namespace station::ledger::internal
