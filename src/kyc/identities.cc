#include "kyc/identities.h"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/audit.h"
#include "catalogue/countries.h"

namespace station::kyc {
namespace {

using storage::Row;
using storage::Rows;
using storage::Value;

constexpr std::array<std::string_view, 3> kStateNames = {"pending", "verified", "rejected"};
constexpr std::array<std::string_view, 3> kDocumentTypeNames = {"passport", "national_id",
                                                                "driving_licence"};

constexpr std::string_view kIdentityColumns =
    "customer_id, state, document_type, document_hash, document_key_id, document_last4, "
    "full_name, date_of_birth, nationality, rejection_reason, reviewed_by, submitted_at_ms, "
    "reviewed_at_ms, version";

Status invalid(std::string message) {
  return Status(ErrorCode::kValidationFailed, std::move(message));
}

// A row with an unknown state or type was written by a newer build, or by hand.
Result<Identity> identity_from_row(const Row& row) {
  Identity out;
  out.customer_id = row.int_at(0);
  auto state = parse_identity_state(row.text_at(1));
  auto type = parse_document_type(row.text_at(2));
  if (!state || !type) {
    return Status(ErrorCode::kInternal,
                  fmt::format("identity row has an unknown state '{}' or document type '{}'",
                              row.text_at(1), row.text_at(2)));
  }
  out.state = *state;
  out.document_type = *type;
  out.document_hash = row.text_at(3);
  out.document_key_id = row.text_at(4);
  out.document_last4 = row.text_at(5);
  out.full_name = row.text_at(6);
  out.date_of_birth = row.text_at(7);
  out.nationality = row.text_at(8);
  out.rejection_reason = row.text_or(9, "");
  out.reviewed_by = row.text_or(10, "");
  out.submitted_at_ms = row.int_at(11);
  if (!row.is_null(12)) out.reviewed_at_ms = row.int_at(12);
  return out;
}

struct Stored {
  Identity identity;
  std::int64_t version = 0;
};

Result<std::optional<Stored>> read_row(storage::Connection& connection, Id customer_id) {
  const Value params[] = {customer_id};
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection.query(fmt::format("SELECT {} FROM identities WHERE customer_id = ?",
                                   kIdentityColumns),
                       params));
  if (rows.empty()) return std::optional<Stored>();
  STATION_ASSIGN_OR_RETURN(Identity identity, identity_from_row(rows[0]));
  return std::optional<Stored>(Stored{std::move(identity), rows[0].int_at(13)});
}

std::string customer_target(Id customer_id) { return format_public_id("cus", customer_id); }

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// Wipes a copy of the document number however submit() ends.
struct WipeOnExit {
  std::string& text;
  ~WipeOnExit() { secrets::wipe(text); }
};

}  // namespace

std::string_view identity_state_name(IdentityState state) {
  return kStateNames[static_cast<std::size_t>(state)];
}

std::optional<IdentityState> parse_identity_state(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<IdentityState>(i);
  }
  return std::nullopt;
}

std::string_view document_type_name(DocumentType type) {
  return kDocumentTypeNames[static_cast<std::size_t>(type)];
}

std::optional<DocumentType> parse_document_type(std::string_view name) {
  for (std::size_t i = 0; i < kDocumentTypeNames.size(); ++i) {
    if (kDocumentTypeNames[i] == name) return static_cast<DocumentType>(i);
  }
  return std::nullopt;
}

Result<std::string> normalise_document_number(std::string_view number) {
  if (number.size() > kDocumentNumberBytesMax) {
    return invalid(fmt::format("document_number must be at most {} bytes",
                               kDocumentNumberBytesMax));
  }
  std::string out;
  out.reserve(number.size());
  for (char c : number) {
    if (c == ' ' || c == '-') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      secrets::wipe(out);
      return invalid("document_number may hold only letters, digits, spaces and '-'");
    }
    out.push_back(c);
  }
  if (out.size() < kDocumentNumberCharsMin || out.size() > kDocumentNumberCharsMax) {
    secrets::wipe(out);
    return invalid(fmt::format("document_number must have {} to {} letters and digits",
                               kDocumentNumberCharsMin, kDocumentNumberCharsMax));
  }
  return out;
}

bool is_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  auto number = [&](std::size_t at, std::size_t length) {
    int value = 0;
    for (std::size_t i = at; i < at + length; ++i) value = value * 10 + (text[i] - '0');
    return value;
  };
  const int year = number(0, 4);
  const int month = number(5, 2);
  const int day = number(8, 2);
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int days = kDays[static_cast<std::size_t>(month - 1)] + (month == 2 && is_leap(year));
  return day <= days;
}

Identities::Identities(storage::Database& database, const secrets::Keyring& keyring,
                       IdGenerator& ids, const Clock& clock)
    : database_(database), keyring_(keyring), ids_(ids), clock_(clock) {}

Result<Identity> Identities::submit(const IdentitySubmission& submission, const Actor& actor) {
  STATION_ASSIGN_OR_RETURN(std::string number,
                           normalise_document_number(submission.document_number));
  WipeOnExit wipe_number{number};
  if (submission.full_name.empty() || submission.full_name.size() > kFullNameBytesMax) {
    return invalid(fmt::format("full_name must be 1 to {} bytes", kFullNameBytesMax));
  }
  if (std::any_of(submission.full_name.begin(), submission.full_name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return invalid("full_name must not contain control characters");
  }
  const std::int64_t now_ms = clock_.now_unix_ms();
  if (!is_date(submission.date_of_birth)) {
    return invalid("date_of_birth must be a date YYYY-MM-DD from 1900-01-01 on");
  }
  if (submission.date_of_birth > format_rfc3339_ms(now_ms).substr(0, 10)) {
    return invalid("date_of_birth is in the future");
  }
  if (!catalogue::is_iso3166_alpha2(submission.nationality)) {
    return invalid("nationality must be an ISO 3166-1 alpha-2 code (upper case, e.g. CN)");
  }
  if (keyring_.empty()) {
    return Status(ErrorCode::kInternal, "no secrets key to hash the document number with");
  }

  Identity identity;
  identity.customer_id = submission.customer_id;
  identity.state = IdentityState::kPending;
  identity.document_type = submission.document_type;
  identity.document_key_id = keyring_.active_id();
  STATION_ASSIGN_OR_RETURN(
      identity.document_hash,
      keyring_.keyed_hash(identity.document_key_id, kDocumentHashPurpose,
                          fmt::format("{}:{}", document_type_name(submission.document_type),
                                      number)));
  identity.document_last4 = number.substr(number.size() - 4);
  identity.full_name = submission.full_name;
  identity.date_of_birth = submission.date_of_birth;
  identity.nationality = submission.nationality;
  identity.submitted_at_ms = now_ms;

  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  const Value customer[] = {submission.customer_id};
  STATION_ASSIGN_OR_RETURN(Rows customers,
                           connection->query("SELECT id FROM customers WHERE id = ?", customer));
  if (customers.empty()) return Status(ErrorCode::kNotFound, "no such customer");
  STATION_ASSIGN_OR_RETURN(std::optional<Stored> existing,
                           read_row(*connection, submission.customer_id));
  if (existing && existing->identity.state != IdentityState::kRejected) {
    return Status(ErrorCode::kConflict,
                  existing->identity.state == IdentityState::kPending
                      ? "an identity submission is already pending review"
                      : "the customer's identity is already verified");
  }
  const Value row[] = {identity.customer_id,
                       std::string(identity_state_name(identity.state)),
                       std::string(document_type_name(identity.document_type)),
                       identity.document_hash,
                       identity.document_key_id,
                       identity.document_last4,
                       identity.full_name,
                       identity.date_of_birth,
                       identity.nationality,
                       nullptr,
                       nullptr,
                       identity.submitted_at_ms,
                       nullptr,
                       existing ? existing->version + 1 : std::int64_t{0}};
  if (!existing) {
    Status inserted = connection->execute(
        fmt::format("INSERT INTO identities ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    kIdentityColumns),
        row);
    if (inserted.code() == ErrorCode::kConflict) {
      return Status(ErrorCode::kConflict, "an identity submission is already pending review");
    }
    STATION_RETURN_IF_ERROR(inserted);
  } else {
    // Compare-and-set on the rejected row this submission replaces.
    std::vector<Value> update(std::begin(row) + 1, std::end(row));
    update.emplace_back(identity.customer_id);
    update.emplace_back(existing->version);
    STATION_RETURN_IF_ERROR(connection->execute(
        "UPDATE identities SET state = ?, document_type = ?, document_hash = ?, "
        "document_key_id = ?, document_last4 = ?, full_name = ?, date_of_birth = ?, "
        "nationality = ?, rejection_reason = ?, reviewed_by = ?, submitted_at_ms = ?, "
        "reviewed_at_ms = ?, version = ? WHERE customer_id = ? AND version = ?",
        update));
    if (connection->changes() == 0) {
      return Status(ErrorCode::kConflict, "the identity was changed concurrently; retry");
    }
  }
  nlohmann::json detail = {{"document_type", document_type_name(identity.document_type)},
                           {"document_last4", identity.document_last4},
                           {"nationality", identity.nationality}};
  STATION_RETURN_IF_ERROR(auth::insert_audit_entry(
      *connection, auth::AuditEntry{ids_.next(), now_ms, actor.name, "identity.submit",
                                    customer_target(identity.customer_id), actor.request_id,
                                    "succeeded", detail.dump()}));
  STATION_RETURN_IF_ERROR(transaction.commit());
  return identity;
}

Result<Identity> Identities::approve(Id customer_id, const Actor& actor) {
  return decide(customer_id, IdentityState::kVerified, "", actor);
}

Result<Identity> Identities::reject(Id customer_id, std::string_view reason, const Actor& actor) {
  if (reason.empty() || reason.size() > kRejectionReasonBytesMax) {
    return invalid(fmt::format("reason must be 1 to {} bytes", kRejectionReasonBytesMax));
  }
  return decide(customer_id, IdentityState::kRejected, reason, actor);
}

Result<Identity> Identities::decide(Id customer_id, IdentityState to, std::string_view reason,
                                    const Actor& actor) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  STATION_ASSIGN_OR_RETURN(std::optional<Stored> existing, read_row(*connection, customer_id));
  if (!existing) {
    return Status(ErrorCode::kNotFound, "the customer has not submitted an identity");
  }
  if (existing->identity.state != IdentityState::kPending) {
    return Status(ErrorCode::kConflict,
                  fmt::format("the identity is {}, not pending",
                              identity_state_name(existing->identity.state)));
  }
  Identity identity = std::move(existing->identity);
  const std::int64_t now_ms = clock_.now_unix_ms();
  identity.state = to;
  identity.rejection_reason = std::string(reason);
  identity.reviewed_by = actor.name;
  identity.reviewed_at_ms = now_ms;
  const Value update[] = {std::string(identity_state_name(to)),
                          reason.empty() ? Value(nullptr) : Value(std::string(reason)),
                          identity.reviewed_by,
                          now_ms,
                          customer_id,
                          existing->version};
  STATION_RETURN_IF_ERROR(connection->execute(
      "UPDATE identities SET state = ?, rejection_reason = ?, reviewed_by = ?, "
      "reviewed_at_ms = ?, version = version + 1 WHERE customer_id = ? AND version = ?",
      update));
  if (connection->changes() == 0) {
    return Status(ErrorCode::kConflict, "the identity was decided by another reviewer");
  }
  nlohmann::json detail = {{"state", identity_state_name(to)}};
  if (!reason.empty()) detail["reason"] = std::string(reason);
  STATION_RETURN_IF_ERROR(auth::insert_audit_entry(
      *connection,
      auth::AuditEntry{ids_.next(), now_ms, actor.name,
                       to == IdentityState::kVerified ? "identity.approve" : "identity.reject",
                       customer_target(customer_id), actor.request_id, "succeeded",
                       detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}));
  STATION_RETURN_IF_ERROR(transaction.commit());
  return identity;
}

Result<Identity> Identities::get(Id customer_id) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(std::optional<Stored> stored, read_row(*connection, customer_id));
  if (!stored) return Status(ErrorCode::kNotFound, "the customer has not submitted an identity");
  return std::move(stored->identity);
}

Result<std::optional<IdentityState>> Identities::state(Id customer_id) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {customer_id};
  STATION_ASSIGN_OR_RETURN(
      Rows rows, connection->query("SELECT state FROM identities WHERE customer_id = ?", params));
  if (rows.empty()) return std::optional<IdentityState>();
  auto state = parse_identity_state(rows[0].text_at(0));
  if (!state) {
    return Status(ErrorCode::kInternal,
                  fmt::format("identity row has an unknown state '{}'", rows[0].text_at(0)));
  }
  return std::optional<IdentityState>(*state);
}

Result<std::vector<Identity>> Identities::list(std::optional<IdentityState> state,
                                               std::uint32_t limit) {
  if (limit == 0 || limit > kIdentitiesListedMax) {
    return invalid(fmt::format("limit must be 1 to {}", kIdentitiesListedMax));
  }
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  std::vector<Value> params;
  if (state) params.emplace_back(std::string(identity_state_name(*state)));
  params.emplace_back(static_cast<std::int64_t>(limit));
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection->query(fmt::format("SELECT {} FROM identities{} "
                                    "ORDER BY submitted_at_ms, customer_id LIMIT ?",
                                    kIdentityColumns, state ? " WHERE state = ?" : ""),
                        params));
  std::vector<Identity> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    STATION_ASSIGN_OR_RETURN(Identity identity, identity_from_row(row));
    out.push_back(std::move(identity));
  }
  return out;
}

}  // namespace station::kyc
