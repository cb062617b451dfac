#include "schema/migrations.h"

#include <array>

namespace station::schema {
namespace {

// Money columns are BIGINT minor units. Times are BIGINT milliseconds since the Unix epoch (UTC).
// Ids are application-made BIGINTs (common/id.h).
constexpr std::string_view kLedgerAndCustomers = R"sql(
CREATE TABLE accounts (
  id BIGINT PRIMARY KEY,
  kind TEXT NOT NULL,
  code TEXT UNIQUE,
  currency TEXT NOT NULL,
  has_floor INTEGER NOT NULL,
  floor_minor BIGINT NOT NULL,
  balance_minor BIGINT NOT NULL,
  pending_debit_minor BIGINT NOT NULL,
  pending_credit_minor BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL
);

CREATE TABLE transfers (
  id BIGINT PRIMARY KEY,
  phase TEXT NOT NULL,
  state TEXT NOT NULL,
  pending_id BIGINT,
  debit_account_id BIGINT NOT NULL REFERENCES accounts(id),
  credit_account_id BIGINT NOT NULL REFERENCES accounts(id),
  amount_minor BIGINT NOT NULL,
  currency TEXT NOT NULL,
  category TEXT NOT NULL,
  reference TEXT NOT NULL,
  description TEXT NOT NULL,
  expires_at_ms BIGINT,
  debit_balance_after_minor BIGINT NOT NULL,
  credit_balance_after_minor BIGINT NOT NULL,
  idempotency_key TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  resolved_at_ms BIGINT
);
CREATE INDEX transfers_debit_idx ON transfers (debit_account_id, id);
CREATE INDEX transfers_credit_idx ON transfers (credit_account_id, id);
CREATE INDEX transfers_pending_idx ON transfers (state, expires_at_ms);

-- The outcome of every transfer request by idempotency key: the transfer it made, or the
-- business refusal it got. Kept for the configured retention (at least 24 hours).
CREATE TABLE idempotency (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  transfer_id BIGINT,
  error_code TEXT,
  error_detail TEXT,
  created_at_ms BIGINT NOT NULL
);
CREATE INDEX idempotency_created_idx ON idempotency (created_at_ms);

CREATE TABLE customers (
  id BIGINT PRIMARY KEY,
  name TEXT NOT NULL,
  phone TEXT,
  email TEXT,
  currency TEXT NOT NULL,
  language TEXT NOT NULL,
  wallet_account_id BIGINT NOT NULL UNIQUE REFERENCES accounts(id),
  created_at_ms BIGINT NOT NULL
);

CREATE TABLE api_keys (
  id BIGINT PRIMARY KEY,
  prefix TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  revoked_at_ms BIGINT
);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE audit_log (
  id BIGINT PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  request_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_log_target_idx ON audit_log (target, id);
)sql";

// A top-up's channel and customer, beside its ledger transfer (written in the same transaction).
constexpr std::string_view kTopups = R"sql(
CREATE TABLE topups (
  transfer_id BIGINT PRIMARY KEY REFERENCES transfers(id),
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  channel TEXT NOT NULL
);
)sql";

// The device catalogue (src/devices): models and whether they take an eSIM, matched by brand and
// a lower-cased model key, and the TACs (first 8 IMEI digits) that identify each model.
constexpr std::string_view kDeviceCatalogue = R"sql(
CREATE TABLE devices (
  id BIGINT PRIMARY KEY,
  brand TEXT NOT NULL,
  model TEXT NOT NULL,
  brand_key TEXT NOT NULL,
  model_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  esim_capable INTEGER NOT NULL,
  UNIQUE (brand_key, model_key)
);
CREATE INDEX devices_model_idx ON devices (model_key);

CREATE TABLE device_tacs (
  tac TEXT PRIMARY KEY,
  device_id BIGINT NOT NULL REFERENCES devices(id)
);
CREATE INDEX device_tacs_device_idx ON device_tacs (device_id);
)sql";

// The profile inventory (src/inventory): one row per eSIM profile, its secrets sealed by
// src/secrets (text "v1:<key id>:<base64>"), and every state change it went through.
constexpr std::string_view kProfileInventory = R"sql(
CREATE TABLE profiles (
  iccid TEXT PRIMARY KEY,
  imsi TEXT NOT NULL,
  ki_sealed TEXT NOT NULL,
  opc_sealed TEXT NOT NULL,
  pin1_sealed TEXT,
  puk1_sealed TEXT,
  profile_type TEXT NOT NULL,
  state TEXT NOT NULL,
  -- Counts the profile's state changes; each change is a compare-and-set on it.
  version BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX profiles_state_idx ON profiles (state, profile_type, iccid);

-- Append-only: one row per state change, numbered by the profile's version after it (0 and
-- from_state NULL for the import that created the profile).
CREATE TABLE profile_events (
  iccid TEXT NOT NULL REFERENCES profiles(iccid),
  version BIGINT NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  cause TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  PRIMARY KEY (iccid, version)
);
)sql";

// The SMS outbox (src/messaging): every message Station sends, kept whether or not an SMSC is
// configured; without one, rows stay queued and admins read them.
constexpr std::string_view kMessagingOutbox = R"sql(
CREATE TABLE messages (
  id BIGINT PRIMARY KEY,
  customer_id BIGINT REFERENCES customers(id),
  destination TEXT NOT NULL,
  language TEXT NOT NULL,
  text TEXT NOT NULL,
  state TEXT NOT NULL,
  smsc_message_id TEXT,
  attempts BIGINT NOT NULL,
  error TEXT,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX messages_state_idx ON messages (state, id);
CREATE INDEX messages_smsc_idx ON messages (smsc_message_id);
)sql";

// The plan catalogue (src/catalogue): every version of every plan. A change inserts the next
// version; an order keeps the id of the version it was sold at. countries: ISO 3166-1 alpha-2
// codes joined by ',' (empty when none are listed); data_mb NULL: unlimited; active 0 or 1.
constexpr std::string_view kPlanCatalogue = R"sql(
CREATE TABLE plan_versions (
  id BIGINT PRIMARY KEY,
  code TEXT NOT NULL,
  version BIGINT NOT NULL,
  name_zh TEXT NOT NULL,
  name_en TEXT NOT NULL,
  data_mb BIGINT,
  validity_days BIGINT NOT NULL,
  price_minor BIGINT NOT NULL,
  currency TEXT NOT NULL,
  countries TEXT NOT NULL,
  active INTEGER NOT NULL,
  created_at_ms BIGINT NOT NULL,
  UNIQUE (code, version)
);
)sql";

// Identity verification (src/kyc): a customer's latest submission and its review. The document
// number is kept only as a keyed hash (HMAC-SHA256, key derived from the secrets key named by
// document_key_id) and its last 4 characters.
// Orders and their history; payment_events records each provider event once, so a redelivered
// webhook changes nothing. The idempotency key is the caller's, scoped by API key.
constexpr std::string_view kOrders = R"sql(
CREATE TABLE orders (
  id BIGINT PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  plan_version_id BIGINT NOT NULL,
  plan_code TEXT NOT NULL,
  price_minor BIGINT NOT NULL,
  currency TEXT NOT NULL,
  imei TEXT,
  eid TEXT,
  delivery TEXT NOT NULL,
  payment_method TEXT NOT NULL,
  state TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  fingerprint TEXT NOT NULL,
  confirmation_code_hash TEXT,
  iccid TEXT,
  matching_id TEXT UNIQUE,
  activation_code TEXT,
  reservation_transfer_id BIGINT,
  payment_transfer_id BIGINT,
  payment_intent_id TEXT UNIQUE,
  payment_deadline_ms BIGINT,
  delivery_message_id BIGINT,
  failure_code TEXT,
  failure_detail TEXT,
  created_by TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX orders_customer_idx ON orders (customer_id, id);
CREATE INDEX orders_state_idx ON orders (state, id);
CREATE TABLE order_events (
  id BIGINT PRIMARY KEY,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  from_state TEXT,
  to_state TEXT NOT NULL,
  cause TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);
CREATE TABLE payment_events (
  event_id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  type TEXT NOT NULL,
  intent_id TEXT NOT NULL,
  order_id BIGINT,
  received_at_ms BIGINT NOT NULL
);
)sql";

constexpr std::string_view kIdentities = R"sql(
CREATE TABLE identities (
  customer_id BIGINT PRIMARY KEY REFERENCES customers(id),
  state TEXT NOT NULL,
  document_type TEXT NOT NULL,
  document_hash TEXT NOT NULL,
  document_key_id TEXT NOT NULL,
  document_last4 TEXT NOT NULL,
  full_name TEXT NOT NULL,
  date_of_birth TEXT NOT NULL,
  nationality TEXT NOT NULL,
  rejection_reason TEXT,
  reviewed_by TEXT,
  -- Counts the row's changes; each change is a compare-and-set on it.
  version BIGINT NOT NULL,
  submitted_at_ms BIGINT NOT NULL,
  reviewed_at_ms BIGINT
);
CREATE INDEX identities_state_idx ON identities (state, submitted_at_ms);
CREATE INDEX identities_document_idx ON identities (document_hash);
)sql";

// The web portal (src/web): a subscriber's sign-in name (the verified phone number) and
// preferences; one-time sign-in codes, stored as a salted SHA-256 only, with their attempts and
// the requester's address for rate limits; sessions of any kind of principal (customer now,
// operator staff later), looked up by the SHA-256 of the cookie's value, each with the CSRF
// token its forms must carry.
constexpr std::string_view kWebPortal = R"sql(
CREATE TABLE web_accounts (
  customer_id BIGINT PRIMARY KEY REFERENCES customers(id),
  login TEXT NOT NULL UNIQUE,
  language TEXT NOT NULL,
  notify_sms BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE TABLE web_login_codes (
  id BIGINT PRIMARY KEY,
  destination TEXT NOT NULL,
  requester TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  signup_name TEXT,
  attempts BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  used_at_ms BIGINT
);
CREATE INDEX web_login_codes_destination_idx ON web_login_codes (destination, created_at_ms);
CREATE INDEX web_login_codes_requester_idx ON web_login_codes (requester, created_at_ms);
CREATE TABLE web_sessions (
  id_hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  principal_id BIGINT,
  csrf_token TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL
);
CREATE INDEX web_sessions_expiry_idx ON web_sessions (expires_at_ms);
)sql";

// The SM-DP+ (src/smdp). smdp_download_orders: one ES2+ download order per row (a profile bound
// to a Matching ID, optionally to an EID and a confirmation code's SHA-256), whose state follows
// the profile's; session_id names the one RSP session that holds it (compare-and-set claim).
// smdp_sessions: one RSP session (ES9+) per transaction id. smdp_otsk_sealed is no longer
// written (the one-time private key is not kept at all since 2026-11-30) and stays NULL; nor are
// euicc_certificate and eum_certificate since migration 19 (the session keeps the verified key).
constexpr std::string_view kSmdp = R"sql(
CREATE TABLE smdp_download_orders (
  id BIGINT PRIMARY KEY,
  iccid TEXT NOT NULL,
  matching_id TEXT UNIQUE,
  eid TEXT,
  confirmation_code_hash TEXT,
  cc_failures BIGINT NOT NULL,
  state TEXT NOT NULL,
  order_id BIGINT,
  session_id TEXT,
  expires_at_ms BIGINT NOT NULL,
  version BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX smdp_download_orders_iccid_idx ON smdp_download_orders (iccid, id);
CREATE TABLE smdp_sessions (
  transaction_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  euicc_challenge TEXT NOT NULL,
  server_challenge TEXT NOT NULL,
  ci_pkid TEXT NOT NULL,
  download_order_id BIGINT,
  eid TEXT,
  euicc_certificate TEXT,
  eum_certificate TEXT,
  smdp_signature2 TEXT,
  euicc_otpk TEXT,
  smdp_otpk TEXT,
  smdp_otsk_sealed TEXT,
  failure_reason TEXT,
  expires_at_ms BIGINT NOT NULL,
  version BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX smdp_sessions_expiry_idx ON smdp_sessions (state, expires_at_ms);
)sql";

// The ledger's write-ahead journal (src/ledger/ledger_journal.h): one row per batch of transfers
// made durable before its relational rows (transfers, balances, idempotency records) are derived;
// a row is deleted in the transaction that writes its rows, so what is left after a crash is
// exactly what recovery applies.
constexpr std::string_view kLedgerJournal = R"sql(
CREATE TABLE ledger_journal (
  seq BIGINT PRIMARY KEY,
  entry TEXT NOT NULL
);
)sql";

// The operator console (src/web/console*, src/auth/staff.h): staff accounts with a role and a
// salted scrypt hash of their password, counting wrong passwords for the account's lockout; and
// every failed sign-in by client address, for the per-address limit. Customers are searched by
// phone and email, so both are indexed.
constexpr std::string_view kConsoleStaff = R"sql(
CREATE TABLE staff_users (
  id BIGINT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  failed_attempts BIGINT NOT NULL,
  locked_until_ms BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE TABLE staff_sign_in_failures (
  id BIGINT PRIMARY KEY,
  requester TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX staff_sign_in_failures_requester_idx ON staff_sign_in_failures (requester, at_ms);
CREATE INDEX customers_phone_idx ON customers (phone);
CREATE INDEX customers_email_idx ON customers (email);
)sql";

// The email channel (src/messaging) and the portal's sweeper (src/web). An outbox row now names
// its channel ("sms" or "email"; every older row is an SMS); an email has a subject, and its
// destination is the address. next_attempt_at_ms: a row failed transiently waits until then
// (back-off). The sweeper deletes sign-in codes by age, so they are indexed by creation time.
constexpr std::string_view kEmailChannel = R"sql(
ALTER TABLE messages ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms';
ALTER TABLE messages ADD COLUMN subject TEXT;
ALTER TABLE messages ADD COLUMN next_attempt_at_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX messages_channel_state_idx ON messages (channel, state, next_attempt_at_ms, id);
CREATE INDEX web_login_codes_created_idx ON web_login_codes (created_at_ms);
)sql";

// ES2+ HandleDownloadProgressInfo reports of the SM-DP+ to the operator (src/smdp
// progress_callbacks.h): one row per report, its JSON body fixed when queued; state queued ->
// delivered | undeliverable; a failed try waits until next_attempt_at_ms (back-off).
constexpr std::string_view kSmdpProgressCallbacks = R"sql(
CREATE TABLE smdp_progress_callbacks (
  id BIGINT PRIMARY KEY,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  next_attempt_at_ms BIGINT NOT NULL,
  last_error TEXT,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX smdp_progress_callbacks_state_idx ON smdp_progress_callbacks (state, id);
)sql";

// The ledger keeps the idempotency record of a transfer it made in the transfer's own row (the
// request's stored fingerprint beside its key), so a transfer costs one row instead of two; the
// idempotency table keeps only business refusals, which have no transfer. Open pending transfers,
// the only ones the ledger looks up by state (at start), get a partial index instead of an index
// over every transfer's state.
constexpr std::string_view kLedgerLeanRows = R"sql(
ALTER TABLE transfers ADD COLUMN request_fingerprint TEXT;
UPDATE transfers SET request_fingerprint =
  (SELECT fingerprint FROM idempotency WHERE idempotency.transfer_id = transfers.id)
  WHERE id IN (SELECT transfer_id FROM idempotency WHERE transfer_id IS NOT NULL);
DELETE FROM idempotency WHERE transfer_id IS NOT NULL;
DROP INDEX transfers_pending_idx;
CREATE INDEX transfers_open_pending_idx ON transfers (id) WHERE state = 'pending';
)sql";

// A remote SM-DP+ reports progress by ICCID (ES2+ HandleDownloadProgressInfo): Station finds the
// newest order holding the profile without reading every order.
constexpr std::string_view kOrdersByIccid = R"sql(
CREATE INDEX orders_iccid_idx ON orders (iccid, id);
)sql";

// The profile package's other codes beside PIN1/PUK1 (src/upp writes them into the template's
// PE-PINCodes/PE-PUKCodes): PIN2 and PUK2 of the USIM and the operator's ADM1, optional and
// sealed like Ki and OPc.
constexpr std::string_view kProfileMoreCodes = R"sql(
ALTER TABLE profiles ADD COLUMN pin2_sealed TEXT;
ALTER TABLE profiles ADD COLUMN puk2_sealed TEXT;
ALTER TABLE profiles ADD COLUMN adm1_sealed TEXT;
)sql";

// The eUICC's public key of an RSP session as a point with its curve, kept when AuthenticateClient
// has verified the eUICC's certificate: the later ES9+ calls of the session verify the eUICC's
// signatures with it instead of parsing the stored certificate again (OpenSSL's certificate
// decoding costs about three signature verifications).
constexpr std::string_view kSmdpSessionEuiccKey = R"sql(
ALTER TABLE smdp_sessions ADD COLUMN euicc_public_key TEXT;
ALTER TABLE smdp_sessions ADD COLUMN euicc_key_curve TEXT;
)sql";

// Lookups that read whole tables, found with EXPLAIN QUERY PLAN over the statements the tests run.
// - A profile's enable, disable or delete notification finds the eUICC's session by its download
//   order; without an index on download_order_id that read every session ever kept. The old
//   (state, expires_at_ms) index served no query, yet every session's state change rewrote it.
// - A device check by brand and model compares brand_key || ' ' || model_key, which
//   devices_model_idx cannot answer, so every such check read the whole catalogue.
// - The identity checks listed without a state (GET /v1/kyc) read and sorted every identity to
//   return the oldest few; identities_state_idx serves only a listing by state.
constexpr std::string_view kIndexedLookups = R"sql(
DROP INDEX smdp_sessions_expiry_idx;
CREATE INDEX smdp_sessions_download_order_idx ON smdp_sessions (download_order_id);
CREATE INDEX devices_brand_model_idx ON devices ((brand_key || ' ' || model_key));
CREATE INDEX identities_submitted_idx ON identities (submitted_at_ms, customer_id);
)sql";

constexpr std::array kMigrations = {
    storage::Migration{1, "ledger, customers, api keys, audit log", kLedgerAndCustomers},
    storage::Migration{2, "top-up channels", kTopups},
    storage::Migration{3, "device catalogue", kDeviceCatalogue},
    storage::Migration{4, "profile inventory", kProfileInventory},
    storage::Migration{5, "sms outbox", kMessagingOutbox},
    storage::Migration{6, "plan catalogue", kPlanCatalogue},
    storage::Migration{7, "identity verification", kIdentities},
    storage::Migration{8, "orders and payment events", kOrders},
    storage::Migration{9, "web portal accounts, sign-in codes and sessions", kWebPortal},
    storage::Migration{10, "sm-dp+ download orders and rsp sessions", kSmdp},
    storage::Migration{11, "ledger journal", kLedgerJournal},
    storage::Migration{12, "operator console staff and sign-in failures", kConsoleStaff},
    storage::Migration{13, "email channel of the outbox, sign-in codes by age", kEmailChannel},
    storage::Migration{14, "sm-dp+ progress callbacks to the operator", kSmdpProgressCallbacks},
    storage::Migration{15, "ledger: idempotency records in transfer rows", kLedgerLeanRows},
    storage::Migration{16, "orders by iccid, for a remote sm-dp+'s progress", kOrdersByIccid},
    storage::Migration{17, "profile inventory: pin2, puk2 and adm1", kProfileMoreCodes},
    storage::Migration{19, "sm-dp+ sessions keep the eUICC's public key", kSmdpSessionEuiccKey},
    storage::Migration{20, "indexes for sessions by download order, devices by brand and model, "
                           "identities by age",
                       kIndexedLookups},
};

}  // namespace

std::span<const storage::Migration> all_migrations() { return kMigrations; }

}  // namespace station::schema
