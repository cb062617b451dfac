// devices/identifiers: the two numbers that identify a device's hardware, checked without a
// database.
//
// IMEI (3GPP TS 23.003): 15 digits, TAC (type allocation code, the first 8 digits, which names
// the model) + serial (6) + a Luhn check digit. EID (GSMA SGP.29): 32 digits naming an eUICC,
// whose last two digits are check digits chosen so that the whole number mod 97 is 1
// (ISO/IEC 7064 MOD 97-10, the IBAN rule). A valid EID therefore proves an eUICC is present.
#pragma once

#include <string_view>

#include "common/status.h"

namespace station::devices {

inline constexpr std::size_t kImeiDigits = 15;
inline constexpr std::size_t kTacDigits = 8;
inline constexpr std::size_t kEidDigits = 32;

// kInvalidImei naming the check that failed (length, non-digit, check digit); ok otherwise.
Status check_imei(std::string_view imei);
// kInvalidEid naming the check that failed (length, non-digit, check digits); ok otherwise.
Status check_eid(std::string_view eid);

// The TAC of an IMEI. REQUIRES: check_imei(imei) is ok.
inline std::string_view imei_tac(std::string_view imei) { return imei.substr(0, kTacDigits); }

}  // namespace station::devices
