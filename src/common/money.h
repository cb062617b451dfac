// common/money: integer minor units and ISO 4217 currencies. No floating point near money.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace station {

// An ISO 4217 alphabetic code known to Station, with its number of minor-unit digits.
class Currency {
 public:
  // Returns the currency for an upper-case three-letter code Station knows, else nullopt.
  static std::optional<Currency> from_code(std::string_view code);

  // An unset currency (empty code), so that structs holding one can be built field by field;
  // every consumer of money checks is_set() before use.
  Currency() = default;

  bool is_set() const { return minor_digits_ >= 0; }
  std::string_view code() const { return std::string_view(code_.data(), is_set() ? 3 : 0); }
  int minor_digits() const { return minor_digits_; }
  friend bool operator==(const Currency& a, const Currency& b) { return a.code_ == b.code_; }

 private:
  Currency(std::array<char, 3> code, int minor_digits) : code_(code), minor_digits_(minor_digits) {}
  std::array<char, 3> code_{};
  int minor_digits_ = -1;
};

// Overflow-checked arithmetic on minor units; nullopt when the result leaves int64.
inline std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return std::nullopt;
  return out;
}
inline std::optional<std::int64_t> checked_sub(std::int64_t a, std::int64_t b) {
  std::int64_t out;
  if (__builtin_sub_overflow(a, b, &out)) return std::nullopt;
  return out;
}

}  // namespace station
