#include "devices/identifiers.h"

#include <fmt/format.h>

#include "common/digits.h"

namespace station::devices {

Status check_imei(std::string_view imei) {
  if (imei.size() != kImeiDigits) {
    return Status(ErrorCode::kInvalidImei,
                  fmt::format("length: an IMEI is {} digits, not {}", kImeiDigits, imei.size()));
  }
  if (std::size_t at = first_non_digit(imei)) {
    return Status(ErrorCode::kInvalidImei,
                  fmt::format("non-digit: an IMEI is digits only (character {} is not)", at));
  }
  if (!luhn_valid(imei)) {
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
  if (!mod97_10_valid(eid)) {
    return Status(ErrorCode::kInvalidEid,
                  "check digits: the EID modulo 97 is not 1 (ISO/IEC 7064 MOD 97-10, GSMA "
                  "SGP.29); a typing error?");
  }
  return Status::ok();
}

}  // namespace station::devices
