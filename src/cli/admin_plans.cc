// `station admin plans create|update|list`: the plan catalogue from the command line. A change
// makes a new version of the plan (catalogue/plans.h); orders keep the version they were sold.
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "catalogue/plans.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/id.h"

namespace station::cli {
namespace {

struct PlanFlags {
  StoreFlags store;
  std::string code;
  std::string name_zh;
  std::string name_en;
  std::int64_t data_mb = 0;
  bool unlimited = false;
  std::int64_t validity_days = 0;
  std::int64_t price_minor = 0;
  std::string currency;
  std::vector<std::string> countries;
  bool no_countries = false;
  bool active = false;
  bool inactive = false;
  bool all = false;  // list: inactive plans too
  // Which options were given (update changes only those).
  CLI::Option* name_zh_option = nullptr;
  CLI::Option* name_en_option = nullptr;
  CLI::Option* data_mb_option = nullptr;
  CLI::Option* validity_option = nullptr;
  CLI::Option* price_option = nullptr;
  CLI::Option* currency_option = nullptr;
  CLI::Option* countries_option = nullptr;
};

catalogue::Actor plans_actor() { return catalogue::Actor{cli_actor(), ""}; }

bool given(const CLI::Option* option) { return option != nullptr && option->count() > 0; }

// One plan a line, tab-separated: code, version, id, active|inactive, price_minor, currency,
// data (MB or "unlimited"), validity days, countries (comma-separated, "-" for none), en name,
// zh-CN name.
void print_plan(const catalogue::Plan& plan) {
  fmt::print("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", plan.code, plan.version,
             format_public_id(catalogue::kPlanIdPrefix, plan.id),
             plan.active ? "active" : "inactive", plan.price_minor, plan.currency,
             plan.data_mb ? std::to_string(*plan.data_mb) : std::string("unlimited"),
             plan.validity_days,
             plan.countries.empty() ? "-" : fmt::format("{}", fmt::join(plan.countries, ",")),
             plan.name_en, plan.name_zh);
}

Result<std::uint32_t> validity_of(std::int64_t days) {
  if (days < 1 || days > catalogue::kPlanValidityDaysMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("--validity-days must be 1 to {}", catalogue::kPlanValidityDaysMax));
  }
  return static_cast<std::uint32_t>(days);
}

// Applies the options given on top of `plan`.
Status apply(const PlanFlags& flags, catalogue::NewPlan& plan) {
  if (given(flags.name_zh_option)) plan.name_zh = flags.name_zh;
  if (given(flags.name_en_option)) plan.name_en = flags.name_en;
  if (given(flags.data_mb_option) && flags.unlimited) {
    return Status(ErrorCode::kValidationFailed, "give --data-mb or --unlimited, not both");
  }
  if (given(flags.data_mb_option)) plan.data_mb = flags.data_mb;
  if (flags.unlimited) plan.data_mb = std::nullopt;
  if (given(flags.validity_option)) {
    STATION_ASSIGN_OR_RETURN(plan.validity_days, validity_of(flags.validity_days));
  }
  if (given(flags.price_option)) plan.price_minor = flags.price_minor;
  if (given(flags.currency_option)) plan.currency = flags.currency;
  if (given(flags.countries_option) && flags.no_countries) {
    return Status(ErrorCode::kValidationFailed, "give --country or --no-countries, not both");
  }
  if (given(flags.countries_option)) plan.countries = flags.countries;
  if (flags.no_countries) plan.countries.clear();
  if (flags.active && flags.inactive) {
    return Status(ErrorCode::kValidationFailed, "give --active or --inactive, not both");
  }
  if (flags.active) plan.active = true;
  if (flags.inactive) plan.active = false;
  return Status::ok();
}

int run_create(const PlanFlags& flags) {
  if (!given(flags.data_mb_option) && !flags.unlimited) {
    return fail(Status(ErrorCode::kValidationFailed, "give --data-mb N or --unlimited"));
  }
  catalogue::NewPlan plan;
  plan.code = flags.code;
  if (auto s = apply(flags, plan); !s.is_ok()) return fail(s);
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  SystemClock clock;
  IdGenerator ids(clock);
  catalogue::Plans plans(**database, ids, clock);
  auto created = plans.create(plan, plans_actor());
  if (!created.is_ok()) return fail(created.status());
  print_plan(*created);
  return 0;
}

int run_update(const PlanFlags& flags) {
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  SystemClock clock;
  IdGenerator ids(clock);
  catalogue::Plans plans(**database, ids, clock);
  auto current = plans.current(flags.code);
  if (!current.is_ok()) return fail(current.status());
  catalogue::NewPlan plan{current->code,        current->name_zh,     current->name_en,
                          current->data_mb,     current->validity_days, current->price_minor,
                          current->currency,    current->countries,   current->active};
  if (auto s = apply(flags, plan); !s.is_ok()) return fail(s);
  auto updated = plans.update(flags.code, plan, plans_actor());
  if (!updated.is_ok()) return fail(updated.status());
  if (updated->version == current->version) {
    fmt::print(stderr, "nothing changed: {} stays at version {}\n", updated->code,
               updated->version);
  }
  print_plan(*updated);
  return 0;
}

int run_list(const PlanFlags& flags) {
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  SystemClock clock;
  IdGenerator ids(clock);  // listing makes no ids
  catalogue::Plans plans(**database, ids, clock);
  auto listed = plans.list(!flags.all);
  if (!listed.is_ok()) return fail(listed.status());
  for (const auto& plan : *listed) print_plan(plan);
  return 0;
}

// The options create and update share; update changes only those given.
void add_plan_options(CLI::App& command, PlanFlags& flags) {
  add_store_flags(command, flags.store);
  flags.name_zh_option = command.add_option("--name-zh", flags.name_zh, "Name in zh-CN");
  flags.name_en_option = command.add_option("--name-en", flags.name_en, "Name in en");
  flags.data_mb_option = command.add_option("--data-mb", flags.data_mb, "Data allowance in MB");
  command.add_flag("--unlimited", flags.unlimited, "Unlimited data");
  flags.validity_option =
      command.add_option("--validity-days", flags.validity_days, "Validity in days (1-3650)");
  flags.price_option =
      command.add_option("--price-minor", flags.price_minor, "Price in minor units (fen, cents)");
  flags.currency_option =
      command.add_option("--currency", flags.currency, "ISO 4217 code, e.g. CNY");
  flags.countries_option = command.add_option(
      "--country", flags.countries, "ISO 3166-1 alpha-2 code where the plan works (repeatable)");
  command.add_flag("--active", flags.active, "Offer the plan");
  command.add_flag("--inactive", flags.inactive, "Stop offering the plan");
}

}  // namespace

void add_plans_commands(CLI::App& admin, int* exit_code) {
  auto* plans = admin.add_subcommand("plans", "The plan catalogue");
  plans->require_subcommand(1);
  constexpr const char* kOutput =
      "Prints the plan: code, version, id, active|inactive, price_minor, currency, data MB or "
      "unlimited, validity days, countries, en name, zh-CN name (tabs)";

  auto create_flags = std::make_shared<PlanFlags>();
  auto* create = plans->add_subcommand(
      "create", fmt::format("Create a plan (version 1). {}", kOutput));
  create->add_option("--code", create_flags->code, "Plan code: letters, digits, '_' or '-'")
      ->required();
  add_plan_options(*create, *create_flags);
  create_flags->name_zh_option->required();
  create_flags->name_en_option->required();
  create_flags->validity_option->required();
  create_flags->price_option->required();
  create_flags->currency_option->required();
  create->callback([=] { *exit_code = run_create(*create_flags); });

  auto update_flags = std::make_shared<PlanFlags>();
  auto* update = plans->add_subcommand(
      "update",
      fmt::format("Change a plan: a new version with the options given, the rest as they are. {}",
                  kOutput));
  update->add_option("code", update_flags->code, "The plan's code")->required();
  add_plan_options(*update, *update_flags);
  update->add_flag("--no-countries", update_flags->no_countries, "Clear the country list");
  update->callback([=] { *exit_code = run_update(*update_flags); });

  auto list_flags = std::make_shared<PlanFlags>();
  auto* list = plans->add_subcommand(
      "list", "The latest version of every active plan, by code, one a line (tabs)");
  add_store_flags(*list, list_flags->store);
  list->add_flag("--all", list_flags->all, "Inactive plans too");
  list->callback([=] { *exit_code = run_list(*list_flags); });
}

}  // namespace station::cli
