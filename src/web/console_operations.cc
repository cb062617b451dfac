// The console's operations pages: plans (list, create, change), the profile pool (counts and
// the import of a vendor file), and the outbox.
#include <fmt/format.h>

#include <charconv>

#include "catalogue/countries.h"
#include "messaging/outbox_counts.h"
#include "secrets/secrets.h"
#include "web/console_impl.h"
#include "web/multipart.h"
#include "web/portal_impl.h"

namespace station::web {

using nlohmann::json;

namespace {

Status invalid(std::string message) {
  return Status(ErrorCode::kValidationFailed, std::move(message));
}

Result<std::int64_t> whole_number(std::string_view text, std::string_view field) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0) {
    return invalid(fmt::format("'{}' must be a whole number", field));
  }
  return value;
}

// A plan as the form sends it; the catalogue checks the rest (code, names, currency, price
// range, countries) exactly as it does for the JSON API and the CLI.
Result<catalogue::NewPlan> read_plan_form(const Form& form, std::string_view code) {
  catalogue::NewPlan plan;
  plan.code = std::string(code);
  plan.name_zh = form_value(form, "name_zh");
  plan.name_en = form_value(form, "name_en");
  std::string data = form_value(form, "data_mb");
  if (!data.empty()) {
    STATION_ASSIGN_OR_RETURN(plan.data_mb, whole_number(data, "data_mb"));
  }
  STATION_ASSIGN_OR_RETURN(std::int64_t days,
                           whole_number(form_value(form, "validity_days"), "validity_days"));
  if (days < 1 || days > catalogue::kPlanValidityDaysMax) {
    return invalid(fmt::format("validity_days must be 1 to {}", catalogue::kPlanValidityDaysMax));
  }
  plan.validity_days = static_cast<std::uint32_t>(days);
  plan.currency = form_value(form, "currency");
  auto currency = Currency::from_code(plan.currency);
  if (!currency) return invalid("unknown currency");
  STATION_ASSIGN_OR_RETURN(plan.price_minor, parse_amount(form_value(form, "price"), *currency,
                                                          catalogue::kPlanPriceMinorMax));
  std::string countries = form_value(form, "countries");
  for (std::size_t at = 0; at < countries.size();) {
    std::size_t end = countries.find_first_of(", ", at);
    if (end == std::string::npos) end = countries.size();
    if (end > at) plan.countries.push_back(countries.substr(at, end - at));
    if (plan.countries.size() > catalogue::iso3166_alpha2_codes().size()) {
      return invalid("too many countries");
    }
    at = end + 1;
  }
  plan.active = form_value(form, "active") == "on";
  return plan;
}

// The plan form's fields, from a stored plan or from what was typed.
json plan_form(const catalogue::NewPlan& plan, std::string_view price, bool editing) {
  return json{{"code", plan.code},
              {"name_zh", plan.name_zh},
              {"name_en", plan.name_en},
              {"data_mb", plan.data_mb ? std::to_string(*plan.data_mb) : ""},
              {"validity_days", plan.validity_days == 0 ? "" : std::to_string(plan.validity_days)},
              {"price", price},
              {"currency", plan.currency},
              {"countries", fmt::format("{}", fmt::join(plan.countries, ","))},
              {"active", plan.active},
              {"editing", editing},
              {"action", editing ? "/console/plans/" + plan.code : "/console/plans"}};
}

catalogue::NewPlan as_new_plan(const catalogue::Plan& plan) {
  return catalogue::NewPlan{plan.code,     plan.name_zh,       plan.name_en,
                            plan.data_mb,  plan.validity_days, plan.price_minor,
                            plan.currency, plan.countries,     plan.active};
}

std::string plain_price(const catalogue::Plan& plan) {
  auto currency = Currency::from_code(plan.currency);
  return currency ? format_amount(plan.price_minor, *currency) : std::to_string(plan.price_minor);
}

struct PlansPage {
  json form;
  std::string message;
  int status = 200;
  bool saved = false;
};

// Renders the plans page: every plan (inactive ones too) and the form.
void render_plans(Console::Impl& c, Console::Impl::Call& call, PlansPage shown) {
  auto plans = c.deps.plans.list(false);
  if (!plans.is_ok()) return c.error(call, plans.status());
  json rows = json::array();
  for (const auto& plan : *plans) {
    rows.push_back({{"code", plan.code},
                    {"version", plan.version},
                    {"name", call.visit.language == Language::kZhCn ? plan.name_zh : plan.name_en},
                    {"data", plan.data_mb ? fmt::format("{} MB", *plan.data_mb)
                                          : c.text(call, "plans_unlimited")},
                    {"days", plan.validity_days},
                    {"price", c.money(call.visit, plan.price_minor, plan.currency)},
                    {"active", plan.active}});
  }
  c.page(call, "console/plans",
         {{"title", c.text(call, "console_plans_title")},
          {"rows", rows},
          {"form", std::move(shown.form)},
          {"message", shown.message},
          {"saved", shown.saved}},
         shown.status);
}

}  // namespace

void Console::Impl::plans_page(Call& call) {
  PlansPage shown;
  shown.saved = call.request.query_param("saved").has_value();
  shown.form = plan_form(catalogue::NewPlan{}, "", false);
  if (auto code = call.request.query_param("edit")) {
    auto plan = deps.plans.current(*code);
    if (!plan.is_ok()) return error(call, plan.status());
    shown.form = plan_form(as_new_plan(*plan), plain_price(*plan), true);
  }
  render_plans(*this, call, std::move(shown));
}

namespace {

// Creates (no code in the path) or changes a plan from the form; the catalogue writes the audit
// row with the staff user as actor.
void save_plan(Console::Impl& c, Console::Impl::Call& call,
               std::optional<std::string_view> path_code) {
  auto form = c.form(call);
  if (!form) return;
  std::string code = path_code ? std::string(*path_code) : form_value(*form, "code");
  auto plan = read_plan_form(*form, code);
  catalogue::Actor actor{call.staff->actor(), call.request.request_id};
  Result<catalogue::Plan> saved = plan.is_ok()
                                      ? (path_code ? c.deps.plans.update(code, *plan, actor)
                                                   : c.deps.plans.create(*plan, actor))
                                      : Result<catalogue::Plan>(plan.status());
  if (saved.is_ok()) {
    return call.respond(c.site->redirect(call.visit, "/console/plans?saved=1"));
  }
  const ErrorCode code_of_error = saved.status().code();
  if (code_of_error != ErrorCode::kValidationFailed && code_of_error != ErrorCode::kConflict &&
      code_of_error != ErrorCode::kAmountOutOfRange && code_of_error != ErrorCode::kNotFound) {
    return c.error(call, saved.status());
  }
  // The form again with what was typed and why it was refused.
  catalogue::NewPlan typed = plan.is_ok() ? *plan : catalogue::NewPlan{};
  typed.code = code;
  if (!plan.is_ok()) {
    typed.name_zh = form_value(*form, "name_zh");
    typed.name_en = form_value(*form, "name_en");
    typed.currency = form_value(*form, "currency");
  }
  PlansPage shown;
  shown.form = plan_form(typed, form_value(*form, "price"), path_code.has_value());
  shown.message = saved.status().message();
  shown.status = error_info(code_of_error).http_status;
  render_plans(c, call, std::move(shown));
}

}  // namespace

void Console::Impl::create_plan(Call& call) { save_plan(*this, call, std::nullopt); }

void Console::Impl::update_plan(Call& call) {
  save_plan(*this, call, call.request.path_params["code"]);
}

namespace {

json pool_rows(const Console::Impl& c, const Console::Impl::Call& call,
               const inventory::StateCounts& stats) {
  json rows = json::array();
  for (std::size_t i = 0; i < stats.size(); ++i) {
    auto state = inventory::profile_state_name(static_cast<inventory::ProfileState>(i));
    rows.push_back({{"state", state},
                    {"label", c.text(call, fmt::format("console_profile_{}", state))},
                    {"count", stats[i]}});
  }
  return rows;
}

}  // namespace

void Console::Impl::profiles_page(Call& call) {
  auto stats = deps.inventory.stats();
  if (!stats.is_ok()) return error(call, stats.status());
  page(call, "console/profiles",
       {{"title", text(call, "console_profiles_title")},
        {"rows", pool_rows(*this, call, *stats)},
        {"imported", nullptr},
        {"problems", json::array()},
        {"message", ""}});
}

void Console::Impl::import_profiles(Call& call) {
  auto parts =
      parse_multipart_form(call.request.header("content-type").value_or(""), call.request.body);
  // The body held Ki and OPc: wiped whatever happens next.
  secrets::wipe(call.request.body);
  if (!parts.is_ok()) return error(call, parts.status());
  auto wipe_parts = [&parts] {
    for (auto& part : *parts) secrets::wipe(part.body);
  };
  const FormPart* csrf = find_part(*parts, "csrf");
  if (!Sessions::csrf_matches(*call.visit.session, csrf ? csrf->body : "")) {
    wipe_parts();
    return error(call, Status(ErrorCode::kForbidden, "the form's security token is missing"));
  }
  const FormPart* file = find_part(*parts, "file");
  std::string name = file && file->filename ? *file->filename : "";
  json detail = {{"file", name}};
  Result<inventory::ImportOutcome> outcome =
      file && !file->body.empty()
          ? deps.inventory.import_csv(
                file->body, fmt::format("console import {} by {}", name, call.staff->actor()))
          : Result<inventory::ImportOutcome>(invalid("no file was chosen"));
  wipe_parts();
  if (!outcome.is_ok() && outcome.status().code() != ErrorCode::kValidationFailed &&
      outcome.status().code() != ErrorCode::kPayloadTooLarge) {
    audit(call, "profiles.import", "", outcome.status(), detail.dump());
    return error(call, outcome.status());
  }
  json problems = json::array();
  std::string message;
  if (!outcome.is_ok()) {
    message = outcome.status().message();
  } else {
    for (const auto& problem : outcome->problems) {
      problems.push_back({{"line", problem.line}, {"reason", problem.reason}});
    }
    if (outcome->problems_truncated) message = text(call, "console_profiles_more_problems");
    detail["imported"] = outcome->imported;
    detail["problems"] = outcome->problems.size();
  }
  bool refused = !outcome.is_ok() || !outcome->problems.empty();
  audit(call, "profiles.import", "",
        refused ? Status(ErrorCode::kValidationFailed, "refused") : Status::ok(), detail.dump());
  auto stats = deps.inventory.stats();
  if (!stats.is_ok()) return error(call, stats.status());
  page(call, "console/profiles",
       {{"title", text(call, "console_profiles_title")},
        {"rows", pool_rows(*this, call, *stats)},
        {"imported", refused ? json(nullptr) : json(outcome->imported)},
        {"problems", problems},
        {"message", message}},
       refused ? 400 : 200);
}

void Console::Impl::outbox(Call& call) {
  auto counts = messaging::count_messages_by_state(deps.database);
  if (!counts.is_ok()) return error(call, counts.status());
  auto messages = deps.messenger.list(kConsoleRowsMax);
  if (!messages.is_ok()) return error(call, messages.status());
  json states = json::array();
  for (std::size_t i = 0; i < counts->size(); ++i) {
    auto state = messaging::message_state_name(static_cast<messaging::MessageState>(i));
    states.push_back({{"state", state},
                      {"label", text(call, fmt::format("console_message_{}", state))},
                      {"count", (*counts)[i]}});
  }
  json rows = json::array();
  for (const auto& message : *messages) {
    auto state = messaging::message_state_name(message.state);
    rows.push_back({{"id", format_public_id(messaging::kMessageIdPrefix, message.id)},
                    {"created", format_time_utc(message.created_at_ms)},
                    {"destination", message.destination},
                    {"customer", message.customer_id ? format_public_id(billing::kCustomerIdPrefix,
                                                                        *message.customer_id)
                                                     : ""},
                    {"text", message.text},
                    {"state", state},
                    {"state_label", text(call, fmt::format("console_message_{}", state))},
                    {"failed", message.state == messaging::MessageState::kFailed ||
                                   message.state == messaging::MessageState::kUndeliverable},
                    {"attempts", message.attempts},
                    {"error", message.error}});
  }
  page(call, "console/outbox",
       {{"title", text(call, "console_outbox_title")},
        {"states", states},
        {"rows", rows},
        {"none", rows.empty()}});
}

}  // namespace station::web
