// web/sign_in_codes: one-time codes that prove a person holds a phone number (sign-up and
// sign-in). A code is 6 random digits; the store keeps only SHA-256 of the challenge id and the
// code, so reading the database reveals no usable code. A code:
//   - expires (CodeSettings::lifetime_ms, 10 minutes);
//   - allows attempts_max wrong guesses, then the challenge is dead (kTooManyRequests), so
//     guessing one of a million codes is hopeless;
//   - is used once;
//   - is issued at most per_destination_max times per window to one number (SMS cost, nuisance)
//     and per_requester_max times per window to one client address (one client probing many
//     numbers).
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

inline constexpr std::string_view kChallengeIdPrefix = "otp";

struct CodeSettings {
  std::int64_t lifetime_ms = 10 * 60 * 1000;
  std::int64_t attempts_max = 5;
  std::int64_t window_ms = 60 * 60 * 1000;
  std::int64_t per_destination_max = 5;
  std::int64_t per_requester_max = 20;
};

struct IssuedCode {
  Id challenge_id = 0;
  std::string code;  // to be sent to the destination, never stored
  std::int64_t expires_at_ms = 0;
};

struct VerifiedCode {
  std::string destination;
  std::optional<std::string> signup_name;  // given when the code was asked for to sign up
};

// E.164 as "+<digits>" from what a person types: spaces, '-', '(' and ')' dropped; a Chinese
// mobile number without country code (11 digits starting with 1) gets +86. kValidationFailed
// unless the result is '+' and 8 to 15 digits.
Result<std::string> normalise_phone(std::string_view typed);

class SignInCodes {
 public:
  SignInCodes(storage::Database& database, IdGenerator& ids, const Clock& clock,
              CodeSettings settings = {});

  // A new challenge for `destination` (normalised) asked for by `requester` (the client address).
  // kTooManyRequests beyond the per-destination or per-requester limit.
  Result<IssuedCode> issue(std::string_view destination, std::string_view requester,
                           std::optional<std::string> signup_name);

  // Checks a typed code. Wrong: kValidationFailed (the attempt is counted); the last allowed wrong
  // attempt, or any attempt after it: kTooManyRequests; unknown, expired or already used:
  // kNotFound. A right code marks the challenge used.
  Result<VerifiedCode> verify(Id challenge_id, std::string_view code);

  // Deletes at most `limit` codes that serve no purpose any more: past their lifetime and out of
  // the rate-limit window. Returns how many. The portal's sweeper (web/sweeper.h) calls it.
  Result<std::size_t> delete_spent(std::size_t limit);

  const CodeSettings& settings() const { return settings_; }

 private:
  storage::Database& database_;
  IdGenerator& ids_;
  const Clock& clock_;
  CodeSettings settings_;
};

}  // namespace station::web
