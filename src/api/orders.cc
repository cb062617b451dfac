#include "api/orders.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "api/v1.h"
#include "common/limits.h"
#include "orders/qr.h"

namespace station::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

json order_json(const orders::Order& order, bool with_history = true) {
  const std::string id = format_public_id(orders::kOrderIdPrefix, order.id);
  json device = json::object();
  if (order.imei) device["imei"] = *order.imei;
  if (order.eid) device["eid"] = *order.eid;
  json history = json::array();
  for (const auto& event : order.history) {
    history.push_back({{"from", event.from_state ? json(orders::order_state_name(*event.from_state))
                                                 : json(nullptr)},
                       {"to", orders::order_state_name(event.to_state)},
                       {"cause", event.cause},
                       {"at", format_rfc3339_ms(event.at_ms)}});
  }
  json out = {
      {"id", id},
      {"customer_id", format_public_id("cus", order.customer_id)},
      {"plan_code", order.plan_code},
      {"plan_version_id", format_public_id("plv", order.plan_version_id)},
      {"price_minor", order.price_minor},
      {"currency", order.currency},
      {"device", device},
      {"delivery", orders::delivery_name(order.delivery)},
      {"payment",
       {{"method", orders::payment_method_name(order.payment)},
        {"intent_id", order.payment_intent_id ? json(*order.payment_intent_id) : json(nullptr)}}},
      {"state", orders::order_state_name(order.state)},
      {"iccid", order.iccid ? json(*order.iccid) : json(nullptr)},
      {"activation_code", order.code_usable() ? json(*order.activation_code) : json(nullptr)},
      {"qr", nullptr},
      {"failure", nullptr},
      {"history", history},
      {"created_at", format_rfc3339_ms(order.created_at_ms)},
      {"updated_at", format_rfc3339_ms(order.updated_at_ms)},
  };
  if (order.code_usable()) {
    out["qr"] = {{"png", fmt::format("/v1/orders/{}/qr.png", id)},
                 {"svg", fmt::format("/v1/orders/{}/qr.svg", id)}};
  }
  if (order.failure_code) {
    out["failure"] = {{"code", *order.failure_code}, {"detail", order.failure_detail}};
  }
  if (!with_history) out.erase("history");
  return out;
}

Response outcome_response(const orders::OrderOutcome& outcome, const Request& context,
                          int success_status) {
  Response response;
  if (outcome.status.is_ok() && outcome.order) {
    json body = order_json(*outcome.order);
    if (outcome.confirmation_code) body["confirmation_code"] = *outcome.confirmation_code;
    response = http::json_response(success_status, body.dump());
  } else {
    response = http::problem(outcome.status, context);
    if (outcome.order) {
      // The refusal of an order that exists (e.g. no profile left) names it, so the client can
      // show its history.
      json body = json::parse(response.body, nullptr, false);
      if (body.is_object()) {
        body["order_id"] = format_public_id(orders::kOrderIdPrefix, outcome.order->id);
        response.body = body.dump();
      }
    }
  }
  if (outcome.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

std::string outcome_label(const Status& status) {
  return status.is_ok() ? "succeeded" : std::string(error_name(status.code()));
}

void count_order(OrderRoutesContext& context, const orders::OrderOutcome& outcome) {
  if (outcome.replayed) return;
  context.metrics
      .counter("station_orders_total", "Orders created, by the answer to their creation",
               {{"outcome", outcome_label(outcome.status)}})
      .add();
}

void count_webhook(OrderRoutesContext& context, const Status& status) {
  context.metrics
      .counter("station_payment_webhooks_total", "Payment provider webhook deliveries, by answer",
               {{"outcome", outcome_label(status)}})
      .add();
}

void audit(OrderRoutesContext& context, const auth::Principal& principal, const Request& request,
           std::string_view action, const orders::OrderOutcome& outcome) {
  if (outcome.replayed) return;
  context.audit.record(auth::AuditEntry{
      context.ids.next(), context.clock.now_unix_ms(), principal.name(), std::string(action),
      outcome.order ? format_public_id(orders::kOrderIdPrefix, outcome.order->id) : "",
      request.request_id,
      outcome.status.is_ok() ? "succeeded" : std::string(error_name(outcome.status.code())),
      outcome.order ? json{{"state", orders::order_state_name(outcome.order->state)}}.dump()
                    : "{}"});
}

Result<orders::NewOrder> read_order(const Request& request) {
  STATION_ASSIGN_OR_RETURN(auto body, JsonBody::parse(request.header("content-type"), request.body));
  STATION_RETURN_IF_ERROR(
      body.only({"customer_id", "plan_code", "device", "delivery", "payment", "card"}));
  orders::NewOrder order;
  STATION_ASSIGN_OR_RETURN(auto customer, body.string("customer_id", 64));
  auto customer_id = parse_public_id("cus", customer);
  if (!customer_id) return Status(ErrorCode::kNotFound, "no such customer");
  order.customer_id = *customer_id;
  STATION_ASSIGN_OR_RETURN(order.plan_code, body.string("plan_code", 64));
  STATION_ASSIGN_OR_RETURN(auto device, body.optional_object("device"));
  if (!device) return Status(ErrorCode::kValidationFailed, "'device' is required");
  STATION_RETURN_IF_ERROR(device->only({"imei", "eid"}));
  STATION_ASSIGN_OR_RETURN(order.imei, device->optional_string("imei", 15));
  STATION_ASSIGN_OR_RETURN(order.eid, device->optional_string("eid", 32));
  if (order.imei.has_value() == order.eid.has_value()) {
    return Status(ErrorCode::kValidationFailed, "'device' needs exactly one of 'imei' and 'eid'");
  }
  STATION_ASSIGN_OR_RETURN(auto delivery, body.string("delivery", 8));
  auto parsed_delivery = orders::parse_delivery(delivery);
  if (!parsed_delivery) {
    return Status(ErrorCode::kValidationFailed, "'delivery' must be one of app, sms, web");
  }
  order.delivery = *parsed_delivery;
  STATION_ASSIGN_OR_RETURN(auto payment, body.string("payment", 8));
  auto parsed_payment = orders::parse_payment_method(payment);
  if (!parsed_payment) {
    return Status(ErrorCode::kValidationFailed, "'payment' must be one of wallet, card");
  }
  order.payment = *parsed_payment;
  STATION_ASSIGN_OR_RETURN(auto card, body.optional_object("card"));
  if (card) {
    STATION_RETURN_IF_ERROR(card->only({"token"}));
    STATION_ASSIGN_OR_RETURN(order.card_token,
                             card->string("token", limits::kOrderCardTokenBytesMax));
  }
  if (card && order.payment != orders::PaymentMethod::kCard) {
    return Status(ErrorCode::kValidationFailed, "'card' is for card payments only");
  }
  return order;
}

void create_order(OrderRoutesContext& context, Request& request, Responder respond) {
  auto principal =
      authorise(context.authenticator, request, respond, auth::Permission::kOrdersCreate);
  if (!principal) return;
  auto key = idempotency_key(request);
  if (!key.is_ok()) return respond(http::problem(key.status(), request));
  auto order = read_order(request);
  if (!order.is_ok()) return respond(http::problem(order.status(), request));
  orders::Actor actor{principal->name(), principal->key_id, request.request_id};
  context.orders.create(
      std::move(order).value(), std::move(key).value(), std::move(actor),
      [&context, respond, principal = *principal, problem_request = problem_context(request)](
          orders::OrderOutcome outcome) {
        audit(context, principal, problem_request, "order.create", outcome);
        count_order(context, outcome);
        respond(outcome_response(outcome, problem_request, 201));
      });
}

void cancel_order(OrderRoutesContext& context, Request& request, Responder respond) {
  auto principal =
      authorise(context.authenticator, request, respond, auth::Permission::kOrdersCancel);
  if (!principal) return;
  auto id = path_id(request, orders::kOrderIdPrefix, "order");
  if (!id.is_ok()) return respond(http::problem(id.status(), request));
  orders::Actor actor{principal->name(), principal->key_id, request.request_id};
  context.orders.cancel(
      *id, std::move(actor),
      [&context, respond, principal = *principal, problem_request = problem_context(request)](
          orders::OrderOutcome outcome) {
        audit(context, principal, problem_request, "order.cancel", outcome);
        respond(outcome_response(outcome, problem_request, 200));
      });
}

void get_order(OrderRoutesContext& context, Request& request, Responder respond) {
  if (!authorise(context.authenticator, request, respond, auth::Permission::kOrdersRead)) return;
  auto id = path_id(request, orders::kOrderIdPrefix, "order");
  if (!id.is_ok()) return respond(http::problem(id.status(), request));
  auto order = context.orders.get(*id);
  if (!order.is_ok()) return respond(http::problem(order.status(), request));
  respond(http::json_response(200, order_json(*order).dump()));
}

void list_customer_orders(OrderRoutesContext& context, Request& request, Responder respond) {
  if (!authorise(context.authenticator, request, respond, auth::Permission::kOrdersRead)) return;
  auto fail = [&](const Status& status) { respond(http::problem(status, request)); };
  auto customer = path_id(request, "cus", "customer");
  if (!customer.is_ok()) return fail(customer.status());
  auto limit = page_limit(request);
  if (!limit.is_ok()) return fail(limit.status());
  auto before = page_cursor(request);
  if (!before.is_ok()) return fail(before.status());
  if (auto known = context.billing.get_customer(*customer); !known.is_ok()) {
    return fail(known.status());
  }
  auto listed = context.orders.list_for_customer(*customer, *before, *limit + 1);
  if (!listed.is_ok()) return fail(listed.status());
  const bool more = listed->size() > *limit;
  if (more) listed->resize(*limit);
  json data = json::array();
  for (const auto& order : *listed) data.push_back(order_json(order, false));
  json out = {{"data", std::move(data)}, {"next_cursor", nullptr}};
  if (more) out["next_cursor"] = format_public_id("cur", listed->back().id);
  respond(http::json_response(200, out.dump()));
}

void get_qr(OrderRoutesContext& context, Request& request, Responder respond, bool png) {
  if (!authorise(context.authenticator, request, respond, auth::Permission::kOrdersRead)) return;
  auto id = path_id(request, orders::kOrderIdPrefix, "order");
  if (!id.is_ok()) return respond(http::problem(id.status(), request));
  auto order = context.orders.get(*id);
  if (!order.is_ok()) return respond(http::problem(order.status(), request));
  if (!order->code_usable()) {
    return respond(http::problem(ErrorCode::kNotFound,
                                 "this order has no usable activation code", request));
  }
  auto image = png ? orders::qr_png(*order->activation_code) : orders::qr_svg(*order->activation_code);
  if (!image.is_ok()) return respond(http::problem(image.status(), request));
  Response response;
  response.status = 200;
  response.content_type = png ? "image/png" : "image/svg+xml";
  response.body = std::move(image).value();
  // The image holds the activation code: it must not linger in shared caches.
  response.headers.emplace_back("Cache-Control", "no-store");
  respond(std::move(response));
}

void payment_webhook(OrderRoutesContext& context, Request& request, Responder respond) {
  auto event = context.payments.parse_webhook(
      request.header(orders::kSignatureHeader).value_or(""), request.body);
  Status handled = event.status();
  if (handled.is_ok()) {
    request.principal = fmt::format("payments:{}", context.payments.name());
    handled = context.orders.handle_payment_event(*event);
  }
  count_webhook(context, handled);
  if (!handled.is_ok()) return respond(http::problem(handled, request));
  respond(http::json_response(200, json{{"received", true}}.dump()));
}

}  // namespace

void add_order_routes(http::Router& router, OrderRoutesContext& context) {
  auto bind = [&context](auto handler) {
    return [&context, handler](Request& request, Responder respond) {
      handler(context, request, std::move(respond));
    };
  };
  router.add("POST", "/v1/orders", bind(create_order));
  router.add("GET", "/v1/orders/{id}", bind(get_order));
  router.add("GET", "/v1/customers/{id}/orders", bind(list_customer_orders));
  router.add("POST", "/v1/orders/{id}/cancel", bind(cancel_order));
  router.add("GET", "/v1/orders/{id}/qr.png",
             [&context](Request& request, Responder respond) {
               get_qr(context, request, std::move(respond), true);
             });
  router.add("GET", "/v1/orders/{id}/qr.svg",
             [&context](Request& request, Responder respond) {
               get_qr(context, request, std::move(respond), false);
             });
  router.add("POST", fmt::format("/v1/payments/webhooks/{}", context.payments.name()),
             bind(payment_webhook));
}

}  // namespace station::api
