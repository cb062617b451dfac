#include "common/money.h"

#include <algorithm>

namespace station {
namespace {

struct CurrencyEntry {
  std::string_view code;
  int minor_digits;
};

// The currencies of the markets Station's operators serve first; extend as markets open.
// Minor-unit digits per ISO 4217.
constexpr std::array kCurrencies = {
    CurrencyEntry{"AED", 2}, CurrencyEntry{"AUD", 2}, CurrencyEntry{"BRL", 2},
    CurrencyEntry{"CAD", 2}, CurrencyEntry{"CHF", 2}, CurrencyEntry{"CNY", 2},
    CurrencyEntry{"EUR", 2}, CurrencyEntry{"GBP", 2}, CurrencyEntry{"HKD", 2},
    CurrencyEntry{"IDR", 2}, CurrencyEntry{"INR", 2}, CurrencyEntry{"JPY", 0},
    CurrencyEntry{"KRW", 0}, CurrencyEntry{"KWD", 3}, CurrencyEntry{"MOP", 2},
    CurrencyEntry{"MXN", 2}, CurrencyEntry{"MYR", 2}, CurrencyEntry{"NZD", 2},
    CurrencyEntry{"PHP", 2}, CurrencyEntry{"SAR", 2}, CurrencyEntry{"SGD", 2},
    CurrencyEntry{"THB", 2}, CurrencyEntry{"TWD", 2}, CurrencyEntry{"USD", 2},
    CurrencyEntry{"VND", 0}, CurrencyEntry{"ZAR", 2},
};

}  // namespace

std::optional<Currency> Currency::from_code(std::string_view code) {
  auto it = std::find_if(kCurrencies.begin(), kCurrencies.end(),
                         [&](const CurrencyEntry& e) { return e.code == code; });
  if (it == kCurrencies.end()) return std::nullopt;
  return Currency({it->code[0], it->code[1], it->code[2]}, it->minor_digits);
}

}  // namespace station
