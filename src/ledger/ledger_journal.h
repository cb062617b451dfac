// ledger/ledger_journal: the write-ahead journal of the ledger's batches (internal).
//
// Why: writing a transfer's relational rows (the transfer with its indexes, the idempotency
// record, the balances) costs the writer microseconds per transfer, which bounded the ledger at
// about 60,000 transfers/s with batches of thousands. A batch is instead made durable as one
// compact text row in ledger_journal (one INSERT, one fsync) and acknowledged; its relational
// rows are derived from that row behind, by the same writer thread, when it is idle, when the
// journal holds more than kLedgerJournalBehindTransfersMax transfers, before a batch that carries
// attached writes (whose rows must see every earlier transfer), and before any read that asks
// (Ledger::flush_journal()). Deriving a journal row deletes it in the same transaction, so the
// rows left in ledger_journal are exactly the batches whose relational rows are not yet written:
// recovery after a crash applies them, in order, when the ledger opens.
//
// Grammar of one journal row's `entry` (version 2; version 1, which builds before 2026-11-30
// wrote, is still read, so that a journal left by one is applied after an upgrade):
//   entry      = "j2" count(accounts) count(transfers) count(resolved) count(refusals) created_at
//                *account *transfer *resolved *refusal
//   account    = id balance_minor pending_debit_minor pending_credit_minor   ; final values
//   transfer   = id_step phase_letter state_letter pending_id debit credit amount currency
//                category reference description expires_at debit_after credit_after
//                idempotency_key resolved_at made_by
//   made_by    = "n"                       ; no key record (an expiry)
//              / "r" fingerprint           ; the request's money fields are the row's
//              / "w" shape fingerprint     ; written out (a post or a void)
//   resolved   = id state_letter resolved_at   ; a pending transfer of an earlier batch
//   refusal    = key shape fingerprint transfer_id(0) error_code error_detail
//   shape      = phase debit credit pending_id amount currency timeout
// id_step is the id minus the previous transfer's (the first: minus 0): ids grow within a batch.
// debit and credit are positions in the entry's account list, which holds every account the
// batch's transfers touch; a transfer's created_at is the entry's. Every integer is decimal
// followed by one space ("-" for absent); every text is its byte length, ':', the bytes; a
// letter is one byte. Names of enums (in `shape`) are as in the tables (ledger.h). About 80
// bytes per plain transfer, against 250 in version 1: the entry is written and fsynced before
// its batch is answered, so its size is on every acknowledgement's path.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.h"

namespace station::ledger::internal {

// The final balances of an account that existed before the batch.
struct JournalBalances {
  Id id = 0;
  std::int64_t balance_minor = 0;
  std::int64_t pending_debit_minor = 0;
  std::int64_t pending_credit_minor = 0;
};

// A pending transfer of an earlier batch that this batch posted, voided or expired.
struct JournalResolution {
  Id id = 0;
  TransferState state = TransferState::kPending;
  std::int64_t resolved_at_ms = 0;
};

// The money fields of a transfer request, which an idempotency key is compared by together with
// the caller's fingerprint (ledger.h: TransferRequest::fingerprint). Compared as values in
// memory; stored as text in the idempotency table: "phase|debit|credit|pending|amount|currency|
// timeout|caller's fingerprint".
struct RequestShape {
  TransferPhase phase = TransferPhase::kSingle;
  Id debit_account_id = 0;
  Id credit_account_id = 0;
  Id pending_id = 0;
  std::int64_t amount_minor = 0;
  std::array<char, 3> currency{};
  std::uint32_t timeout_seconds = 0;

  static RequestShape of(const TransferRequest& request);
  std::string_view currency_code() const { return {currency.data(), currency.size()}; }
  bool operator==(const RequestShape&) const = default;
};
std::string stored_fingerprint(const RequestShape& shape, std::string_view caller_fingerprint);
// kInternal when `text` is not what stored_fingerprint() makes.
Status parse_stored_fingerprint(std::string_view text, RequestShape& shape,
                                std::string& caller_fingerprint);

// An idempotency record: the transfer made (transfer_id != 0) or the business refusal.
struct JournalKey {
  std::string key;
  RequestShape shape;
  std::string fingerprint;  // the caller's
  Id transfer_id = 0;
  ErrorCode refusal = ErrorCode::kOk;
  std::string refusal_detail;
};

// Everything one batch changes in the ledger's tables, except the accounts it creates (a batch
// that creates accounts writes its rows at once and never goes through the journal).
struct JournalEntry {
  std::int64_t created_at_ms = 0;  // of every key record; transfers carry their own
  std::vector<JournalBalances> balances;
  std::vector<Transfer> transfers;  // new rows in id order, in their state after the batch
  std::vector<JournalResolution> resolved;
  std::vector<JournalKey> keys;

  // What the writer counts as waiting in the journal: the transfers written or resolved, and at
  // least 1, so that an entry of refusals alone is waited for too.
  std::uint64_t weight() const { return std::max<std::uint64_t>(transfers.size() + resolved.size(), 1); }
};

// Appends the entry's text to `out`. kInternal (and `out` is to be dropped) when a transfer does
// not fit the grammar: its accounts not in the entry, ids not growing, another creation time.
Status encode_journal_entry(const JournalEntry& entry, std::string& out);
// kInternal when `text` is not an entry this build writes.
Result<JournalEntry> decode_journal_entry(std::string_view text);

// Writes the entry's relational rows (transfers, resolutions, balances, idempotency records).
// Runs inside the caller's transaction.
Status write_journal_rows(storage::Connection& connection, const JournalEntry& entry);

// Appends one journal row. Runs inside the caller's transaction.
// (Taken by value: an entry can be megabytes, and the statement's parameter takes it over.)
Status append_journal(storage::Connection& connection, Id sequence, std::string text);

// Derives the relational rows of the oldest journal rows and deletes them, in transactions of at
// least kLedgerJournalApplyTransfersMin of weight (JournalEntry::weight()) each, until entries of
// `weight_min` in total were applied or the journal is empty. Returns the weight applied. With
// `in_transaction`, runs inside the caller's transaction instead and applies everything.
Result<std::uint64_t> apply_journal(storage::Connection& connection, std::uint64_t weight_min,
                                    bool in_transaction);

// How many journal rows wait to be applied (for check_ledger and tests).
Result<std::int64_t> journal_rows_waiting(storage::Connection& connection);

}  // namespace station::ledger::internal
