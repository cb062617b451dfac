#include "ledger/ledger.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <future>
#include <iterator>
#include <utility>

#include "common/enum_names.h"
#include "ledger/ledger_impl.h"

namespace station::ledger {
namespace {

// Stored in the database and shown in the API: append-only, never renamed.
constexpr std::array<std::string_view, 5> kAccountKindNames = {"wallet", "cash", "revenue",
                                                               "partner_settlement", "promotions"};
constexpr std::array<std::string_view, 5> kTransferPhaseNames = {"single", "pending", "post",
                                                                 "void", "expire"};
constexpr std::array<std::string_view, 4> kTransferStateNames = {"posted", "pending", "voided",
                                                                 "expired"};

constexpr std::array<std::uint64_t, 14> kBatchSizeBounds = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1'024, 2'048, 4'096, 8'192};
constexpr std::array<std::uint64_t, 16> kCommitLatencyBoundsUs = {
    100,    200,     500,     1'000,   2'000,     5'000,     10'000,    20'000,
    50'000, 100'000, 200'000, 500'000, 1'000'000, 2'000'000, 5'000'000, 10'000'000};

}  // namespace

std::string_view account_kind_name(AccountKind kind) {
  return enum_name(kAccountKindNames, kind);
}
std::optional<AccountKind> parse_account_kind(std::string_view name) {
  return enum_from_name<AccountKind>(kAccountKindNames, name);
}
std::string_view transfer_phase_name(TransferPhase phase) {
  return enum_name(kTransferPhaseNames, phase);
}
std::optional<TransferPhase> parse_transfer_phase(std::string_view name) {
  return enum_from_name<TransferPhase>(kTransferPhaseNames, name);
}
std::string_view transfer_state_name(TransferState state) {
  return enum_name(kTransferStateNames, state);
}
std::optional<TransferState> parse_transfer_state(std::string_view name) {
  return enum_from_name<TransferState>(kTransferStateNames, name);
}

std::span<const std::uint64_t> batch_size_bucket_bounds() { return kBatchSizeBounds; }
std::span<const std::uint64_t> commit_latency_bucket_bounds_us() { return kCommitLatencyBoundsUs; }

Result<std::unique_ptr<Ledger>> Ledger::open(storage::Database& database, const Clock& clock,
                                             IdGenerator& ids, LedgerOptions options) {
  STATION_ASSIGN_OR_RETURN(auto ledger, internal::LedgerImpl::open(database, clock, ids, options));
  return std::unique_ptr<Ledger>(std::move(ledger));
}

void AttachedRows::add(std::string_view head, std::vector<storage::Value> row) {
  assert(!row.empty());
  auto table = std::find_if(tables_.begin(), tables_.end(),
                            [head](const Table& known) { return known.head == head; });
  if (table == tables_.end()) table = tables_.insert(tables_.end(), Table{head, row.size(), {}});
  assert(table->column_count == row.size() && "every row under one head has as many values");
  std::move(row.begin(), row.end(), std::back_inserter(table->values));
}

Status AttachedRows::write(storage::Connection& connection) const {
  for (const Table& table : tables_) {
    STATION_RETURN_IF_ERROR(
        storage::insert_rows(connection, table.head, table.column_count, table.values));
  }
  return Status::ok();
}

TransferOutcome Ledger::submit_and_wait(TransferRequest request) {
  std::promise<TransferOutcome> answer;
  auto future = answer.get_future();
  submit(std::move(request),
         [&answer](TransferOutcome outcome) { answer.set_value(std::move(outcome)); });
  return future.get();
}

std::vector<TransferOutcome> Ledger::submit_batch_and_wait(std::vector<TransferRequest> requests) {
  std::promise<std::vector<TransferOutcome>> answer;
  auto future = answer.get_future();
  submit_batch(std::move(requests), [&answer](std::vector<TransferOutcome> outcomes) {
    answer.set_value(std::move(outcomes));
  });
  return future.get();
}

Result<Account> Ledger::create_account_and_wait(
    AccountSpec spec, std::function<Status(storage::Connection&, const Account&)> attached_write) {
  std::promise<Result<Account>> answer;
  auto future = answer.get_future();
  create_account(std::move(spec), std::move(attached_write),
                 [&answer](Result<Account> account) { answer.set_value(std::move(account)); });
  return future.get();
}

}  // namespace station::ledger
