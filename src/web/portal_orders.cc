// The portal's ordering pages: the identity step, the payment step, and the customer's eSIMs
// with their activation codes.
#include <fmt/format.h>

#include "common/limits.h"
#include "orders/qr.h"
#include "web/portal_impl.h"

namespace station::web {

using nlohmann::json;

namespace {

// The built-in test processor's cards (orders/payments.h), offered when it is the processor.
constexpr std::array<std::string_view, 3> kTestCardTokens = {"tok_visa", "tok_decline",
                                                             "tok_insufficient"};

json plan_json(const Visit& visit, const Site& site, const catalogue::Plan& plan,
               const std::string& price) {
  std::string data = plan.data_mb
                         ? (*plan.data_mb % 1024 == 0 ? fmt::format("{} GB", *plan.data_mb / 1024)
                                                      : fmt::format("{} MB", *plan.data_mb))
                         : site.text(visit, "plans_unlimited");
  return json{{"code", plan.code},
              {"name", visit.language == Language::kZhCn ? plan.name_zh : plan.name_en},
              {"data", data},
              {"days", site.catalogue().format(visit.language, "plans_days",
                                               {{"days", std::to_string(plan.validity_days)}})},
              {"price", price}};
}

}  // namespace

json Portal::Impl::plan_view(const Visit& visit, const catalogue::Plan& plan) const {
  return plan_json(visit, *site, plan, money(visit, plan.price_minor, plan.currency));
}

void Portal::Impl::order_page(http::Request& request, Visit& visit, http::Responder respond) {
  std::string code(request.query_param("plan").value_or(""));
  if (code.empty()) return respond(site->redirect(visit, "/plans"));
  auto plan = deps.plans.current(code);
  if (!plan.is_ok()) return respond(error(visit, plan.status()));
  if (!plan->active) {
    return respond(error(visit, Status(ErrorCode::kPlanNotAvailable, "plan inactive")));
  }
  auto identity = deps.identities.get(customer_id(visit));
  if (!identity.is_ok() && identity.status().code() != ErrorCode::kNotFound) {
    return respond(error(visit, identity.status()));
  }
  std::string step = "identity";
  std::string rejection;
  if (identity.is_ok()) {
    switch (identity->state) {
      case kyc::IdentityState::kVerified:
        step = "pay";
        break;
      case kyc::IdentityState::kPending:
        step = "pending";
        break;
      case kyc::IdentityState::kRejected:
        rejection = identity->rejection_reason;
        break;
    }
  }
  if (!options.require_verified_identity && step != "pay") step = "pay";
  auto customer = deps.billing.get_customer(customer_id(visit));
  if (!customer.is_ok()) return respond(error(visit, customer.status()));
  auto wallet = deps.billing.wallet(customer_id(visit));
  if (!wallet.is_ok()) return respond(error(visit, wallet.status()));
  auto key = random_hex(16);
  if (!key.is_ok()) return respond(error(visit, key.status()));
  json cards = json::array();
  if (options.test_card_tokens) {
    for (auto token : kTestCardTokens) {
      cards.push_back(
          {{"token", token}, {"label", site->text(visit, fmt::format("card_{}", token))}});
    }
  }
  std::string problem(request.query_param("error").value_or(""));
  respond(page(visit, "order",
               {{"title", site->text(visit, "order_title")},
                {"plan", plan_view(visit, *plan)},
                {"step_identity", step == "identity"},
                {"step_pending", step == "pending"},
                {"step_pay", step == "pay"},
                {"rejection", rejection},
                {"balance", money(visit, wallet->available_minor(), customer->currency)},
                {"cards", cards},
                {"idempotency_key", *key},
                {"message", problem.empty() ? "" : site->text(visit, "error_" + problem)}}));
}

void Portal::Impl::submit_identity(http::Request& request, Visit& visit, http::Responder respond) {
  auto form = this->form(request, visit, respond);
  if (!form) return;
  std::string plan = form_value(*form, "plan");
  auto type = kyc::parse_document_type(form_value(*form, "document_type"));
  kyc::IdentitySubmission submission;
  submission.customer_id = customer_id(visit);
  submission.document_type = type.value_or(kyc::DocumentType::kNationalId);
  submission.document_number = form_value(*form, "document_number");
  submission.full_name = form_value(*form, "full_name");
  submission.date_of_birth = form_value(*form, "date_of_birth");
  submission.nationality = form_value(*form, "nationality");
  auto submitted =
      type ? deps.identities.submit(
                 submission,
                 kyc::Actor{format_public_id("cus", submission.customer_id), request.request_id})
           : Result<kyc::Identity>(Status(ErrorCode::kValidationFailed, "type"));
  // Back to the order page, which shows the identity's state (or what was wrong).
  std::string next = fmt::format("/order?plan={}", plan);
  if (!submitted.is_ok()) next += fmt::format("&error={}", error_name(submitted.status().code()));
  if (plan.empty() || plan.find_first_of("&?#/\\") != std::string::npos) next = "/plans";
  respond(site->redirect(visit, next));
}

void Portal::Impl::place_order(http::Request& request, Visit& visit, http::Responder respond) {
  auto form = this->form(request, visit, respond);
  if (!form) return;
  std::string key = form_value(*form, "idempotency_key");
  if (key.size() != 32) {
    return respond(error(visit, Status(ErrorCode::kIdempotencyKeyInvalid, "form key")));
  }
  orders::NewOrder order;
  order.customer_id = customer_id(visit);
  order.plan_code = form_value(*form, "plan");
  std::string device;
  for (char c : form_value(*form, "device")) {
    if (c != ' ' && c != '-') device += c;
  }
  if (device.size() == 32) {
    order.eid = device;
  } else {
    order.imei = device;
  }
  order.delivery = orders::Delivery::kWeb;
  auto payment = orders::parse_payment_method(form_value(*form, "payment"));
  if (!payment) return respond(error(visit, Status(ErrorCode::kValidationFailed, "payment")));
  order.payment = *payment;
  if (order.payment == orders::PaymentMethod::kCard) {
    order.card_token = form_value(*form, "card_token");
    if (order.card_token.empty() || order.card_token.size() > 64) {
      return respond(error(visit, Status(ErrorCode::kValidationFailed, "card")));
    }
  }
  orders::Actor actor{format_public_id("cus", order.customer_id), order.customer_id,
                      request.request_id};
  deps.orders.create(
      std::move(order), "web-order:" + key, actor,
      [this, visit, respond](orders::OrderOutcome outcome) {
        // Once an order exists its page tells what became of it, failure included.
        if (outcome.order) {
          return respond(site->redirect(
              visit, "/esims/" + format_public_id(orders::kOrderIdPrefix, outcome.order->id)));
        }
        respond(error(visit, outcome.status));
      });
}

void Portal::Impl::esims_page(http::Request&, Visit& visit, http::Responder respond) {
  auto list = deps.orders.list_for_customer(customer_id(visit), std::nullopt, limits::kPageSizeMax);
  if (!list.is_ok()) return respond(error(visit, list.status()));
  json rows = json::array();
  for (const auto& order : *list) {
    auto plan = deps.plans.version(order.plan_version_id);
    rows.push_back(
        {{"id", format_public_id(orders::kOrderIdPrefix, order.id)},
         {"plan", plan.is_ok() ? (visit.language == Language::kZhCn ? plan->name_zh : plan->name_en)
                               : order.plan_code},
         {"state",
          site->text(visit, fmt::format("order_{}", orders::order_state_name(order.state)))},
         {"usable", order.code_usable()},
         {"iccid", order.iccid.value_or("")},
         {"date", format_time_utc(order.created_at_ms)},
         {"price", money(visit, order.price_minor, order.currency)}});
  }
  respond(page(visit, "esims", {{"title", site->text(visit, "esims_title")}, {"orders", rows}}));
}

Result<orders::Order> Portal::Impl::own_order(const http::Request& request, const Visit& visit) {
  auto it = request.path_params.find("id");
  auto id = it == request.path_params.end() ? std::nullopt
                                            : parse_public_id(orders::kOrderIdPrefix, it->second);
  auto not_found = Status(ErrorCode::kNotFound, "no such order");
  if (!id) return not_found;
  auto order = deps.orders.get(*id);
  if (!order.is_ok())
    return order.status().code() == ErrorCode::kNotFound ? not_found : order.status();
  // Another customer's order is answered exactly like one that does not exist.
  if (order->customer_id != customer_id(visit)) return not_found;
  return order;
}

void Portal::Impl::esim_page(http::Request& request, Visit& visit, http::Responder respond) {
  auto order = own_order(request, visit);
  if (!order.is_ok()) return respond(error(visit, order.status()));
  auto plan = deps.plans.version(order->plan_version_id);
  if (!plan.is_ok()) return respond(error(visit, plan.status()));
  std::string id = format_public_id(orders::kOrderIdPrefix, order->id);
  bool waiting = order->state == orders::OrderState::kCreated ||
                 order->state == orders::OrderState::kAwaitingPayment ||
                 order->state == orders::OrderState::kPaid ||
                 order->state == orders::OrderState::kProfileReserved;
  json failure = nullptr;
  if (order->failure_code) {
    std::string key = "error_" + *order->failure_code;
    std::string text = site->text(visit, key);
    failure = text == key ? site->text(visit, "error_generic") : text;
  }
  respond(page(visit, "esim",
               {{"title", site->text(visit, "esim_title")},
                {"id", id},
                {"plan", plan_view(visit, *plan)},
                {"state", site->text(visit, fmt::format("order_{}",
                                                        orders::order_state_name(order->state)))},
                {"waiting", waiting},
                {"usable", order->code_usable()},
                {"activation_code", order->activation_code.value_or("")},
                {"qr", "/esims/" + id + "/qr.svg"},
                {"iccid", order->iccid.value_or("")},
                {"failure", failure},
                {"cancellable", order->cancellable()},
                {"cancelled", request.query_param("cancelled").has_value()},
                {"date", format_time_utc(order->created_at_ms)}}));
}

void Portal::Impl::cancel_page(http::Request& request, Visit& visit, http::Responder respond) {
  auto order = own_order(request, visit);
  if (!order.is_ok()) return respond(error(visit, order.status()));
  auto plan = deps.plans.version(order->plan_version_id);
  if (!plan.is_ok()) return respond(error(visit, plan.status()));
  if (!order->cancellable()) {
    return respond(error(visit, Status(ErrorCode::kOrderNotCancellable, "not cancellable")));
  }
  const bool paid = order->state != orders::OrderState::kAwaitingPayment;
  respond(page(visit, "cancel",
               {{"title", site->text(visit, "cancel_title")},
                {"id", format_public_id(orders::kOrderIdPrefix, order->id)},
                {"plan", plan_view(visit, *plan)},
                {"refund", paid ? money(visit, order->price_minor, order->currency) : ""},
                {"to_wallet", order->payment == orders::PaymentMethod::kWallet}}));
}

void Portal::Impl::cancel_order(http::Request& request, Visit& visit, http::Responder respond) {
  auto form = this->form(request, visit, respond);
  if (!form) return;
  auto order = own_order(request, visit);
  if (!order.is_ok()) return respond(error(visit, order.status()));
  orders::Actor actor{format_public_id("cus", order->customer_id), order->customer_id,
                      request.request_id};
  deps.orders.cancel(
      order->id, std::move(actor),
      [this, visit, respond,
       id = format_public_id(orders::kOrderIdPrefix, order->id)](orders::OrderOutcome outcome) {
        if (!outcome.status.is_ok()) return respond(error(visit, outcome.status));
        respond(site->redirect(visit, "/esims/" + id + "?cancelled=1"));
      });
}

void Portal::Impl::esim_qr(http::Request& request, Visit& visit, http::Responder respond) {
  auto order = own_order(request, visit);
  if (!order.is_ok()) return respond(error(visit, order.status()));
  if (!order->code_usable()) {
    return respond(error(visit, Status(ErrorCode::kNotFound, "no usable activation code")));
  }
  auto svg = orders::qr_svg(*order->activation_code);
  if (!svg.is_ok()) return respond(error(visit, svg.status()));
  respond(site->file(visit, "image/svg+xml", std::move(svg).value()));
}

}  // namespace station::web
