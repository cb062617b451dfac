// catalogue: the plans Station sells, versioned so that an order keeps what it was sold.
//
// A plan is named by its code (e.g. "CN-10GB-30D") and has zh-CN and en names, a data allowance
// in MB (or unlimited), a validity in days, a price in minor units of one currency, the
// countries it works in (ISO 3166-1 alpha-2) and an active flag (inactive plans are not offered).
//
// Plans are never edited in place: each change inserts a new row in plan_versions with the next
// version number (create makes version 1). An order records the version id it was sold at
// (Plan::id), which keeps naming that price, allowance and validity whatever happens to the
// plan later; current() and list() answer with each code's latest version.
//
// Every change is checked (validate()) and written with its audit row in one transaction. Two
// concurrent changes to one code cannot both win: (code, version) is unique, and the loser gets
// kConflict.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "storage/database.h"

namespace station::catalogue {

inline constexpr std::size_t kPlanCodeBytesMax = 64;
inline constexpr std::size_t kPlanNameBytesMax = 200;
inline constexpr std::uint32_t kPlanValidityDaysMax = 3650;
inline constexpr std::int64_t kPlanDataMbMax = 1'000'000'000;  // 1 PB: beyond it, use unlimited
// The largest price: one transfer's bound (limits::kTransferAmountMinorMax).
inline constexpr std::int64_t kPlanPriceMinorMax = 1'000'000'000'000;
inline constexpr std::size_t kPlansListedMax = 1'000;
// The public form of a plan version id: "pln_...".
inline constexpr std::string_view kPlanIdPrefix = "pln";

struct Plan {
  Id id = 0;  // this version's id: what an order keeps
  std::string code;
  std::int32_t version = 0;  // 1, 2, ... per code
  std::string name_zh;
  std::string name_en;
  std::optional<std::int64_t> data_mb;  // nullopt: unlimited
  std::uint32_t validity_days = 0;
  std::int64_t price_minor = 0;
  std::string currency;  // ISO 4217
  std::vector<std::string> countries;  // ISO 3166-1 alpha-2, upper case; empty: none listed
  bool active = true;
  std::int64_t created_at_ms = 0;  // when this version was made
};

struct NewPlan {
  std::string code;
  std::string name_zh;
  std::string name_en;
  std::optional<std::int64_t> data_mb;  // nullopt: unlimited
  std::uint32_t validity_days = 0;
  std::int64_t price_minor = 0;
  std::string currency;
  std::vector<std::string> countries;
  bool active = true;
};

// Who makes a change, for the audit log.
struct Actor {
  std::string name = "system";  // "key:<prefix>", "cli:<user>", "system"
  std::string request_id;       // empty for the CLI
};

// kValidationFailed naming the first bad field: code [A-Za-z0-9_-]{1,64}, names 1..200 bytes,
// data_mb > 0 (or unlimited), validity 1..3650 days, a supported currency, distinct ISO 3166-1
// alpha-2 countries; kAmountOutOfRange unless 0 < price_minor <= kPlanPriceMinorMax.
Status validate(const NewPlan& plan);
bool is_plan_code(std::string_view code);

class Plans {
 public:
  Plans(storage::Database& database, IdGenerator& ids, const Clock& clock);

  // Version 1 of a new code. kConflict when the code exists.
  Result<Plan> create(const NewPlan& plan, const Actor& actor = {});
  // A new version of an existing code with the given fields (plan.code must be empty or equal
  // `code`). When nothing differs from the current version, that version is returned and nothing
  // is written, so repeating an update is harmless. kNotFound for an unknown code; kConflict
  // when another change to the code committed first (re-read and retry).
  Result<Plan> update(std::string_view code, const NewPlan& plan, const Actor& actor = {});
  // The latest version of a code. kNotFound.
  Result<Plan> current(std::string_view code);
  // One version by its id, whether or not it is still the latest. kNotFound.
  Result<Plan> version(Id plan_version_id);
  // The latest version of every code (only the active ones when active_only), by code; at most
  // kPlansListedMax.
  Result<std::vector<Plan>> list(bool active_only);

 private:
  Result<Plan> insert_version(const NewPlan& plan, std::int32_t version, std::string_view action,
                              const Actor& actor);

  storage::Database& database_;
  IdGenerator& ids_;
  const Clock& clock_;
};

}  // namespace station::catalogue
