#include "api/devices.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <string>

#include "api/v1.h"

namespace station::api {
namespace {

constexpr std::array<std::string_view, 3> kCheckParams = {"imei", "eid", "model"};

nlohmann::json check_json(const devices::DeviceCheck& check) {
  nlohmann::json out = nlohmann::json::object();
  out["esim_capable"] =
      check.esim_capable ? nlohmann::json(*check.esim_capable) : nlohmann::json(nullptr);
  if (check.device) {
    out["device"] = {{"brand", check.device->brand},
                     {"model", check.device->model},
                     {"kind", std::string(devices::device_kind_name(check.device->kind))},
                     {"esim_capable", check.device->esim_capable}};
  } else {
    out["device"] = nullptr;
  }
  out["reason"] = check.reason;
  return out;
}

}  // namespace

void add_device_routes(http::Router& router, auth::Authenticator& authenticator,
                       devices::DeviceCatalogue& catalogue) {
  router.add(
      "GET", "/v1/devices/check",
      [&authenticator, &catalogue](http::Request& request, http::Responder respond) {
        if (!authorise(authenticator, request, respond, auth::Permission::kDevicesRead)) {
          return;
        }
        auto invalid = [&](std::string_view detail) {
          respond(http::problem(ErrorCode::kValidationFailed, detail, request));
        };
        for (const auto& [name, value] : request.query) {
          if (std::find(kCheckParams.begin(), kCheckParams.end(), name) == kCheckParams.end()) {
            return invalid(
                fmt::format("unknown query parameter '{}' (give exactly one of "
                            "imei, eid, model)",
                            name.substr(0, 64)));
          }
        }
        if (request.query.size() != 1) {
          return invalid("give exactly one of the query parameters imei, eid, model");
        }
        const auto& [name, value] = *request.query.begin();
        Result<devices::DeviceCheck> check = name == "imei"  ? catalogue.check_imei(value)
                                             : name == "eid" ? catalogue.check_eid(value)
                                                             : catalogue.check_model(value);
        if (!check.is_ok()) return respond(http::problem(check.status(), request));
        respond(http::json_response(200, check_json(*check).dump()));
      });
}

}  // namespace station::api
