// auth/staff: the operator's staff, who sign in to the console (src/web/console.h) with a user
// name and a password. Separate from subscribers (who sign in with one-time codes) and from API
// keys (which machines hold).
//
// A staff user has one role, and a role is the API key scope of the same name (admin, support,
// finance): what a role may do is the one permission table of api_keys.h, so the console and the
// JSON API never disagree.
//
// Passwords are stored as scrypt (RFC 7914, OpenSSL's EVP_PBE_scrypt) with a 16-byte random salt
// per user, as "scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>"; the parameters travel with the
// hash, so they can be raised later without breaking existing ones.
//
// Guessing is bounded twice: an account locks for StaffSettings::lockout_ms after
// failures_before_lockout wrong passwords in a row (its right password does not open it then),
// and a client address with requester_failures_max failed sign-ins within requester_window_ms
// is refused before any password is checked. An unknown user name costs the same hash as a wrong
// password and is answered alike, so answers do not tell which names exist.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/api_keys.h"
#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "storage/database.h"

namespace station::auth {

enum class StaffRole : std::uint8_t { kAdmin, kSupport, kFinance };
std::string_view staff_role_name(StaffRole role);
std::optional<StaffRole> parse_staff_role(std::string_view name);
// The API key scope whose permissions the role has.
Scope staff_role_scope(StaffRole role);

inline constexpr std::size_t kStaffUsernameBytesMin = 2;
inline constexpr std::size_t kStaffUsernameBytesMax = 64;
inline constexpr std::size_t kStaffPasswordBytesMin = 12;
inline constexpr std::size_t kStaffPasswordBytesMax = 256;
inline constexpr std::uint32_t kStaffListedMax = 200;

// True for 2 to 64 of [a-z0-9._-], starting with a letter or digit.
bool is_staff_username(std::string_view username);

struct ScryptCost {
  std::uint8_t log2_n = 15;  // N = 32768: 32 MiB and some tens of milliseconds per hash
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};

// A new salted scrypt hash of the password in the format above.
Result<std::string> hash_password(std::string_view password, ScryptCost cost = {});
// Checks a password against a stored hash in constant time; false for a malformed hash.
bool password_matches(std::string_view stored_hash, std::string_view password);

struct StaffSettings {
  std::int64_t failures_before_lockout = 5;
  std::int64_t lockout_ms = 15 * 60 * 1000;
  std::int64_t requester_failures_max = 20;
  std::int64_t requester_window_ms = 15 * 60 * 1000;
  ScryptCost cost;  // for new hashes; tests lower it
};

struct StaffUser {
  Id id = 0;
  std::string username;
  StaffRole role = StaffRole::kSupport;
  std::int64_t created_at_ms = 0;

  bool allows(Permission permission) const {
    return scope_allows(staff_role_scope(role), permission);
  }
  // For the audit trail: "staff:<username>".
  std::string actor() const { return "staff:" + username; }
};

class StaffAccounts {
 public:
  StaffAccounts(storage::Database& database, IdGenerator& ids, const Clock& clock,
                StaffSettings settings = {});

  // kValidationFailed for a bad user name or a password shorter than kStaffPasswordBytesMin (or
  // longer than the maximum); kConflict when the name is taken.
  Result<StaffUser> create(std::string_view username, StaffRole role, std::string_view password);
  // Sets a new password and clears the lockout. kNotFound for an unknown user.
  Status set_password(std::string_view username, std::string_view password);

  // The user when the password is right. kUnauthenticated for an unknown name or a wrong
  // password (the same answer); kTooManyRequests while the account is locked or the address
  // `requester` is over its limit.
  Result<StaffUser> sign_in(std::string_view username, std::string_view password,
                            std::string_view requester);

  // kNotFound for an unknown id.
  Result<StaffUser> get(Id id);
  // By name; at most kStaffListedMax.
  Result<std::vector<StaffUser>> list();

  const StaffSettings& settings() const { return settings_; }

 private:
  Status record_requester_failure(std::string_view requester, std::int64_t now_ms);

  storage::Database& database_;
  IdGenerator& ids_;
  const Clock& clock_;
  StaffSettings settings_;
  std::string decoy_hash_;  // checked for unknown names, so they cost as much as known ones
};

}  // namespace station::auth
