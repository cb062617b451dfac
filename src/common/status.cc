#include "common/status.h"

#include <array>
#include <cassert>

namespace station {
namespace {

using enum ErrorCode;
using enum RetryClass;

struct Entry {
  ErrorCode code;
  ErrorInfo info;
};

// Order must follow the enum; a static_assert below and a unit test keep it so.
constexpr std::array kTable = {
    Entry{kOk, {"ok", 200, "OK", kNone}},
    Entry{kMalformedRequest, {"malformed_request", 400, "Malformed request", kFixRequest}},
    Entry{kValidationFailed, {"validation_failed", 400, "Validation failed", kFixRequest}},
    Entry{kAmountOutOfRange, {"amount_out_of_range", 400, "Amount out of range", kFixRequest}},
    Entry{kCurrencyMismatch, {"currency_mismatch", 422, "Currency mismatch", kFixRequest}},
    Entry{kIdempotencyKeyInvalid,
          {"idempotency_key_invalid", 400, "Invalid Idempotency-Key", kFixRequest}},
    Entry{kPayloadTooLarge, {"payload_too_large", 413, "Payload too large", kFixRequest}},
    Entry{kUnsupportedMediaType,
          {"unsupported_media_type", 415, "Unsupported media type", kFixRequest}},
    Entry{kUnauthenticated, {"unauthenticated", 401, "Unauthenticated", kFixRequest}},
    Entry{kForbidden, {"forbidden", 403, "Forbidden", kFixRequest}},
    Entry{kNotFound, {"not_found", 404, "Not found", kFixRequest}},
    Entry{kMethodNotAllowed, {"method_not_allowed", 405, "Method not allowed", kFixRequest}},
    Entry{kRequestTimeout, {"request_timeout", 408, "Request timeout", kRetryLater}},
    Entry{kInsufficientFunds, {"insufficient_funds", 409, "Insufficient funds", kFinal}},
    Entry{kIdempotencyKeyReused,
          {"idempotency_key_reused", 409, "Idempotency key reused", kFixRequest}},
    Entry{kPendingTransferNotFound,
          {"pending_transfer_not_found", 404, "Pending transfer not found", kFinal}},
    Entry{kPendingTransferResolved,
          {"pending_transfer_resolved", 409, "Pending transfer already resolved", kFinal}},
    Entry{kAccountNotFound, {"account_not_found", 404, "Account not found", kFinal}},
    Entry{kConflict, {"conflict", 409, "Conflict", kFinal}},
    Entry{kOverflow, {"balance_overflow", 409, "Balance overflow", kFinal}},
    Entry{kUnavailable, {"unavailable", 503, "Service unavailable", kRetryLater}},
    Entry{kStorageError, {"storage_error", 503, "Storage unavailable", kRetryLater}},
    Entry{kInternal, {"internal", 500, "Internal error", kRetryLater}},
    Entry{kHeaderTooLarge,
          {"header_too_large", 431, "Request header fields too large", kFixRequest}},
    Entry{kInvalidImei, {"invalid_imei", 400, "Invalid IMEI", kFixRequest}},
    Entry{kInvalidEid, {"invalid_eid", 400, "Invalid EID", kFixRequest}},
    Entry{kWebhookSignatureInvalid,
          {"webhook_signature_invalid", 400, "Webhook signature invalid", kFixRequest}},
    Entry{kWebhookTimestampOutOfTolerance,
          {"webhook_timestamp_out_of_tolerance", 400, "Webhook too old or from the future",
           kFixRequest}},
    Entry{kNoProfileAvailable,
          {"no_profile_available", 409, "No eSIM profile available", kFinal}},
    Entry{kIdentityNotVerified,
          {"identity_not_verified", 409, "Identity not verified", kFixRequest}},
    Entry{kDeviceNotEsimCapable,
          {"device_not_esim_capable", 422, "Device does not support eSIM", kFixRequest}},
    Entry{kPlanNotAvailable, {"plan_not_available", 409, "Plan not available", kFixRequest}},
    Entry{kOrderNotCancellable,
          {"order_not_cancellable", 409, "Order can no longer be cancelled", kFinal}},
    Entry{kPaymentDeclined, {"payment_declined", 402, "Payment declined", kFinal}},
    Entry{kPaymentTimedOut, {"payment_timed_out", 409, "Payment not confirmed in time", kFinal}},
    Entry{kTooManyRequests, {"too_many_requests", 429, "Too many requests", kRetryLater}},
};

constexpr bool table_follows_enum() {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<std::size_t>(kTable[i].code) != i) return false;
  }
  return true;
}
static_assert(table_follows_enum(), "kTable must list ErrorCode values in enum order");

}  // namespace

std::optional<ErrorCode> parse_error_code(std::string_view name) {
  for (const auto& entry : kTable) {
    if (entry.info.name == name) return entry.code;
  }
  return std::nullopt;
}

const ErrorInfo& error_info(ErrorCode code) {
  auto index = static_cast<std::size_t>(code);
  assert(index < kTable.size());
  return kTable[index].info;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(error_name(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace station
