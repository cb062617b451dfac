#include "orders/activation.h"

#include <array>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "auth/api_keys.h"

namespace station::orders {
namespace {

// Crockford-style: no I, O or U, so a code read aloud or typed is not misread.
constexpr std::string_view kMatchingAlphabet = "0123456789ABCDEFGHJKLMNPQRSTVWXYZ";
static_assert(kMatchingAlphabet.size() == 33);
constexpr std::size_t kMatchingChars = 20;
constexpr std::size_t kMatchingGroup = 5;

// Uniform draw from [0, bound) by rejection, so no character is more likely than another.
Result<std::uint32_t> uniform_below(std::uint32_t bound) {
  const std::uint32_t limit = 256 - 256 % bound;
  for (int attempts = 0; attempts < 64; ++attempts) {
    unsigned char byte = 0;
    if (RAND_bytes(&byte, 1) != 1) {
      return Status(ErrorCode::kInternal, "the random generator failed");
    }
    if (byte < limit) return static_cast<std::uint32_t>(byte % bound);
  }
  return Status(ErrorCode::kInternal, "the random generator kept drawing rejected values");
}

}  // namespace

Result<std::string> new_matching_id() {
  std::string id;
  for (std::size_t i = 0; i < kMatchingChars; ++i) {
    if (i > 0 && i % kMatchingGroup == 0) id.push_back('-');
    STATION_ASSIGN_OR_RETURN(auto index,
                             uniform_below(static_cast<std::uint32_t>(kMatchingAlphabet.size())));
    id.push_back(kMatchingAlphabet[index]);
  }
  return id;
}

Result<std::string> new_confirmation_code() {
  std::string code;
  for (int i = 0; i < 8; ++i) {
    STATION_ASSIGN_OR_RETURN(auto digit, uniform_below(10));
    code.push_back(static_cast<char>('0' + digit));
  }
  return code;
}

std::string confirmation_code_hash(std::string_view code) { return auth::sha256_hex(code); }

Status check_smdp_address(std::string_view address) {
  if (address.empty() || address.size() > 255) {
    return Status(ErrorCode::kValidationFailed, "the SM-DP+ address must be 1 to 255 bytes");
  }
  auto colon = address.find(':');
  std::string_view host = address.substr(0, colon);
  if (host.empty() || host.front() == '.' || host.front() == '-' || host.back() == '.') {
    return Status(ErrorCode::kValidationFailed, "the SM-DP+ address must start with a host name");
  }
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) {
      return Status(ErrorCode::kValidationFailed,
                    "the SM-DP+ address may hold only letters, digits, '-', '.' and a :port");
    }
  }
  if (colon != std::string_view::npos) {
    std::string_view port = address.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos || std::stoi(std::string(port)) > 65535) {
      return Status(ErrorCode::kValidationFailed, "the SM-DP+ address has a bad port");
    }
  }
  return Status::ok();
}

std::string activation_code(std::string_view smdp_address, std::string_view matching_id,
                            bool confirmation_code_required) {
  // The OID field stays empty: the device then accepts any SM-DP+ certificate at that address.
  if (confirmation_code_required) {
    return fmt::format("LPA:1${}${}$$1", smdp_address, matching_id);
  }
  return fmt::format("LPA:1${}${}", smdp_address, matching_id);
}

}  // namespace station::orders
