#include "ledger/ledger_impl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <tuple>

#include "common/limits.h"
#include "ledger/ledger_journal.h"
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
// A transfer's effect on its two accounts: `move_minor` goes from the debit account's balance to
// the credit account's; `reserve_minor` is added to both pending totals (negative: released).
struct LedgerImpl::Movement {
  std::int64_t move_minor = 0;
  std::int64_t reserve_minor = 0;
};

struct LedgerImpl::Decision {
  Status status;
  std::optional<Transfer> transfer;  // ExpireWork: made
  std::optional<Account> account;    // AccountWork: created
};

struct LedgerImpl::Batch {
  struct StagedAccount {
    Account account;
    bool created = false;  // inserted by this batch (else its balances are updated)
  };

  Batch(std::int64_t now, std::vector<Work> items) : now_ms(now), work(std::move(items)) {
    std::size_t requests = 0;
    for (const auto& item : work) requests += request_count(item);
    rows.keys.reserve(requests);
    rows.transfers.reserve(requests);
    rows.created_at_ms = now_ms;
  }

  const std::int64_t now_ms;  // business time of every row the batch writes
  std::vector<Work> work;
  std::vector<Decision> decisions;  // one per work item, in order (transfers answer in-place)

  // Staged: final values after the batch; written by its transaction, published after commit.
  // rows.transfers are the new transfers (in id order), rows.keys the new idempotency records;
  // rows.balances and rows.resolved are filled from `accounts` and `resolved_pendings` when the
  // batch is written.
  JournalEntry rows;
  std::unordered_map<Id, StagedAccount> accounts;
  std::unordered_map<std::string, Id> created_codes;
  std::unordered_map<Id, Transfer> resolved_pendings;  // committed before, resolved by this batch
  // How many keys this batch decided: the newest key entries, already in the key table so that
  // later requests of the batch find them; taken out again when the batch fails.
  std::size_t staged_key_count = 0;
  bool attached_writes = false;  // some new transfer or account has attached writes or rows
  // Redone alone after its batch failed (process_alone): written at once, not through the
  // journal, whose write may be what failed.
  bool retried_alone = false;

  // E.g. only replays. Attached writes run only beside a new account or transfer.
  bool writes_nothing() const { return accounts.empty() && rows.keys.empty(); }
  bool creates_accounts() const {
    return std::any_of(accounts.begin(), accounts.end(),
                       [](const auto& entry) { return entry.second.created; });
  }

  void stage_account(const Account& account) {
    // A new entry is an update of a committed account; an existing one keeps its `created`.
    accounts.try_emplace(account.id).first->second.account = account;
  }
  // New transfers are made in id order, so a binary search finds one.
  Transfer* new_transfer(Id id) {
    auto it = std::lower_bound(rows.transfers.begin(), rows.transfers.end(), id,
                               [](const Transfer& t, Id wanted) { return t.id < wanted; });
    return it != rows.transfers.end() && it->id == id ? &*it : nullptr;
  }
  const Transfer* new_transfer(Id id) const { return const_cast<Batch*>(this)->new_transfer(id); }
};

std::size_t LedgerImpl::request_count(const Work& work) {
  if (const auto* transfers = std::get_if<TransferWork>(&work)) return transfers->requests.size();
  return 1;
}

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

  // Recovery: batches acknowledged from the journal whose rows were not written before the last
  // stop (or crash) get them now, so everything below reads complete tables.
  STATION_RETURN_IF_ERROR(apply_stopped_journal(*connection));

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

  // The literal state lets both engines use the partial index of open pending transfers.
  assert(transfer_state_name(TransferState::kPending) == "pending");
  STATION_ASSIGN_OR_RETURN(
      auto pending_rows,
      connection->query(fmt::format("SELECT {} FROM transfers WHERE state = 'pending'",
                                    kTransferColumns)));
  for (const auto& row : pending_rows) {
    STATION_ASSIGN_OR_RETURN(auto transfer, transfer_from_row(row));
    if (transfer.expires_at_ms) deadlines_.emplace(*transfer.expires_at_ms, transfer.id);
    open_pendings_.emplace(transfer.id, std::move(transfer));
  }

  // Idempotency records within retention: refusals from their table, the others from the rows
  // of the transfers they made (ids are time-ordered, so the primary key finds the young ones).
  // Merged oldest first, as pruning expects.
  struct Loaded {
    std::string key;
    KeyRecord record;
  };
  std::vector<Loaded> loaded;
  STATION_ASSIGN_OR_RETURN(
      auto refusal_rows,
      connection->query(fmt::format("SELECT {} FROM idempotency", kIdempotencyColumns)));
  for (const auto& row : refusal_rows) {
    Loaded& entry = loaded.emplace_back();
    entry.key = row.text_at(0);
    STATION_RETURN_IF_ERROR(
        parse_stored_fingerprint(row.text_at(1), entry.record.shape, entry.record.fingerprint));
    auto code = parse_error_code(row.text_or(3, ""));
    if (!row.is_null(2) || !code || !is_business_refusal(*code)) {
      return Status(ErrorCode::kInternal,
                    fmt::format("idempotency record {}: not a business refusal", entry.key));
    }
    entry.record.refusal = *code;
    entry.record.refusal_detail = row.text_or(4, "");
    entry.record.created_at_ms = row.int_at(5);
  }
  std::array<Value, 2> young = {first_id_at(now_ms - retention_ms_), now_ms - retention_ms_};
  STATION_ASSIGN_OR_RETURN(
      auto made_rows,
      connection->query("SELECT idempotency_key, request_fingerprint, id, created_at_ms "
                        "FROM transfers WHERE id >= ? AND created_at_ms >= ? "
                        "AND request_fingerprint IS NOT NULL",
                        young));
  for (const auto& row : made_rows) {
    Loaded& entry = loaded.emplace_back();
    entry.key = row.text_at(0);
    STATION_RETURN_IF_ERROR(
        parse_stored_fingerprint(row.text_at(1), entry.record.shape, entry.record.fingerprint));
    entry.record.transfer_id = row.int_at(2);
    entry.record.created_at_ms = row.int_at(3);
  }
  // A key made again after its retention (possible when the retention was shorter then) keeps
  // its newest record, which is the one the ledger answered by.
  auto by_key_newest_first = [](const Loaded& a, const Loaded& b) {
    return std::tie(a.key, b.record.created_at_ms) < std::tie(b.key, a.record.created_at_ms);
  };
  std::sort(loaded.begin(), loaded.end(), by_key_newest_first);
  loaded.erase(std::unique(loaded.begin(), loaded.end(),
                           [](const Loaded& a, const Loaded& b) { return a.key == b.key; }),
               loaded.end());
  std::sort(loaded.begin(), loaded.end(), [](const Loaded& a, const Loaded& b) {
    return std::tie(a.record.created_at_ms, a.key) < std::tie(b.record.created_at_ms, b.key);
  });
  keys_.reserve(loaded.size());
  for (auto& loaded_key : loaded) {
    KeyEntry& entry = key_entries_.emplace_back(
        KeyEntry{std::move(loaded_key.key), std::move(loaded_key.record)});
    keys_.emplace(entry.key, &entry);
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
// ---- Callers

bool LedgerImpl::enqueue(Work& work) {
  const std::size_t requests = request_count(work);
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_ || queued_requests_ + requests > options_.queue_depth_max) return false;
    queued_requests_ += requests;
    queue_.push_back(std::move(work));
  }
  queue_cv_.notify_one();
  return true;
}

void LedgerImpl::submit(TransferRequest request, TransferCallback done) {
  assert(done && "submit() needs a callback");
  std::vector<TransferRequest> one;
  one.push_back(std::move(request));
  submit_batch(std::move(one), [done = std::move(done)](std::vector<TransferOutcome> outcomes) {
    assert(outcomes.size() == 1);
    done(std::move(outcomes.front()));
  });
}

void LedgerImpl::submit_batch(std::vector<TransferRequest> requests, TransferBatchCallback done) {
  assert(done && "submit_batch() needs a callback");
  const std::size_t count = requests.size();
  if (count == 0) return done({});
  std::vector<TransferOutcome> outcomes(count);
  if (count > options_.batch_transfers_max) {
    const Status too_many(ErrorCode::kValidationFailed,
                          fmt::format("a batch holds at most {} transfers",
                                      options_.batch_transfers_max));
    for (auto& outcome : outcomes) outcome.status = too_many;
    transfers_refused_ += count;
    return done(std::move(outcomes));
  }
  std::vector<bool> decided(count, false);
  std::size_t invalid_count = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (Status invalid_request = validate(requests[i]); !invalid_request.is_ok()) {
      outcomes[i].status = std::move(invalid_request);
      decided[i] = true;
      ++invalid_count;
    }
  }
  transfers_refused_ += invalid_count;
  if (invalid_count == count) return done(std::move(outcomes));
  Work work = TransferWork{std::move(requests), std::move(outcomes), std::move(decided),
                           std::move(done)};
  if (!enqueue(work)) {
    auto& refused = std::get<TransferWork>(work);
    for (std::size_t i = 0; i < count; ++i) {
      if (refused.decided[i]) continue;
      refused.outcomes[i].status = unavailable();
      ++transfers_refused_;
    }
    refused.done(std::move(refused.outcomes));
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

Status LedgerImpl::flush_journal() {
  // A transfer acknowledged before this call raised the count before it was answered, and the
  // count is lowered only after its rows are committed: zero means the tables have them all.
  if (journal_waiting_published_.load() == 0) return Status::ok();
  std::promise<Status> answer;
  auto future = answer.get_future();
  Work work = FlushWork{[&answer](Status status) { answer.set_value(std::move(status)); }};
  if (!enqueue(work)) return unavailable();
  return future.get();
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
  stats.journal_transfers_waiting = journal_waiting_published_;
  {
    std::lock_guard lock(queue_mutex_);
    stats.queue_depth = queued_requests_;
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
    // Too much waits in the journal: apply some before taking more work (back-pressure).
    if (journal_transfers_waiting_ >= limits::kLedgerJournalWaitingTransfersMax) {
      auto lease = database_.acquire();
      Status applied = lease.is_ok() ? apply_journal_rows(**lease,
                                                          limits::kLedgerJournalApplyTransfersMin)
                                     : lease.status();
      if (!applied.is_ok()) {
        std::fprintf(stderr, "ledger: applying the journal failed: %s\n",
                     applied.to_string().c_str());
      }
    }
    std::vector<Work> queued;
    std::vector<FlushWork> flushes;
    bool last_round = false;
    bool idle = false;
    {
      std::unique_lock lock(queue_mutex_);
      if (!more_due) {
        const bool journal_waits = journal_transfers_waiting_ > 0;
        const auto wake = std::chrono::milliseconds(
            journal_waits ? limits::kLedgerJournalIdleApplyMs : limits::kLedgerWriterWakeMs);
        idle = !queue_cv_.wait_for(lock, wake, [this] { return !queue_.empty() || stopping_; }) &&
               journal_waits;
      }
      // Whole items only, so a client's batch is never split; the first item always fits.
      std::size_t requests = 0;
      while (!queue_.empty()) {
        const std::size_t next = request_count(queue_.front());
        if (requests > 0 && requests + next > options_.batch_transfers_max) break;
        requests += next;
        if (auto* flush = std::get_if<FlushWork>(&queue_.front())) {
          flushes.push_back(std::move(*flush));
        } else {
          queued.push_back(std::move(queue_.front()));
        }
        queue_.pop_front();
      }
      queued_requests_ -= requests;
      last_round = stopping_ && queue_.empty();
    }
    if (idle) {
      // Nothing arrived for a while: write some of the journal's rows behind.
      auto lease = database_.acquire();
      if (lease.is_ok()) {
        (void)apply_journal_rows(**lease, limits::kLedgerJournalApplyTransfersMin);
      }
      continue;
    }
    const std::int64_t now_ms = clock_.now_unix_ms();
    // Pruning first: a batch answered after it (e.g. expire_due_now()'s) has seen it done.
    if (now_ms >= next_prune_at_ms_) prune_idempotency(now_ms);
    // Expiries go first, so a post arriving after the deadline finds the transfer expired.
    std::vector<Work> work = take_due_expiries(now_ms, &more_due);
    std::move(queued.begin(), queued.end(), std::back_inserter(work));
    if (!work.empty()) process(std::move(work), now_ms);
    if (!flushes.empty() || last_round) {
      Status applied = apply_whole_journal();
      for (auto& flush : flushes) flush.done(applied);
    }
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

Status LedgerImpl::apply_journal_rows(storage::Connection& connection,
                                      std::uint64_t transfers_min) {
  if (journal_transfers_waiting_ == 0) return Status::ok();
  auto applied = apply_journal(connection, transfers_min, /*in_transaction=*/false);
  if (!applied.is_ok()) return storage_failure("applying the ledger journal", applied.status());
  journal_transfers_waiting_ -= std::min(*applied, journal_transfers_waiting_);
  journal_waiting_published_ = journal_transfers_waiting_;
  return Status::ok();
}

Status LedgerImpl::apply_whole_journal() {
  if (journal_transfers_waiting_ == 0) return Status::ok();
  STATION_ASSIGN_OR_RETURN(auto lease, database_.acquire());
  return apply_journal_rows(*lease, std::numeric_limits<std::uint64_t>::max());
}

void LedgerImpl::process(std::vector<Work> work, std::int64_t now_ms, bool retried_alone) {
  Batch batch(now_ms, std::move(work));
  batch.retried_alone = retried_alone;
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
  if (!written.is_ok()) unstage_keys(batch);
  if (written.is_ok()) {
    auto latency = std::chrono::steady_clock::now() - started;
    std::size_t requests = 0;
    for (const auto& item : batch.work) requests += request_count(item);
    count_batch(requests,
                static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
    publish(batch);
    answer(batch);
    return;
  }
  std::size_t requests = 0;
  for (const auto& item : batch.work) requests += request_count(item);
  if (requests == 1) return fail(batch, written);
  // Memory is untouched: redo each request alone, so only the bad one fails.
  ++batch_commit_failures_;
  process_alone(std::move(batch.work), now_ms);
}

void LedgerImpl::process_alone(std::vector<Work> work, std::int64_t now_ms) {
  for (auto& item : work) {
    auto* transfers = std::get_if<TransferWork>(&item);
    if (transfers == nullptr || transfers->requests.size() == 1) {
      std::vector<Work> alone;
      alone.push_back(std::move(item));
      process(std::move(alone), now_ms, /*retried_alone=*/true);
      continue;
    }
    // A client's batch: each request alone, the batch answered once the last one is.
    auto parent = std::make_shared<TransferWork>(std::move(*transfers));
    auto waiting = std::make_shared<std::size_t>(0);
    for (bool decided : parent->decided) *waiting += decided ? 0 : 1;
    for (std::size_t i = 0; i < parent->requests.size(); ++i) {
      if (parent->decided[i]) continue;
      TransferWork one;
      one.requests.push_back(std::move(parent->requests[i]));
      one.outcomes.resize(1);
      one.decided.push_back(false);
      one.done = [parent, waiting, i](std::vector<TransferOutcome> outcomes) {
        parent->outcomes[i] = std::move(outcomes.front());
        if (--*waiting == 0) parent->done(std::move(parent->outcomes));
      };
      std::vector<Work> alone;
      alone.emplace_back(std::move(one));
      process(std::move(alone), now_ms, /*retried_alone=*/true);
    }
  }
}

Status LedgerImpl::decide_and_persist(Batch& batch, storage::Connection& connection) {
  batch.decisions.resize(batch.work.size());
  for (std::size_t i = 0; i < batch.work.size(); ++i) {
    Work& item = batch.work[i];
    if (auto* transfers = std::get_if<TransferWork>(&item)) {
      for (std::size_t r = 0; r < transfers->requests.size(); ++r) {
        if (transfers->decided[r]) continue;
        const TransferRequest& request = transfers->requests[r];
        TransferOutcome& outcome = transfers->outcomes[r];
        decide_transfer(batch, connection, request, outcome);
        if ((request.attached_write || request.attached_rows) && outcome.status.is_ok() &&
            !outcome.replayed) {
          batch.attached_writes = true;
        }
      }
    } else if (auto* account_work = std::get_if<AccountWork>(&item)) {
      batch.decisions[i] = decide_account(batch, account_work->spec);
      if (batch.decisions[i].account && account_work->attached_write) {
        batch.attached_writes = true;
      }
    } else if (auto* expiry = std::get_if<ExpireWork>(&item)) {
      batch.decisions[i] = decide_expiry(batch, *expiry);
    }
  }
  if (batch.writes_nothing()) return Status::ok();

  for (const auto& [id, staged] : batch.accounts) {
    if (staged.created) continue;
    batch.rows.balances.push_back(JournalBalances{id, staged.account.balance_minor,
                                                  staged.account.pending_debit_minor,
                                                  staged.account.pending_credit_minor});
  }
  for (const auto& [id, pending] : batch.resolved_pendings) {
    batch.rows.resolved.push_back(
        JournalResolution{id, pending.state, pending.resolved_at_ms.value_or(batch.now_ms)});
  }
  // Rows that other writes hang on (attached writes referencing the transfer, new accounts) are
  // written at once, and so are small batches while the journal is empty; other batches of plain
  // transfers go to the journal. (A small batch behind a waiting journal would first have to
  // write all of the journal's rows, in its own answer's path.)
  const bool small = batch.rows.transfers.size() < limits::kLedgerJournalBatchTransfersMin;
  if (batch.attached_writes || batch.creates_accounts() || batch.retried_alone ||
      (small && journal_transfers_waiting_ == 0)) {
    return write_at_once(batch, connection);
  }
  return write_journal(batch, connection);
}

Status LedgerImpl::write_journal(Batch& batch, storage::Connection& connection) {
  std::string text;
  text.reserve(64 + batch.rows.balances.size() * 48 + batch.rows.transfers.size() * 96);
  if (Status encoded = encode_journal_entry(batch.rows, text); !encoded.is_ok()) {
    return storage_failure("ledger batch: journal entry", encoded);
  }
  auto transaction = storage::Transaction::begin(connection);
  if (!transaction.is_ok()) return storage_failure("ledger batch begin", transaction.status());
  if (Status s = append_journal(connection, ids_.next(), std::move(text)); !s.is_ok()) {
    return storage_failure("ledger batch: journal", s);
  }
  if (Status s = transaction->commit(); !s.is_ok()) {
    return storage_failure("ledger batch commit", s);
  }
  // Published before the batch is answered: see flush_journal().
  journal_transfers_waiting_ += batch.rows.weight();
  journal_waiting_published_ = journal_transfers_waiting_;
  return Status::ok();
}

Status LedgerImpl::write_at_once(Batch& batch, storage::Connection& connection) {
  auto transaction = storage::Transaction::begin(connection);
  if (!transaction.is_ok()) return storage_failure("ledger batch begin", transaction.status());
  // Earlier batches first: this batch's balances are later than theirs, and its attached writes
  // may read or reference their rows.
  if (journal_transfers_waiting_ > 0) {
    auto applied = apply_journal(connection, 0, /*in_transaction=*/true);
    if (!applied.is_ok()) return storage_failure("ledger batch: journal", applied.status());
  }
  std::vector<Value> values;
  for (const auto& [id, staged] : batch.accounts) {
    if (staged.created) append_account_values(staged.account, values);
  }
  if (Status s = storage::insert_rows(
          connection, fmt::format("INSERT INTO accounts ({})", kAccountColumns),
          kAccountColumnCount, values);
      !s.is_ok()) {
    return storage_failure("ledger batch: new accounts", s);
  }
  STATION_RETURN_IF_ERROR(write_journal_rows(connection, batch.rows));

  // The callers' own rows, in request order; their errors are theirs, passed on unchanged.
  AttachedRows attached_rows;
  for (std::size_t i = 0; i < batch.work.size(); ++i) {
    if (auto* transfers = std::get_if<TransferWork>(&batch.work[i])) {
      for (std::size_t r = 0; r < transfers->requests.size(); ++r) {
        const TransferOutcome& outcome = transfers->outcomes[r];
        const TransferRequest& request = transfers->requests[r];
        if (transfers->decided[r] || !outcome.status.is_ok() || outcome.replayed) continue;
        if (request.attached_rows) request.attached_rows(*outcome.transfer, attached_rows);
        if (request.attached_write) {
          STATION_RETURN_IF_ERROR(request.attached_write(connection, *outcome.transfer));
        }
      }
    } else if (auto* account_work = std::get_if<AccountWork>(&batch.work[i])) {
      const Decision& decision = batch.decisions[i];
      if (decision.account && account_work->attached_write) {
        STATION_RETURN_IF_ERROR(account_work->attached_write(connection, *decision.account));
      }
    }
  }
  STATION_RETURN_IF_ERROR(attached_rows.write(connection));
  if (Status s = transaction->commit(); !s.is_ok()) {
    return storage_failure("ledger batch commit", s);
  }
  journal_transfers_waiting_ = 0;
  journal_waiting_published_ = 0;
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
  auto publish_pending = [this](Transfer& transfer) {
    if (transfer.phase != TransferPhase::kPending) return;
    if (transfer.state == TransferState::kPending) {
      if (transfer.expires_at_ms) deadlines_.emplace(*transfer.expires_at_ms, transfer.id);
      open_pendings_.insert_or_assign(transfer.id, std::move(transfer));
    } else {
      open_pendings_.erase(transfer.id);
    }
  };
  for (auto& [id, transfer] : batch.resolved_pendings) publish_pending(transfer);
  for (auto& transfer : batch.rows.transfers) publish_pending(transfer);
  idempotency_records_ = keys_.size();
  pending_transfers_ = open_pendings_.size();
  assert_invariants();
}

void LedgerImpl::answer(Batch& batch) {
  for (std::size_t i = 0; i < batch.work.size(); ++i) {
    Decision& decision = batch.decisions[i];
    if (auto* transfers = std::get_if<TransferWork>(&batch.work[i])) {
      for (std::size_t r = 0; r < transfers->requests.size(); ++r) {
        if (transfers->decided[r]) continue;  // counted at submit
        const TransferOutcome& outcome = transfers->outcomes[r];
        if (outcome.replayed) {
          ++transfers_replayed_;
        } else if (outcome.status.is_ok()) {
          ++transfers_committed_;
        } else {
          ++transfers_refused_;
        }
      }
      transfers->done(std::move(transfers->outcomes));
    } else if (auto* account_work = std::get_if<AccountWork>(&batch.work[i])) {
      if (decision.account) {
        account_work->done(std::move(*decision.account));
      } else {
        account_work->done(std::move(decision.status));
      }
    } else if (std::holds_alternative<ExpireWork>(batch.work[i])) {
      if (decision.transfer) ++transfers_committed_;
    } else if (auto* sweep = std::get_if<SweepWork>(&batch.work[i])) {
      sweep->done(Status::ok(), !has_due_deadline(batch.now_ms));
    }
  }
}

void LedgerImpl::fail(Batch& batch, const Status& status) {
  assert(!status.is_ok());
  for (auto& item : batch.work) {
    if (auto* transfers = std::get_if<TransferWork>(&item)) {
      for (std::size_t r = 0; r < transfers->requests.size(); ++r) {
        if (transfers->decided[r]) continue;
        ++transfers_refused_;
        transfers->outcomes[r] = TransferOutcome{status, std::nullopt, false};
      }
      transfers->done(std::move(transfers->outcomes));
    } else if (auto* account_work = std::get_if<AccountWork>(&item)) {
      account_work->done(status);
    } else if (auto* expiry = std::get_if<ExpireWork>(&item)) {
      deadlines_.emplace(expiry->expires_at_ms, expiry->pending_id);  // tried again later
    } else if (auto* sweep = std::get_if<SweepWork>(&item)) {
      sweep->done(status, false);
    }
  }
}

void LedgerImpl::prune_idempotency(std::int64_t now_ms) {
  const std::int64_t cutoff_ms = now_ms - retention_ms_;
  next_prune_at_ms_ = now_ms + limits::kIdempotencyPruneIntervalMs;
  if (key_entries_.empty() || key_entries_.front().record.created_at_ms >= cutoff_ms) return;
  // The records to delete must be in the table first.
  if (!apply_whole_journal().is_ok()) return;  // tried again next interval
  std::vector<Value> expired_keys;
  for (const KeyEntry& entry : key_entries_) {
    if (entry.record.created_at_ms >= cutoff_ms ||
        expired_keys.size() >= limits::kIdempotencyPruneKeysMax) {
      break;
    }
    expired_keys.emplace_back(entry.key);
  }

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
    const std::size_t erased = keys_.erase(std::string_view(key_entries_.front().key));
    assert(erased == 1);
    (void)erased;
    key_entries_.pop_front();
  }
  idempotency_records_ = keys_.size();
  // More expired records than one pass takes: go again at the next wake.
  if (!key_entries_.empty() && key_entries_.front().record.created_at_ms < cutoff_ms) {
    next_prune_at_ms_ = now_ms;
  }
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
  if (keys_.size() != key_entries_.size()) return std::string("idempotency index out of step");
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

void LedgerImpl::decide_transfer(Batch& batch, storage::Connection& connection,
                                 const TransferRequest& request, TransferOutcome& outcome) {
  // The caller's fingerprint and the money fields: a key reused for other money is caught
  // whatever the caller's digest covers.
  const RequestShape shape = RequestShape::of(request);
  if (auto found = keys_.find(std::string_view(request.idempotency_key)); found != keys_.end()) {
    const KeyRecord& record = found->second->record;
    if (record.shape != shape || record.fingerprint != request.fingerprint) {
      outcome.status = Status(ErrorCode::kIdempotencyKeyReused,
                              "this idempotency key was used for a different request");
      return;
    }
    outcome.replayed = true;
    if (record.transfer_id == 0) {
      outcome.status = Status(record.refusal, record.refusal_detail);
      return;
    }
    auto transfer = load_transfer(batch, connection, record.transfer_id);
    if (!transfer.is_ok()) {
      outcome.status = transfer.status();
      outcome.replayed = false;
      return;
    }
    outcome.transfer = std::move(transfer).value();
    return;
  }
  auto made = make_transfer(batch, connection, request);
  // Business refusals are decided outcomes: stored, so a retry replays them. Other errors
  // (validation against state, storage) leave the key free.
  if (!made.is_ok() && !is_business_refusal(made.status().code())) {
    outcome.status = made.status();
    return;
  }
  JournalKey& record = batch.rows.keys.emplace_back();
  record.key = request.idempotency_key;
  record.shape = shape;
  record.fingerprint = request.fingerprint;
  if (made.is_ok()) {
    record.transfer_id = made->id;
    outcome.transfer = std::move(made).value();
  } else {
    record.refusal = made.status().code();
    record.refusal_detail = made.status().message();
    outcome.status = made.status();
  }
  KeyEntry& entry = key_entries_.emplace_back(
      KeyEntry{record.key, KeyRecord{shape, record.fingerprint, record.transfer_id,
                                     record.refusal, record.refusal_detail, batch.now_ms}});
  keys_.emplace(entry.key, &entry);
  ++batch.staged_key_count;
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
    return stage_transfer(batch, std::move(row), movement, 0, TransferState::kPending);
  }

  assert(request.phase == TransferPhase::kPost || request.phase == TransferPhase::kVoid);
  STATION_ASSIGN_OR_RETURN(Transfer pending,
                           find_open_pending(batch, connection, request.pending_id));
  if (pending.expires_at_ms && *pending.expires_at_ms <= batch.now_ms) {
    // Due but not yet expired by the writer: business time says it is over.
    return Status(ErrorCode::kPendingTransferResolved, "the pending transfer has expired");
  }
  if (request.amount_minor > pending.amount_minor) {
    return Status(ErrorCode::kAmountOutOfRange,
                  fmt::format("a post is at most the pending amount, {}", pending.amount_minor));
  }
  row.pending_id = pending.id;
  row.debit_account_id = pending.debit_account_id;
  row.credit_account_id = pending.credit_account_id;
  if (row.category.empty()) row.category = pending.category;
  if (row.reference.empty()) row.reference = pending.reference;
  if (row.description.empty()) row.description = pending.description;
  if (request.phase == TransferPhase::kPost) {
    row.state = TransferState::kPosted;
    row.amount_minor = request.amount_minor == 0 ? pending.amount_minor : request.amount_minor;
    const Movement post{row.amount_minor, -pending.amount_minor};
    return stage_transfer(batch, std::move(row), post, pending.id, TransferState::kPosted);
  }
  row.state = TransferState::kVoided;
  row.amount_minor = pending.amount_minor;
  const Movement release{0, -pending.amount_minor};
  return stage_transfer(batch, std::move(row), release, pending.id, TransferState::kVoided);
}

LedgerImpl::Decision LedgerImpl::decide_expiry(Batch& batch, const ExpireWork& expiry) {
  auto it = open_pendings_.find(expiry.pending_id);
  // Resolved meanwhile (by an earlier batch, or earlier in this one): nothing to expire.
  if (it == open_pendings_.end() || batch.resolved_pendings.contains(expiry.pending_id)) {
    return Decision{};
  }
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
  auto made = stage_transfer(batch, std::move(row), release, pending.id, TransferState::kExpired);
  assert(made.is_ok() && "releasing a reservation cannot be refused");
  if (!made.is_ok()) return Decision{made.status()};
  return Decision{Status::ok(), std::move(made).value()};
}

Result<Transfer> LedgerImpl::stage_transfer(Batch& batch, Transfer row, const Movement& movement,
                                            Id pending_id, TransferState pending_state) {
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
  Account new_debit = *debit;
  Account new_credit = *credit;
  new_debit.balance_minor = *debit_balance;
  new_debit.pending_debit_minor = *debit_pending;
  new_credit.balance_minor = *credit_balance;
  new_credit.pending_credit_minor = *credit_pending;

  row.id = ids_.next();
  assert(batch.rows.transfers.empty() || batch.rows.transfers.back().id < row.id);
  row.created_at_ms = batch.now_ms;
  row.debit_balance_after_minor = new_debit.balance_minor;
  row.credit_balance_after_minor = new_credit.balance_minor;

  if (pending_id != 0) {
    Transfer* pending = batch.new_transfer(pending_id);
    if (pending == nullptr) {
      auto committed = open_pendings_.find(pending_id);
      assert(committed != open_pendings_.end());
      pending = &batch.resolved_pendings.try_emplace(pending_id, committed->second).first->second;
    }
    assert(pending->state == TransferState::kPending);
    pending->state = pending_state;
    pending->resolved_at_ms = batch.now_ms;
  }
  batch.stage_account(new_debit);
  batch.stage_account(new_credit);
  batch.rows.transfers.push_back(row);
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

void LedgerImpl::unstage_keys(Batch& batch) {
  assert(batch.staged_key_count <= key_entries_.size());
  for (; batch.staged_key_count > 0; --batch.staged_key_count) {
    keys_.erase(std::string_view(key_entries_.back().key));
    key_entries_.pop_back();
  }
}

Result<Transfer> LedgerImpl::find_open_pending(Batch& batch, storage::Connection& connection,
                                               Id pending_id) {
  const Status not_found(ErrorCode::kPendingTransferNotFound,
                         fmt::format("no pending transfer {}", pending_id));
  const Status resolved(ErrorCode::kPendingTransferResolved,
                        fmt::format("pending transfer {} is already resolved", pending_id));
  if (const Transfer* staged = batch.new_transfer(pending_id)) {
    if (staged->phase != TransferPhase::kPending) return not_found;
    if (staged->state != TransferState::kPending) return resolved;
    return *staged;
  }
  if (batch.resolved_pendings.contains(pending_id)) return resolved;
  if (auto open = open_pendings_.find(pending_id); open != open_pendings_.end()) {
    return open->second;
  }
  // Not open: resolved earlier, or not a pending transfer at all. Rare, so asked of the database.
  auto stored = read_committed(connection, pending_id);
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
  if (const Transfer* staged = batch.new_transfer(id)) return *staged;
  if (auto resolved = batch.resolved_pendings.find(id); resolved != batch.resolved_pendings.end()) {
    return resolved->second;
  }
  if (auto open = open_pendings_.find(id); open != open_pendings_.end()) return open->second;
  auto stored = read_committed(connection, id);
  if (!stored.is_ok()) return storage_failure("loading a replayed transfer", stored.status());
  return stored;
}

Result<Transfer> LedgerImpl::read_committed(storage::Connection& connection, Id id) {
  // The batch being decided has not begun its transaction, so the journal applies in its own.
  STATION_RETURN_IF_ERROR(apply_journal_rows(connection, std::numeric_limits<std::uint64_t>::max()));
  return get_transfer(connection, id);
}

}  // namespace station::ledger::internal
