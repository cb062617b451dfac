#include "api/profiles.h"

#include <nlohmann/json.hpp>

#include "api/v1.h"

namespace station::api {

void add_profile_routes(http::Router& router, auth::Authenticator& authenticator,
                        inventory::Inventory& inventory) {
  router.add("GET", "/v1/admin/profiles/stats",
             [&authenticator, &inventory](http::Request& request, http::Responder respond) {
               if (!authorise(authenticator, request, respond, auth::Permission::kProfilesRead)) {
                 return;
               }
               auto stats = inventory.stats();
               if (!stats.is_ok()) return respond(http::problem(stats.status(), request));
               nlohmann::json out = nlohmann::json::object();
               for (std::size_t i = 0; i < stats->size(); ++i) {
                 auto state = static_cast<inventory::ProfileState>(i);
                 out[std::string(inventory::profile_state_name(state))] = (*stats)[i];
               }
               respond(http::json_response(200, out.dump()));
             });
}

}  // namespace station::api
