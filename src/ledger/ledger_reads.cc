// Reads of committed transfers straight from the database, for any connection.
#include <fmt/format.h>

#include <array>
#include <limits>

#include "common/limits.h"
#include "ledger/ledger.h"
#include "ledger/ledger_rows.h"

namespace station::ledger {

using storage::Value;

Result<Transfer> get_transfer(storage::Connection& connection, Id transfer_id) {
  std::array<Value, 1> params = {transfer_id};
  STATION_ASSIGN_OR_RETURN(auto rows,
                           connection.query(fmt::format("SELECT {} FROM transfers WHERE id = ?",
                                                        internal::kTransferColumns),
                                            params));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no such transfer");
  return internal::transfer_from_row(rows[0]);
}

Result<std::vector<Transfer>> list_account_transfers(storage::Connection& connection, Id account_id,
                                                     std::optional<Id> before_id,
                                                     std::uint32_t limit) {
  if (limit == 0 || limit > limits::kPageSizeMax + 1) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("limit must be 1 to {}", limits::kPageSizeMax + 1));
  }
  const Id before = before_id.value_or(std::numeric_limits<Id>::max());
  const auto page = static_cast<std::int64_t>(limit);
  // Two index range scans (transfers_debit_idx, transfers_credit_idx), each newest first and
  // cut at the page size, merged. A transfer never has the same account on both sides.
  static const std::string sql = fmt::format(
      "SELECT * FROM (SELECT {0} FROM transfers WHERE debit_account_id = ? AND id < ? "
      "ORDER BY id DESC LIMIT ?) AS debits "
      "UNION ALL "
      "SELECT * FROM (SELECT {0} FROM transfers WHERE credit_account_id = ? AND id < ? "
      "ORDER BY id DESC LIMIT ?) AS credits "
      "ORDER BY id DESC LIMIT ?",
      internal::kTransferColumns);
  std::array<Value, 7> params = {account_id, before, page, account_id, before, page, page};
  STATION_ASSIGN_OR_RETURN(auto rows, connection.query(sql, params));
  std::vector<Transfer> transfers;
  transfers.reserve(rows.size());
  for (const auto& row : rows) {
    STATION_ASSIGN_OR_RETURN(auto transfer, internal::transfer_from_row(row));
    transfers.push_back(std::move(transfer));
  }
  return transfers;
}

}  // namespace station::ledger
