#include "rsp_crypto/rsp_crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>

#include "rsp_crypto/internal.h"

namespace station::rsp_crypto {

void EvpPkeyFree::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

namespace internal {

std::string openssl_error() {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "no OpenSSL error recorded" : text;
}

Status openssl_failure(std::string_view what) {
  return Status(ErrorCode::kInternal, std::string(what) + ": " + openssl_error());
}

Result<Curve> curve_of(EVP_PKEY* key) {
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC")) {
    ERR_clear_error();
    return Status(ErrorCode::kValidationFailed, "not an EC key");
  }
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &length) != 1) {
    ERR_clear_error();
    return Status(ErrorCode::kValidationFailed, "EC key without a named curve");
  }
  const std::string_view name(group, length);
  if (name == "prime256v1" || name == "P-256" || name == "secp256r1") return Curve::kNistP256;
  if (name == "brainpoolP256r1") return Curve::kBrainpoolP256r1;
  return Status(ErrorCode::kValidationFailed,
                "EC key on " + std::string(name) + ", not on P-256 or brainpoolP256r1");
}

Result<EcKey> wrap_key(EVP_PKEY* raw, bool has_private) {
  std::unique_ptr<evp_pkey_st, EvpPkeyFree> key(raw);
  STATION_ASSIGN_OR_RETURN(Curve curve, curve_of(key.get()));
  return EcKey(std::move(key), curve, has_private);
}

}  // namespace internal

using internal::bio_text;
using internal::invalid;
using internal::openssl_failure;

namespace {

using MdCtxFree = internal::OpensslFree<EVP_MD_CTX_free>;
using PkeyCtxFree = internal::OpensslFree<EVP_PKEY_CTX_free>;
using CipherCtxFree = internal::OpensslFree<EVP_CIPHER_CTX_free>;
using SigFree = internal::OpensslFree<ECDSA_SIG_free>;

Status too_large(std::string_view what, std::size_t size, std::size_t limit) {
  return Status(ErrorCode::kPayloadTooLarge, std::string(what) + " of " + std::to_string(size) +
                                                 " bytes exceeds the limit of " +
                                                 std::to_string(limit));
}

// BER-TLV length field (ISO/IEC 8825-1 definite form) of a value up to 65535 bytes.
void append_ber_length(Bytes& out, std::size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<std::uint8_t>(length));
  } else if (length <= 0xFF) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(length));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(length >> 8));
    out.push_back(static_cast<std::uint8_t>(length & 0xFF));
  }
}

// AES-128 in ECB (one block) or CBC (with `iv`) over whole blocks, without padding.
Result<Bytes> aes128(bool encrypt, const AesKey& key, const std::uint8_t* iv, ByteView input) {
  if (input.empty() || input.size() % kAesBlockBytes != 0) {
    return invalid("AES input is not a whole number of blocks");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return openssl_failure("EVP_CIPHER_CTX_new");
  const EVP_CIPHER* cipher = iv == nullptr ? EVP_aes_128_ecb() : EVP_aes_128_cbc();
  if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), iv, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
    return openssl_failure("AES init");
  }
  Bytes out(input.size() + kAesBlockBytes);
  int written = 0;
  int final_written = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &written, input.data(),
                       static_cast<int>(input.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + written, &final_written) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return openssl_failure("AES");
  }
  out.resize(static_cast<std::size_t>(written + final_written));
  return out;
}

void wipe_bytes(Bytes& bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
  bytes.clear();
}

// Parses `tag || BER length || value` of a segment with the value running to the end; returns
// the header size. Minimal length encodings only.
Result<std::size_t> parse_segment_header(std::uint8_t expected_tag, ByteView segment) {
  if (segment.size() > kMaxSegmentBytes) {
    return too_large("SCP03t segment", segment.size(), kMaxSegmentBytes);
  }
  if (segment.size() < 2) return invalid("SCP03t segment too short");
  if (segment[0] != expected_tag) {
    return invalid("SCP03t segment has tag " + to_hex(segment.subspan(0, 1)) + ", expected " +
                   to_hex(ByteView(&expected_tag, 1)));
  }
  std::size_t header = 2;
  std::size_t length = segment[1];
  if (segment[1] == 0x81) {
    if (segment.size() < 3 || segment[2] < 0x80) return invalid("SCP03t segment length malformed");
    length = segment[2];
    header = 3;
  } else if (segment[1] == 0x82) {
    if (segment.size() < 4) return invalid("SCP03t segment length malformed");
    length = (std::size_t{segment[2]} << 8) | segment[3];
    if (length <= 0xFF) return invalid("SCP03t segment length not minimally encoded");
    header = 4;
  } else if (segment[1] >= 0x80) {
    return invalid("SCP03t segment length malformed");
  }
  if (header + length != segment.size()) {
    return invalid("SCP03t segment length " + std::to_string(length) + " does not match its " +
                   std::to_string(segment.size() - header) + " value bytes");
  }
  if (length < kMacBytes) return invalid("SCP03t segment shorter than its MAC");
  return header;
}

// Builds `tag || length || data || MAC` and the new MAC chaining value.
Result<Bytes> mac_and_frame(const Scp03tState& state, std::uint8_t tag, ByteView data,
                            AesKey& next_chaining_value) {
  Bytes segment;
  segment.reserve(4 + data.size() + kMacBytes);
  segment.push_back(tag);
  append_ber_length(segment, data.size() + kMacBytes);
  segment.insert(segment.end(), data.begin(), data.end());
  Bytes mac_input(state.mac_chaining_value.begin(), state.mac_chaining_value.end());
  mac_input.insert(mac_input.end(), segment.begin(), segment.end());
  STATION_ASSIGN_OR_RETURN(next_chaining_value, aes_cmac(state.keys.s_mac, mac_input));
  segment.insert(segment.end(), next_chaining_value.begin(),
                 next_chaining_value.begin() + kMacBytes);
  return segment;
}

// Checks the MAC of a parsed segment; returns the new MAC chaining value.
Result<AesKey> check_mac(const Scp03tState& state, ByteView segment) {
  const ByteView covered = segment.first(segment.size() - kMacBytes);
  const ByteView received = segment.last(kMacBytes);
  Bytes mac_input(state.mac_chaining_value.begin(), state.mac_chaining_value.end());
  mac_input.insert(mac_input.end(), covered.begin(), covered.end());
  STATION_ASSIGN_OR_RETURN(AesKey full, aes_cmac(state.keys.s_mac, mac_input));
  if (CRYPTO_memcmp(full.data(), received.data(), kMacBytes) != 0) {
    return Status(ErrorCode::kUnauthenticated, "SCP03t segment MAC does not verify");
  }
  return full;
}

Status check_counter(const Scp03tState& state) {
  if (state.block_counter == 0 || state.block_counter == UINT32_MAX) {
    return invalid("SCP03t block counter exhausted");
  }
  return Status::ok();
}

}  // namespace

std::string_view curve_name(Curve curve) {
  switch (curve) {
    case Curve::kNistP256:
      return "prime256v1";
    case Curve::kBrainpoolP256r1:
      return "brainpoolP256r1";
  }
  return "prime256v1";
}

// ---- keys ----------------------------------------------------------------------------------

// True when `key`'s public point lies on its curve, is not the point at infinity and has its
// coordinates in range. Both curves Station supports (P-256, brainpoolP256r1) have cofactor 1, so
// such a point has the group's prime order: OpenSSL's full check, which also multiplies the point
// by the order (about as costly as a signature verification), adds nothing for them.
namespace {
bool public_point_is_valid(EVP_PKEY* key) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

// A key holding only the curve's parameters, made once per curve. New keys start from it:
// OpenSSL 3.0 fetches the key manager and builds the group on every EVP_PKEY_fromdata or
// EVP_PKEY_Q_keygen (about 17 and 26 us on P-256), while copying a parameters key and setting the
// point takes about 4 us, and a key generation from its context about 15 us.
EVP_PKEY* parameters_of(Curve curve) {
  static const auto make = [](Curve c) -> EVP_PKEY* {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    std::string group(curve_name(c));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
        OSSL_PARAM_construct_end()};
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEY_PARAMETERS, params) != 1) {
      ERR_clear_error();
      return nullptr;
    }
    return key;
  };
  // Shared by all threads, only read (copied, or referenced by a key generation context). Never
  // freed: OpenSSL's own exit handler may run first.
  static EVP_PKEY* const nist_p256 = make(Curve::kNistP256);
  static EVP_PKEY* const brainpool_p256r1 = make(Curve::kBrainpoolP256r1);
  return curve == Curve::kNistP256 ? nist_p256 : brainpool_p256r1;
}
}  // namespace

Result<EcKey> generate_key(Curve curve) {
  EVP_PKEY* parameters = parameters_of(curve);
  if (parameters == nullptr) return openssl_failure("EC parameters");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, parameters, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1 ||
      key == nullptr) {
    return openssl_failure("EC key generation");
  }
  return EcKey(std::unique_ptr<evp_pkey_st, EvpPkeyFree>(key), curve, true);
}

Result<EcKey> public_key_from_point(Curve curve, ByteView point) {
  if (point.size() != kPublicPointBytes || point[0] != 0x04) {
    return invalid("public key is not an uncompressed point of 65 bytes");
  }
  EVP_PKEY* parameters = parameters_of(curve);
  if (parameters == nullptr) return openssl_failure("EC parameters");
  std::unique_ptr<evp_pkey_st, EvpPkeyFree> key(EVP_PKEY_dup(parameters));
  if (!key) return openssl_failure("EVP_PKEY_dup");
  if (EVP_PKEY_set1_encoded_public_key(key.get(), point.data(), point.size()) != 1 ||
      !public_point_is_valid(key.get())) {
    ERR_clear_error();
    return invalid("public key is not a valid point on " + std::string(curve_name(curve)));
  }
  return EcKey(std::move(key), curve, false);
}

Result<Bytes> public_point(const EcKey& key) {
  if (key.empty()) return invalid("no key");
  Bytes point(kPublicPointBytes + 1);
  std::size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                      point.size(), &length) != 1) {
    return openssl_failure("public point");
  }
  point.resize(length);
  if (point.size() != kPublicPointBytes || point[0] != 0x04) {
    return invalid("public key is not held as an uncompressed point");
  }
  return point;
}

Result<EcKey> private_key_from_pem(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return too_large("private key PEM", pem.size(), kMaxPemBytes);
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_failure("BIO_new_mem_buf");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    ERR_clear_error();
    return invalid("not an unencrypted PEM private key");
  }
  return internal::wrap_key(raw, true);
}

Result<EcKey> public_key_from_pem(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return too_large("public key PEM", pem.size(), kMaxPemBytes);
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_failure("BIO_new_mem_buf");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    ERR_clear_error();
    return invalid("not a PEM public key");
  }
  return internal::wrap_key(raw, false);
}

Result<secrets::SecretString> private_key_to_pem(const EcKey& key) {
  if (key.empty() || !key.has_private()) return invalid("not a private key");
  // Secure-heap memory BIO: its buffer is cleansed when freed.
  internal::BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) return openssl_failure("BIO_new");
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_failure("PEM_write_bio_PrivateKey");
  }
  return secrets::SecretString(bio_text(bio.get()));
}

Result<std::string> public_key_to_pem(const EcKey& key) {
  if (key.empty()) return invalid("no key");
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return openssl_failure("BIO_new");
  if (PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return openssl_failure("PEM_write_bio_PUBKEY");
  }
  return bio_text(bio.get());
}

// ---- signatures ----------------------------------------------------------------------------

Result<Bytes> plain_to_der(ByteView plain) {
  if (plain.size() != kPlainSignatureBytes) {
    return invalid("plain ECDSA signature must be 64 bytes, got " + std::to_string(plain.size()));
  }
  internal::BnPtr r(BN_bin2bn(plain.data(), kFieldBytes, nullptr));
  internal::BnPtr s(BN_bin2bn(plain.data() + kFieldBytes, kFieldBytes, nullptr));
  if (!r || !s) return openssl_failure("BN_bin2bn");
  if (BN_is_zero(r.get()) || BN_is_zero(s.get())) return invalid("ECDSA signature with r or s 0");
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  if (!sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return openssl_failure("ECDSA_SIG_set0");
  }
  r.release();  // owned by sig now
  s.release();
  const int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return openssl_failure("i2d_ECDSA_SIG");
  Bytes der(static_cast<std::size_t>(size));
  unsigned char* out = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return openssl_failure("i2d_ECDSA_SIG");
  return der;
}

Result<Bytes> der_to_plain(ByteView der) {
  if (der.size() > kMaxDerSignatureBytes) {
    return too_large("DER ECDSA signature", der.size(), kMaxDerSignatureBytes);
  }
  const unsigned char* in = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(
      d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!sig || in != der.data() + der.size()) {
    ERR_clear_error();
    return invalid("not a DER ECDSA-Sig-Value");
  }
  // DER, not BER: the value must re-encode to the very same bytes.
  unsigned char* reencoded = nullptr;
  const int size = i2d_ECDSA_SIG(sig.get(), &reencoded);
  const bool canonical =
      size == static_cast<int>(der.size()) && std::memcmp(reencoded, der.data(), der.size()) == 0;
  OPENSSL_free(reencoded);
  if (!canonical) return invalid("ECDSA signature is not canonical DER");
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  if (BN_is_negative(r) || BN_is_negative(s) || BN_is_zero(r) || BN_is_zero(s) ||
      BN_num_bytes(r) > static_cast<int>(kFieldBytes) ||
      BN_num_bytes(s) > static_cast<int>(kFieldBytes)) {
    return invalid("ECDSA signature r or s out of range");
  }
  Bytes plain(kPlainSignatureBytes);
  if (BN_bn2binpad(r, plain.data(), kFieldBytes) != static_cast<int>(kFieldBytes) ||
      BN_bn2binpad(s, plain.data() + kFieldBytes, kFieldBytes) != static_cast<int>(kFieldBytes)) {
    return openssl_failure("BN_bn2binpad");
  }
  return plain;
}

Result<Bytes> sign(const EcKey& key, ByteView data) {
  if (key.empty() || !key.has_private()) return invalid("signing needs a private key");
  if (data.size() > kMaxSignedDataBytes) {
    return too_large("data to sign", data.size(), kMaxSignedDataBytes);
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key.get(),
                                    nullptr) != 1) {
    return openssl_failure("EVP_DigestSignInit");
  }
  std::size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, data.data(), data.size()) != 1) {
    return openssl_failure("EVP_DigestSign");
  }
  Bytes der(size);
  if (EVP_DigestSign(ctx.get(), der.data(), &size, data.data(), data.size()) != 1) {
    return openssl_failure("EVP_DigestSign");
  }
  der.resize(size);
  return der_to_plain(der);
}

Status verify(const EcKey& key, ByteView data, ByteView signature) {
  if (key.empty()) return invalid("no key");
  if (data.size() > kMaxSignedDataBytes) {
    return too_large("signed data", data.size(), kMaxSignedDataBytes);
  }
  STATION_ASSIGN_OR_RETURN(Bytes der, plain_to_der(signature));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key.get(),
                                      nullptr) != 1) {
    return openssl_failure("EVP_DigestVerifyInit");
  }
  const int verdict = EVP_DigestVerify(ctx.get(), der.data(), der.size(), data.data(), data.size());
  ERR_clear_error();
  if (verdict != 1) return Status(ErrorCode::kUnauthenticated, "ECDSA signature does not verify");
  return Status::ok();
}

// ---- agreement and derivation --------------------------------------------------------------

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

SecretBytes::~SecretBytes() { wipe(); }

void SecretBytes::wipe() { wipe_bytes(bytes_); }

SessionKeys::~SessionKeys() {
  OPENSSL_cleanse(initial_mac_chaining_value.data(), initial_mac_chaining_value.size());
  OPENSSL_cleanse(s_enc.data(), s_enc.size());
  OPENSSL_cleanse(s_mac.data(), s_mac.size());
}

Scp03tState::~Scp03tState() {
  OPENSSL_cleanse(mac_chaining_value.data(), mac_chaining_value.size());
}

Result<SecretBytes> shared_secret(const EcKey& own, const EcKey& peer) {
  if (own.empty() || !own.has_private()) return invalid("key agreement needs own private key");
  if (peer.empty()) return invalid("key agreement needs the peer's public key");
  if (own.curve() != peer.curve()) return invalid("key agreement between different curves");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, own.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return openssl_failure("ECDH init");
  // The peer's point is checked here (public_point_is_valid) rather than by OpenSSL's full check.
  if (!public_point_is_valid(peer.get()) ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 0) != 1) {
    ERR_clear_error();
    return invalid("peer public key refused");
  }
  std::size_t size = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &size) != 1 || size != kSharedSecretBytes) {
    return openssl_failure("ECDH size");
  }
  Bytes secret(size);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &size) != 1 || size != kSharedSecretBytes) {
    wipe_bytes(secret);
    return openssl_failure("ECDH");
  }
  return SecretBytes(std::move(secret));
}

Result<SecretBytes> x963_kdf_sha256(ByteView z, ByteView shared_info, std::size_t length) {
  if (z.empty() || z.size() > 2 * kSharedSecretBytes) {
    return invalid("X9.63 KDF secret must be 1-64 bytes");
  }
  if (shared_info.size() > kMaxSharedInfoBytes) {
    return too_large("X9.63 KDF shared info", shared_info.size(), kMaxSharedInfoBytes);
  }
  if (length == 0 || length > kMaxKdfOutputBytes) {
    return invalid("X9.63 KDF output length must be 1-1024 bytes");
  }
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "X963KDF", nullptr);
  if (kdf == nullptr) return openssl_failure("EVP_KDF_fetch X963KDF");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return openssl_failure("EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  Bytes z_copy(z.begin(), z.end());
  Bytes info_copy(shared_info.begin(), shared_info.end());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z_copy.data(), z_copy.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_copy.data(), info_copy.size()),
      OSSL_PARAM_construct_end()};
  Bytes out(length);
  const int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  wipe_bytes(z_copy);
  if (ok != 1) {
    wipe_bytes(out);
    return openssl_failure("X9.63 KDF");
  }
  return SecretBytes(std::move(out));
}

Result<Bytes> session_shared_info(ByteView host_id, ByteView eid) {
  if (host_id.size() < kMinHostIdBytes || host_id.size() > kMaxHostIdBytes) {
    return invalid("hostId must be 1-16 bytes, got " + std::to_string(host_id.size()));
  }
  if (eid.size() != kEidBytes) {
    return invalid("EID must be 16 bytes, got " + std::to_string(eid.size()));
  }
  Bytes info{kKeyTypeAes, kKeyLengthAes128};
  append_ber_length(info, host_id.size());
  info.insert(info.end(), host_id.begin(), host_id.end());
  append_ber_length(info, eid.size());
  info.insert(info.end(), eid.begin(), eid.end());
  return info;
}

Result<SessionKeys> derive_session_keys(ByteView shared_secret_z, ByteView host_id, ByteView eid) {
  if (shared_secret_z.size() != kSharedSecretBytes) {
    return invalid("ShS must be 32 bytes, got " + std::to_string(shared_secret_z.size()));
  }
  STATION_ASSIGN_OR_RETURN(Bytes info, session_shared_info(host_id, eid));
  STATION_ASSIGN_OR_RETURN(SecretBytes key_data,
                           x963_kdf_sha256(shared_secret_z, info, 3 * kAesKeyBytes));
  SessionKeys keys;
  const std::uint8_t* data = key_data.view().data();
  std::copy_n(data, kAesKeyBytes, keys.initial_mac_chaining_value.begin());
  std::copy_n(data + kAesKeyBytes, kAesKeyBytes, keys.s_enc.begin());
  std::copy_n(data + 2 * kAesKeyBytes, kAesKeyBytes, keys.s_mac.begin());
  return keys;
}

Result<Bytes> eid_bytes(std::string_view eid) {
  if (eid.size() != 2 * kEidBytes ||
      !std::all_of(eid.begin(), eid.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status(ErrorCode::kInvalidEid, "EID must be 32 decimal digits");
  }
  return from_hex(eid);
}

// ---- SCP03t --------------------------------------------------------------------------------

Result<AesKey> aes_cmac(const AesKey& key, ByteView data) {
  constexpr std::size_t kMaxCmacInput = kAesBlockBytes + kMaxSegmentBytes;
  if (data.size() > kMaxCmacInput) return too_large("CMAC input", data.size(), kMaxCmacInput);
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  if (mac == nullptr) return openssl_failure("EVP_MAC_fetch CMAC");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  if (ctx == nullptr) return openssl_failure("EVP_MAC_CTX_new");
  char cipher[] = "AES-128-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
                         OSSL_PARAM_construct_end()};
  AesKey out{};
  std::size_t length = 0;
  const bool ok = EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
                  EVP_MAC_update(ctx, data.data(), data.size()) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &length, out.size()) == 1 && length == out.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) return openssl_failure("AES-CMAC");
  return out;
}

Result<AesKey> scp03t_icv(const AesKey& s_enc, std::uint32_t block_counter) {
  std::array<std::uint8_t, kAesBlockBytes> block{};
  for (int i = 0; i < 4; ++i) {
    block[kAesBlockBytes - 1 - static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(block_counter >> (8 * i));
  }
  STATION_ASSIGN_OR_RETURN(Bytes encrypted, aes128(true, s_enc, nullptr, block));
  AesKey icv{};
  std::copy_n(encrypted.begin(), kAesBlockBytes, icv.begin());
  return icv;
}

Result<Bytes> protect_segment(Scp03tState& state, std::uint8_t tag, ByteView plaintext) {
  if (plaintext.empty()) return invalid("SCP03t segment plaintext is empty");
  if (plaintext.size() > kMaxEncryptedSegmentPlaintext) {
    return too_large("SCP03t segment plaintext", plaintext.size(), kMaxEncryptedSegmentPlaintext);
  }
  STATION_RETURN_IF_ERROR(check_counter(state));
  // Padding (always): 0x80, then zeros up to a whole number of blocks.
  Bytes padded(plaintext.begin(), plaintext.end());
  padded.push_back(0x80);
  while (padded.size() % kAesBlockBytes != 0) padded.push_back(0x00);
  auto icv = scp03t_icv(state.keys.s_enc, state.block_counter);
  if (!icv.is_ok()) {
    wipe_bytes(padded);
    return icv.status();
  }
  auto ciphertext = aes128(true, state.keys.s_enc, icv->data(), padded);
  wipe_bytes(padded);
  if (!ciphertext.is_ok()) return ciphertext.status();
  AesKey next{};
  STATION_ASSIGN_OR_RETURN(Bytes segment, mac_and_frame(state, tag, *ciphertext, next));
  state.mac_chaining_value = next;
  ++state.block_counter;
  return segment;
}

Result<Bytes> mac_segment(Scp03tState& state, std::uint8_t tag, ByteView data) {
  if (data.size() > kMaxMacOnlySegmentData) {
    return too_large("SCP03t MAC-only segment data", data.size(), kMaxMacOnlySegmentData);
  }
  STATION_RETURN_IF_ERROR(check_counter(state));
  AesKey next{};
  STATION_ASSIGN_OR_RETURN(Bytes segment, mac_and_frame(state, tag, data, next));
  state.mac_chaining_value = next;
  ++state.block_counter;
  return segment;
}

Result<SecretBytes> unprotect_segment(Scp03tState& state, std::uint8_t expected_tag,
                                      ByteView segment) {
  STATION_ASSIGN_OR_RETURN(std::size_t header, parse_segment_header(expected_tag, segment));
  STATION_RETURN_IF_ERROR(check_counter(state));
  STATION_ASSIGN_OR_RETURN(AesKey next, check_mac(state, segment));
  const ByteView ciphertext = segment.subspan(header, segment.size() - header - kMacBytes);
  if (ciphertext.empty() || ciphertext.size() % kAesBlockBytes != 0) {
    return invalid("SCP03t ciphertext is not a whole number of blocks");
  }
  STATION_ASSIGN_OR_RETURN(AesKey icv, scp03t_icv(state.keys.s_enc, state.block_counter));
  STATION_ASSIGN_OR_RETURN(Bytes padded, aes128(false, state.keys.s_enc, icv.data(), ciphertext));
  // Strip 0x80 00..00 (at most one block of padding).
  std::size_t end = padded.size();
  while (end > 0 && padded[end - 1] == 0x00 && padded.size() - end < kAesBlockBytes) --end;
  if (end == 0 || padded[end - 1] != 0x80 || padded.size() - end >= kAesBlockBytes) {
    wipe_bytes(padded);
    return Status(ErrorCode::kUnauthenticated, "SCP03t segment padding is wrong");
  }
  // Cut in place: the vector keeps its buffer, which SecretBytes wipes.
  padded.resize(end - 1);
  state.mac_chaining_value = next;
  ++state.block_counter;
  return SecretBytes(std::move(padded));
}

Result<Bytes> verify_mac_segment(Scp03tState& state, std::uint8_t expected_tag, ByteView segment) {
  STATION_ASSIGN_OR_RETURN(std::size_t header, parse_segment_header(expected_tag, segment));
  STATION_RETURN_IF_ERROR(check_counter(state));
  STATION_ASSIGN_OR_RETURN(AesKey next, check_mac(state, segment));
  Bytes data(segment.begin() + static_cast<std::ptrdiff_t>(header),
             segment.end() - static_cast<std::ptrdiff_t>(kMacBytes));
  state.mac_chaining_value = next;
  ++state.block_counter;
  return data;
}

// ---- hex -----------------------------------------------------------------------------------

std::string to_hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0x0F]);
  }
  return out;
}

Result<Bytes> from_hex(std::string_view hex) {
  constexpr std::size_t kMaxHexChars = 2 * kMaxSignedDataBytes;
  if (hex.size() > kMaxHexChars) return too_large("hex text", hex.size(), kMaxHexChars);
  if (hex.size() % 2 != 0) return invalid("hex text of odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return invalid("not a hex digit");
    out.push_back(static_cast<std::uint8_t>((high << 4) | low));
  }
  return out;
}

}  // namespace station::rsp_crypto
