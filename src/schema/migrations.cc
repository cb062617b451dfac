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

constexpr std::array kMigrations = {
    storage::Migration{1, "ledger, customers, api keys, audit log", kLedgerAndCustomers},
    storage::Migration{2, "top-up channels", kTopups},
    storage::Migration{4, "profile inventory", kProfileInventory},
    storage::Migration{5, "sms outbox", kMessagingOutbox},
};

}  // namespace

std::span<const storage::Migration> all_migrations() { return kMigrations; }

}  // namespace station::schema
