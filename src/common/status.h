// common/status: errors as values at module boundaries.
//
// Every failure that crosses a module boundary is a Status carrying an ErrorCode. Each code has a
// stable snake_case name that is also the `code` member of the API's problem+json body, an HTTP
// status, and a retry class that tells the caller what to do next (Abseil's idea: retry the call,
// fix the request, or give up). Codes are append-only: scripts depend on the names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace station {

enum class ErrorCode : std::uint16_t {
  kOk = 0,
  // The request itself is wrong; retrying it unchanged gives the same answer.
  kMalformedRequest,         // 400 body is not parseable / not the expected shape
  kValidationFailed,         // 400 a field is missing, mistyped or out of range
  kAmountOutOfRange,         // 400 amount <= 0 or beyond the configured maximum
  kCurrencyMismatch,         // 422 currency differs from the account's currency
  kIdempotencyKeyInvalid,    // 400 Idempotency-Key missing, empty, too long or not printable
  kPayloadTooLarge,          // 413
  kUnsupportedMediaType,     // 415
  kUnauthenticated,          // 401 missing or unknown API key
  kForbidden,                // 403 key lacks the scope
  kNotFound,                 // 404
  kMethodNotAllowed,         // 405
  kRequestTimeout,           // 408 client too slow to send its request
  // Business refusals: decided against state, stored under the idempotency key and replayed.
  kInsufficientFunds,        // 409 the debit would take the account below its floor
  kIdempotencyKeyReused,     // 409 same key, different request
  kPendingTransferNotFound,  // 404 post/void of an unknown pending transfer
  kPendingTransferResolved,  // 409 pending transfer already posted, voided or expired
  kAccountNotFound,          // 404
  kConflict,                 // 409 a uniqueness rule (e.g. account id exists)
  kOverflow,                 // 409 a balance would leave the int64 range
  // The system could not do it now; the same request may succeed later.
  kUnavailable,              // 503 overloaded, shutting down, queue full
  kStorageError,             // 503 the database refused or failed the commit
  kInternal,                 // 500 a bug
  kHeaderTooLarge,           // 431 request header block beyond the limit
  kInvalidImei,              // 400 an IMEI's length, digits or Luhn check digit is wrong
  kInvalidEid,               // 400 an EID's length, digits or MOD 97-10 check digits are wrong
  kWebhookSignatureInvalid,  // 400 a webhook's signature header is missing or does not match
  kWebhookTimestampOutOfTolerance,  // 400 a webhook signed more than five minutes from now
  kNoProfileAvailable,       // 409 the profile pool of the plan is empty; the payment is undone
  kIdentityNotVerified,      // 409 ordering needs a verified identity and the customer has none
  kDeviceNotEsimCapable,     // 422 the device catalogue knows the device and it takes no eSIM
  kPlanNotAvailable,         // 409 the plan is inactive
  kOrderNotCancellable,      // 409 the order is past the point where it can be cancelled
  kPaymentDeclined,          // 402 the card payment was declined
  kPaymentTimedOut,          // 409 the card payment was not confirmed in time
  kTooManyRequests,          // 429 a rate or attempt limit (e.g. one-time codes) was reached
};

enum class RetryClass : std::uint8_t {
  kNone,          // success
  kFixRequest,    // do not retry unchanged
  kFinal,         // a decided business outcome; a retry replays it
  kRetryLater,    // transient: retry with the same idempotency key
};

struct ErrorInfo {
  std::string_view name;   // the stable API code
  int http_status;
  std::string_view title;  // short human summary for problem+json "title"
  RetryClass retry;
};

// The one table that maps codes to names, HTTP statuses and retry classes.
const ErrorInfo& error_info(ErrorCode code);
inline std::string_view error_name(ErrorCode code) { return error_info(code).name; }
// The code with that stable name (as stored beside a recorded outcome); nullopt if none.
std::optional<ErrorCode> parse_error_code(std::string_view name);

// True for refusals that are stored under an idempotency key and replayed on retry.
inline bool is_business_refusal(ErrorCode code) {
  return error_info(code).retry == RetryClass::kFinal;
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

  // Explicitly drops a status whose failure the caller has decided does not matter.
  void ignore() const {}

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

}  // namespace station
