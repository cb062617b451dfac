#include "auth/api_keys.h"

#include <array>
#include <cassert>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/limits.h"

namespace station::auth {
namespace {

constexpr std::string_view kKeyTag = "stk_";
constexpr std::size_t kPrefixChars = 8;
constexpr std::size_t kSecretBytes = 32;
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct ScopeEntry {
  Scope scope;
  std::string_view name;
};
constexpr std::array kScopes = {
    ScopeEntry{Scope::kAdmin, "admin"},     ScopeEntry{Scope::kApp, "app"},
    ScopeEntry{Scope::kSupport, "support"}, ScopeEntry{Scope::kFinance, "finance"},
    ScopeEntry{Scope::kPartner, "partner"}, ScopeEntry{Scope::kSmdp, "smdp"},
};

std::string base64url(const unsigned char* data, std::size_t size) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(buffer >> bits) & 63U]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(buffer << (6 - bits)) & 63U]);
  return out;
}

bool is_base64url(std::string_view text) {
  return text.find_first_not_of(kBase64Url) == std::string_view::npos;
}

std::string join_scopes(const std::vector<Scope>& scopes) {
  std::string out;
  for (Scope s : scopes) {
    if (!out.empty()) out.push_back(',');
    out += scope_name(s);
  }
  return out;
}

std::vector<Scope> split_scopes(std::string_view text) {
  std::vector<Scope> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto scope = parse_scope(text.substr(0, comma));
    if (scope) out.push_back(*scope);  // unknown names (from a newer build) grant nothing
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// Splits "stk_<prefix>_<secret>"; nullopt when the shape is wrong.
std::optional<std::string_view> key_prefix_of(std::string_view key) {
  if (key.size() != kKeyTag.size() + kPrefixChars + 1 + 43) return std::nullopt;
  if (key.substr(0, kKeyTag.size()) != kKeyTag) return std::nullopt;
  std::string_view prefix = key.substr(kKeyTag.size(), kPrefixChars);
  if (key[kKeyTag.size() + kPrefixChars] != '_') return std::nullopt;
  std::string_view secret = key.substr(kKeyTag.size() + kPrefixChars + 1);
  if (!is_base64url(prefix) || !is_base64url(secret)) return std::nullopt;
  return prefix;
}

}  // namespace

std::string_view scope_name(Scope scope) {
  for (const auto& e : kScopes) {
    if (e.scope == scope) return e.name;
  }
  assert(false && "every scope is in kScopes");
  return "unknown";
}

std::optional<Scope> parse_scope(std::string_view name) {
  for (const auto& e : kScopes) {
    if (e.name == name) return e.scope;
  }
  return std::nullopt;
}

namespace {

// Operator-only: the app scope, which otherwise may do anything a subscriber-facing client
// needs, does not get these.
bool is_operator_permission(Permission permission) {
  return permission == Permission::kProfilesRead || permission == Permission::kOutboxRead ||
         permission == Permission::kPlansWrite || permission == Permission::kIdentityReview ||
         permission == Permission::kProfilesImport ||
         permission == Permission::kDownloadProgressReport;
}

}  // namespace

bool scope_allows(Scope scope, Permission permission) {
  using enum Permission;
  switch (scope) {
    case Scope::kAdmin:
      return true;
    case Scope::kApp:
      return !is_operator_permission(permission);
    case Scope::kSupport:
      return permission == kProfilesRead || permission == kOutboxRead ||
             permission == kPlansRead || permission == kIdentityReview ||
             permission == kDevicesRead || permission == kCustomersCreate ||
             permission == kCustomersRead || permission == kTopupsRead ||
             permission == kChargesRead || permission == kTransactionsRead ||
             permission == kOrdersRead || permission == kOrdersCancel;
    case Scope::kFinance:
      return permission == kPlansRead || permission == kCustomersRead ||
             permission == kTopupsCreate || permission == kTopupsRead || permission == kChargesRead ||
             permission == kTransactionsRead;
    case Scope::kPartner:
      return permission == kPlansRead || permission == kTopupsCreate || permission == kTopupsRead;
    case Scope::kSmdp:
      return permission == kDownloadProgressReport;
  }
  return false;
}

bool Principal::allows(Permission permission) const {
  for (Scope s : scopes) {
    if (scope_allows(s, permission)) return true;
  }
  return false;
}

bool Principal::has_scope(Scope scope) const {
  for (Scope s : scopes) {
    if (s == scope) return true;
  }
  return false;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  int ok = EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  assert(ok == 1 && length == 32);
  (void)ok;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

Result<CreatedKey> create_api_key(storage::Connection& connection, IdGenerator& ids,
                                  const Clock& clock, const std::vector<Scope>& scopes,
                                  std::string_view label) {
  if (scopes.empty()) return Status(ErrorCode::kValidationFailed, "a key needs at least one scope");
  if (label.size() > limits::kNameBytesMax) {
    return Status(ErrorCode::kValidationFailed, "label is too long");
  }
  // Prefix: 6 random bytes -> 8 base64url chars. Secret: 32 random bytes -> 43 chars.
  std::array<unsigned char, 6 + kSecretBytes> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return Status(ErrorCode::kInternal, "the random generator failed");
  }
  CreatedKey key;
  key.id = ids.next();
  key.prefix = base64url(random.data(), 6);
  key.plaintext = std::string(kKeyTag) + key.prefix + "_" + base64url(random.data() + 6, kSecretBytes);
  assert(key_prefix_of(key.plaintext) == key.prefix);

  std::array<storage::Value, 6> params = {key.id,
                                          key.prefix,
                                          sha256_hex(key.plaintext),
                                          join_scopes(scopes),
                                          std::string(label),
                                          clock.now_unix_ms()};
  STATION_RETURN_IF_ERROR(connection.execute(
      "INSERT INTO api_keys (id, prefix, secret_hash, scopes, label, created_at_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      params));
  return key;
}

Status revoke_api_key(storage::Connection& connection, const Clock& clock,
                      std::string_view prefix) {
  std::array<storage::Value, 2> params = {clock.now_unix_ms(), std::string(prefix)};
  STATION_RETURN_IF_ERROR(connection.execute(
      "UPDATE api_keys SET revoked_at_ms = ? WHERE prefix = ? AND revoked_at_ms IS NULL", params));
  if (connection.changes() == 0) {
    return Status(ErrorCode::kNotFound, "no active key with that prefix");
  }
  return Status::ok();
}

Authenticator::Authenticator(storage::Database& database, const Clock& clock,
                             std::int64_t cache_ttl_ms)
    : database_(database), clock_(clock), cache_ttl_ms_(cache_ttl_ms) {}

Result<Principal> Authenticator::authenticate(std::optional<std::string_view> header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (!header) return Status(ErrorCode::kUnauthenticated, "an API key is required: Authorization: Bearer <key>");
  if (header->size() <= kBearer.size() || header->substr(0, kBearer.size()) != kBearer) {
    return Status(ErrorCode::kUnauthenticated, "the Authorization header must be 'Bearer <key>'");
  }
  std::string_view key = header->substr(kBearer.size());
  auto prefix = key_prefix_of(key);
  if (!prefix) return Status(ErrorCode::kUnauthenticated, "the API key is malformed");

  std::string digest = sha256_hex(key);
  std::int64_t now = clock_.now_unix_ms();
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(digest);
    if (it != cache_.end() && it->second.expires_at_ms > now) return it->second.principal;
  }

  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  std::array<storage::Value, 1> params = {std::string(*prefix)};
  STATION_ASSIGN_OR_RETURN(
      auto rows, connection->query("SELECT id, secret_hash, scopes FROM api_keys "
                                   "WHERE prefix = ? AND revoked_at_ms IS NULL",
                                   params));
  // Comparing digests, not secrets, so timing reveals nothing about the key.
  if (rows.empty() || rows[0].text_at(1) != digest) {
    return Status(ErrorCode::kUnauthenticated, "the API key is unknown or revoked");
  }
  Principal principal{rows[0].int_at(0), std::string(*prefix), split_scopes(rows[0].text_at(2))};

  std::lock_guard lock(mutex_);
  if (cache_.size() >= limits::kApiKeyCacheEntriesMax) cache_.clear();
  cache_[digest] = CacheEntry{principal, now + cache_ttl_ms_};
  return principal;
}

}  // namespace station::auth
