#include "ledger/ledger_rows.h"

#include <fmt/format.h>

#include <cassert>

namespace station::ledger::internal {
namespace {

using storage::Value;

Value optional_int(const std::optional<std::int64_t>& value) {
  if (!value) return nullptr;
  return *value;
}

std::optional<std::int64_t> int_if_present(const storage::Row& row, std::size_t column) {
  if (row.is_null(column)) return std::nullopt;
  return row.int_at(column);
}

Status corrupt(std::string_view table, std::int64_t id, std::string_view what) {
  return Status(ErrorCode::kInternal, fmt::format("{} row {}: {}", table, id, what));
}


}  // namespace

void append_account_values(const Account& account, std::vector<Value>& out) {
  out.emplace_back(account.id);
  out.emplace_back(std::string(account_kind_name(account.kind)));
  if (account.code.empty()) {
    out.emplace_back(nullptr);
  } else {
    out.emplace_back(account.code);
  }
  out.emplace_back(std::string(account.currency.code()));
  out.emplace_back(std::int64_t{account.floor_minor.has_value() ? 1 : 0});
  out.emplace_back(account.floor_minor.value_or(0));
  out.emplace_back(account.balance_minor);
  out.emplace_back(account.pending_debit_minor);
  out.emplace_back(account.pending_credit_minor);
  out.emplace_back(account.created_at_ms);
}

void append_transfer_values(const Transfer& transfer, std::vector<Value>& out) {
  out.emplace_back(transfer.id);
  out.emplace_back(std::string(transfer_phase_name(transfer.phase)));
  out.emplace_back(std::string(transfer_state_name(transfer.state)));
  out.emplace_back(transfer.pending_id == 0 ? Value(nullptr) : Value(transfer.pending_id));
  out.emplace_back(transfer.debit_account_id);
  out.emplace_back(transfer.credit_account_id);
  out.emplace_back(transfer.amount_minor);
  out.emplace_back(transfer.currency);
  out.emplace_back(transfer.category);
  out.emplace_back(transfer.reference);
  out.emplace_back(transfer.description);
  out.emplace_back(optional_int(transfer.expires_at_ms));
  out.emplace_back(transfer.debit_balance_after_minor);
  out.emplace_back(transfer.credit_balance_after_minor);
  out.emplace_back(transfer.idempotency_key);
  out.emplace_back(transfer.created_at_ms);
  out.emplace_back(optional_int(transfer.resolved_at_ms));
}

Result<Account> account_from_row(const storage::Row& row) {
  assert(row.size() == kAccountColumnCount);
  Account account;
  account.id = row.int_at(0);
  auto kind = parse_account_kind(row.text_at(1));
  if (!kind) return corrupt("accounts", account.id, "unknown kind " + row.text_at(1));
  account.kind = *kind;
  account.code = row.text_or(2, "");
  auto currency = Currency::from_code(row.text_at(3));
  if (!currency) return corrupt("accounts", account.id, "unknown currency " + row.text_at(3));
  account.currency = *currency;
  if (row.int_at(4) != 0) account.floor_minor = row.int_at(5);
  account.balance_minor = row.int_at(6);
  account.pending_debit_minor = row.int_at(7);
  account.pending_credit_minor = row.int_at(8);
  account.created_at_ms = row.int_at(9);
  return account;
}

Result<Transfer> transfer_from_row(const storage::Row& row) {
  assert(row.size() == kTransferColumnCount);
  Transfer transfer;
  transfer.id = row.int_at(0);
  auto phase = parse_transfer_phase(row.text_at(1));
  if (!phase) return corrupt("transfers", transfer.id, "unknown phase " + row.text_at(1));
  transfer.phase = *phase;
  auto state = parse_transfer_state(row.text_at(2));
  if (!state) return corrupt("transfers", transfer.id, "unknown state " + row.text_at(2));
  transfer.state = *state;
  transfer.pending_id = row.int_or(3, 0);
  transfer.debit_account_id = row.int_at(4);
  transfer.credit_account_id = row.int_at(5);
  transfer.amount_minor = row.int_at(6);
  transfer.currency = row.text_at(7);
  transfer.category = row.text_at(8);
  transfer.reference = row.text_at(9);
  transfer.description = row.text_at(10);
  transfer.expires_at_ms = int_if_present(row, 11);
  transfer.debit_balance_after_minor = row.int_at(12);
  transfer.credit_balance_after_minor = row.int_at(13);
  transfer.idempotency_key = row.text_at(14);
  transfer.created_at_ms = row.int_at(15);
  transfer.resolved_at_ms = int_if_present(row, 16);
  return transfer;
}


}  // namespace station::ledger::internal
