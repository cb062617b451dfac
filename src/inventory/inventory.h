// inventory: the pool of eSIM profiles that orders draw from, as profile vendors deliver them.
//
// A profile is identified by its ICCID and carries its IMSI and the network secrets Ki and OPc
// (and optionally PIN1, PUK1, PIN2, PUK2 and ADM1), which are sealed at rest (secrets/secrets.h)
// with the row and field as associated data, never logged and never returned by the API; only
// read_secrets() opens them, for building the profile package.
//
// Profile states follow what the SM-DP+ needs (GSMA SGP.22): a profile moves only along the
// edges of one table (kAllowedTransitions in inventory.cc), every move is recorded in
// profile_events with its time and cause, and every move is a compare-and-set on the state, so
// two writers can never both move the same profile (the loser gets kConflict).
//
//   available -> allocated -> linked -> confirmed -> released -> downloaded -> installed
//   allocated -> confirmed                                    (confirmed without an EID)
//   allocated | linked | confirmed | released -> available   (cancelled before download)
//   released | downloaded -> error;  error -> available | unavailable
//   available <-> unavailable, installed -> unavailable       (by the operator)
//
// Imports are all-or-nothing: a batch with any bad row is refused whole, with every offending
// line and why, and nothing is written.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "secrets/secrets.h"
#include "storage/database.h"

namespace station::inventory {

enum class ProfileState : std::uint8_t {
  kAvailable,
  kAllocated,
  kLinked,
  kConfirmed,
  kReleased,
  kDownloaded,
  kInstalled,
  kError,
  kUnavailable,
};
inline constexpr std::size_t kProfileStateCount = 9;

std::string_view profile_state_name(ProfileState state);
std::optional<ProfileState> parse_profile_state(std::string_view name);
// True when `from -> to` is an edge of the state machine.
bool transition_allowed(ProfileState from, ProfileState to);

struct Profile {
  std::string iccid;
  std::string imsi;
  std::string profile_type;  // the SM-DP+ profile type; empty when the vendor gave none
  ProfileState state = ProfileState::kAvailable;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// The optional codes a vendor may deliver with a profile, which the profile package carries in
// its PE-PINCodes and PE-PUKCodes (upp/upp.h): PIN1 and PIN2 are 4 to 8 digits, PUK1 and PUK2 8
// digits, ADM1 8 digits or 16 hex digits (upper case; a binary key).
enum class ProfileCode : std::uint8_t { kPin1, kPuk1, kPin2, kPuk2, kAdm1 };
inline constexpr std::size_t kProfileCodeCount = 5;

// "pin1", "puk1", "pin2", "puk2", "adm1": the CSV column, and the stored column is <name>_sealed.
std::string_view profile_code_name(ProfileCode code);
// Why `value` is not a valid `code` (never quoting it); nothing when it is.
std::optional<std::string> profile_code_problem(ProfileCode code, std::string_view value);

// The opened secrets of one profile. Wiped when destroyed.
struct ProfileSecrets {
  secrets::SecretString ki;   // 32 hex digits, upper case
  secrets::SecretString opc;  // 32 hex digits, upper case
  // By ProfileCode; none where the vendor gave none.
  std::array<std::optional<secrets::SecretString>, kProfileCodeCount> codes;

  const std::optional<secrets::SecretString>& code(ProfileCode which) const {
    return codes[static_cast<std::size_t>(which)];
  }
};

struct ProfileEvent {
  std::optional<ProfileState> from_state;  // none for the import that created the profile
  ProfileState to_state = ProfileState::kAvailable;
  std::string cause;
  std::int64_t at_ms = 0;
};

struct ImportProblem {
  std::size_t line = 0;  // 1-based line in the file; 0 for the file as a whole
  std::string reason;
};

struct ImportOutcome {
  std::size_t imported = 0;              // rows written; 0 whenever problems is not empty
  std::vector<ImportProblem> problems;   // at most limits::kProfileImportProblemsMax, by line
  bool problems_truncated = false;       // more problems than were listed
};

using StateCounts = std::array<std::int64_t, kProfileStateCount>;  // by ProfileState

// True for a 18-20 digit ICCID whose last digit is its Luhn check digit.
bool is_valid_iccid(std::string_view iccid);

class Inventory {
 public:
  // The keyring must hold a key to import; reading needs the keys the rows were sealed with.
  Inventory(storage::Database& database, const secrets::Keyring& keyring, const Clock& clock);

  // Parses and checks a vendor CSV (header `iccid,imsi,ki,opc` and optionally profile_type, pin1,
  // puk1, pin2, puk2, adm1, in any order) and imports it in one transaction. Row problems come
  // back in the outcome; a Status error means the file as a whole could not be taken (too large,
  // storage).
  Result<ImportOutcome> import_csv(std::string_view csv_text, std::string_view cause = "import");

  // Takes one available profile of the given type (any type when nullopt) and moves it to
  // allocated, atomically: two callers never get the same ICCID, on either engine and across
  // processes. kNotFound when none is available; kUnavailable if contention outlasts the bound.
  Result<Profile> allocate_one(std::optional<std::string_view> profile_type,
                               std::string_view cause);

  // Moves a profile from its current state to `to`. kNotFound for an unknown ICCID,
  // kValidationFailed when the edge is not allowed, kConflict when another writer moved it first.
  Status transition(std::string_view iccid, ProfileState to, std::string_view cause);
  // As above, but only from `expected`: kConflict when the profile is in another state.
  Status transition(std::string_view iccid, ProfileState expected, ProfileState to,
                    std::string_view cause);
  // As above, on `connection` inside the caller's open transaction, so that the profile's move
  // commits (or rolls back) with the caller's own writes in one commit. REQUIRES: `connection`
  // is of this inventory's database and in a transaction.
  Status transition(storage::Connection& connection, std::string_view iccid,
                    ProfileState expected, ProfileState to, std::string_view cause);

  Result<Profile> get(std::string_view iccid);
  // As above, on the caller's `connection` (one it holds already, in a transaction or not).
  // REQUIRES: `connection` is of this inventory's database.
  Result<Profile> get(storage::Connection& connection, std::string_view iccid);
  // Oldest first.
  Result<std::vector<ProfileEvent>> events(std::string_view iccid);
  // Every state, zero included.
  Result<StateCounts> stats();
  // Opens the sealed secrets; for the profile package only. Never log the result.
  Result<ProfileSecrets> read_secrets(std::string_view iccid);
  // As above, on the caller's `connection`, as get() does.
  Result<ProfileSecrets> read_secrets(storage::Connection& connection, std::string_view iccid);

 private:
  storage::Database& database_;
  const secrets::Keyring& keyring_;
  const Clock& clock_;
};

}  // namespace station::inventory
