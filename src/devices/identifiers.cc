#include "devices/identifiers.h"

#include <fmt/format.h>

#include <algorithm>

namespace station::devices {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1-based position of the first character that is not a digit, or 0.
std::size_t first_non_digit(std::string_view text) {
  auto it = std::find_if_not(text.begin(), text.end(), is_digit);
  return it == text.end() ? 0 : static_cast<std::size_t>(it - text.begin()) + 1;
}

}  // namespace

Status check_imei(std::string_view imei) {
  if (imei.size() != kImeiDigits) {
    return Status(ErrorCode::kInvalidImei,
                  fmt::format("length: an IMEI is {} digits, not {}", kImeiDigits, imei.size()));
  }
  if (std::size_t at = first_non_digit(imei)) {
    return Status(ErrorCode::kInvalidImei,
                  fmt::format("non-digit: an IMEI is digits only (character {} is not)", at));
  }
  // Luhn: from the rightmost digit (the check digit), double every second digit.
  int sum = 0;
  bool doubled = false;
  for (auto it = imei.rbegin(); it != imei.rend(); ++it) {
    int digit = *it - '0';
    if (doubled) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    doubled = !doubled;
  }
  if (sum % 10 != 0) {
    return Status(ErrorCode::kInvalidImei,
                  "check digit: the last digit is not the Luhn check digit of the first 14 (a "
                  "typing error?)");
  }
  return Status::ok();
}

Status check_eid(std::string_view eid) {
  if (eid.size() != kEidDigits) {
    return Status(ErrorCode::kInvalidEid,
                  fmt::format("length: an EID is {} digits, not {}", kEidDigits, eid.size()));
  }
  if (std::size_t at = first_non_digit(eid)) {
    return Status(ErrorCode::kInvalidEid,
                  fmt::format("non-digit: an EID is digits only (character {} is not)", at));
  }
  // ISO/IEC 7064 MOD 97-10 over the whole number, one digit at a time.
  int remainder = 0;
  for (char c : eid) remainder = (remainder * 10 + (c - '0')) % 97;
  if (remainder != 1) {
    return Status(ErrorCode::kInvalidEid,
                  "check digits: the EID modulo 97 is not 1 (ISO/IEC 7064 MOD 97-10, GSMA "
                  "SGP.29); a typing error?");
  }
  return Status::ok();
}

}  // namespace station::devices
