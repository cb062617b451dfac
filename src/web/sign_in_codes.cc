#include "web/sign_in_codes.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "auth/api_keys.h"

namespace station::web {

using storage::Value;

namespace {

constexpr int kCodeDigits = 6;

std::string code_hash(Id challenge_id, std::string_view code) {
  return auth::sha256_hex(fmt::format("{}:{}", challenge_id, code));
}

// Uniform 6-digit code: 32-bit samples beyond the largest multiple of 10^6 are drawn again.
Result<std::string> new_code() {
  constexpr std::uint32_t kRange = 1'000'000;
  constexpr std::uint32_t kLimit = (UINT32_MAX / kRange) * kRange;
  for (int tries = 0; tries < 64; ++tries) {
    std::uint32_t sample = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&sample), sizeof(sample)) != 1) {
      return Status(ErrorCode::kInternal, "the random generator failed");
    }
    if (sample < kLimit) return fmt::format("{:0{}}", sample % kRange, kCodeDigits);
  }
  return Status(ErrorCode::kInternal, "the random generator is not random");
}

Result<std::int64_t> count_since(storage::Connection& connection, std::string_view column,
                                 std::string_view value, std::int64_t since_ms) {
  const Value params[] = {std::string(value), since_ms};
  STATION_ASSIGN_OR_RETURN(
      auto rows, connection.query(fmt::format("SELECT COUNT(*) FROM web_login_codes WHERE {} = ? "
                                              "AND created_at_ms >= ?",
                                              column),
                                  params));
  return rows[0].int_at(0);
}

}  // namespace

Result<std::string> normalise_phone(std::string_view typed) {
  std::string digits;
  bool plus = false;
  for (char c : typed) {
    if (c == ' ' || c == '-' || c == '(' || c == ')') continue;
    if (c == '+' && digits.empty() && !plus) {
      plus = true;
      continue;
    }
    if (c < '0' || c > '9' || digits.size() > 20) {
      return Status(ErrorCode::kValidationFailed, "a phone number has digits only");
    }
    digits += c;
  }
  if (!plus && digits.size() == 11 && digits[0] == '1') digits = "86" + digits;
  if (digits.size() < 8 || digits.size() > 15 || digits[0] == '0') {
    return Status(ErrorCode::kValidationFailed,
                  "a phone number is its country code and number, 8 to 15 digits");
  }
  return "+" + digits;
}

SignInCodes::SignInCodes(storage::Database& database, IdGenerator& ids, const Clock& clock,
                         CodeSettings settings)
    : database_(database), ids_(ids), clock_(clock), settings_(settings) {}

Result<IssuedCode> SignInCodes::issue(std::string_view destination, std::string_view requester,
                                      std::optional<std::string> signup_name) {
  std::int64_t now = clock_.now_unix_ms();
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  std::int64_t since = now - settings_.window_ms;
  STATION_ASSIGN_OR_RETURN(auto to_destination,
                           count_since(*connection, "destination", destination, since));
  STATION_ASSIGN_OR_RETURN(auto by_requester,
                           count_since(*connection, "requester", requester, since));
  if (to_destination >= settings_.per_destination_max ||
      by_requester >= settings_.per_requester_max) {
    return Status(ErrorCode::kTooManyRequests, "too many codes were asked for; try again later");
  }
  IssuedCode issued;
  issued.challenge_id = ids_.next();
  STATION_ASSIGN_OR_RETURN(issued.code, new_code());
  issued.expires_at_ms = now + settings_.lifetime_ms;
  const Value row[] = {issued.challenge_id,
                       std::string(destination),
                       std::string(requester),
                       code_hash(issued.challenge_id, issued.code),
                       signup_name ? Value(*signup_name) : Value(nullptr),
                       now,
                       issued.expires_at_ms};
  STATION_RETURN_IF_ERROR(connection->execute(
      "INSERT INTO web_login_codes (id, destination, requester, code_hash, signup_name, "
      "attempts, created_at_ms, expires_at_ms, used_at_ms) VALUES (?, ?, ?, ?, ?, 0, ?, ?, NULL)",
      row));
  STATION_RETURN_IF_ERROR(transaction.commit());
  return issued;
}

Result<std::size_t> SignInCodes::delete_spent(std::size_t limit) {
  // A code counts towards the rate limits for a window after it was issued, so it goes only
  // when it is older than both its lifetime and the window.
  const std::int64_t cutoff =
      clock_.now_unix_ms() - std::max(settings_.window_ms, settings_.lifetime_ms);
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {cutoff, static_cast<std::int64_t>(limit)};
  STATION_RETURN_IF_ERROR(
      connection->execute("DELETE FROM web_login_codes WHERE id IN "
                          "(SELECT id FROM web_login_codes WHERE created_at_ms < ? LIMIT ?)",
                          params));
  return static_cast<std::size_t>(connection->changes());
}

Result<VerifiedCode> SignInCodes::verify(Id challenge_id, std::string_view code) {
  std::int64_t now = clock_.now_unix_ms();
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  const Value id[] = {challenge_id};
  STATION_ASSIGN_OR_RETURN(
      auto rows, connection->query("SELECT destination, code_hash, signup_name, attempts, "
                                   "expires_at_ms, used_at_ms FROM web_login_codes WHERE id = ?",
                                   id));
  auto stale = Status(ErrorCode::kNotFound, "this code has expired; ask for a new one");
  if (rows.empty() || !rows[0].is_null(5) || rows[0].int_at(4) <= now) return stale;
  std::int64_t attempts = rows[0].int_at(3);
  if (attempts >= settings_.attempts_max) {
    return Status(ErrorCode::kTooManyRequests, "too many wrong codes; ask for a new one");
  }
  std::string expected = rows[0].text_at(1);
  std::string submitted = code_hash(challenge_id, code);
  bool right = CRYPTO_memcmp(expected.data(), submitted.data(), expected.size()) == 0;
  // A compare-and-set on the attempt count, so two guesses at once both count.
  if (right) {
    const Value update[] = {now, challenge_id, attempts};
    STATION_RETURN_IF_ERROR(
        connection->execute("UPDATE web_login_codes SET used_at_ms = ?, attempts = attempts + 1 "
                            "WHERE id = ? AND attempts = ? AND used_at_ms IS NULL",
                            update));
  } else {
    const Value update[] = {challenge_id, attempts};
    STATION_RETURN_IF_ERROR(connection->execute(
        "UPDATE web_login_codes SET attempts = attempts + 1 WHERE id = ? AND attempts = ?",
        update));
  }
  if (connection->changes() != 1) {
    return Status(ErrorCode::kConflict, "the code was checked twice at once; try again");
  }
  STATION_RETURN_IF_ERROR(transaction.commit());
  if (!right) {
    if (attempts + 1 >= settings_.attempts_max) {
      return Status(ErrorCode::kTooManyRequests, "too many wrong codes; ask for a new one");
    }
    return Status(ErrorCode::kValidationFailed, fmt::format("wrong code; {} attempts left",
                                                            settings_.attempts_max - attempts - 1));
  }
  VerifiedCode verified;
  verified.destination = rows[0].text_at(0);
  if (!rows[0].is_null(2)) verified.signup_name = rows[0].text_at(2);
  return verified;
}

}  // namespace station::web
