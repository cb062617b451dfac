// ledger/ledger_impl: the Ledger behind ledger.h (internal).
//
// One writer thread owns the money. Callers enqueue work (bounded queue, counted in requests);
// the writer takes what is queued (at most batch_transfers_max requests, a client's batch never
// split, plus the expiries that are due), decides each request in order against the committed
// state plus what earlier requests of the same batch staged, makes the batch durable in one
// transaction, and only after the commit applies the staged state to memory and answers. A batch
// of plain transfers is made durable as one journal row (ledger_journal.h); a batch with attached
// writes or new accounts first applies the journal, then writes its own rows, in one
// transaction. When the batch's transaction fails, each request is redone alone, so a bad
// attached write fails only its own request; a lone failure is answered with its Status and
// leaves no trace (no idempotency record: the caller may retry with the same key).
//
// The journal is applied (its rows derived, ledger_journal.h) by the writer: when the queue has
// been empty for kLedgerJournalIdleApplyMs, when it holds more than
// kLedgerJournalWaitingTransfersMax transfers (before taking more work), before a batch with
// attached writes, before reading a committed transfer back from the tables (replays, resolved
// pending transfers), for flush_journal(), before pruning, and at shutdown.
//
// Threads: the writer alone mutates the state below; it takes state_mutex_ exclusively only to
// publish accounts, which account()/account_by_code() read under a shared lock. Everything else
// marked "writer" is touched only by the writer thread (and by open() before it starts).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ledger/ledger.h"
#include "ledger/ledger_journal.h"

namespace station::ledger::internal {

class LedgerImpl final : public Ledger {
 public:
  using AccountWrite = std::function<Status(storage::Connection&, const Account&)>;

  // Validates the options, loads the committed state and starts the writer.
  static Result<std::unique_ptr<LedgerImpl>> open(storage::Database& database, const Clock& clock,
                                                  IdGenerator& ids, LedgerOptions options);
  ~LedgerImpl() override;
  LedgerImpl(const LedgerImpl&) = delete;
  LedgerImpl& operator=(const LedgerImpl&) = delete;

  void submit(TransferRequest request, TransferCallback done) override;
  void submit_batch(std::vector<TransferRequest> requests, TransferBatchCallback done) override;
  void create_account(AccountSpec spec, AccountWrite attached_write, AccountCallback done) override;
  std::optional<Account> account(Id id) const override;
  std::optional<Account> account_by_code(std::string_view code) const override;
  LedgerStats stats() const override;
  Status expire_due_now() override;
  Status flush_journal() override;
  void shutdown() override;

 private:
  // What the writer does: one item per queued call, plus the expiries it schedules itself.
  // A client's requests, with one outcome each; those refused by validation at submit are
  // answered already (`decided`) and skipped by the writer.
  struct TransferWork {
    std::vector<TransferRequest> requests;
    std::vector<TransferOutcome> outcomes;
    std::vector<bool> decided;
    TransferBatchCallback done;
  };
  struct AccountWork {
    AccountSpec spec;
    AccountWrite attached_write;
    AccountCallback done;
  };
  struct ExpireWork {
    Id pending_id = 0;
    std::int64_t expires_at_ms = 0;
  };
  // expire_due_now(): answered after its batch with whether nothing due is left.
  struct SweepWork {
    std::function<void(Status, bool all_due_expired)> done;
  };
  // flush_journal(): answered once the journal is applied.
  struct FlushWork {
    std::function<void(Status)> done;
  };
  using Work = std::variant<TransferWork, AccountWork, ExpireWork, SweepWork, FlushWork>;
  static std::size_t request_count(const Work& work);

  // The decided outcome of an idempotency key. Only the writer reads the key table, so a batch
  // stages its new keys there directly (Batch::staged_key_count).
  struct KeyRecord {
    RequestShape shape;
    std::string fingerprint;  // the caller's
    Id transfer_id = 0;  // the transfer made; 0 for a stored refusal
    ErrorCode refusal = ErrorCode::kOk;
    std::string refusal_detail;
    std::int64_t created_at_ms = 0;
  };
  struct KeyEntry {
    std::string key;
    KeyRecord record;
  };

  // A pending transfer's deadline, for the expiry min-heap.
  using Deadline = std::pair<std::int64_t, Id>;  // (expires_at_ms, pending id)

  struct Decision;  // one account or expiry item's outcome, defined in ledger_impl.cc
  struct Batch;     // one batch's decisions and staged state
  struct Movement;  // what a transfer does to its two accounts

  LedgerImpl(storage::Database& database, const Clock& clock, IdGenerator& ids,
             LedgerOptions options);
  Status load();

  // False (and `work` untouched) when the queue is full or the ledger is stopping.
  bool enqueue(Work& work);

  // The writer thread.
  void run_writer();
  std::vector<Work> take_due_expiries(std::int64_t now_ms, bool* more_due);
  void process(std::vector<Work> work, std::int64_t now_ms, bool retried_alone = false);
  // Redoes each request of a failed batch alone.
  void process_alone(std::vector<Work> work, std::int64_t now_ms);
  // Decides every item, then makes the batch durable in one transaction. Not ok: nothing was
  // committed; an attached write's own error is returned unchanged, the ledger's own as
  // kStorageError.
  Status decide_and_persist(Batch& batch, storage::Connection& connection);
  Status write_at_once(Batch& batch, storage::Connection& connection);
  Status write_journal(Batch& batch, storage::Connection& connection);
  // Applies journal rows until at least `transfers_min` transfers were applied or none is left.
  Status apply_journal_rows(storage::Connection& connection, std::uint64_t transfers_min);
  Status apply_whole_journal();
  void publish(Batch& batch);
  void answer(Batch& batch);
  void fail(Batch& batch, const Status& status);
  void prune_idempotency(std::int64_t now_ms);
  // The first way the in-memory state breaks the ledger's invariants (header of ledger.h), if
  // any: checked on the loaded state at open, asserted after every batch in debug builds.
  std::optional<std::string> find_broken_invariant() const;
  void assert_invariants() const;

  // Deciding, against committed state plus the batch's staged state.
  void decide_transfer(Batch& batch, storage::Connection& connection,
                       const TransferRequest& request, TransferOutcome& outcome);
  Decision decide_account(Batch& batch, const AccountSpec& spec);
  Decision decide_expiry(Batch& batch, const ExpireWork& expiry);
  Result<Transfer> make_transfer(Batch& batch, storage::Connection& connection,
                                 const TransferRequest& request);
  // Checks and stages `row` with its accounts' new balances, and resolves the pending transfer
  // `pending_id` (when not 0) to `pending_state`. Nothing is staged when it returns an error.
  Result<Transfer> stage_transfer(Batch& batch, Transfer row, const Movement& movement,
                                  Id pending_id, TransferState pending_state);
  const Account* find_account(const Batch& batch, Id id) const;
  bool code_taken(const Batch& batch, const std::string& code) const;
  // Takes the keys a failed batch staged out of keys_.
  void unstage_keys(Batch& batch);
  // The open pending transfer, or kPendingTransferNotFound / kPendingTransferResolved.
  Result<Transfer> find_open_pending(Batch& batch, storage::Connection& connection,
                                     Id pending_id);
  Result<Transfer> load_transfer(const Batch& batch, storage::Connection& connection, Id id);
  // A transfer from the tables, once the journal is applied (it may hold the transfer).
  Result<Transfer> read_committed(storage::Connection& connection, Id id);
  bool has_due_deadline(std::int64_t now_ms) const;

  void count_batch(std::size_t size, std::uint64_t commit_latency_us);

  storage::Database& database_;
  const Clock& clock_;
  IdGenerator& ids_;
  const LedgerOptions options_;
  const std::int64_t retention_ms_;

  // Committed accounts (writer writes under an exclusive lock; readers take a shared one).
  mutable std::shared_mutex state_mutex_;
  std::unordered_map<Id, Account> accounts_;                 // GUARDED_BY(state_mutex_)
  std::unordered_map<std::string, Id> account_ids_by_code_;  // GUARDED_BY(state_mutex_)

  // Writer.
  std::unordered_map<Id, Transfer> open_pendings_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  // The live idempotency records, oldest first (pruning takes them from the front; a batch's
  // staged keys are the newest, at the back), and an open-addressing index of them by key: the
  // index is probed once per transfer, among millions of keys, so a node-based map's cache
  // misses were half of deciding. The index's views point into the entries, which a deque never
  // moves.
  std::deque<KeyEntry> key_entries_;
  absl::flat_hash_map<std::string_view, KeyEntry*> keys_;
  std::int64_t next_prune_at_ms_ = 0;
  std::uint64_t journal_transfers_waiting_ = 0;  // in journal rows not yet applied

  // The queue.
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Work> queue_;              // GUARDED_BY(queue_mutex_)
  std::size_t queued_requests_ = 0;     // GUARDED_BY(queue_mutex_)
  bool stopping_ = false;               // GUARDED_BY(queue_mutex_)
  std::once_flag shutdown_once_;
  std::thread writer_;

  // Statistics.
  std::atomic<std::uint64_t> transfers_committed_{0};
  std::atomic<std::uint64_t> transfers_refused_{0};
  std::atomic<std::uint64_t> transfers_replayed_{0};
  std::atomic<std::uint64_t> batches_committed_{0};
  std::atomic<std::uint64_t> batch_commit_failures_{0};
  std::atomic<std::uint64_t> idempotency_records_{0};
  std::atomic<std::uint64_t> pending_transfers_{0};
  // Mirrors journal_transfers_waiting_ for other threads: flush_journal()'s fast path and stats.
  // Raised before a journaled batch is answered, lowered after its rows are committed.
  std::atomic<std::uint64_t> journal_waiting_published_{0};
  mutable std::mutex histogram_mutex_;
  std::vector<std::uint64_t> batch_size_buckets_;         // GUARDED_BY(histogram_mutex_)
  std::vector<std::uint64_t> commit_latency_us_buckets_;  // GUARDED_BY(histogram_mutex_)
  std::uint64_t batch_size_sum_ = 0;                      // GUARDED_BY(histogram_mutex_)
  std::uint64_t commit_latency_us_sum_ = 0;               // GUARDED_BY(histogram_mutex_)
};

}  // namespace station::ledger::internal
