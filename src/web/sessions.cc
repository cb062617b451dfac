#include "web/sessions.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cassert>
#include <vector>

#include "auth/api_keys.h"
#include "common/enum_names.h"

namespace station::web {

using storage::Value;

namespace {

constexpr std::array<std::string_view, 3> kKindNames = {"visitor", "customer", "operator"};
constexpr std::size_t kSessionIdBytes = 32;
constexpr std::size_t kCsrfTokenBytes = 32;

bool is_session_id(std::string_view text) {
  if (text.size() != kSessionIdBytes * 2) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string_view principal_kind_name(PrincipalKind kind) { return enum_name(kKindNames, kind); }
std::optional<PrincipalKind> parse_principal_kind(std::string_view name) {
  return enum_from_name<PrincipalKind>(kKindNames, name);
}

Result<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return Status(ErrorCode::kInternal, "the random generator failed");
  }
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char byte : random) out += fmt::format("{:02x}", byte);
  return out;
}

Sessions::Sessions(storage::Database& database, const Clock& clock, SessionSettings settings)
    : database_(database), clock_(clock), settings_(settings) {}

Result<Session> Sessions::create(PrincipalKind kind, std::optional<Id> principal_id) {
  assert(kind == PrincipalKind::kVisitor || principal_id.has_value());
  Session session;
  STATION_ASSIGN_OR_RETURN(session.cookie_value, random_hex(kSessionIdBytes));
  STATION_ASSIGN_OR_RETURN(session.csrf_token, random_hex(kCsrfTokenBytes));
  session.kind = kind;
  session.principal_id = principal_id;
  std::int64_t now = clock_.now_unix_ms();
  session.expires_at_ms = now + (kind == PrincipalKind::kVisitor ? settings_.visitor_lifetime_ms
                                                                 : settings_.signed_in_lifetime_ms);
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value row[] = {auth::sha256_hex(session.cookie_value),
                       std::string(principal_kind_name(kind)),
                       principal_id ? Value(*principal_id) : Value(nullptr),
                       session.csrf_token,
                       now,
                       session.expires_at_ms};
  STATION_RETURN_IF_ERROR(connection->execute(
      "INSERT INTO web_sessions (id_hash, kind, principal_id, csrf_token, created_at_ms, "
      "expires_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
      row));
  return session;
}

Result<std::size_t> Sessions::delete_expired(std::size_t limit) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {clock_.now_unix_ms(), static_cast<std::int64_t>(limit)};
  STATION_RETURN_IF_ERROR(
      connection->execute("DELETE FROM web_sessions WHERE id_hash IN "
                          "(SELECT id_hash FROM web_sessions WHERE expires_at_ms < ? LIMIT ?)",
                          params));
  return static_cast<std::size_t>(connection->changes());
}

Result<std::optional<Session>> Sessions::find(std::string_view cookie_value) {
  if (!is_session_id(cookie_value)) return std::optional<Session>();
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {auth::sha256_hex(cookie_value), clock_.now_unix_ms()};
  STATION_ASSIGN_OR_RETURN(
      auto rows,
      connection->query("SELECT kind, principal_id, csrf_token, expires_at_ms FROM web_sessions "
                        "WHERE id_hash = ? AND expires_at_ms > ?",
                        params));
  if (rows.empty()) return std::optional<Session>();
  auto kind = parse_principal_kind(rows[0].text_at(0));
  if (!kind) return Status(ErrorCode::kInternal, "a stored session has an unknown kind");
  Session session;
  session.cookie_value = std::string(cookie_value);
  session.kind = *kind;
  if (!rows[0].is_null(1)) session.principal_id = rows[0].int_at(1);
  session.csrf_token = rows[0].text_at(2);
  session.expires_at_ms = rows[0].int_at(3);
  return std::optional<Session>(std::move(session));
}

Result<Session> Sessions::replace(std::string_view old_cookie_value, PrincipalKind kind,
                                  std::optional<Id> principal_id) {
  if (!old_cookie_value.empty()) STATION_RETURN_IF_ERROR(destroy(old_cookie_value));
  return create(kind, principal_id);
}

Status Sessions::destroy(std::string_view cookie_value) {
  if (!is_session_id(cookie_value)) return Status::ok();
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {auth::sha256_hex(cookie_value)};
  return connection->execute("DELETE FROM web_sessions WHERE id_hash = ?", params);
}

bool Sessions::csrf_matches(const Session& session, std::string_view submitted) {
  return !session.csrf_token.empty() && submitted.size() == session.csrf_token.size() &&
         CRYPTO_memcmp(submitted.data(), session.csrf_token.data(), submitted.size()) == 0;
}

}  // namespace station::web
