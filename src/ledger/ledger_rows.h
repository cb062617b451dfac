// ledger/ledger_rows: how accounts and transfers are laid out in their tables (internal).
//
// One place for the column lists and the row <-> struct conversions, shared by the writer, the
// reads and check_ledger, so the three never disagree about a column's position or encoding.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.h"

namespace station::ledger::internal {

inline constexpr std::string_view kAccountColumns =
    "id, kind, code, currency, has_floor, floor_minor, balance_minor, pending_debit_minor, "
    "pending_credit_minor, created_at_ms";
inline constexpr std::size_t kAccountColumnCount = 10;

inline constexpr std::string_view kTransferColumns =
    "id, phase, state, pending_id, debit_account_id, credit_account_id, amount_minor, currency, "
    "category, reference, description, expires_at_ms, debit_balance_after_minor, "
    "credit_balance_after_minor, idempotency_key, created_at_ms, resolved_at_ms";
inline constexpr std::size_t kTransferColumnCount = 17;
// What a new transfer row is written with: the columns above, then the idempotency record of the
// request that made it (stored_fingerprint() of ledger_journal.h; NULL for an expiry, which no
// request made). Only Ledger::open() reads it back, to restore the records within retention.
inline constexpr std::string_view kTransferInsertColumns =
    "id, phase, state, pending_id, debit_account_id, credit_account_id, amount_minor, currency, "
    "category, reference, description, expires_at_ms, debit_balance_after_minor, "
    "credit_balance_after_minor, idempotency_key, created_at_ms, resolved_at_ms, "
    "request_fingerprint";
inline constexpr std::size_t kTransferInsertColumnCount = kTransferColumnCount + 1;

// Business refusals only: a transfer's record is in its row (kTransferInsertColumns).
inline constexpr std::string_view kIdempotencyColumns =
    "key, fingerprint, transfer_id, error_code, error_detail, created_at_ms";
inline constexpr std::size_t kIdempotencyColumnCount = 6;

// Appends the row's values in column order.
void append_account_values(const Account& account, std::vector<storage::Value>& out);
void append_transfer_values(const Transfer& transfer, std::vector<storage::Value>& out);

// kInternal when a stored value is not one this build writes (a corrupt or foreign row).
Result<Account> account_from_row(const storage::Row& row);
Result<Transfer> transfer_from_row(const storage::Row& row);


}  // namespace station::ledger::internal
