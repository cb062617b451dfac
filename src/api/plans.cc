#include "api/plans.h"

#include <fmt/format.h>

#include "api/json_body.h"
#include "api/v1.h"
#include "catalogue/countries.h"
#include "common/clock.h"

namespace station::api {
namespace {

using http::Request;
using http::Responder;
using nlohmann::json;

Status invalid(std::string message) {
  return Status(ErrorCode::kValidationFailed, std::move(message));
}

catalogue::Actor actor_of(const auth::Principal& principal, const Request& request) {
  return catalogue::Actor{principal.name(), request.request_id};
}

// Reads a plan body. `path_code` is the code in the path of a PUT: the body's code is then
// optional and must match it.
Result<catalogue::NewPlan> read_plan(const Request& request,
                                     std::optional<std::string_view> path_code) {
  STATION_ASSIGN_OR_RETURN(JsonBody body,
                           JsonBody::parse(request.header("content-type"), request.body));
  STATION_RETURN_IF_ERROR(body.only({"code", "name", "data_mb", "validity_days", "price_minor",
                                     "currency", "countries", "active"}));
  // JsonBody has checked the document (shape, duplicates, depth); the members it has no reader
  // for (objects, arrays, null, booleans) are read from the parsed tree.
  const json document = json::parse(request.body);
  catalogue::NewPlan plan;
  if (path_code) {
    STATION_ASSIGN_OR_RETURN(auto code,
                             body.optional_string("code", catalogue::kPlanCodeBytesMax));
    if (code && *code != *path_code) {
      return invalid(fmt::format("'code' is '{}' in the path; a plan's code cannot change",
                                 *path_code));
    }
    plan.code = std::string(*path_code);
  } else {
    STATION_ASSIGN_OR_RETURN(plan.code, body.string("code", catalogue::kPlanCodeBytesMax));
  }

  auto name = document.find("name");
  if (name == document.end()) return invalid("'name' is required: {\"zh-CN\": ..., \"en\": ...}");
  if (!name->is_object()) return invalid("'name' must be an object {\"zh-CN\": ..., \"en\": ...}");
  for (const auto& item : name->items()) {
    if (item.key() != "zh-CN" && item.key() != "en") {
      return invalid(fmt::format("'name' has an unknown member '{}' (known: zh-CN, en)",
                                 item.key()));
    }
  }
  for (const char* language : {"zh-CN", "en"}) {
    auto text = name->find(language);
    if (text == name->end() || !text->is_string()) {
      return invalid(fmt::format("'name.{}' is required and must be a string", language));
    }
  }
  plan.name_zh = (*name)["zh-CN"].get<std::string>();
  plan.name_en = (*name)["en"].get<std::string>();

  auto data_mb = document.find("data_mb");
  if (data_mb == document.end()) {
    return invalid("'data_mb' is required (an integer, or null for unlimited)");
  }
  if (!data_mb->is_null()) {
    STATION_ASSIGN_OR_RETURN(plan.data_mb, body.integer("data_mb", false));
  }
  STATION_ASSIGN_OR_RETURN(std::int64_t validity_days, body.integer("validity_days", false));
  if (validity_days < 1 || validity_days > catalogue::kPlanValidityDaysMax) {
    return invalid(fmt::format("validity_days must be 1 to {}", catalogue::kPlanValidityDaysMax));
  }
  plan.validity_days = static_cast<std::uint32_t>(validity_days);
  STATION_ASSIGN_OR_RETURN(plan.price_minor, body.integer("price_minor", true));
  STATION_ASSIGN_OR_RETURN(plan.currency, body.string("currency", 3));

  if (auto countries = document.find("countries"); countries != document.end()) {
    if (!countries->is_array() ||
        countries->size() > catalogue::iso3166_alpha2_codes().size()) {
      return invalid("'countries' must be an array of ISO 3166-1 alpha-2 codes");
    }
    for (const auto& country : *countries) {
      if (!country.is_string()) {
        return invalid("'countries' must be an array of ISO 3166-1 alpha-2 codes");
      }
      plan.countries.push_back(country.get<std::string>());
    }
  }
  if (auto active = document.find("active"); active != document.end()) {
    if (!active->is_boolean()) return invalid("'active' must be true or false");
    plan.active = active->get<bool>();
  }
  return plan;
}

void create_plan(auth::Authenticator& authenticator, catalogue::Plans& plans, Request& request,
                 const Responder& respond) {
  auto principal = authorise(authenticator, request, respond, auth::Permission::kPlansWrite);
  if (!principal) return;
  auto plan = read_plan(request, std::nullopt);
  if (!plan.is_ok()) return respond(http::problem(plan.status(), request));
  auto created = plans.create(*plan, actor_of(*principal, request));
  if (!created.is_ok()) return respond(http::problem(created.status(), request));
  respond(http::json_response(201, plan_json(*created).dump()));
}

void update_plan(auth::Authenticator& authenticator, catalogue::Plans& plans, Request& request,
                 const Responder& respond) {
  auto principal = authorise(authenticator, request, respond, auth::Permission::kPlansWrite);
  if (!principal) return;
  const std::string& code = request.path_params["code"];
  if (!catalogue::is_plan_code(code)) {
    return respond(http::problem(ErrorCode::kNotFound, fmt::format("no plan '{}'", code),
                                 request));
  }
  auto plan = read_plan(request, code);
  if (!plan.is_ok()) return respond(http::problem(plan.status(), request));
  auto updated = plans.update(code, *plan, actor_of(*principal, request));
  if (!updated.is_ok()) return respond(http::problem(updated.status(), request));
  respond(http::json_response(200, plan_json(*updated).dump()));
}

void list_plans(auth::Authenticator& authenticator, catalogue::Plans& plans, Request& request,
                const Responder& respond) {
  if (!authorise(authenticator, request, respond, auth::Permission::kPlansRead)) return;
  auto listed = plans.list(true);
  if (!listed.is_ok()) return respond(http::problem(listed.status(), request));
  json out = json::array();
  for (const auto& plan : *listed) out.push_back(plan_json(plan));
  respond(http::json_response(200, json{{"plans", std::move(out)}}.dump()));
}

void get_plan(auth::Authenticator& authenticator, catalogue::Plans& plans, Request& request,
              const Responder& respond) {
  if (!authorise(authenticator, request, respond, auth::Permission::kPlansRead)) return;
  auto plan = plans.current(request.path_params["code"]);
  if (!plan.is_ok()) return respond(http::problem(plan.status(), request));
  respond(http::json_response(200, plan_json(*plan).dump()));
}

}  // namespace

json plan_json(const catalogue::Plan& plan) {
  return json{
      {"id", format_public_id(catalogue::kPlanIdPrefix, plan.id)},
      {"code", plan.code},
      {"version", plan.version},
      {"name", {{"zh-CN", plan.name_zh}, {"en", plan.name_en}}},
      {"data_mb", plan.data_mb ? json(*plan.data_mb) : json(nullptr)},
      {"validity_days", plan.validity_days},
      {"price_minor", plan.price_minor},
      {"currency", plan.currency},
      {"countries", plan.countries},
      {"active", plan.active},
      {"created_at", format_rfc3339_ms(plan.created_at_ms)},
  };
}

void add_plan_routes(http::Router& router, auth::Authenticator& authenticator,
                     catalogue::Plans& plans) {
  using Handler = void (*)(auth::Authenticator&, catalogue::Plans&, Request&, const Responder&);
  auto bind = [&authenticator, &plans](Handler handler) {
    return [&authenticator, &plans, handler](Request& request, Responder respond) {
      handler(authenticator, plans, request, respond);
    };
  };
  router.add("POST", "/v1/admin/plans", bind(create_plan));
  router.add("PUT", "/v1/admin/plans/{code}", bind(update_plan));
  router.add("GET", "/v1/plans", bind(list_plans));
  router.add("GET", "/v1/plans/{code}", bind(get_plan));
}

}  // namespace station::api
