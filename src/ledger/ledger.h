// ledger: the money core. Double-entry accounts and transfers in integer minor units.
//
// Design (after TigerBeetle): one writer thread owns the balances. Requests are queued; the
// writer takes everything queued (up to a batch limit), decides each request in order against
// the in-memory balances, writes the whole batch in one database transaction (one fsync: group
// commit), and only then applies it to memory and answers the callers. A caller that got an
// answer has a durable result. If the commit fails, memory is untouched and each request of the
// batch is retried alone, so one bad request cannot fail its neighbours.
//
// Invariants, asserted after every batch and checked on disk by check_ledger():
//   - every posted transfer moves amount_minor from its debit to its credit account, so the sum
//     of all balances per currency is zero;
//   - an account with a floor never has balance - pending_debits below that floor;
//   - an idempotency key maps to exactly one outcome for the retention period.
//
// All balances are credit-normal: a credit raises the balance, a debit lowers it. A subscriber
// wallet (floor 0) is credited by a top-up from the operator's cash account (no floor), which
// therefore goes negative by the amount the operator owes its subscribers.
//
// Exclusive: one process owns a database's ledger (storage::Database::lock_exclusive()).
//
// Write path: a batch of plain transfers (no attached write) becomes one durable row of the
// ledger's journal and is answered; its relational rows follow behind, written by the same
// writer (ledger_journal.h). A batch with attached writes or new accounts writes its rows at
// once, after the journal's. Reads of the tables go through flush_journal() first, so they never
// miss an acknowledged transfer; opening the ledger applies whatever a crash left in the journal.
//
// Files: ledger.cc (names, open, blocking helpers), ledger_impl.{h,cc} (the writer),
// ledger_journal.* (the journal), ledger_rows.* (row <-> struct), ledger_reads.cc (get/list from
// the database), ledger_check.cc (check_ledger).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/id.h"
#include "common/money.h"
#include "common/result.h"
#include "storage/database.h"

namespace station::ledger {

enum class AccountKind : std::uint8_t {
  kWallet,             // a subscriber's prepaid balance
  kCash,               // money received (payment providers, cash, vouchers sold)
  kRevenue,            // money earned from charges
  kPartnerSettlement,  // owed to/by top-up partners
  kPromotions,         // bonus credit granted
};
std::string_view account_kind_name(AccountKind kind);
std::optional<AccountKind> parse_account_kind(std::string_view name);

struct AccountSpec {
  Id id = 0;                 // 0: the ledger assigns one
  AccountKind kind = AccountKind::kWallet;
  std::string code;          // optional unique name, e.g. "cash:CNY"; empty for wallets
  Currency currency;
  // Lowest allowed available balance (balance - pending debits); nullopt: unbounded.
  // Wallets: 0, or minus the overdraft.
  std::optional<std::int64_t> floor_minor;
};

struct Account {
  Id id = 0;
  AccountKind kind = AccountKind::kWallet;
  std::string code;
  Currency currency;
  std::optional<std::int64_t> floor_minor;
  std::int64_t balance_minor = 0;
  std::int64_t pending_debit_minor = 0;
  std::int64_t pending_credit_minor = 0;
  std::int64_t created_at_ms = 0;

  std::int64_t available_minor() const { return balance_minor - pending_debit_minor; }
};

enum class TransferPhase : std::uint8_t {
  kSingle,   // moves money now
  kPending,  // reserves: raises pending debit/credit, moves nothing
  kPost,     // completes a pending transfer (full or partial amount)
  kVoid,     // cancels a pending transfer
  kExpire,   // written by the ledger itself when a pending transfer times out
};
std::string_view transfer_phase_name(TransferPhase phase);

enum class TransferState : std::uint8_t { kPosted, kPending, kVoided, kExpired };
std::string_view transfer_state_name(TransferState state);
std::optional<TransferPhase> parse_transfer_phase(std::string_view name);
std::optional<TransferState> parse_transfer_state(std::string_view name);

// Rows a domain writes beside its transfers (a top-up's channel row, an audit entry), in the
// batch's transaction. Collected from every request of a batch and written after its attached
// writes as one multi-row INSERT per statement head (storage::insert_rows), so a batch of N
// requests costs a few statements rather than N round trips to the database.
class AttachedRows {
 public:
  // `head` is "INSERT INTO t (a, b, ...)" and must outlive the batch (a string literal); every
  // row added under one head has the same number of values.
  void add(std::string_view head, std::vector<storage::Value> row);
  Status write(storage::Connection& connection) const;

 private:
  struct Table {
    std::string_view head;
    std::size_t column_count = 0;
    std::vector<storage::Value> values;
  };
  std::vector<Table> tables_;
};

struct TransferRequest {
  // Unique per logical operation; callers namespace it (e.g. "<api key id>/<Idempotency-Key>").
  std::string idempotency_key;
  // Digest of everything the caller asked for. Same key, other fingerprint: kIdempotencyKeyReused.
  // The ledger adds the request's money fields (phase, accounts, pending id, amount, currency,
  // timeout) to it before comparing, so a key reused for other money is caught even when the
  // caller's digest is sloppy or empty.
  std::string fingerprint;
  TransferPhase phase = TransferPhase::kSingle;
  Id debit_account_id = 0;   // kSingle, kPending
  Id credit_account_id = 0;  // kSingle, kPending
  Id pending_id = 0;         // kPost, kVoid
  // kSingle/kPending: > 0. kPost: 0 posts the full pending amount, else at most that amount.
  std::int64_t amount_minor = 0;
  std::optional<Currency> currency;  // must equal both accounts' currency
  std::string category;              // "topup", "charge", ... shown in statements
  std::string reference;             // caller's reference (e.g. a partner's order number)
  std::string description;
  std::uint32_t timeout_seconds = 0;  // kPending: 0 = never expires

  // Runs inside the batch's database transaction after the transfer's rows are written, so a
  // domain's own rows (an audit entry, an order) commit atomically with the money. Must be
  // quick and must only write; an error fails the request (and it is retried alone).
  std::function<Status(storage::Connection&, const struct Transfer&)> attached_write;
  // Rows to insert beside the transfer: called once the transfer is made, before the batch's
  // commit. For plain inserts, prefer it to attached_write (see AttachedRows).
  std::function<void(const struct Transfer&, AttachedRows&)> attached_rows;
};

struct Transfer {
  Id id = 0;
  TransferPhase phase = TransferPhase::kSingle;
  TransferState state = TransferState::kPosted;
  Id pending_id = 0;
  Id debit_account_id = 0;
  Id credit_account_id = 0;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string category;
  std::string reference;
  std::string description;
  std::optional<std::int64_t> expires_at_ms;
  // Balances of the two accounts right after this transfer (for statements and replies).
  std::int64_t debit_balance_after_minor = 0;
  std::int64_t credit_balance_after_minor = 0;
  std::string idempotency_key;
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> resolved_at_ms;  // pending: when posted/voided/expired
};

// What a transfer request came to. `status` is ok with `transfer` set, or the refusal.
// `replayed` is true when the idempotency key had already been decided (success or refusal).
struct TransferOutcome {
  Status status;
  std::optional<Transfer> transfer;
  bool replayed = false;
};

using TransferCallback = std::function<void(TransferOutcome)>;
// One outcome per request of a batch, in the batch's order.
using TransferBatchCallback = std::function<void(std::vector<TransferOutcome>)>;
using AccountCallback = std::function<void(Result<Account>)>;

struct LedgerOptions {
  std::uint32_t idempotency_retention_hours = 7 * 24;
  std::size_t queue_depth_max = 65'536;
  std::size_t batch_transfers_max = 8'192;
};

struct LedgerStats {
  std::uint64_t transfers_committed = 0;  // new transfer rows, including expiries
  std::uint64_t transfers_refused = 0;    // requests answered with an error (not replays)
  std::uint64_t transfers_replayed = 0;   // requests answered from an idempotency record
  std::uint64_t batches_committed = 0;
  std::uint64_t batch_commit_failures = 0;  // batches that fell back to one request at a time
  std::uint64_t idempotency_records = 0;    // live records held in memory
  std::uint64_t pending_transfers = 0;      // open pending transfers held in memory
  std::uint64_t queue_depth = 0;            // requests waiting for the writer
  // Acknowledged transfers whose rows are only in the journal so far (ledger_journal.h).
  std::uint64_t journal_transfers_waiting = 0;
  // Distribution of batch sizes and commit latencies (from deciding a batch to its commit
  // returning, fsync included), for /metrics. Entry i counts observations in
  // (bounds[i-1], bounds[i]]; the last entry (one more than the bounds) counts those above every
  // bound. Not cumulative.
  std::vector<std::uint64_t> batch_size_buckets;         // see batch_size_bucket_bounds()
  std::vector<std::uint64_t> commit_latency_us_buckets;  // see commit_latency_bucket_bounds_us()
  std::uint64_t batch_size_sum = 0;
  std::uint64_t commit_latency_us_sum = 0;
};
// 1, 2, 4, ..., 8192 requests.
std::span<const std::uint64_t> batch_size_bucket_bounds();
// 100 us .. 10 s in 1-2-5 steps.
std::span<const std::uint64_t> commit_latency_bucket_bounds_us();

class Ledger {
 public:
  virtual ~Ledger() = default;

  // Loads accounts, open pending transfers and live idempotency records, then starts the writer.
  // REQUIRES: the caller holds the database's OwnershipLock and migrations are applied.
  static Result<std::unique_ptr<Ledger>> open(storage::Database& database, const Clock& clock,
                                              IdGenerator& ids, LedgerOptions options);

  // Asynchronous: the callback runs once, on the writer thread, after the outcome is durable
  // (or known to have failed). It must not block, nor call shutdown() or the *_and_wait
  // helpers. Answers that need no ledger state run the callback at once, on the caller's thread:
  // validation errors (kValidationFailed, kAmountOutOfRange, kIdempotencyKeyInvalid; never
  // stored under the key) and kUnavailable when the queue is full or the ledger is shutting
  // down.
  virtual void submit(TransferRequest request, TransferCallback done) = 0;
  // A client's batch: decided in order exactly as if each request were submitted alone in that
  // order (a later request sees the earlier ones' effects; a key repeated within the batch
  // replays its first outcome), made durable in one commit and answered with one callback,
  // which gets one outcome per request. Validation errors are per request. At most
  // LedgerOptions::batch_transfers_max requests, else each is answered kValidationFailed; an
  // empty batch is answered at once. Same threading as submit().
  virtual void submit_batch(std::vector<TransferRequest> requests, TransferBatchCallback done) = 0;
  // Creates an account; kConflict when its id or code exists. The attached write runs in the
  // same transaction (e.g. inserting the customer who owns the wallet).
  virtual void create_account(AccountSpec spec,
                              std::function<Status(storage::Connection&, const Account&)>
                                  attached_write,
                              AccountCallback done) = 0;

  // Blocking conveniences for the CLI and tests.
  TransferOutcome submit_and_wait(TransferRequest request);
  std::vector<TransferOutcome> submit_batch_and_wait(std::vector<TransferRequest> requests);
  Result<Account> create_account_and_wait(
      AccountSpec spec,
      std::function<Status(storage::Connection&, const Account&)> attached_write = nullptr);

  // Committed state from memory.
  virtual std::optional<Account> account(Id id) const = 0;
  virtual std::optional<Account> account_by_code(std::string_view code) const = 0;
  virtual LedgerStats stats() const = 0;

  // The writer expires due pending transfers by itself (it looks at the clock at least every
  // kLedgerWriterWakeMs of real time). This makes it happen now: it returns once every pending
  // transfer with expires_at_ms <= the clock's time at the call has been expired, durably.
  // For tests with a ManualClock, and for operators. kUnavailable after shutdown.
  virtual Status expire_due_now() = 0;

  // The writer acknowledges a batch of plain transfers once its journal row is durable and
  // writes the transfers' rows behind (ledger_journal.h). Reads from the tables (get_transfer,
  // list_account_transfers, check_ledger) call this first: once it returns ok, they see every
  // transfer acknowledged before the call. Immediate when nothing waits; kUnavailable after
  // shutdown. Blocks: never from a ledger callback (it would wait for the writer running it).
  virtual Status flush_journal() = 0;

  // Stops taking requests, finishes everything queued, stops the writer. Idempotent. The
  // ledger must be shut down (or destroyed, which shuts it down) before its Database.
  virtual void shutdown() = 0;
};

// Reads straight from the database (committed rows), for any connection. A server calls
// Ledger::flush_journal() first, so that every acknowledged transfer is in the tables.
Result<Transfer> get_transfer(storage::Connection& connection, Id transfer_id);
// Transfers touching the account, newest first, with id < before_id when given. `limit` is
// 1..kPageSizeMax + 1 (a caller asks for one row more than a page to learn whether another page
// follows); anything else is kValidationFailed.
Result<std::vector<Transfer>> list_account_transfers(storage::Connection& connection,
                                                     Id account_id, std::optional<Id> before_id,
                                                     std::uint32_t limit);

// Writes the rows of what a stopped (or crashed) ledger left in its journal. Ledger::open() does
// it first; `station admin ledger check` does it when no server holds the database.
// REQUIRES: the caller holds the database's OwnershipLock.
Status apply_stopped_journal(storage::Connection& connection);

struct CheckReport {
  bool ok = true;
  std::vector<std::string> problems;  // one line per mismatch, human-readable
  std::uint64_t accounts_checked = 0;
  std::uint64_t transfers_checked = 0;
};
// Verifies on disk: per-currency balance sums are zero; every balance and pending total equals
// the sum of its history; no floored account is below its floor; every transfer's currency is
// its accounts'; every post/void/expire resolves exactly one pending transfer of the right
// state; the journal holds nothing not yet applied (Ledger::open() applies it, and a running
// ledger does when idle). Reads in one transaction (a consistent view; on SQLite it holds the
// write lock, so run it while the server is idle or stopped). Lists at most
// kLedgerCheckProblemsMax problems.
Result<CheckReport> check_ledger(storage::Connection& connection);

}  // namespace station::ledger
