// rsp_crypto: the cryptography of the SM-DP+ and the eUICC (GSMA SGP.22 v2.x, consumer RSP), on
// OpenSSL 3 EVP APIs only.
//
// What SGP.22 asks for, and where it is here:
//
// * Curves: the two SGP.22 v2 allows, NIST P-256 and brainpoolP256r1 (RFC 5639),
//   named by `Curve`. The curve of a key follows from its certificate chain (the CI's curve).
//
// * Signatures: ECDSA with SHA-256. Inside the RSP ASN.1 structures (serverSigned1,
//   euiccSignature1/2, smdpSignature2, the signatures of PrepareDownload and notifications)
//   SGP.22 carries them in the plain form of BSI TR-03111 section 5.2.1: r || s, each an unsigned
//   big-endian integer padded to the field size, 64 bytes in all. X.509 certificates (and TLS)
//   carry the DER ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480/3279) instead.
//   `sign`/`verify` work on the plain form; `plain_to_der`/`der_to_plain` convert, strictly (a
//   DER value that does not re-encode to the same bytes is refused). Signed data is verified over
//   the bytes given, never over a re-encoding.
//
// * One-time key pairs and key agreement (SGP.22 section 3.1.3, profile download:
//   otPK/otSK.DP.ECKA and otPK/otSK.EUICC.ECKA): fresh keys per session; public keys travel as
//   the uncompressed point 0x04 || X || Y (65 bytes). The shared secret ShS is ECKA-EG / ECKA-DH
//   of BSI TR-03111 section 4.3.1: the x-coordinate of d * Q (32 bytes), which is what ECDH in
//   OpenSSL returns.
//
// * Key derivation (the SGP.22 key derivation for the Bound Profile Package, after
//   GlobalPlatform Card Spec Amendment F, SCP11): KeyData = X9.63-KDF-SHA256(ShS, 48 bytes,
//   SharedInfo) with
//     SharedInfo = keyType (0x88) || keyLength (0x10) || len(hostId) || hostId || len(EID) || EID
//   (lengths as BER-TLV lengths, i.e. one byte here), and
//     initial MAC chaining value = KeyData[0..15], S-ENC = KeyData[16..31],
//     S-MAC = KeyData[32..47].
//   hostId is the SM-DP+'s host identifier sent in InitialiseSecureChannel (1-16 bytes), EID the
//   16 bytes of the eUICC's EID. Source: the SGP.22 text itself was not at hand (the search
//   tools hold no copy), so section numbers here are as other implementations cite them; the
//   layout is the one of osmocom pySim (pySim/esim/bsp.py, bsp_key_derivation, "as per SGP.22
//   v3.0 Section 2.6.4.2"; SGP.22 v2.x calls the protocol SCP03t), whose test vectors were
//   traced from a third-party SM-DP+. tests/rsp_crypto checks against those vectors and
//   against an independent SHA-256 computation of the X9.63 KDF.
//
// * SCP03t (SGP.22 v3.0 sections 2.6.4.3-2.6.4.4 as pySim cites them, "BSP" from v3.0; the ICV
//   as GlobalPlatform Amendment D, SCP03, defines it for command encryption): a Bound Profile
//   Package is a sequence of segments, each
//       tag || BER length || data || C-MAC (8 bytes)       at most 1020 bytes in all.
//   - Encryption (segments tagged 0x87 ConfigureISDP/ReplaceSessionKeys, 0x86 profile data):
//     the plaintext is padded with 0x80 then 0-15 zero bytes (always, ISO/IEC 9797-1 method 2),
//     and encrypted with AES-128-CBC under S-ENC; the ICV is AES-128-ECB(S-ENC, block counter as
//     a 16-byte big-endian number). The block counter starts at 1 and is incremented for every
//     segment, including MAC-only ones.
//   - MAC (every segment; tag 0x88 StoreMetadata is MAC-only): full = AES-CMAC(S-MAC,
//     MCV || tag || length || data), where length already counts the 8 MAC bytes; the segment
//     carries full[0..7] and the next MCV is the whole 16-byte `full`.
//   - The eUICC side checks the MAC (constant time) before it decrypts and checks the padding.
//   `Scp03tState` is the state one side keeps (keys, MCV, block counter); the functions advance it
//   only when they succeed, so a refused segment leaves it as it was. After ReplaceSessionKeys
//   both sides start a new state from the new keys (block counter 1 again), as the vectors show.
//
// Limits: every input has an explicit bound (constants below); anything larger is refused with
// kValidationFailed (or kPayloadTooLarge for data), never truncated. Private keys, ShS and session
// keys are wiped when freed (OPENSSL_cleanse, EVP_PKEY_free).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "secrets/secrets.h"

struct evp_pkey_st;  // EVP_PKEY, so that users need not include OpenSSL headers

namespace station::rsp_crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Bytes of a string (e.g. a file read into a std::string).
inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// ---- limits ----------------------------------------------------------------------------------
inline constexpr std::size_t kFieldBytes = 32;                         // P-256 and brainpoolP256r1
inline constexpr std::size_t kPlainSignatureBytes = 2 * kFieldBytes;   // r || s
inline constexpr std::size_t kPublicPointBytes = 1 + 2 * kFieldBytes;  // 0x04 || X || Y
inline constexpr std::size_t kMaxDerSignatureBytes = 72;               // 30 46 02 21 r 02 21 s
inline constexpr std::size_t kMaxSignedDataBytes = 1 << 20;  // bigger than any RSP structure
inline constexpr std::size_t kMaxPemBytes = 16 * 1024;       // one key or certificate
inline constexpr std::size_t kSharedSecretBytes = kFieldBytes;
inline constexpr std::size_t kMaxKdfOutputBytes = 1024;
inline constexpr std::size_t kMaxSharedInfoBytes = 256;
inline constexpr std::size_t kMinHostIdBytes = 1;  // hostId OCTET STRING (SIZE(1..16))
inline constexpr std::size_t kMaxHostIdBytes = 16;
inline constexpr std::size_t kEidBytes = 16;  // 32 digits, packed
inline constexpr std::size_t kAesKeyBytes = 16;
inline constexpr std::size_t kAesBlockBytes = 16;
inline constexpr std::size_t kMacBytes = 8;            // C-MAC carried in a segment
inline constexpr std::size_t kMaxSegmentBytes = 1020;  // tag + length + data + MAC
// The largest plaintext an encrypted segment holds: 1020 - tag(1) - length(3) - MAC(8) = 1008
// bytes of ciphertext, of which at least one byte is padding.
inline constexpr std::size_t kMaxEncryptedSegmentPlaintext = 1007;
// The largest data a MAC-only segment holds.
inline constexpr std::size_t kMaxMacOnlySegmentData = 1008;
// SGP.22 key derivation constants (SharedInfo).
inline constexpr std::uint8_t kKeyTypeAes = 0x88;
inline constexpr std::uint8_t kKeyLengthAes128 = 0x10;

// ---- curves and keys -------------------------------------------------------------------------
enum class Curve : std::uint8_t { kNistP256, kBrainpoolP256r1 };
// "prime256v1" / "brainpoolP256r1" (OpenSSL's group names).
std::string_view curve_name(Curve curve);

struct EvpPkeyFree {
  void operator()(evp_pkey_st* key) const;
};

// An EC key on one of the two curves: a private key (with its public part) or a public key only.
// Move-only; the private scalar is wiped when the key is freed.
class EcKey {
 public:
  EcKey() = default;
  EcKey(std::unique_ptr<evp_pkey_st, EvpPkeyFree> key, Curve curve, bool has_private)
      : key_(std::move(key)), curve_(curve), has_private_(has_private) {}

  bool empty() const { return key_ == nullptr; }
  Curve curve() const { return curve_; }
  bool has_private() const { return has_private_; }
  evp_pkey_st* get() const { return key_.get(); }

 private:
  std::unique_ptr<evp_pkey_st, EvpPkeyFree> key_;
  Curve curve_ = Curve::kNistP256;
  bool has_private_ = false;
};

// A fresh random key pair (e.g. a one-time key otSK/otPK of a session).
Result<EcKey> generate_key(Curve curve);
// The public key of an uncompressed point 0x04 || X || Y; kValidationFailed unless it is 65 bytes,
// starts with 0x04 and lies on the curve.
Result<EcKey> public_key_from_point(Curve curve, ByteView point);
// The uncompressed public point 0x04 || X || Y (65 bytes). REQUIRES: !key.empty().
Result<Bytes> public_point(const EcKey& key);
// A private key from PEM (PKCS#8 "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY", unencrypted), on one of
// the two curves; kValidationFailed otherwise.
Result<EcKey> private_key_from_pem(std::string_view pem);
// A public key from PEM ("PUBLIC KEY", SubjectPublicKeyInfo).
Result<EcKey> public_key_from_pem(std::string_view pem);
// The private key as unencrypted PKCS#8 PEM. REQUIRES: key.has_private().
Result<secrets::SecretString> private_key_to_pem(const EcKey& key);
// The public key as SubjectPublicKeyInfo PEM.
Result<std::string> public_key_to_pem(const EcKey& key);

// ---- signatures ------------------------------------------------------------------------------
// ECDSA-SHA256 over `data`, as the 64-byte plain r || s. REQUIRES: key.has_private().
Result<Bytes> sign(const EcKey& key, ByteView data);
// Ok when `signature` (plain r || s, exactly 64 bytes) is a valid ECDSA-SHA256 signature of
// `data` under `key`; kValidationFailed for a malformed signature, kUnauthenticated when it
// does not verify.
Status verify(const EcKey& key, ByteView data, ByteView signature);
// The DER ECDSA-Sig-Value of a plain r || s signature.
Result<Bytes> plain_to_der(ByteView plain);
// The plain r || s of a DER ECDSA-Sig-Value; refused unless the DER is canonical and r, s fit in
// 32 bytes.
Result<Bytes> der_to_plain(ByteView der);

// ---- key agreement and derivation ------------------------------------------------------------
// A byte string whose contents are wiped when it is destroyed. Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(Bytes bytes) : bytes_(std::move(bytes)) {}
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {}
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  ByteView view() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }

 private:
  void wipe();
  Bytes bytes_;
};

// ShS = ECKA(own private key, peer public key): the 32-byte x-coordinate. kValidationFailed when
// the keys are on different curves or `own` has no private part.
Result<SecretBytes> shared_secret(const EcKey& own, const EcKey& peer);

// ANSI X9.63 KDF with SHA-256 (SEC 1 section 3.6.1): Hash(Z || counter32 || SharedInfo) for
// counter = 1, 2, ..., concatenated and cut to `length` bytes.
Result<SecretBytes> x963_kdf_sha256(ByteView z, ByteView shared_info, std::size_t length);

using AesKey = std::array<std::uint8_t, kAesKeyBytes>;

// The three 16-byte values the SGP.22 key derivation yields. Wiped on destruction.
struct SessionKeys {
  AesKey initial_mac_chaining_value{};
  AesKey s_enc{};
  AesKey s_mac{};

  SessionKeys() = default;
  SessionKeys(const SessionKeys&) = default;
  SessionKeys& operator=(const SessionKeys&) = default;
  ~SessionKeys();
};

// The SharedInfo of the SGP.22 key derivation: 0x88 || 0x10 || LV(hostId) || LV(EID).
// kValidationFailed unless hostId is 1-16 bytes and the EID 16 bytes.
Result<Bytes> session_shared_info(ByteView host_id, ByteView eid);
// The session keys from ShS (32 bytes), the SM-DP+'s hostId and the eUICC's EID (16 bytes).
Result<SessionKeys> derive_session_keys(ByteView shared_secret, ByteView host_id, ByteView eid);
// The 16 bytes of a 32-digit EID (each pair of digits one byte: "8904..." -> 0x89 0x04 ...);
// kInvalidEid unless it is 32 decimal digits.
Result<Bytes> eid_bytes(std::string_view eid);

// ---- SCP03t segments -------------------------------------------------------------------------
// One side's SCP03t state. Wiped on destruction.
struct Scp03tState {
  SessionKeys keys;
  AesKey mac_chaining_value{};
  std::uint32_t block_counter = 1;

  Scp03tState() = default;
  explicit Scp03tState(const SessionKeys& session_keys)
      : keys(session_keys), mac_chaining_value(session_keys.initial_mac_chaining_value) {}
  ~Scp03tState();
};

// AES-CMAC (NIST SP 800-38B) of `data` under a 128-bit key.
Result<AesKey> aes_cmac(const AesKey& key, ByteView data);
// The ICV of a segment: AES-128(S-ENC, block counter as a 16-byte big-endian number).
Result<AesKey> scp03t_icv(const AesKey& s_enc, std::uint32_t block_counter);

// SM-DP+ side: encrypts and MACs `plaintext` (1..1007 bytes) into one segment
// `tag || length || ciphertext || MAC`.
Result<Bytes> protect_segment(Scp03tState& state, std::uint8_t tag, ByteView plaintext);
// SM-DP+ side: MACs `data` (up to 1008 bytes) into one segment `tag || length || data || MAC`
// (the block counter advances too).
Result<Bytes> mac_segment(Scp03tState& state, std::uint8_t tag, ByteView data);
// eUICC side of protect_segment: checks the tag, the length, the MAC, then decrypts and strips the
// padding. kUnauthenticated when the MAC does not verify or the padding is wrong,
// kValidationFailed for a malformed segment. The plaintext (profile data: Ki, OPc) is returned
// as SecretBytes, wiped when dropped.
Result<SecretBytes> unprotect_segment(Scp03tState& state, std::uint8_t expected_tag,
                                      ByteView segment);
// eUICC side of mac_segment: checks the MAC and returns the data.
Result<Bytes> verify_mac_segment(Scp03tState& state, std::uint8_t expected_tag, ByteView segment);

// Hex helpers for tests and tools (lower case; from_hex accepts either case, no separators).
std::string to_hex(ByteView bytes);
Result<Bytes> from_hex(std::string_view hex);

}  // namespace station::rsp_crypto
