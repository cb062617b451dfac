// common/limits: every bound on input, queue and batch, in one place.
//
// TigerBeetle's rule: put a limit on everything. A new input path adds its bound here; the
// relations between bounds are checked at compile time below.
#pragma once

#include <cstddef>
#include <cstdint>

namespace station::limits {

// HTTP
inline constexpr std::size_t kHttpHeaderBytesMax = 16 * 1024;
inline constexpr std::size_t kHttpBodyBytesMax = 64 * 1024;
inline constexpr std::uint32_t kHttpRequestTimeoutMsDefault = 15'000;
inline constexpr std::uint32_t kHttpKeepAliveIdleMsDefault = 60'000;
inline constexpr std::uint32_t kHttpShutdownGraceMsDefault = 10'000;
inline constexpr std::uint32_t kHttpConnectionsMax = 10'000;
inline constexpr std::uint32_t kHttpThreadsMax = 256;
inline constexpr std::size_t kHttpQueryParamsMax = 32;

// JSON bodies
inline constexpr std::size_t kJsonDepthMax = 16;
inline constexpr std::size_t kJsonStringBytesMax = 4096;

// Identifiers and free text
inline constexpr std::size_t kIdempotencyKeyBytesMax = 255;
inline constexpr std::size_t kNameBytesMax = 200;
inline constexpr std::size_t kEmailBytesMax = 254;  // RFC 5321 path limit
inline constexpr std::size_t kPhoneBytesMax = 16;   // E.164: '+' and at most 15 digits
inline constexpr std::size_t kReferenceBytesMax = 255;
inline constexpr std::size_t kDescriptionBytesMax = 500;

// Money: the largest single transfer (in minor units). Far below INT64_MAX so that sums of
// many maximum transfers are still checked rather than assumed.
inline constexpr std::int64_t kTransferAmountMinorMax = 1'000'000'000'000;  // 10^12

// Ledger writer
inline constexpr std::size_t kLedgerQueueDepthMax = 65'536;
// The most LedgerOptions::batch_transfers_max may be (the default is 8,192): larger writer rounds
// share one commit's fsync among more transfers, at the cost of a longer wait for a lone request.
inline constexpr std::size_t kLedgerBatchTransfersMax = 65'536;
inline constexpr std::uint32_t kPendingTimeoutSecondsMax = 30 * 24 * 3600;
inline constexpr std::uint32_t kIdempotencyRetentionHoursMin = 24;
inline constexpr std::uint32_t kIdempotencyRetentionHoursDefault = 7 * 24;

// Reads
inline constexpr std::uint32_t kPageSizeDefault = 50;
inline constexpr std::uint32_t kPageSizeMax = 200;

// Authentication
inline constexpr std::size_t kApiKeyCacheEntriesMax = 10'000;
inline constexpr std::size_t kAuditQueueDepthMax = 65'536;
inline constexpr std::size_t kAuditBatchEntriesMax = 1'024;

// Billing
inline constexpr std::size_t kWalletCacheEntriesMax = 100'000;

// Storage
inline constexpr std::uint32_t kStorageReadConnectionsMax = 64;
inline constexpr std::size_t kSqlParamsPerStatementMax = 30'000;  // below SQLite's 32766

// Storage engines (src/storage)
inline constexpr std::uint32_t kStoragePoolConnectionsMax = 128;
inline constexpr std::size_t kSqlStatementCacheEntriesMax = 256;  // per connection
inline constexpr std::uint32_t kPostgresStatementTimeoutMs = 30'000;
inline constexpr std::uint32_t kPostgresConnectTimeoutSeconds = 10;

// Ledger (src/ledger)
inline constexpr std::size_t kFingerprintBytesMax = 255;
inline constexpr std::size_t kTransferCategoryBytesMax = 64;
inline constexpr std::size_t kAccountCodeBytesMax = 200;
// Pending transfers expired per writer batch; the writer goes round again at once when more
// are due.
inline constexpr std::size_t kLedgerExpiriesPerBatchMax = 1'024;
// The writer wakes at least this often (real time) to look at the injected clock for expiries.
inline constexpr std::uint32_t kLedgerWriterWakeMs = 100;
// The ledger's journal (src/ledger/ledger_journal.h): the writer applies some of it after the
// queue has been empty this long, and before taking more work while it holds this many transfers
// (which bounds the work of recovery at open: seconds at the rate rows are written). Each turn
// of applying it writes at least kLedgerJournalApplyTransfersMin transfers (whole journal rows):
// many, because an index page that several transfers touch is written once per transaction.
inline constexpr std::uint32_t kLedgerJournalIdleApplyMs = 50;
inline constexpr std::uint64_t kLedgerJournalWaitingTransfersMax = 524'288;
inline constexpr std::uint64_t kLedgerJournalApplyTransfersMin = 32'768;
// Smaller batches write their rows at once while the journal is empty: the journal only pays off
// for large ones, and the rows of a server's occasional transfer are then in the tables when it
// is answered. Behind a waiting journal they join it instead of writing all of it first.
inline constexpr std::size_t kLedgerJournalBatchTransfersMin = 64;
// Idempotency records deleted per pruning pass, and the clock time between passes.
inline constexpr std::size_t kIdempotencyPruneKeysMax = 8'192;
inline constexpr std::int64_t kIdempotencyPruneIntervalMs = 60'000;
// check_ledger reads transfers in pages and stops listing problems after this many.
inline constexpr std::size_t kLedgerCheckPageRows = 10'000;
inline constexpr std::size_t kLedgerCheckProblemsMax = 1'000;

// Profile inventory (src/inventory, src/secrets)
// A vendor CSV is read whole into memory; ~120 bytes a row, so the row bound comes first.
inline constexpr std::size_t kProfileImportRowsMax = 100'000;
inline constexpr std::size_t kProfileImportBytesMax = 32 * 1024 * 1024;
inline constexpr std::size_t kProfileImportColumnsMax = 16;
inline constexpr std::size_t kProfileImportFieldBytesMax = 256;
// Problems listed for a refused import (the count of all is still given).
inline constexpr std::size_t kProfileImportProblemsMax = 1'000;
// ICCIDs per existence check against the store during an import.
inline constexpr std::size_t kProfileImportLookupBatch = 500;
inline constexpr std::size_t kProfileTypeBytesMax = 64;
inline constexpr std::size_t kProfileEventCauseBytesMax = 200;
inline constexpr std::size_t kProfileEventsListedMax = 1'000;
// Tries allocate_one makes when other writers keep taking the profile it picked.
inline constexpr std::uint32_t kProfileAllocateAttemptsMax = 64;

// Messaging (src/messaging)
// Largest SMPP PDU read from an SMSC: 254-octet short_message plus headers and a few TLVs;
// message_payload is not used.
inline constexpr std::size_t kSmppPduBytesMax = 2'048;
// One SMS text before encoding, and the segments it may be split into.
inline constexpr std::size_t kSmsTextBytesMax = 2'048;
inline constexpr std::size_t kSmsSegmentsMax = 10;
// The outbox sender: rows per pass, its idle wake-up (real time), tries before undeliverable,
// and the stored error text.
inline constexpr std::size_t kSmsSendBatch = 32;
inline constexpr std::uint32_t kSmsSenderPollMs = 1'000;
inline constexpr std::int64_t kSmsSubmitAttemptsMax = 5;
inline constexpr std::size_t kSmsErrorBytesMax = 200;
// submit_sm awaiting their responses on one SMPP link, and the wait for unbind_resp at shutdown.
inline constexpr std::size_t kSmppWindowMax = 10;
inline constexpr std::uint32_t kSmppUnbindWaitMs = 2'000;
// Delivery receipts kept while their message's "submitted" write has not landed yet.
inline constexpr std::size_t kSmsEarlyReceiptsMax = 1'024;

// The email channel (src/messaging): a subject and a text before encoding (an address is at
// most kEmailBytesMax); rows per sender pass; tries before undeliverable, with a back-off that
// doubles from the base up to the cap; SMTP connect and whole-transaction timeouts.
inline constexpr std::size_t kEmailSubjectBytesMax = 200;
inline constexpr std::size_t kEmailTextBytesMax = 16 * 1024;
inline constexpr std::size_t kEmailSendBatch = 16;
inline constexpr std::int64_t kEmailSendAttemptsMax = 8;
inline constexpr std::int64_t kEmailRetryBaseMs = 30'000;
inline constexpr std::int64_t kEmailRetryMaxMs = 60 * 60 * 1000;
inline constexpr std::uint32_t kSmtpConnectTimeoutMs = 10'000;
inline constexpr std::uint32_t kSmtpTransactionTimeoutMs = 30'000;

// The portal's sweeper (src/web): expired sessions and spent sign-in codes deleted per run (of
// each), and the time between runs (real time).
inline constexpr std::size_t kWebSweepBatch = 500;
inline constexpr std::uint32_t kWebSweepIntervalMs = 60'000;

// HTTP transport (src/http)
// Bytes asked of the socket at a time while waiting for a request's first byte.
inline constexpr std::size_t kHttpReadChunkBytes = 4 * 1024;
// After an error answer to a request not read whole (413, 431, 400, 408), what the client still
// sends is read and dropped for at most this long and this many bytes before the connection is
// closed, so that the client reads the answer instead of a reset.
inline constexpr std::uint32_t kHttpLingerMs = 1'000;
inline constexpr std::size_t kHttpLingerBytesMax = 256 * 1024;
// Pause before accepting again after accept() failed (e.g. out of file descriptors).
inline constexpr std::uint32_t kHttpAcceptRetryMs = 100;
// A client's X-Request-Id longer than this is replaced by a generated one.
inline constexpr std::size_t kHttpRequestIdBytesMax = 64;

// The SM-DP+ (src/smdp): ES9+/ES2+ calls queued or running on its workers at once (a device
// waits on one call at a time). Beyond it a call is answered 503 with Retry-After at once, rather
// than queued behind seconds of signatures.
inline constexpr std::size_t kSmdpWorkHeldMax = 512;
// Parsed EUM certificates the SM-DP+ keeps (most recently used); there are few EUMs, each
// certifying many eUICCs. Only the parsing is kept: every session verifies its chain again.
inline constexpr std::size_t kSmdpEumCertificatesCachedMax = 64;
// Sessions that expired without a download order (smdp::Smdp::delete_abandoned_sessions) deleted
// per run, and the time between runs (real time).
inline constexpr std::size_t kSmdpSweepBatch = 500;
inline constexpr std::uint32_t kSmdpSweepIntervalMs = 60'000;

// Configuration (src/config)
inline constexpr std::size_t kConfigTextValueBytesMax = 4'096;

// Orders: work queued for the order workers at once (beyond it: 503), card orders failed per
// sweep of timed-out payments, and interrupted orders finished per recovery pass.
inline constexpr std::size_t kOrdersInFlightMax = 256;
inline constexpr std::size_t kOrdersSweepBatch = 100;
inline constexpr std::uint32_t kOrdersSweepIntervalMs = 1'000;
inline constexpr std::size_t kOrderCardTokenBytesMax = 64;

static_assert(kLedgerBatchTransfersMax <= kLedgerQueueDepthMax);
static_assert(kEmailRetryBaseMs <= kEmailRetryMaxMs);
static_assert(kIdempotencyRetentionHoursDefault >= kIdempotencyRetentionHoursMin);
static_assert(kPageSizeDefault <= kPageSizeMax);
static_assert(kJsonStringBytesMax <= kHttpBodyBytesMax);
static_assert(kHttpReadChunkBytes <= kHttpHeaderBytesMax);
static_assert(kStorageReadConnectionsMax <= kStoragePoolConnectionsMax);
static_assert(kIdempotencyPruneKeysMax <= kSqlParamsPerStatementMax);
static_assert(kProfileImportLookupBatch <= kSqlParamsPerStatementMax);
static_assert(kProfileImportRowsMax * 32 <= kProfileImportBytesMax);  // room for real rows

}  // namespace station::limits
