#include "auth/audit.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include "common/limits.h"

namespace station::auth {

std::vector<storage::Value> audit_row(const AuditEntry& entry) {
  assert(entry.id > 0 && !entry.actor.empty() && !entry.action.empty());
  std::vector<storage::Value> row = {entry.id,     entry.at_ms,      entry.actor,
                                     entry.action, entry.target,     entry.request_id,
                                     entry.outcome, entry.detail};
  assert(row.size() == kAuditColumnCount);
  return row;
}

Status insert_audit_entry(storage::Connection& connection, const AuditEntry& entry) {
  return storage::insert_rows(connection, kAuditInsertHead, kAuditColumnCount, audit_row(entry));
}

namespace {

Result<std::vector<AuditEntry>> audit_entries(storage::Connection& connection,
                                              std::string_view where,
                                              std::vector<storage::Value> params,
                                              std::uint32_t limit) {
  if (limit == 0 || limit > limits::kPageSizeMax) limit = limits::kPageSizeMax;
  params.emplace_back(static_cast<std::int64_t>(limit));
  STATION_ASSIGN_OR_RETURN(
      auto rows,
      connection.query(fmt::format("SELECT id, at_ms, actor, action, target, request_id, outcome, "
                                   "detail FROM audit_log {} ORDER BY id DESC LIMIT ?",
                                   where),
                       params));
  std::vector<AuditEntry> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back(AuditEntry{row.int_at(0), row.int_at(1), row.text_at(2), row.text_at(3),
                             row.text_at(4), row.text_at(5), row.text_at(6), row.text_at(7)});
  }
  return out;
}

}  // namespace

Result<std::vector<AuditEntry>> list_audit_entries(storage::Connection& connection,
                                                   std::uint32_t limit) {
  return audit_entries(connection, "", {}, limit);
}

Result<std::vector<AuditEntry>> list_audit_entries_for_target(storage::Connection& connection,
                                                              std::string_view target,
                                                              std::uint32_t limit) {
  return audit_entries(connection, "WHERE target = ?", {std::string(target)}, limit);
}

}  // namespace station::auth

namespace station::auth {

AuditWriter::AuditWriter(storage::Database& database)
    : database_(database), thread_([this] { run(); }) {}

AuditWriter::~AuditWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AuditWriter::record(AuditEntry entry) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= limits::kAuditQueueDepthMax) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(entry));
  }
  wake_.notify_one();
}

void AuditWriter::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

std::uint64_t AuditWriter::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::uint64_t AuditWriter::failed_batches() const {
  std::lock_guard lock(mutex_);
  return failed_batches_;
}

void AuditWriter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) break;
    std::vector<AuditEntry> batch;
    while (!queue_.empty() && batch.size() < limits::kAuditBatchEntriesMax) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    writing_ = true;
    lock.unlock();
    Status status = [&]() -> Status {
      STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
      STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
      // One multi-row INSERT for the batch (a round trip per row on PostgreSQL otherwise).
      std::vector<storage::Value> values;
      for (const auto& entry : batch) {
        std::vector<storage::Value> row = audit_row(entry);
        std::move(row.begin(), row.end(), std::back_inserter(values));
      }
      STATION_RETURN_IF_ERROR(
          storage::insert_rows(*connection, kAuditInsertHead, kAuditColumnCount, values));
      return transaction.commit();
    }();
    lock.lock();
    writing_ = false;
    if (!status.is_ok()) ++failed_batches_;
    if (queue_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

}  // namespace station::auth
