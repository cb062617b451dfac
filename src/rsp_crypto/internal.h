// rsp_crypto/internal: helpers shared by the library's .cc files; not part of its interface.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include <memory>

#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "rsp_crypto/rsp_crypto.h"

namespace station::rsp_crypto::internal {

// The deleter of a std::unique_ptr that owns an OpenSSL object freed by `Free`.
template <auto Free>
struct OpensslFree {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};
using BioPtr = std::unique_ptr<BIO, OpensslFree<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, OpensslFree<BN_free>>;

// kValidationFailed with that message.
inline Status invalid(std::string message) {
  return Status(ErrorCode::kValidationFailed, std::move(message));
}
// What a memory BIO holds, as text.
inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}
// The OpenSSL error queue as text (and emptied).
std::string openssl_error();
// kInternal naming what failed and the OpenSSL errors.
Status openssl_failure(std::string_view what);
// The curve of an EC key; kValidationFailed for another key type or curve.
Result<Curve> curve_of(EVP_PKEY* key);
// Takes ownership of `raw` (freed on failure too).
Result<EcKey> wrap_key(EVP_PKEY* raw, bool has_private);

}  // namespace station::rsp_crypto::internal
