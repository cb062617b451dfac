#include "api/v1.h"

#include <charconv>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "common/limits.h"

namespace station::api {

std::optional<auth::Principal> authorise(auth::Authenticator& authenticator, http::Request& request,
                                         const http::Responder& respond,
                                         auth::Permission permission) {
  auto principal = authenticator.authenticate(request.header("authorization"));
  if (!principal.is_ok()) {
    http::Response response = http::problem(principal.status(), request);
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    respond(std::move(response));
    return std::nullopt;
  }
  request.principal = principal->name();
  if (!principal->allows(permission)) {
    respond(http::problem(ErrorCode::kForbidden, "this API key's scopes do not allow this",
                          request));
    return std::nullopt;
  }
  return std::move(principal).value();
}

using http::Request;

// What an asynchronous completion needs of its request to answer with a problem.
Request problem_context(const Request& request) {
  Request context;
  context.path = request.path;
  context.request_id = request.request_id;
  return context;
}

// Printable ASCII without spaces, 1..255 bytes.
Result<std::string> idempotency_key(const Request& request) {
  auto key = request.header("idempotency-key");
  if (!key) {
    return Status(ErrorCode::kIdempotencyKeyInvalid,
                  "an Idempotency-Key header is required for this request");
  }
  if (key->empty() || key->size() > limits::kIdempotencyKeyBytesMax) {
    return Status(ErrorCode::kIdempotencyKeyInvalid, "Idempotency-Key must be 1 to 255 bytes");
  }
  for (unsigned char c : *key) {
    if (c < 0x21 || c > 0x7e) {
      return Status(ErrorCode::kIdempotencyKeyInvalid,
                    "Idempotency-Key must be printable ASCII without spaces");
    }
  }
  return std::string(*key);
}

Result<Id> path_id(const Request& request, std::string_view prefix, std::string_view what) {
  auto it = request.path_params.find("id");
  auto id = it == request.path_params.end() ? std::nullopt : parse_public_id(prefix, it->second);
  if (!id) return Status(ErrorCode::kNotFound, fmt::format("no such {}", what));
  return *id;
}

Result<std::uint32_t> page_limit(const Request& request) {
  auto text = request.query_param("limit");
  if (!text) return limits::kPageSizeDefault;
  std::uint32_t limit = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (error != std::errc() || end != text->data() + text->size() || limit == 0 ||
      limit > limits::kPageSizeMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("limit must be an integer from 1 to {}", limits::kPageSizeMax));
  }
  return limit;
}

Result<std::optional<Id>> page_cursor(const Request& request) {
  auto cursor = request.query_param("cursor");
  if (!cursor) return std::optional<Id>();
  auto before = parse_public_id("cur", *cursor);
  if (!before) return Status(ErrorCode::kValidationFailed, "cursor is not valid");
  return std::optional<Id>(*before);
}

namespace {

using http::Responder;
using http::Response;
using nlohmann::json;

constexpr std::string_view kCustomerPrefix = "cus";
constexpr std::string_view kTopupPrefix = "tu";
constexpr std::string_view kChargePrefix = "ch";
constexpr std::string_view kTransferPrefix = "tr";

std::string_view public_prefix_of(const ledger::Transfer& transfer) {
  if (transfer.category == "topup") return kTopupPrefix;
  if (transfer.category == "charge") return kChargePrefix;
  return kTransferPrefix;
}

json customer_json(const billing::Customer& customer) {
  json out = {
      {"id", format_public_id(kCustomerPrefix, customer.id)},
      {"name", customer.name},
      {"phone", customer.phone ? json(*customer.phone) : json(nullptr)},
      {"email", customer.email ? json(*customer.email) : json(nullptr)},
      {"currency", customer.currency},
      {"language", customer.language},
      {"created_at", format_rfc3339_ms(customer.created_at_ms)},
  };
  return out;
}

json movement_json(const billing::Movement& movement) {
  const auto& t = movement.transfer;
  json out = {
      {"id", format_public_id(public_prefix_of(t), t.id)},
      {"status", "succeeded"},
      {"customer_id", format_public_id(kCustomerPrefix, movement.customer_id)},
      {"amount_minor", t.amount_minor},
      {"currency", t.currency},
      {"balance_minor", movement.wallet_balance_after_minor},
      {"created_at", format_rfc3339_ms(t.created_at_ms)},
  };
  if (t.category == "topup") {
    out["channel"] = movement.channel ? json(billing::topup_channel_name(*movement.channel))
                                      : json(nullptr);
    out["reference"] = t.reference;
  } else {
    out["description"] = t.description;
  }
  return out;
}

json transaction_json(const billing::Movement& movement, Id wallet_account_id) {
  const auto& t = movement.transfer;
  bool credit = t.credit_account_id == wallet_account_id;
  return json{
      {"id", format_public_id(public_prefix_of(t), t.id)},
      {"type", t.category},
      {"direction", credit ? "credit" : "debit"},
      {"amount_minor", t.amount_minor},
      {"currency", t.currency},
      {"balance_after_minor", movement.wallet_balance_after_minor},
      {"state", ledger::transfer_state_name(t.state)},
      {"description", t.description},
      {"reference", t.reference},
      {"created_at", format_rfc3339_ms(t.created_at_ms)},
  };
}



billing::Actor actor_of(const auth::Principal& principal, const Request& request) {
  return billing::Actor{principal.name(), principal.key_id, request.request_id};
}

Response movement_response(const billing::MovementOutcome& outcome, const Request& context) {
  Response response = outcome.status.is_ok()
                          ? http::json_response(201, movement_json(*outcome.movement).dump())
                          : http::problem(outcome.status, context);
  if (outcome.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

// Reads a customer_id member that must name an existing customer (404 otherwise).
Result<Id> customer_id_member(const JsonBody& body) {
  STATION_ASSIGN_OR_RETURN(auto text, body.string("customer_id", 64));
  auto id = parse_public_id(kCustomerPrefix, text);
  if (!id) return Status(ErrorCode::kNotFound, "no such customer");
  return *id;
}

void create_customer(ApiContext& context, Request& request, Responder respond) {
  auto principal = authorise(context.authenticator, request, respond, auth::Permission::kCustomersCreate);
  if (!principal) return;
  auto body = JsonBody::parse(request.header("content-type"), request.body);
  auto fail = [&](const Status& status) { respond(http::problem(status, request)); };
  if (!body.is_ok()) return fail(body.status());
  if (auto s = body->only({"name", "phone", "email", "currency", "language"}); !s.is_ok()) {
    return fail(s);
  }
  billing::NewCustomer customer;
  auto name = body->string("name", limits::kNameBytesMax);
  if (!name.is_ok()) return fail(name.status());
  customer.name = *name;
  auto phone = body->optional_string("phone", limits::kPhoneBytesMax);
  if (!phone.is_ok()) return fail(phone.status());
  customer.phone = *phone;
  auto email = body->optional_string("email", limits::kEmailBytesMax);
  if (!email.is_ok()) return fail(email.status());
  customer.email = *email;
  auto currency = body->optional_string("currency", 3);
  if (!currency.is_ok()) return fail(currency.status());
  customer.currency = *currency;
  auto language = body->optional_string("language", 5);
  if (!language.is_ok()) return fail(language.status());
  customer.language = *language;

  context.billing.create_customer(
      std::move(customer), actor_of(*principal, request),
      [respond, problem_request = problem_context(request)](Result<billing::Customer> created) {
        if (!created.is_ok()) return respond(http::problem(created.status(), problem_request));
        json out = customer_json(*created);
        out["balance_minor"] = 0;
        respond(http::json_response(201, out.dump()));
      });
}

void get_customer(ApiContext& context, Request& request, Responder respond) {
  if (!authorise(context.authenticator, request, respond, auth::Permission::kCustomersRead)) return;
  auto id = path_id(request, kCustomerPrefix, "customer");
  if (!id.is_ok()) return respond(http::problem(id.status(), request));
  auto customer = context.billing.get_customer(*id);
  if (!customer.is_ok()) return respond(http::problem(customer.status(), request));
  respond(http::json_response(200, customer_json(*customer).dump()));
}

void get_wallet(ApiContext& context, Request& request, Responder respond) {
  if (!authorise(context.authenticator, request, respond, auth::Permission::kCustomersRead)) return;
  auto id = path_id(request, kCustomerPrefix, "customer");
  if (!id.is_ok()) return respond(http::problem(id.status(), request));
  auto wallet = context.billing.wallet(*id);
  if (!wallet.is_ok()) return respond(http::problem(wallet.status(), request));
  json out = {
      {"account_id", format_public_id("acc", wallet->id)},
      {"currency", wallet->currency.code()},
      {"balance_minor", wallet->balance_minor},
      {"available_minor", wallet->available_minor()},
      {"pending_minor", wallet->pending_debit_minor},
  };
  respond(http::json_response(200, out.dump()));
}

// The members every money movement shares: customer_id, amount_minor, currency.
template <typename MoneyRequest>
Status read_money_fields(const JsonBody& body, MoneyRequest& out) {
  STATION_ASSIGN_OR_RETURN(out.customer_id, customer_id_member(body));
  STATION_ASSIGN_OR_RETURN(out.amount_minor, body.integer("amount_minor", true));
  STATION_ASSIGN_OR_RETURN(out.currency, body.string("currency", 3));
  return Status::ok();
}

void create_topup(ApiContext& context, Request& request, Responder respond) {
  auto principal = authorise(context.authenticator, request, respond, auth::Permission::kTopupsCreate);
  if (!principal) return;
  auto fail = [&](const Status& status) { respond(http::problem(status, request)); };
  auto key = idempotency_key(request);
  if (!key.is_ok()) return fail(key.status());
  auto body = JsonBody::parse(request.header("content-type"), request.body);
  if (!body.is_ok()) return fail(body.status());
  if (auto s = body->only({"customer_id", "amount_minor", "currency", "channel", "reference"});
      !s.is_ok()) {
    return fail(s);
  }
  billing::TopupRequest topup;
  if (auto s = read_money_fields(*body, topup); !s.is_ok()) return fail(s);
  auto channel_name = body->string("channel", 16);
  if (!channel_name.is_ok()) return fail(channel_name.status());
  auto channel = billing::parse_topup_channel(*channel_name);
  if (!channel) {
    return fail(Status(ErrorCode::kValidationFailed,
                       "'channel' must be one of app, web, partner, voucher, admin"));
  }
  // A partner key tops up through its own channel only, so settlement always finds its money.
  bool partner_only = principal->has_scope(auth::Scope::kPartner) &&
                      !principal->has_scope(auth::Scope::kAdmin) &&
                      !principal->has_scope(auth::Scope::kApp) &&
                      !principal->has_scope(auth::Scope::kFinance);
  if (partner_only && *channel != billing::TopupChannel::kPartner) {
    return fail(Status(ErrorCode::kForbidden, "partner keys may only use channel 'partner'"));
  }
  if (*channel == billing::TopupChannel::kAdmin && !principal->has_scope(auth::Scope::kAdmin) &&
      !principal->has_scope(auth::Scope::kFinance)) {
    return fail(Status(ErrorCode::kForbidden, "channel 'admin' needs the admin or finance scope"));
  }
  topup.channel = *channel;
  auto reference = body->optional_string("reference", limits::kReferenceBytesMax);
  if (!reference.is_ok()) return fail(reference.status());
  topup.reference = reference->value_or("");

  context.billing.topup(std::move(topup), std::move(key).value(), actor_of(*principal, request),
                        [respond, problem_request = problem_context(request)](
                            billing::MovementOutcome outcome) {
                          respond(movement_response(outcome, problem_request));
                        });
}

void create_charge(ApiContext& context, Request& request, Responder respond) {
  auto principal = authorise(context.authenticator, request, respond, auth::Permission::kChargesCreate);
  if (!principal) return;
  auto fail = [&](const Status& status) { respond(http::problem(status, request)); };
  auto key = idempotency_key(request);
  if (!key.is_ok()) return fail(key.status());
  auto body = JsonBody::parse(request.header("content-type"), request.body);
  if (!body.is_ok()) return fail(body.status());
  if (auto s = body->only({"customer_id", "amount_minor", "currency", "description"});
      !s.is_ok()) {
    return fail(s);
  }
  billing::ChargeRequest charge;
  if (auto s = read_money_fields(*body, charge); !s.is_ok()) return fail(s);
  auto description = body->string("description", limits::kDescriptionBytesMax);
  if (!description.is_ok()) return fail(description.status());
  charge.description = *description;

  context.billing.charge(std::move(charge), std::move(key).value(), actor_of(*principal, request),
                         [respond, problem_request = problem_context(request)](
                             billing::MovementOutcome outcome) {
                           respond(movement_response(outcome, problem_request));
                         });
}

void get_movement(ApiContext& context, Request& request, Responder respond, bool topup) {
  auto permission = topup ? auth::Permission::kTopupsRead : auth::Permission::kChargesRead;
  if (!authorise(context.authenticator, request, respond, permission)) return;
  auto id = path_id(request, topup ? kTopupPrefix : kChargePrefix, topup ? "top-up" : "charge");
  if (!id.is_ok()) return respond(http::problem(id.status(), request));
  auto movement = topup ? context.billing.get_topup(*id) : context.billing.get_charge(*id);
  if (!movement.is_ok()) return respond(http::problem(movement.status(), request));
  respond(http::json_response(200, movement_json(*movement).dump()));
}

void list_transactions(ApiContext& context, Request& request, Responder respond) {
  if (!authorise(context.authenticator, request, respond, auth::Permission::kTransactionsRead)) return;
  auto fail = [&](const Status& status) { respond(http::problem(status, request)); };
  auto id = path_id(request, kCustomerPrefix, "customer");
  if (!id.is_ok()) return fail(id.status());

  auto limit = page_limit(request);
  if (!limit.is_ok()) return fail(limit.status());
  auto before = page_cursor(request);
  if (!before.is_ok()) return fail(before.status());
  auto customer = context.billing.get_customer(*id);
  if (!customer.is_ok()) return fail(customer.status());
  // One more than asked tells whether another page exists.
  auto movements = context.billing.transactions(*id, *before, *limit + 1);
  if (!movements.is_ok()) return fail(movements.status());
  json data = json::array();
  bool more = movements->size() > *limit;
  if (more) movements->resize(*limit);
  for (const auto& movement : *movements) {
    data.push_back(transaction_json(movement, customer->wallet_account_id));
  }
  json out = {{"data", std::move(data)}, {"next_cursor", nullptr}};
  if (more) out["next_cursor"] = format_public_id("cur", movements->back().transfer.id);
  respond(http::json_response(200, out.dump()));
}

}  // namespace

void add_v1_routes(http::Router& router, ApiContext& context) {
  auto bind = [&context](void (*handler)(ApiContext&, Request&, Responder)) {
    return [&context, handler](Request& request, Responder respond) {
      handler(context, request, std::move(respond));
    };
  };
  router.add("POST", "/v1/customers", bind(create_customer));
  router.add("GET", "/v1/customers/{id}", bind(get_customer));
  router.add("GET", "/v1/customers/{id}/wallet", bind(get_wallet));
  router.add("GET", "/v1/customers/{id}/transactions", bind(list_transactions));
  router.add("POST", "/v1/topups", bind(create_topup));
  router.add("GET", "/v1/topups/{id}", [&context](Request& request, Responder respond) {
    get_movement(context, request, std::move(respond), true);
  });
  router.add("POST", "/v1/charges", bind(create_charge));
  router.add("GET", "/v1/charges/{id}", [&context](Request& request, Responder respond) {
    get_movement(context, request, std::move(respond), false);
  });
  router.add("GET", "/v1/openapi.json", [](Request&, Responder respond) {
    respond(http::json_response(200, std::string(openapi_document())));
  });
}

}  // namespace station::api
