// auth: operator API keys with scopes, and the append-only audit log.
//
// A key looks like "stk_<8-char prefix>_<43-char secret>" (base64url of 32 random bytes). Only
// the prefix (to find the row) and the SHA-256 of the whole key are stored: a stolen database
// does not yield usable keys, and because keys are 256-bit random a fast hash suffices. The
// plaintext is shown once, at creation.
//
// Scopes are roles an operator hands out: admin (everything), app (the operator's own app and
// web backends), support, finance, partner (third-party top-up platforms: top-ups only, through
// the "partner" channel).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "storage/database.h"

namespace station::auth {

// kSmdp: a remote SM-DP+ reporting download progress (ES2+ HandleDownloadProgressInfo).
enum class Scope : std::uint8_t { kAdmin, kApp, kSupport, kFinance, kPartner, kSmdp };
std::string_view scope_name(Scope scope);
std::optional<Scope> parse_scope(std::string_view name);

enum class Permission : std::uint8_t {
  kCustomersCreate,
  kCustomersRead,
  kTopupsCreate,
  kTopupsRead,
  kChargesCreate,
  kChargesRead,
  kTransactionsRead,
  kProfilesRead,  // operator view of the profile inventory (admin, support)
  kOutboxRead,    // the SMS outbox (admin, support)
  kPlansRead,       // the plan catalogue (every scope)
  kPlansWrite,      // creating and changing plans (admin)
  kProfilesImport,  // importing vendor profile files into the inventory (admin)
  kIdentitySubmit,  // a customer's identity submission, and reading it back (admin, app)
  kIdentityReview,  // the verification queue, approve and reject (admin, support)
  kDevicesRead,   // the device check (admin, app, support)
  kOrdersCreate,  // ordering an eSIM (admin, app)
  kOrdersRead,    // an order, its history and QR code (admin, app, support)
  kOrdersCancel,  // cancelling an order before download (admin, app, support)
  kDownloadProgressReport,  // ES2+ HandleDownloadProgressInfo into the orders (admin, smdp)
};
bool scope_allows(Scope scope, Permission permission);

struct Principal {
  Id key_id = 0;
  std::string key_prefix;
  std::vector<Scope> scopes;

  bool allows(Permission permission) const;
  bool has_scope(Scope scope) const;
  // Stable name for logs and the audit trail, e.g. "key:Ab3dE5fG".
  std::string name() const { return "key:" + key_prefix; }
};

struct CreatedKey {
  Id id = 0;
  std::string plaintext;  // shown once
  std::string prefix;
};

Result<CreatedKey> create_api_key(storage::Connection& connection, IdGenerator& ids,
                                  const Clock& clock, const std::vector<Scope>& scopes,
                                  std::string_view label);
Status revoke_api_key(storage::Connection& connection, const Clock& clock,
                      std::string_view prefix);

// Resolves "Authorization: Bearer <key>" values. Successful look-ups are cached briefly so the
// hot path does not hit the database on every request; a revoked key stops working within the
// cache lifetime.
class Authenticator {
 public:
  Authenticator(storage::Database& database, const Clock& clock,
                std::int64_t cache_ttl_ms = 5'000);

  // kUnauthenticated for a missing, malformed, unknown or revoked key.
  Result<Principal> authenticate(std::optional<std::string_view> authorization_header);

 private:
  struct CacheEntry {
    Principal principal;
    std::int64_t expires_at_ms;
  };
  storage::Database& database_;
  const Clock& clock_;
  std::int64_t cache_ttl_ms_;
  std::mutex mutex_;
  std::unordered_map<std::string, CacheEntry> cache_;  // GUARDED_BY(mutex_); by key digest
};

// Lower-case hex SHA-256.
std::string sha256_hex(std::string_view data);

}  // namespace station::auth
