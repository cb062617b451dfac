#include "api/outbox.h"

#include <nlohmann/json.hpp>

#include "api/v1.h"
#include "common/clock.h"

namespace station::api {
namespace {

nlohmann::json message_json(const messaging::OutboxMessage& message) {
  nlohmann::json out = {
      {"id", format_public_id(messaging::kMessageIdPrefix, message.id)},
      {"customer_id", nullptr},
      {"channel", messaging::channel_name(message.channel)},
      {"destination", message.destination},
      {"language", message.language},
      {"subject", nullptr},
      {"text", message.text},
      {"state", messaging::message_state_name(message.state)},
      {"smsc_message_id", nullptr},
      {"attempts", message.attempts},
      {"error", nullptr},
      {"created_at", format_rfc3339_ms(message.created_at_ms)},
      {"updated_at", format_rfc3339_ms(message.updated_at_ms)},
  };
  if (message.customer_id) out["customer_id"] = format_public_id("cus", *message.customer_id);
  if (!message.smsc_message_id.empty()) out["smsc_message_id"] = message.smsc_message_id;
  if (!message.error.empty()) out["error"] = message.error;
  if (message.channel == messaging::Channel::kEmail) out["subject"] = message.subject;
  return out;
}

}  // namespace

void add_outbox_routes(http::Router& router, auth::Authenticator& authenticator,
                       messaging::Messenger& messenger) {
  router.add("GET", "/v1/admin/outbox",
             [&authenticator, &messenger](http::Request& request, http::Responder respond) {
               if (!authorise(authenticator, request, respond, auth::Permission::kOutboxRead)) {
                 return;
               }
               auto limit = page_limit(request);
               if (!limit.is_ok()) return respond(http::problem(limit.status(), request));
               auto messages = messenger.list(*limit);
               if (!messages.is_ok()) return respond(http::problem(messages.status(), request));
               nlohmann::json list = nlohmann::json::array();
               for (const auto& message : *messages) list.push_back(message_json(message));
               respond(http::json_response(200, nlohmann::json{{"messages", list}}.dump()));
             });
}

}  // namespace station::api
