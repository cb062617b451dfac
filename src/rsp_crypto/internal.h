// rsp_crypto/internal: helpers shared by the library's .cc files; not part of its interface.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "common/result.h"
#include "rsp_crypto/rsp_crypto.h"

namespace station::rsp_crypto::internal {

// The OpenSSL error queue as text (and emptied).
std::string openssl_error();
// kInternal naming what failed and the OpenSSL errors.
Status openssl_failure(std::string_view what);
// The curve of an EC key; kValidationFailed for another key type or curve.
Result<Curve> curve_of(EVP_PKEY* key);
// Takes ownership of `raw` (freed on failure too).
Result<EcKey> wrap_key(EVP_PKEY* raw, bool has_private);

}  // namespace station::rsp_crypto::internal
