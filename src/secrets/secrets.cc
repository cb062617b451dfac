#include "secrets/secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

namespace station::secrets {
namespace {

constexpr std::string_view kFormatVersion = "v1";
constexpr std::size_t kKeyIdBytesMax = 16;
constexpr std::size_t kKeyFileBytesMax = 64 * 1024;
constexpr std::size_t kSealedBytesMax = 4096;  // far above any Ki, OPc, PIN or PUK

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

bool is_key_id(std::string_view id) {
  if (id.empty() || id.size() > kKeyIdBytesMax) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Key> key_from_hex(std::string_view hex) {
  if (hex.size() != kKeyBytes * 2) return std::nullopt;
  Key key{};
  for (std::size_t i = 0; i < kKeyBytes; ++i) {
    int high = hex_value(hex[2 * i]);
    int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      OPENSSL_cleanse(key.data(), key.size());
      return std::nullopt;
    }
    key[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return key;
}

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0x0f]);
  }
  return out;
}

std::string associated_data(std::string_view key_id, std::string_view context) {
  return fmt::format("{}:{}:{}", kFormatVersion, key_id, context);
}

struct ParsedSealed {
  std::string_view key_id;
  std::string_view payload;
};

Result<ParsedSealed> parse_sealed(std::string_view sealed) {
  if (sealed.size() > kSealedBytesMax) {
    return Status(ErrorCode::kValidationFailed, "sealed value is too long");
  }
  std::size_t first = sealed.find(':');
  std::size_t second = first == std::string_view::npos ? first : sealed.find(':', first + 1);
  if (second == std::string_view::npos || sealed.substr(0, first) != kFormatVersion) {
    return Status(ErrorCode::kValidationFailed, "sealed value is not in the v1 format");
  }
  ParsedSealed parsed{sealed.substr(first + 1, second - first - 1), sealed.substr(second + 1)};
  if (!is_key_id(parsed.key_id)) {
    return Status(ErrorCode::kValidationFailed, "sealed value has a malformed key id");
  }
  return parsed;
}

Result<Keyring> parse_key_file_text(std::string_view text, const std::string& path) {
  Keyring keyring;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    std::string id;
    std::string_view hex = line;
    if (std::size_t space = line.find_first_of(" \t"); space != std::string_view::npos) {
      id = std::string(line.substr(0, space));
      hex = line.substr(line.find_last_of(" \t") + 1);
    }
    Status added = keyring.add_hex(hex, id);
    if (!added.is_ok()) {
      return Status(added.code(),
                    fmt::format("key file {} line {}: {}", path, line_number, added.message()));
    }
  }
  if (keyring.empty()) {
    return Status(ErrorCode::kValidationFailed, fmt::format("key file {} holds no key", path));
  }
  return keyring;
}

// Creates `path` with a fresh hex key, mode 0600; fails if it exists (another process may have
// won the race: the caller then reads the winner's key).
Status create_key_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(errno == EEXIST ? ErrorCode::kConflict : ErrorCode::kStorageError,
                  fmt::format("cannot create key file {}: {}", path, std::strerror(errno)));
  }
  Key key = random_key();
  std::string text = "# Station secrets key (AES-256-GCM). Keep it safe and backed up: without it\n"
                     "# the profile secrets in the store cannot be read.\n" +
                     to_hex(key.data(), key.size()) + "\n";
  OPENSSL_cleanse(key.data(), key.size());
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  int saved_errno = errno;
  OPENSSL_cleanse(text.data(), text.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return Status(ErrorCode::kStorageError,
                  fmt::format("cannot write key file {}: {}", path, std::strerror(saved_errno)));
  }
  return Status::ok();
}

}  // namespace

std::string base64_encode(const std::vector<std::uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  assert(written >= 0);
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  // EVP_DecodeBlock skips whitespace and stops at odd places; only the alphabet and final '='
  // padding are accepted here.
  const std::size_t data_end = text.find('=');
  if (data_end != std::string_view::npos &&
      (data_end + 2 < text.size() ||
       text.find_first_not_of('=', data_end) != std::string_view::npos)) {
    return std::nullopt;
  }
  for (char c : text.substr(0, data_end)) {
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!alphabet) return std::nullopt;
  }
  std::vector<std::uint8_t> out(text.size() / 4 * 3);
  int written = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  // EVP_DecodeBlock keeps the zero bytes that padding stands for; drop them.
  std::size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(written) - padding);
  return out;
}

SecretString::SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) {
  other.wipe();
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
  }
  return *this;
}

SecretString::~SecretString() { wipe(); }

void SecretString::wipe() { secrets::wipe(value_); }

void wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

Keyring::~Keyring() {
  for (auto& [id, key] : keys_) OPENSSL_cleanse(key.data(), key.size());
}

Status Keyring::add(Key key, std::string id) {
  if (id.empty()) id = derive_key_id(key);
  if (!is_key_id(id)) {
    OPENSSL_cleanse(key.data(), key.size());
    return Status(ErrorCode::kValidationFailed,
                  "a key id is 1 to 16 letters, digits, '-' or '_'");
  }
  auto [it, inserted] = keys_.emplace(id, key);
  bool same = it->second == key;
  OPENSSL_cleanse(key.data(), key.size());
  if (!inserted && !same) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("key id '{}' is given twice with different keys", id));
  }
  active_id_ = id;
  return Status::ok();
}

Status Keyring::add_hex(std::string_view hex, std::string id) {
  auto key = key_from_hex(hex);
  if (!key) return Status(ErrorCode::kValidationFailed, "a key is 64 hex digits (32 bytes)");
  return add(*key, std::move(id));
}

const std::string& Keyring::active_id() const {
  assert(!empty());
  return active_id_;
}

std::string Keyring::seal(std::string_view plaintext, std::string_view context) const {
  assert(!empty());
  assert(!context.empty());
  const Key& key = keys_.find(active_id_)->second;
  std::string aad = associated_data(active_id_, context);

  std::vector<std::uint8_t> payload(kNonceBytes + plaintext.size() + kTagBytes);
  int ok = RAND_bytes(payload.data(), static_cast<int>(kNonceBytes));
  // A failing CSPRNG must not produce a sealed value (a repeated nonce breaks GCM).
  if (ok != 1) std::abort();

  CipherContext context_ptr(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* cipher = context_ptr.get();
  int length = 0;
  ok = cipher != nullptr &&
       EVP_EncryptInit_ex(cipher, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
       EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes),
                           nullptr) == 1 &&
       EVP_EncryptInit_ex(cipher, nullptr, nullptr, key.data(), payload.data()) == 1 &&
       EVP_EncryptUpdate(cipher, nullptr, &length,
                         reinterpret_cast<const unsigned char*>(aad.data()),
                         static_cast<int>(aad.size())) == 1 &&
       EVP_EncryptUpdate(cipher, payload.data() + kNonceBytes, &length,
                         reinterpret_cast<const unsigned char*>(plaintext.data()),
                         static_cast<int>(plaintext.size())) == 1 &&
       static_cast<std::size_t>(length) == plaintext.size() &&
       EVP_EncryptFinal_ex(cipher, payload.data() + kNonceBytes + plaintext.size(), &length) ==
           1 &&
       EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                           payload.data() + kNonceBytes + plaintext.size()) == 1;
  // AES-GCM with a valid key and sizes cannot fail short of a broken OpenSSL.
  if (ok != 1) std::abort();
  return fmt::format("{}:{}:{}", kFormatVersion, active_id_, base64_encode(payload));
}

Result<SecretString> Keyring::open(std::string_view sealed, std::string_view context) const {
  STATION_ASSIGN_OR_RETURN(ParsedSealed parsed, parse_sealed(sealed));
  auto key_it = keys_.find(parsed.key_id);
  if (key_it == keys_.end()) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("no key with id '{}' in the keyring", parsed.key_id));
  }
  auto payload = base64_decode(parsed.payload);
  if (!payload || payload->size() < kNonceBytes + kTagBytes) {
    return Status(ErrorCode::kValidationFailed, "sealed value has a malformed payload");
  }
  std::string aad = associated_data(parsed.key_id, context);
  std::size_t text_size = payload->size() - kNonceBytes - kTagBytes;
  std::string plaintext(text_size, '\0');
  CipherContext context_ptr(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* cipher = context_ptr.get();
  int length = 0;
  bool ok = cipher != nullptr &&
            EVP_DecryptInit_ex(cipher, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes),
                                nullptr) == 1 &&
            EVP_DecryptInit_ex(cipher, nullptr, nullptr, key_it->second.data(),
                               payload->data()) == 1 &&
            EVP_DecryptUpdate(cipher, nullptr, &length,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(cipher, reinterpret_cast<unsigned char*>(plaintext.data()),
                              &length, payload->data() + kNonceBytes,
                              static_cast<int>(text_size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                                payload->data() + kNonceBytes + text_size) == 1 &&
            EVP_DecryptFinal_ex(cipher, nullptr, &length) == 1;
  SecretString secret(std::move(plaintext));
  if (!ok) {
    // `secret` wipes the unauthenticated bytes on the way out.
    return Status(ErrorCode::kInternal,
                  "sealed value does not verify: tampered, or sealed for another row or field");
  }
  return secret;
}

Result<std::string> Keyring::keyed_hash(std::string_view key_id, std::string_view purpose,
                                        std::string_view data) const {
  assert(!purpose.empty());
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    return Status(ErrorCode::kNotFound, fmt::format("no secrets key with id '{}'", key_id));
  }
  const std::string info = fmt::format("station:{}", purpose);
  Key derived{};
  std::size_t derived_size = derived.size();
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> kdf(
      EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), &EVP_PKEY_CTX_free);
  bool ok = kdf && EVP_PKEY_derive_init(kdf.get()) == 1 &&
            EVP_PKEY_CTX_set_hkdf_md(kdf.get(), EVP_sha256()) == 1 &&
            EVP_PKEY_CTX_set1_hkdf_key(kdf.get(), it->second.data(),
                                       static_cast<int>(it->second.size())) == 1 &&
            EVP_PKEY_CTX_add1_hkdf_info(kdf.get(),
                                        reinterpret_cast<const unsigned char*>(info.data()),
                                        static_cast<int>(info.size())) == 1 &&
            EVP_PKEY_derive(kdf.get(), derived.data(), &derived_size) == 1 &&
            derived_size == derived.size();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  ok = ok && HMAC(EVP_sha256(), derived.data(), static_cast<int>(derived.size()),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
                  &mac_size) != nullptr;
  OPENSSL_cleanse(derived.data(), derived.size());
  if (!ok) return Status(ErrorCode::kInternal, "the keyed hash could not be computed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(mac_size * 2);
  for (unsigned int i = 0; i < mac_size; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0x0f]);
  }
  return out;
}

Result<std::string> Keyring::key_id_of(std::string_view sealed) {
  STATION_ASSIGN_OR_RETURN(ParsedSealed parsed, parse_sealed(sealed));
  return std::string(parsed.key_id);
}

std::string derive_key_id(const Key& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  int ok = EVP_Digest(key.data(), key.size(), digest, &length, EVP_sha256(), nullptr);
  if (ok != 1) std::abort();
  return to_hex(digest, 8);
}

Key random_key() {
  Key key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) std::abort();
  return key;
}

Result<Keyring> load_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(ErrorCode::kNotFound, fmt::format("cannot read key file {}", path));
  }
  std::string buffer(kKeyFileBytesMax + 1, '\0');
  in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  buffer.resize(static_cast<std::size_t>(in.gcount()));
  const SecretString text(std::move(buffer));  // wiped on return
  std::string_view content = text.view();
  if (content.size() > kKeyFileBytesMax) {
    return Status(ErrorCode::kValidationFailed, fmt::format("key file {} is too large", path));
  }
  // A text key file is at least 64 hex digits, so exactly 32 bytes can only be a raw key.
  if (content.size() == kKeyBytes) {
    Key key{};
    std::memcpy(key.data(), content.data(), kKeyBytes);
    Keyring keyring;
    STATION_RETURN_IF_ERROR(keyring.add(key));
    return keyring;
  }
  return parse_key_file_text(content, path);
}

Result<Keyring> parse_key_list(std::string_view hex_keys) {
  Keyring keyring;
  while (!hex_keys.empty()) {
    std::size_t comma = hex_keys.find(',');
    std::string_view hex = hex_keys.substr(0, comma);
    hex_keys = comma == std::string_view::npos ? std::string_view() : hex_keys.substr(comma + 1);
    while (!hex.empty() && hex.front() == ' ') hex.remove_prefix(1);
    while (!hex.empty() && hex.back() == ' ') hex.remove_suffix(1);
    if (hex.empty()) continue;
    STATION_RETURN_IF_ERROR(keyring.add_hex(hex));
  }
  if (keyring.empty()) {
    return Status(ErrorCode::kValidationFailed, "STATION_SECRETS_KEY holds no key");
  }
  return keyring;
}

Result<LoadedKeyring> load_keyring(const KeySource& source) {
  LoadedKeyring loaded;
  if (!source.key_file.empty()) {
    STATION_ASSIGN_OR_RETURN(loaded.keyring, load_key_file(source.key_file));
    loaded.origin = "key file " + source.key_file;
    return loaded;
  }
  if (!source.key_hex.empty()) {
    STATION_ASSIGN_OR_RETURN(loaded.keyring, parse_key_list(source.key_hex));
    loaded.origin = "STATION_SECRETS_KEY";
    return loaded;
  }
  if (source.default_key_file.empty()) {
    return Status(ErrorCode::kValidationFailed, "no secrets key configured");
  }
  struct stat info {};
  if (::stat(source.default_key_file.c_str(), &info) != 0) {
    std::error_code ignored;  // a missing directory shows up as the create error below
    std::filesystem::create_directories(
        std::filesystem::path(source.default_key_file).parent_path(), ignored);
    Status created = create_key_file(source.default_key_file);
    if (created.is_ok()) {
      loaded.created = true;
    } else if (created.code() != ErrorCode::kConflict) {
      return created;
    }
  }
  STATION_ASSIGN_OR_RETURN(loaded.keyring, load_key_file(source.default_key_file));
  loaded.origin = "key file " + source.default_key_file;
  return loaded;
}

}  // namespace station::secrets
