#include "common/digits.h"

#include <algorithm>
#include <cassert>

namespace station {
namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

std::size_t first_non_digit(std::string_view text) {
  auto it = std::find_if_not(text.begin(), text.end(), is_digit);
  return it == text.end() ? 0 : static_cast<std::size_t>(it - text.begin()) + 1;
}

bool luhn_valid(std::string_view digits) {
  assert(all_digits(digits));
  // From the rightmost digit (the check digit), double every second digit.
  int sum = 0;
  bool doubled = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int digit = *it - '0';
    if (doubled) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    doubled = !doubled;
  }
  return sum % 10 == 0;
}

bool mod97_10_valid(std::string_view digits) {
  assert(all_digits(digits));
  // One digit at a time, so that a number of any length fits.
  int remainder = 0;
  for (char c : digits) remainder = (remainder * 10 + (c - '0')) % 97;
  return remainder == 1;
}

}  // namespace station
