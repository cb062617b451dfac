#include "common/id.h"

#include <algorithm>
#include <cassert>

namespace station {
namespace {

constexpr std::int64_t kEpochMs = 1'577'836'800'000;  // 2020-01-01T00:00:00Z
constexpr int kSequenceBits = 22;
constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kDigits = 13;  // 13 * 5 = 65 bits >= 64

int crockford_value(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  auto pos = kCrockford.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

void IdGenerator::observe(Id id) {
  std::lock_guard lock(mutex_);
  last_ = std::max(last_, id);
}

Id IdGenerator::next() {
  std::int64_t ms = std::max<std::int64_t>(clock_.now_unix_ms() - kEpochMs, 0);
  Id candidate = ms << kSequenceBits;
  std::lock_guard lock(mutex_);
  last_ = std::max(candidate, last_ + 1);
  assert(last_ > 0);
  return last_;
}

Id first_id_at(std::int64_t unix_ms) {
  return std::max<std::int64_t>(unix_ms - kEpochMs, 0) << kSequenceBits;
}

std::string format_public_id(std::string_view prefix, Id id) {
  assert(id > 0);
  std::string out(prefix);
  out.push_back('_');
  auto value = static_cast<std::uint64_t>(id);
  char digits[kDigits];
  for (std::size_t i = 0; i < kDigits; ++i) {
    digits[kDigits - 1 - i] = kCrockford[value & 31U];
    value >>= 5;
  }
  out.append(digits, kDigits);
  return out;
}

std::optional<Id> parse_public_id(std::string_view prefix, std::string_view text) {
  if (text.size() != prefix.size() + 1 + kDigits) return std::nullopt;
  if (text.substr(0, prefix.size()) != prefix || text[prefix.size()] != '_') return std::nullopt;
  std::uint64_t value = 0;
  std::string_view digits = text.substr(prefix.size() + 1);
  // The first digit carries only the top bit (65 - 64 = 1 spare bit, and ids are positive).
  if (crockford_value(digits[0]) != 0) return std::nullopt;
  for (char c : digits) {
    int v = crockford_value(c);
    if (v < 0) return std::nullopt;
    value = (value << 5) | static_cast<std::uint64_t>(v);
  }
  if (value == 0 || value > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<Id>(value);
}

}  // namespace station
