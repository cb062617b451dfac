#include "catalogue/plans.h"

#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/audit.h"
#include "catalogue/countries.h"
#include "common/limits.h"
#include "common/money.h"

namespace station::catalogue {
namespace {

// A plan is paid in one transfer.
static_assert(kPlanPriceMinorMax == limits::kTransferAmountMinorMax);

using storage::Row;
using storage::Rows;
using storage::Value;

constexpr std::string_view kPlanColumns =
    "id, code, version, name_zh, name_en, data_mb, validity_days, price_minor, currency, "
    "countries, active, created_at_ms";

Status invalid(std::string message) {
  return Status(ErrorCode::kValidationFailed, std::move(message));
}

// Countries are stored as one text value, "CN,HK,MO" (empty when none are listed).
std::string join_countries(const std::vector<std::string>& countries) {
  return fmt::format("{}", fmt::join(countries, ","));
}

std::vector<std::string> split_countries(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Plan plan_from_row(const Row& row) {
  Plan plan;
  plan.id = row.int_at(0);
  plan.code = row.text_at(1);
  plan.version = static_cast<std::int32_t>(row.int_at(2));
  plan.name_zh = row.text_at(3);
  plan.name_en = row.text_at(4);
  if (!row.is_null(5)) plan.data_mb = row.int_at(5);
  plan.validity_days = static_cast<std::uint32_t>(row.int_at(6));
  plan.price_minor = row.int_at(7);
  plan.currency = row.text_at(8);
  plan.countries = split_countries(row.text_at(9));
  plan.active = row.int_at(10) != 0;
  plan.created_at_ms = row.int_at(11);
  return plan;
}

bool same_terms(const Plan& current, const NewPlan& plan) {
  return current.name_zh == plan.name_zh && current.name_en == plan.name_en &&
         current.data_mb == plan.data_mb && current.validity_days == plan.validity_days &&
         current.price_minor == plan.price_minor && current.currency == plan.currency &&
         current.countries == plan.countries && current.active == plan.active;
}

Result<std::optional<Plan>> latest(storage::Connection& connection, std::string_view code) {
  const Value params[] = {std::string(code)};
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection.query(fmt::format("SELECT {} FROM plan_versions WHERE code = ? "
                                   "ORDER BY version DESC LIMIT 1",
                                   kPlanColumns),
                       params));
  if (rows.empty()) return std::optional<Plan>();
  return std::optional<Plan>(plan_from_row(rows[0]));
}

Status check_name(std::string_view name, std::string_view member) {
  if (name.empty() || name.size() > kPlanNameBytesMax) {
    return invalid(fmt::format("{} must be 1 to {} bytes", member, kPlanNameBytesMax));
  }
  if (std::any_of(name.begin(), name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return invalid(fmt::format("{} must not contain control characters", member));
  }
  return Status::ok();
}

}  // namespace

bool is_plan_code(std::string_view code) {
  return !code.empty() && code.size() <= kPlanCodeBytesMax &&
         std::all_of(code.begin(), code.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

Status validate(const NewPlan& plan) {
  if (!is_plan_code(plan.code)) {
    return invalid(fmt::format("code must be 1 to {} letters, digits, '_' or '-'",
                               kPlanCodeBytesMax));
  }
  STATION_RETURN_IF_ERROR(check_name(plan.name_zh, "name zh-CN"));
  STATION_RETURN_IF_ERROR(check_name(plan.name_en, "name en"));
  if (plan.data_mb && (*plan.data_mb <= 0 || *plan.data_mb > kPlanDataMbMax)) {
    return invalid(fmt::format("data_mb must be 1 to {} (or null for unlimited)", kPlanDataMbMax));
  }
  if (plan.validity_days < 1 || plan.validity_days > kPlanValidityDaysMax) {
    return invalid(fmt::format("validity_days must be 1 to {}", kPlanValidityDaysMax));
  }
  if (plan.price_minor <= 0 || plan.price_minor > kPlanPriceMinorMax) {
    return Status(ErrorCode::kAmountOutOfRange,
                  fmt::format("price_minor must be 1 to {}", kPlanPriceMinorMax));
  }
  if (!Currency::from_code(plan.currency)) {
    return invalid(fmt::format("currency '{}' is not supported", plan.currency));
  }
  std::set<std::string_view> seen;
  for (const auto& country : plan.countries) {
    if (!is_iso3166_alpha2(country)) {
      return invalid(fmt::format("country '{}' is not an ISO 3166-1 alpha-2 code (upper case)",
                                 country));
    }
    if (!seen.insert(country).second) {
      return invalid(fmt::format("country '{}' is listed twice", country));
    }
  }
  return Status::ok();
}

Plans::Plans(storage::Database& database, IdGenerator& ids, const Clock& clock)
    : database_(database), ids_(ids), clock_(clock) {}

Result<Plan> Plans::create(const NewPlan& plan, const Actor& actor) {
  STATION_RETURN_IF_ERROR(validate(plan));
  return insert_version(plan, 1, "plan.create", actor);
}

Result<Plan> Plans::update(std::string_view code, const NewPlan& plan, const Actor& actor) {
  if (!plan.code.empty() && plan.code != code) {
    return invalid(fmt::format("the plan's code is '{}'; a code cannot be changed", code));
  }
  NewPlan changed = plan;
  changed.code = std::string(code);
  STATION_RETURN_IF_ERROR(validate(changed));
  STATION_ASSIGN_OR_RETURN(Plan current_plan, current(code));
  if (same_terms(current_plan, changed)) return current_plan;
  return insert_version(changed, current_plan.version + 1, "plan.update", actor);
}

Result<Plan> Plans::insert_version(const NewPlan& plan, std::int32_t version,
                                   std::string_view action, const Actor& actor) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  // Re-read inside the transaction: the version must follow the latest one exactly.
  STATION_ASSIGN_OR_RETURN(std::optional<Plan> existing, latest(*connection, plan.code));
  const std::int32_t expected_latest = version - 1;
  if (expected_latest == 0 && existing) {
    return Status(ErrorCode::kConflict, fmt::format("plan '{}' exists; update it", plan.code));
  }
  if (expected_latest > 0 && !existing) {
    return Status(ErrorCode::kNotFound, fmt::format("no plan '{}'", plan.code));
  }
  if (expected_latest > 0 && existing->version != expected_latest) {
    return Status(ErrorCode::kConflict,
                  fmt::format("plan '{}' was changed by another writer; re-read it", plan.code));
  }

  Plan out;
  out.id = ids_.next();
  out.code = plan.code;
  out.version = version;
  out.name_zh = plan.name_zh;
  out.name_en = plan.name_en;
  out.data_mb = plan.data_mb;
  out.validity_days = plan.validity_days;
  out.price_minor = plan.price_minor;
  out.currency = plan.currency;
  out.countries = plan.countries;
  out.active = plan.active;
  out.created_at_ms = clock_.now_unix_ms();
  const Value params[] = {out.id,
                          out.code,
                          static_cast<std::int64_t>(out.version),
                          out.name_zh,
                          out.name_en,
                          out.data_mb ? Value(*out.data_mb) : Value(nullptr),
                          static_cast<std::int64_t>(out.validity_days),
                          out.price_minor,
                          out.currency,
                          join_countries(out.countries),
                          static_cast<std::int64_t>(out.active ? 1 : 0),
                          out.created_at_ms};
  Status inserted = connection->execute(
      fmt::format("INSERT INTO plan_versions ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  kPlanColumns),
      params);
  if (inserted.code() == ErrorCode::kConflict) {
    return Status(ErrorCode::kConflict,
                  fmt::format("plan '{}' was changed by another writer; re-read it", plan.code));
  }
  STATION_RETURN_IF_ERROR(inserted);

  nlohmann::json detail = {{"code", out.code},
                           {"version", out.version},
                           {"price_minor", out.price_minor},
                           {"currency", out.currency},
                           {"active", out.active}};
  STATION_RETURN_IF_ERROR(auth::insert_audit_entry(
      *connection,
      auth::AuditEntry{ids_.next(), out.created_at_ms, actor.name, std::string(action),
                       format_public_id(kPlanIdPrefix, out.id), actor.request_id, "succeeded",
                       detail.dump()}));
  Status committed = transaction.commit();
  if (committed.code() == ErrorCode::kConflict) {
    return Status(ErrorCode::kConflict,
                  fmt::format("plan '{}' was changed by another writer; re-read it", plan.code));
  }
  STATION_RETURN_IF_ERROR(committed);
  return out;
}

Result<Plan> Plans::current(std::string_view code) {
  if (!is_plan_code(code)) return Status(ErrorCode::kNotFound, fmt::format("no plan '{}'", code));
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(std::optional<Plan> plan, latest(*connection, code));
  if (!plan) return Status(ErrorCode::kNotFound, fmt::format("no plan '{}'", code));
  return std::move(*plan);
}

Result<Plan> Plans::version(Id plan_version_id) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {plan_version_id};
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection->query(fmt::format("SELECT {} FROM plan_versions WHERE id = ?", kPlanColumns),
                        params));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no such plan version");
  return plan_from_row(rows[0]);
}

Result<std::vector<Plan>> Plans::list(bool active_only) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {static_cast<std::int64_t>(kPlansListedMax)};
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection->query(
          fmt::format("SELECT {} FROM plan_versions p WHERE p.version = "
                      "(SELECT MAX(q.version) FROM plan_versions q WHERE q.code = p.code){} "
                      "ORDER BY p.code LIMIT ?",
                      kPlanColumns, active_only ? " AND p.active = 1" : ""),
          params));
  std::vector<Plan> out;
  out.reserve(rows.size());
  for (const Row& row : rows) out.push_back(plan_from_row(row));
  // By code in byte order on both engines (PostgreSQL's ORDER BY follows the database's
  // collation, which may weigh '-' and '_' differently).
  std::sort(out.begin(), out.end(),
            [](const Plan& a, const Plan& b) { return a.code < b.code; });
  return out;
}

}  // namespace station::catalogue
