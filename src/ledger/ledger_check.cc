// check_ledger: recomputes every balance from the transfer history on disk and compares.
#include <fmt/format.h>

#include <array>
#include <map>
#include <unordered_map>

#include "common/limits.h"
#include "ledger/ledger.h"
#include "ledger/ledger_journal.h"
#include "ledger/ledger_rows.h"

namespace station::ledger {
namespace {

using storage::Value;

__extension__ typedef __int128 Wide;  // sums over a whole history may exceed int64

std::string to_string(Wide value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  std::string digits;
  while (value != 0) {
    int digit = static_cast<int>(value % 10);
    digits.push_back(static_cast<char>('0' + (negative ? -digit : digit)));
    value /= 10;
  }
  if (negative) digits.push_back('-');
  return std::string(digits.rbegin(), digits.rend());
}

struct AccountTotals {
  Account account;
  Wide credits = 0;  // posted (single and post) transfers
  Wide debits = 0;
  Wide pending_out = 0;  // open pending transfers
  Wide pending_in = 0;
  Wide running_balance = 0;  // replayed in id order, against each row's balance-after
};

struct PendingSeen {
  TransferState state = TransferState::kPending;
  std::int64_t amount_minor = 0;
  int resolutions = 0;
};

struct Resolution {
  Id id = 0;
  Id pending_id = 0;
  TransferPhase phase = TransferPhase::kPost;
  std::int64_t amount_minor = 0;
};

class Problems {
 public:
  explicit Problems(CheckReport& report) : report_(report) {}
  ~Problems() {
    if (dropped_ > 0) report_.problems.push_back(fmt::format("... and {} more", dropped_));
  }
  void add(std::string line) {
    report_.ok = false;
    if (report_.problems.size() < limits::kLedgerCheckProblemsMax) {
      report_.problems.push_back(std::move(line));
    } else {
      ++dropped_;
    }
  }

 private:
  CheckReport& report_;
  std::uint64_t dropped_ = 0;
};

std::optional<TransferState> state_made_by(TransferPhase phase) {
  switch (phase) {
    case TransferPhase::kPost:
      return TransferState::kPosted;
    case TransferPhase::kVoid:
      return TransferState::kVoided;
    case TransferPhase::kExpire:
      return TransferState::kExpired;
    case TransferPhase::kSingle:
    case TransferPhase::kPending:
      return std::nullopt;
  }
  return std::nullopt;
}

void check_transfer(const Transfer& t, std::unordered_map<Id, AccountTotals>& accounts,
                    std::unordered_map<Id, PendingSeen>& pendings,
                    std::vector<Resolution>& resolutions, Problems& problems) {
  auto debit = accounts.find(t.debit_account_id);
  auto credit = accounts.find(t.credit_account_id);
  if (debit == accounts.end() || credit == accounts.end()) {
    return problems.add(fmt::format("transfer {}: names a missing account", t.id));
  }
  if (t.debit_account_id == t.credit_account_id) {
    problems.add(fmt::format("transfer {}: debits and credits the same account", t.id));
  }
  if (t.amount_minor <= 0) {
    problems.add(fmt::format("transfer {}: amount {} is not positive", t.id, t.amount_minor));
  }
  if (debit->second.account.currency.code() != t.currency ||
      credit->second.account.currency.code() != t.currency) {
    problems.add(fmt::format("transfer {}: currency {} differs from its accounts' ({}, {})", t.id,
                             t.currency, debit->second.account.currency.code(),
                             credit->second.account.currency.code()));
  }

  switch (t.phase) {
    case TransferPhase::kSingle:
    case TransferPhase::kPost:
      if (t.state != TransferState::kPosted) {
        problems.add(fmt::format("transfer {}: a {} in state {}", t.id,
                                 transfer_phase_name(t.phase), transfer_state_name(t.state)));
      }
      debit->second.debits += t.amount_minor;
      credit->second.credits += t.amount_minor;
      debit->second.running_balance -= t.amount_minor;
      credit->second.running_balance += t.amount_minor;
      break;
    case TransferPhase::kPending:
      if (t.state == TransferState::kPending) {
        debit->second.pending_out += t.amount_minor;
        credit->second.pending_in += t.amount_minor;
      }
      pendings.emplace(t.id, PendingSeen{t.state, t.amount_minor, 0});
      break;
    case TransferPhase::kVoid:
    case TransferPhase::kExpire:
      if (t.state != state_made_by(t.phase)) {
        problems.add(fmt::format("transfer {}: a {} in state {}", t.id,
                                 transfer_phase_name(t.phase), transfer_state_name(t.state)));
      }
      break;
  }
  if (state_made_by(t.phase)) {
    resolutions.push_back(Resolution{t.id, t.pending_id, t.phase, t.amount_minor});
  }
  // Ids are made in the order the ledger applies transfers, so replaying in id order must meet
  // every recorded balance-after.
  if (debit->second.running_balance != t.debit_balance_after_minor ||
      credit->second.running_balance != t.credit_balance_after_minor) {
    problems.add(fmt::format(
        "transfer {}: records balances {} / {} after it, the history gives {} / {}", t.id,
        t.debit_balance_after_minor, t.credit_balance_after_minor,
        to_string(debit->second.running_balance), to_string(credit->second.running_balance)));
  }
}

void check_resolutions(const std::vector<Resolution>& resolutions,
                       std::unordered_map<Id, PendingSeen>& pendings, Problems& problems) {
  for (const auto& r : resolutions) {
    auto pending = pendings.find(r.pending_id);
    if (pending == pendings.end()) {
      problems.add(fmt::format("transfer {}: resolves {}, which is not a pending transfer", r.id,
                               r.pending_id));
      continue;
    }
    ++pending->second.resolutions;
    if (pending->second.state != state_made_by(r.phase)) {
      problems.add(fmt::format("transfer {}: a {} of pending transfer {}, which is {}", r.id,
                               transfer_phase_name(r.phase), r.pending_id,
                               transfer_state_name(pending->second.state)));
    }
    const bool amount_fits = r.phase == TransferPhase::kPost
                                 ? r.amount_minor <= pending->second.amount_minor
                                 : r.amount_minor == pending->second.amount_minor;
    if (!amount_fits) {
      problems.add(fmt::format("transfer {}: amount {} does not fit pending transfer {} ({})", r.id,
                               r.amount_minor, r.pending_id, pending->second.amount_minor));
    }
  }
  for (const auto& [id, pending] : pendings) {
    const int expected = pending.state == TransferState::kPending ? 0 : 1;
    if (pending.resolutions != expected) {
      problems.add(fmt::format("pending transfer {} ({}) is resolved {} times", id,
                               transfer_state_name(pending.state), pending.resolutions));
    }
  }
}

void check_accounts(const std::unordered_map<Id, AccountTotals>& accounts, Problems& problems) {
  std::map<std::string, Wide> sums;  // per currency, ordered for a stable report
  std::map<Id, const AccountTotals*> by_id;
  for (const auto& [id, totals] : accounts) by_id.emplace(id, &totals);
  for (const auto& [id, totals] : by_id) {
    const Account& a = totals->account;
    sums[std::string(a.currency.code())] += a.balance_minor;
    Wide history = totals->credits - totals->debits;
    if (history != a.balance_minor) {
      problems.add(fmt::format("account {}: balance {} but its transfers sum to {}", id,
                               a.balance_minor, to_string(history)));
    }
    if (totals->pending_out != a.pending_debit_minor) {
      problems.add(
          fmt::format("account {}: pending debits {} but its open pending transfers "
                      "sum to {}",
                      id, a.pending_debit_minor, to_string(totals->pending_out)));
    }
    if (totals->pending_in != a.pending_credit_minor) {
      problems.add(
          fmt::format("account {}: pending credits {} but its open pending transfers "
                      "sum to {}",
                      id, a.pending_credit_minor, to_string(totals->pending_in)));
    }
    if (a.floor_minor && Wide{a.balance_minor} - a.pending_debit_minor < *a.floor_minor) {
      problems.add(fmt::format("account {}: available {} is below its floor {}", id,
                               to_string(Wide{a.balance_minor} - a.pending_debit_minor),
                               *a.floor_minor));
    }
  }
  for (const auto& [currency, sum] : sums) {
    if (sum != 0) {
      problems.add(fmt::format("currency {}: balances sum to {}, not 0", currency, to_string(sum)));
    }
  }
}

}  // namespace

Result<CheckReport> check_ledger(storage::Connection& connection) {
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(connection));
  if (connection.dialect() == storage::Dialect::kPostgres) {
    // One snapshot for every page read below (SQLite's transaction is one already).
    STATION_RETURN_IF_ERROR(
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  }
  CheckReport report;
  {
    Problems problems(report);
    std::unordered_map<Id, AccountTotals> accounts;
    STATION_ASSIGN_OR_RETURN(
        auto account_rows,
        connection.query(fmt::format("SELECT {} FROM accounts", internal::kAccountColumns)));
    for (const auto& row : account_rows) {
      ++report.accounts_checked;
      auto account = internal::account_from_row(row);
      if (!account.is_ok()) {
        problems.add(account.status().message());
        continue;
      }
      accounts.emplace(account->id, AccountTotals{std::move(account).value()});
    }

    std::unordered_map<Id, PendingSeen> pendings;
    std::vector<Resolution> resolutions;
    const std::string page_sql = fmt::format(
        "SELECT {} FROM transfers WHERE id > ? ORDER BY id LIMIT ?", internal::kTransferColumns);
    Id after = 0;
    for (;;) {
      std::array<Value, 2> params = {after,
                                     static_cast<std::int64_t>(limits::kLedgerCheckPageRows)};
      STATION_ASSIGN_OR_RETURN(auto rows, connection.query(page_sql, params));
      for (const auto& row : rows) {
        ++report.transfers_checked;
        after = row.int_at(0);
        auto transfer = internal::transfer_from_row(row);
        if (!transfer.is_ok()) {
          problems.add(transfer.status().message());
          continue;
        }
        check_transfer(*transfer, accounts, pendings, resolutions, problems);
      }
      if (rows.size() < limits::kLedgerCheckPageRows) break;
    }
    check_resolutions(resolutions, pendings, problems);
    check_accounts(accounts, problems);
    STATION_ASSIGN_OR_RETURN(auto journal_rows, internal::journal_rows_waiting(connection));
    if (journal_rows != 0) {
      problems.add(fmt::format("{} ledger journal rows are not applied to the tables yet (a busy "
                               "or crashed server: check an idle one, or once it is stopped)",
                               journal_rows));
    }
  }
  return report;  // the read-only transaction rolls back
}

}  // namespace station::ledger
