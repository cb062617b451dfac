// auth/audit: the append-only record of every state-changing request: who, what, when, with
// which request id, and how it ended. Rows are inserted, never updated or deleted.
//
// Writes that move money insert their audit row inside the ledger's transaction (attached
// write), so the money and its record commit together. Everything else is inserted directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/id.h"
#include "common/result.h"
#include "storage/database.h"

namespace station::auth {

struct AuditEntry {
  Id id = 0;
  std::int64_t at_ms = 0;
  std::string actor;       // "key:<prefix>", "cli:<user>", "system"
  std::string action;      // "topup.create", "api_key.create", ...
  std::string target;      // the object acted on, e.g. "cus_..."; empty when none
  std::string request_id;  // empty for CLI actions
  std::string outcome;     // "succeeded", or an error code such as "insufficient_funds"
  std::string detail;      // short JSON object with non-secret particulars
};

Status insert_audit_entry(storage::Connection& connection, const AuditEntry& entry);
// The same row for writers that batch rows into multi-row INSERTs (ledger::AttachedRows,
// AuditWriter): the statement head, and the entry's values in its column order.
inline constexpr std::string_view kAuditInsertHead =
    "INSERT INTO audit_log (id, at_ms, actor, action, target, request_id, outcome, detail)";
inline constexpr std::size_t kAuditColumnCount = 8;
std::vector<storage::Value> audit_row(const AuditEntry& entry);
// Newest first; limit <= limits::kPageSizeMax.
Result<std::vector<AuditEntry>> list_audit_entries(storage::Connection& connection,
                                                   std::uint32_t limit);
// The entries about one object ("cus_..."), newest first; limit <= limits::kPageSizeMax.
Result<std::vector<AuditEntry>> list_audit_entries_for_target(storage::Connection& connection,
                                                              std::string_view target,
                                                              std::uint32_t limit);

}  // namespace station::auth

#include <condition_variable>
#include <deque>
#include <thread>

namespace station::auth {

// Writes audit entries that are not part of a ledger transaction (refusals, administrative
// changes) from a background thread, in batches, so request threads and the ledger writer never
// wait on it. Bounded: when the queue is full an entry is dropped and counted (dropped()), which
// /metrics exposes so that operators alert on it.
class AuditWriter {
 public:
  explicit AuditWriter(storage::Database& database);
  ~AuditWriter();  // flushes what is queued
  void record(AuditEntry entry);
  // Blocks until everything recorded so far is written; for shutdown and tests.
  void flush();
  std::uint64_t dropped() const;
  std::uint64_t failed_batches() const;

 private:
  void run();
  storage::Database& database_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<AuditEntry> queue_;  // GUARDED_BY(mutex_)
  bool writing_ = false;          // GUARDED_BY(mutex_)
  bool stopping_ = false;         // GUARDED_BY(mutex_)
  std::uint64_t dropped_ = 0;     // GUARDED_BY(mutex_)
  std::uint64_t failed_batches_ = 0;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace station::auth
