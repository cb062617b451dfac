// secrets: values sealed at rest with AES-256-GCM (e.g. a profile's Ki and OPc).
//
// A sealed value is text that both storage engines keep as is:
//
//   sealed     = "v1:" key-id ":" base64( nonce[12] || ciphertext || tag[16] )
//   key-id     = 1*16( ALPHA / DIGIT / "-" / "_" )
//
// The nonce is random per value. The associated data is "v1:" key-id ":" context, where the
// caller's context names the row and field the value belongs to (e.g. "profile:<iccid>:ki"), so
// a ciphertext copied to another row or field does not open.
//
// Keys: a Keyring holds one or more 32-byte keys by id. New values are sealed with the active
// key; a value opens with the key whose id it carries, so keys can be rotated by adding a new
// active key and keeping the old ones until every value is resealed. Key ids are derived from
// the key itself (the first 8 bytes of its SHA-256, in hex) unless a key file names them.
//
// Key sources, in order: an explicit key file, the environment (STATION_SECRETS_KEY: hex keys,
// comma-separated, the last one active), else a default key file that is created with a fresh
// random key (mode 0600) on first use, so zero set-up keeps working.
//
// Key file format: raw 32 bytes, or text lines, each "<64 hex>" or "<key id> <64 hex>"; blank
// lines and lines starting with '#' are ignored; the last key listed is the active one.
//
// Plaintext never appears in logs or messages; buffers that held it are wiped (SecretString).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace station::secrets {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 12;
inline constexpr std::size_t kTagBytes = 16;

// A string whose bytes are wiped (OPENSSL_cleanse) when it is destroyed or overwritten.
// Move-only, so a secret is not copied around by accident.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString();

  std::string_view view() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  void wipe();
  std::string value_;
};

// Overwrites the string's bytes (OPENSSL_cleanse) and empties it.
void wipe(std::string& text);

using Key = std::array<std::uint8_t, kKeyBytes>;

class Keyring {
 public:
  Keyring() = default;
  Keyring(Keyring&&) noexcept = default;
  Keyring& operator=(Keyring&&) noexcept = default;
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;
  ~Keyring();

  // Adds a key; the last one added becomes active. An empty id is derived from the key.
  // kValidationFailed for a malformed id or an id already present with another key.
  Status add(Key key, std::string id = "");
  // kValidationFailed unless `hex` is 64 hex digits.
  Status add_hex(std::string_view hex, std::string id = "");

  bool empty() const { return keys_.empty(); }
  // REQUIRES: !empty()
  const std::string& active_id() const;
  bool has(std::string_view id) const { return keys_.contains(std::string(id)); }

  // Seals with the active key. REQUIRES: !empty(), context not empty.
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // kValidationFailed for a malformed value, kNotFound for an unknown key id, kInternal when the
  // tag does not verify (tampered, or sealed for another context).
  Result<SecretString> open(std::string_view sealed, std::string_view context) const;
  // The key id a sealed value names, without opening it.
  static Result<std::string> key_id_of(std::string_view sealed);

  // A keyed hash, for matching a value that must not be stored (e.g. a document number): the
  // lower-case hex HMAC-SHA256 of `data` under a key derived from the key `key_id` with
  // HKDF-SHA256 (RFC 5869: no salt, info "station:" + purpose), so that a sealing key is never
  // used directly and each purpose has its own key. Store the key id beside the hash.
  // kNotFound for an unknown key id. REQUIRES: purpose not empty.
  Result<std::string> keyed_hash(std::string_view key_id, std::string_view purpose,
                                 std::string_view data) const;

 private:
  std::map<std::string, Key, std::less<>> keys_;
  std::string active_id_;
};

// The key id derived from a key: hex of the first 8 bytes of its SHA-256.
std::string derive_key_id(const Key& key);

// Reads a key file (format in the header comment).
Result<Keyring> load_key_file(const std::string& path);
// Parses STATION_SECRETS_KEY's value: hex keys, comma-separated, the last one active.
Result<Keyring> parse_key_list(std::string_view hex_keys);

struct KeySource {
  std::string key_file;          // explicit: must exist
  std::string key_hex;           // STATION_SECRETS_KEY
  std::string default_key_file;  // created with a fresh key when missing
};

struct LoadedKeyring {
  Keyring keyring;
  std::string origin;    // where the keys came from, for a log line (never the key)
  bool created = false;  // the default key file was created just now
};

// The first source that is set wins; see the header comment.
Result<LoadedKeyring> load_keyring(const KeySource& source);

// A fresh random key (OpenSSL's CSPRNG).
Key random_key();

// Standard base64 (RFC 4648 section 4, with padding), as sealed values and the GSMA ES9+ JSON
// binding carry binary data. Decoding accepts only the alphabet and final '=' padding (no
// whitespace); nullopt otherwise, or for empty input.
std::string base64_encode(const std::vector<std::uint8_t>& bytes);
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace station::secrets
