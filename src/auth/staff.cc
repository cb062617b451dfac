#include "auth/staff.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <vector>

namespace station::auth {

using storage::Value;

namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
// Bounds on stored parameters, so a tampered row cannot make a check take minutes or gigabytes.
constexpr std::uint8_t kLog2NMax = 20;
constexpr std::uint64_t kScryptMemoryBytesMax = 1ull << 30;

struct RoleEntry {
  StaffRole role;
  std::string_view name;
  Scope scope;
};
constexpr std::array kRoles = {
    RoleEntry{StaffRole::kAdmin, "admin", Scope::kAdmin},
    RoleEntry{StaffRole::kSupport, "support", Scope::kSupport},
    RoleEntry{StaffRole::kFinance, "finance", Scope::kFinance},
};

std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) out += fmt::format("{:02x}", data[i]);
  return out;
}

std::optional<std::vector<unsigned char>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0 || hex.empty()) return std::nullopt;
  std::vector<unsigned char> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto [end, error] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, out[i], 16);
    if (error != std::errc() || end != hex.data() + 2 * i + 2) return std::nullopt;
  }
  return out;
}

bool scrypt(std::string_view password, const std::vector<unsigned char>& salt, ScryptCost cost,
            unsigned char* out, std::size_t out_size) {
  if (cost.log2_n < 1 || cost.log2_n > kLog2NMax || cost.r < 1 || cost.r > 32 || cost.p < 1 ||
      cost.p > 16) {
    return false;
  }
  return EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(),
                        std::uint64_t{1} << cost.log2_n, cost.r, cost.p, kScryptMemoryBytesMax, out,
                        out_size) == 1;
}

template <typename T>
std::optional<T> number(std::string_view text) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Status check_password(std::string_view password) {
  if (password.size() < kStaffPasswordBytesMin || password.size() > kStaffPasswordBytesMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("a staff password is {} to {} bytes", kStaffPasswordBytesMin,
                              kStaffPasswordBytesMax));
  }
  return Status::ok();
}

constexpr std::string_view kUserColumns = "id, username, role, created_at_ms";

Result<StaffUser> user_from_row(const storage::Row& row) {
  StaffUser user;
  user.id = row.int_at(0);
  user.username = row.text_at(1);
  auto role = parse_staff_role(row.text_at(2));
  if (!role) return Status(ErrorCode::kInternal, "a staff user has an unknown role");
  user.role = *role;
  user.created_at_ms = row.int_at(3);
  return user;
}

}  // namespace

std::string_view staff_role_name(StaffRole role) {
  for (const auto& entry : kRoles) {
    if (entry.role == role) return entry.name;
  }
  return "unknown";
}

std::optional<StaffRole> parse_staff_role(std::string_view name) {
  for (const auto& entry : kRoles) {
    if (entry.name == name) return entry.role;
  }
  return std::nullopt;
}

Scope staff_role_scope(StaffRole role) {
  for (const auto& entry : kRoles) {
    if (entry.role == role) return entry.scope;
  }
  return Scope::kSupport;
}

bool is_staff_username(std::string_view username) {
  if (username.size() < kStaffUsernameBytesMin || username.size() > kStaffUsernameBytesMax) {
    return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(username[0])) return false;
  for (char c : username) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

Result<std::string> hash_password(std::string_view password, ScryptCost cost) {
  std::vector<unsigned char> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return Status(ErrorCode::kInternal, "the random generator failed");
  }
  std::array<unsigned char, kHashBytes> hash{};
  if (!scrypt(password, salt, cost, hash.data(), hash.size())) {
    return Status(ErrorCode::kInternal, "scrypt failed");
  }
  std::string out = fmt::format("scrypt${}${}${}${}${}", cost.log2_n, cost.r, cost.p,
                                to_hex(salt.data(), salt.size()), to_hex(hash.data(), hash.size()));
  OPENSSL_cleanse(hash.data(), hash.size());
  return out;
}

bool password_matches(std::string_view stored_hash, std::string_view password) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (parts.size() < 7) {
    std::size_t dollar = stored_hash.find('$', start);
    parts.push_back(stored_hash.substr(start, dollar - start));
    if (dollar == std::string_view::npos) break;
    start = dollar + 1;
  }
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  auto log2_n = number<unsigned>(parts[1]);
  auto r = number<std::uint32_t>(parts[2]);
  auto p = number<std::uint32_t>(parts[3]);
  auto salt = from_hex(parts[4]);
  auto expected = from_hex(parts[5]);
  if (!log2_n || *log2_n > kLog2NMax || !r || !p || !salt || !expected ||
      expected->size() != kHashBytes) {
    return false;
  }
  std::array<unsigned char, kHashBytes> hash{};
  ScryptCost cost{static_cast<std::uint8_t>(*log2_n), *r, *p};
  bool right = scrypt(password, *salt, cost, hash.data(), hash.size()) &&
               CRYPTO_memcmp(hash.data(), expected->data(), hash.size()) == 0;
  OPENSSL_cleanse(hash.data(), hash.size());
  return right;
}

StaffAccounts::StaffAccounts(storage::Database& database, IdGenerator& ids, const Clock& clock,
                             StaffSettings settings)
    : database_(database), ids_(ids), clock_(clock), settings_(settings) {
  // A hash of nothing anyone types (the password is too short to be set), at the same cost.
  if (auto decoy = hash_password("decoy", settings_.cost); decoy.is_ok()) decoy_hash_ = *decoy;
}

Result<StaffUser> StaffAccounts::create(std::string_view username, StaffRole role,
                                        std::string_view password) {
  if (!is_staff_username(username)) {
    return Status(ErrorCode::kValidationFailed,
                  "a staff user name is 2 to 64 of a-z, 0-9, '.', '_' and '-', starting with a "
                  "letter or digit");
  }
  STATION_RETURN_IF_ERROR(check_password(password));
  STATION_ASSIGN_OR_RETURN(std::string hash, hash_password(password, settings_.cost));
  StaffUser user{ids_.next(), std::string(username), role, clock_.now_unix_ms()};
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  const Value name[] = {user.username};
  STATION_ASSIGN_OR_RETURN(
      auto existing, connection->query("SELECT id FROM staff_users WHERE username = ?", name));
  if (!existing.empty()) {
    return Status(ErrorCode::kConflict, fmt::format("staff user '{}' exists", username));
  }
  const Value row[] = {user.id,         user.username,      std::string(staff_role_name(role)),
                       std::move(hash), user.created_at_ms, user.created_at_ms};
  STATION_RETURN_IF_ERROR(connection->execute(
      "INSERT INTO staff_users (id, username, role, password_hash, failed_attempts, "
      "locked_until_ms, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, 0, 0, ?, ?)",
      row));
  STATION_RETURN_IF_ERROR(transaction.commit());
  return user;
}

Status StaffAccounts::set_password(std::string_view username, std::string_view password) {
  STATION_RETURN_IF_ERROR(check_password(password));
  STATION_ASSIGN_OR_RETURN(std::string hash, hash_password(password, settings_.cost));
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value row[] = {std::move(hash), clock_.now_unix_ms(), std::string(username)};
  STATION_RETURN_IF_ERROR(
      connection->execute("UPDATE staff_users SET password_hash = ?, failed_attempts = 0, "
                          "locked_until_ms = 0, updated_at_ms = ? WHERE username = ?",
                          row));
  if (connection->changes() != 1) {
    return Status(ErrorCode::kNotFound, fmt::format("no staff user '{}'", username));
  }
  return Status::ok();
}

Status StaffAccounts::record_requester_failure(std::string_view requester, std::int64_t now_ms) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value row[] = {ids_.next(), std::string(requester), now_ms};
  STATION_RETURN_IF_ERROR(connection->execute(
      "INSERT INTO staff_sign_in_failures (id, requester, at_ms) VALUES (?, ?, ?)", row));
  // Rows older than the window limit nothing any more.
  const Value old[] = {now_ms - settings_.requester_window_ms};
  return connection->execute("DELETE FROM staff_sign_in_failures WHERE at_ms < ?", old);
}

Result<StaffUser> StaffAccounts::sign_in(std::string_view username, std::string_view password,
                                         std::string_view requester) {
  const std::int64_t now = clock_.now_unix_ms();
  const auto wrong = Status(ErrorCode::kUnauthenticated, "wrong user name or password");
  const auto too_many =
      Status(ErrorCode::kTooManyRequests, "too many wrong passwords; try again later");
  std::optional<storage::Row> found;
  {
    STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
    const Value window[] = {std::string(requester), now - settings_.requester_window_ms};
    STATION_ASSIGN_OR_RETURN(
        auto failures,
        connection->query(
            "SELECT COUNT(*) FROM staff_sign_in_failures WHERE requester = ? AND at_ms >= ?",
            window));
    if (failures[0].int_at(0) >= settings_.requester_failures_max) return too_many;
    const Value name[] = {std::string(username)};
    STATION_ASSIGN_OR_RETURN(
        auto rows, connection->query(fmt::format("SELECT {}, password_hash, locked_until_ms FROM "
                                                 "staff_users WHERE username = ?",
                                                 kUserColumns),
                                     name));
    if (!rows.empty()) found = std::move(rows[0]);
  }
  if (!found || password.size() > kStaffPasswordBytesMax) {
    password_matches(decoy_hash_, password);
    STATION_RETURN_IF_ERROR(record_requester_failure(requester, now));
    return wrong;
  }
  if (found->int_at(5) > now) return too_many;
  // The slow hash runs outside any transaction; the counters then change by compare-free
  // increments, so two guesses at once both count.
  const bool right = password_matches(found->text_at(4), password);
  STATION_ASSIGN_OR_RETURN(StaffUser user, user_from_row(*found));
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  if (right) {
    const Value id[] = {now, user.id};
    STATION_RETURN_IF_ERROR(connection->execute(
        "UPDATE staff_users SET failed_attempts = 0, updated_at_ms = ? WHERE id = ?", id));
    return user;
  }
  {
    STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
    const Value id[] = {now, user.id};
    STATION_RETURN_IF_ERROR(connection->execute(
        "UPDATE staff_users SET failed_attempts = failed_attempts + 1, updated_at_ms = ? "
        "WHERE id = ?",
        id));
    const Value lock[] = {now + settings_.lockout_ms, user.id, settings_.failures_before_lockout};
    STATION_RETURN_IF_ERROR(
        connection->execute("UPDATE staff_users SET failed_attempts = 0, locked_until_ms = ? "
                            "WHERE id = ? AND failed_attempts >= ?",
                            lock));
    const bool locked = connection->changes() == 1;
    STATION_RETURN_IF_ERROR(transaction.commit());
    STATION_RETURN_IF_ERROR(record_requester_failure(requester, now));
    if (locked) return too_many;
  }
  return wrong;
}

Result<StaffUser> StaffAccounts::get(Id id) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value key[] = {id};
  STATION_ASSIGN_OR_RETURN(
      auto rows,
      connection->query(fmt::format("SELECT {} FROM staff_users WHERE id = ?", kUserColumns), key));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no such staff user");
  return user_from_row(rows[0]);
}

Result<std::vector<StaffUser>> StaffAccounts::list() {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value limit[] = {static_cast<std::int64_t>(kStaffListedMax)};
  STATION_ASSIGN_OR_RETURN(
      auto rows, connection->query(fmt::format("SELECT {} FROM staff_users ORDER BY username "
                                               "LIMIT ?",
                                               kUserColumns),
                                   limit));
  std::vector<StaffUser> users;
  for (const auto& row : rows) {
    STATION_ASSIGN_OR_RETURN(auto user, user_from_row(row));
    users.push_back(std::move(user));
  }
  return users;
}

}  // namespace station::auth
