// web/sessions: sign-in sessions kept in the database, for any kind of principal: a visitor
// (not signed in, but holding a CSRF token for the sign-in forms), a customer of the portal, or
// operator staff of the console (web/console.h). The cookie carries a 256-bit random id; the
// store keeps only its SHA-256, so a copy of the database opens no session. Each session has its
// own CSRF token (synchronizer token pattern): every form carries it, and a POST whose token is
// missing or differs is refused before anything is done. Signing in replaces the session with a
// new id and token (no fixation); signing out deletes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "storage/database.h"

namespace station::web {

enum class PrincipalKind : std::uint8_t { kVisitor, kCustomer, kOperator };
std::string_view principal_kind_name(PrincipalKind kind);
std::optional<PrincipalKind> parse_principal_kind(std::string_view name);

// `bytes` random bytes from OpenSSL's generator, as lower-case hex.
Result<std::string> random_hex(std::size_t bytes);

struct SessionSettings {
  std::int64_t visitor_lifetime_ms = 2 * 3600 * 1000;
  std::int64_t signed_in_lifetime_ms = 12 * 3600 * 1000;
};

struct Session {
  std::string cookie_value;  // the id as the cookie carries it; set only by create()/find()
  PrincipalKind kind = PrincipalKind::kVisitor;
  std::optional<Id> principal_id;  // the customer (or operator); none for a visitor
  std::string csrf_token;
  std::int64_t expires_at_ms = 0;
};

class Sessions {
 public:
  Sessions(storage::Database& database, const Clock& clock, SessionSettings settings = {});

  // A new session with a fresh id and CSRF token. REQUIRES: principal_id set unless a visitor.
  Result<Session> create(PrincipalKind kind, std::optional<Id> principal_id);
  // The live session with that cookie value; nullopt when unknown, malformed or expired.
  Result<std::optional<Session>> find(std::string_view cookie_value);
  // Signs in: deletes the session `old_cookie_value` names (if any) and creates a new one.
  Result<Session> replace(std::string_view old_cookie_value, PrincipalKind kind,
                          std::optional<Id> principal_id);
  Status destroy(std::string_view cookie_value);
  // Deletes at most `limit` expired sessions (find() already ignores them); returns how many.
  // The portal's sweeper (web/sweeper.h) calls it.
  Result<std::size_t> delete_expired(std::size_t limit);

  // Constant-time comparison of a submitted token with the session's.
  static bool csrf_matches(const Session& session, std::string_view submitted);

 private:
  storage::Database& database_;
  const Clock& clock_;
  SessionSettings settings_;
};

}  // namespace station::web
