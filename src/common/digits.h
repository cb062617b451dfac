// common/digits: decimal identifiers and their check digits, shared by every module that reads
// one: Luhn (ISO/IEC 7812-1) for IMEIs and ICCIDs, ISO/IEC 7064 MOD 97-10 for EIDs (GSMA SGP.29).
// Each module keeps its own lengths and error messages; only the arithmetic is here.
#pragma once

#include <cstddef>
#include <string_view>

namespace station {

// True when `text` is one or more ASCII digits.
bool all_digits(std::string_view text);

// 1-based position of the first character of `text` that is not an ASCII digit, or 0.
std::size_t first_non_digit(std::string_view text);

// True when the last digit of `digits` (all ASCII digits) is the Luhn check digit of the others.
bool luhn_valid(std::string_view digits);

// True when `digits` (all ASCII digits), read as one number, is 1 modulo 97.
bool mod97_10_valid(std::string_view digits);

}  // namespace station
