// orders/activation: the activation code a subscriber's device uses to fetch its eSIM profile.
//
// Format (GSMA SGP.22, section 4.1 "Activation Code"):
//
//   LPA:1$<SM-DP+ address>$<Matching ID>[$<SM-DP+ OID>[$<Confirmation Code Required Flag>]]
//
// The Matching ID is the one secret in the code that ties a download to an order: 20 random
// upper-case letters and digits (~103 bits), grouped by dashes for reading aloud, so it can be
// neither guessed nor enumerated. The confirmation code, when the operator asks for one, travels
// apart from the activation code; the SM-DP+ keeps only its SHA-256 (SGP.22 hashes it again with
// the transaction id when the device presents it).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace station::orders {

// 20 random characters from [0-9A-Z] minus I, O, U, as XXXXX-XXXXX-XXXXX-XXXXX.
Result<std::string> new_matching_id();
// 8 random decimal digits.
Result<std::string> new_confirmation_code();
// Lower-case hex SHA-256 of the code, as the SM-DP+ stores it.
std::string confirmation_code_hash(std::string_view code);

// kValidationFailed unless the address is a host name (letters, digits, '-', '.'), optionally
// with ":port", 1..255 bytes, as the activation code and the SM-DP+ certificate carry it.
Status check_smdp_address(std::string_view address);

std::string activation_code(std::string_view smdp_address, std::string_view matching_id,
                            bool confirmation_code_required);

}  // namespace station::orders
