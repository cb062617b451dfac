// The console's customer pages: search, one customer's detail (wallet, transactions, orders,
// identity, audit trail), and the identity review queue with its decisions.
#include <fmt/format.h>

#include "web/console_impl.h"
#include "web/portal_impl.h"

namespace station::web {

using auth::Permission;
using nlohmann::json;

namespace {

// The customer named by the {id} path parameter ("cus_..."); kNotFound for anything else.
Result<Id> customer_in_path(const http::Request& request) {
  auto it = request.path_params.find("id");
  auto id = it == request.path_params.end()
                ? std::nullopt
                : parse_public_id(billing::kCustomerIdPrefix, it->second);
  if (!id) return Status(ErrorCode::kNotFound, "no such customer");
  return *id;
}

std::string customer_ref(Id id) { return format_public_id(billing::kCustomerIdPrefix, id); }

}  // namespace

void Console::Impl::customers(Call& call) {
  std::string query(call.request.query_param("q").value_or(""));
  json context = {{"title", text(call, "console_customers_title")},
                  {"q", query},
                  {"searched", !query.empty()},
                  {"rows", json::array()},
                  {"message", ""}};
  if (!query.empty()) {
    auto found = deps.billing.search_customers(query);
    if (!found.is_ok()) {
      if (found.status().code() != ErrorCode::kValidationFailed) {
        return error(call, found.status());
      }
      context["message"] = text(call, "console_customers_query_invalid");
    } else {
      for (const auto& customer : *found) {
        context["rows"].push_back({{"id", customer_ref(customer.id)},
                                   {"name", customer.name},
                                   {"phone", customer.phone.value_or("")},
                                   {"email", customer.email.value_or("")},
                                   {"created", format_time_utc(customer.created_at_ms)}});
      }
    }
  }
  context["has_rows"] = !context["rows"].empty();
  context["none"] = context["searched"].get<bool>() && context["rows"].empty();
  page(call, "console/customers", std::move(context));
}

void Console::Impl::customer(Call& call) {
  const auth::StaffUser& user = *call.staff;
  const Visit& visit = call.visit;
  auto id = customer_in_path(call.request);
  if (!id.is_ok()) return error(call, id.status());
  auto customer = deps.billing.get_customer(*id);
  if (!customer.is_ok()) return error(call, customer.status());
  const std::string ref = customer_ref(*id);
  json context = {{"title", customer->name},
                  {"id", ref},
                  {"name", customer->name},
                  {"phone", customer->phone.value_or("")},
                  {"email", customer->email.value_or("")},
                  {"language", customer->language},
                  {"created", format_time_utc(customer->created_at_ms)},
                  {"wallet", nullptr},
                  {"orders", nullptr},
                  {"identity", nullptr},
                  {"audit", json::array()}};
  if (user.allows(Permission::kTransactionsRead)) {
    auto wallet = deps.billing.wallet(*id);
    if (!wallet.is_ok()) return error(call, wallet.status());
    auto movements = deps.billing.transactions(*id, std::nullopt, kConsoleRowsMax);
    if (!movements.is_ok()) return error(call, movements.status());
    json rows = json::array();
    for (const auto& movement : *movements) {
      const auto& t = movement.transfer;
      bool credit = t.credit_account_id == customer->wallet_account_id;
      rows.push_back(
          {{"id", format_public_id("tr", t.id)},
           {"date", format_time_utc(t.created_at_ms)},
           {"kind", site->text(visit, "kind_" + t.category)},
           {"amount", money(visit, credit ? t.amount_minor : -t.amount_minor, t.currency)},
           {"state",
            site->text(visit, fmt::format("state_{}", ledger::transfer_state_name(t.state)))}});
    }
    context["wallet"] = {{"balance", money(visit, wallet->balance_minor, customer->currency)},
                         {"available", money(visit, wallet->available_minor(), customer->currency)},
                         {"rows", rows},
                         {"none", rows.empty()}};
  }
  if (user.allows(Permission::kOrdersRead)) {
    auto orders = deps.orders.list_for_customer(*id, std::nullopt, kConsoleRowsMax);
    if (!orders.is_ok()) return error(call, orders.status());
    json rows = json::array();
    for (const auto& order : *orders) {
      rows.push_back(
          {{"id", format_public_id(orders::kOrderIdPrefix, order.id)},
           {"date", format_time_utc(order.created_at_ms)},
           {"plan", order.plan_code},
           {"price", money(visit, order.price_minor, order.currency)},
           {"state",
            site->text(visit, fmt::format("order_{}", orders::order_state_name(order.state)))},
           {"iccid", order.iccid.value_or("")}});
    }
    context["orders"] = {{"rows", rows}, {"none", rows.empty()}};
  }
  if (user.allows(Permission::kIdentityReview)) {
    auto identity = deps.identities.get(*id);
    if (identity.is_ok()) {
      auto state = kyc::identity_state_name(identity->state);
      context["identity"] = {
          {"submitted", true},
          {"state", state},
          {"state_label", site->text(visit, fmt::format("console_kyc_{}", state))},
          {"full_name", identity->full_name},
          {"document",
           site->text(visit, fmt::format("console_document_{}",
                                         kyc::document_type_name(identity->document_type)))},
          {"last4", identity->document_last4},
          {"reviewed_by", identity->reviewed_by},
          {"reason", identity->rejection_reason}};
    } else if (identity.status().code() == ErrorCode::kNotFound) {
      context["identity"] = {{"submitted", false}};
    } else {
      return error(call, identity.status());
    }
  }
  {
    auto connection = deps.database.acquire();
    if (!connection.is_ok()) return error(call, connection.status());
    auto entries = auth::list_audit_entries_for_target(**connection, ref, kConsoleRowsMax);
    if (!entries.is_ok()) return error(call, entries.status());
    for (const auto& entry : *entries) {
      context["audit"].push_back({{"at", format_time_utc(entry.at_ms)},
                                  {"actor", entry.actor},
                                  {"action", entry.action},
                                  {"outcome", entry.outcome}});
    }
  }
  page(call, "console/customer", std::move(context));
}

void Console::Impl::review_queue(Call& call) {
  auto pending = deps.identities.list(kyc::IdentityState::kPending, kConsoleRowsMax);
  if (!pending.is_ok()) return error(call, pending.status());
  json rows = json::array();
  for (const auto& identity : *pending) {
    rows.push_back(
        {{"customer", customer_ref(identity.customer_id)},
         {"full_name", identity.full_name},
         {"date_of_birth", identity.date_of_birth},
         {"nationality", identity.nationality},
         {"document",
          site->text(call.visit, fmt::format("console_document_{}",
                                             kyc::document_type_name(identity.document_type)))},
         {"last4", identity.document_last4},
         {"submitted", format_time_utc(identity.submitted_at_ms)}});
  }
  std::string done(call.request.query_param("done").value_or(""));
  page(call, "console/kyc",
       {{"title", text(call, "console_kyc_title")},
        {"rows", rows},
        {"none", rows.empty()},
        {"reason_max", kyc::kRejectionReasonBytesMax},
        {"approved", done == "approved"},
        {"rejected", done == "rejected"}});
}

void Console::Impl::approve_identity(Call& call) {
  if (!form(call)) return;
  auto id = customer_in_path(call.request);
  if (!id.is_ok()) return error(call, id.status());
  // The kyc domain writes the decision's audit row, with the staff user as its actor.
  auto decided =
      deps.identities.approve(*id, kyc::Actor{call.staff->actor(), call.request.request_id});
  if (!decided.is_ok()) return error(call, decided.status());
  call.respond(site->redirect(call.visit, "/console/kyc?done=approved"));
}

void Console::Impl::reject_identity(Call& call) {
  auto form = this->form(call);
  if (!form) return;
  auto id = customer_in_path(call.request);
  if (!id.is_ok()) return error(call, id.status());
  auto decided = deps.identities.reject(*id, form_value(*form, "reason"),
                                        kyc::Actor{call.staff->actor(), call.request.request_id});
  if (!decided.is_ok()) return error(call, decided.status());
  call.respond(site->redirect(call.visit, "/console/kyc?done=rejected"));
}

}  // namespace station::web
