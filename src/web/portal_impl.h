// web/portal_impl: the portal's state and handlers, shared by its three source files (portal.cc:
// sign-in, device check, plans, settings; portal_money.cc: wallet, top-up, history, statements;
// portal_orders.cc: identity, ordering, my eSIMs). Private to src/web.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "web/accounts.h"
#include "web/portal.h"
#include "web/site.h"
#include "web/sweeper.h"

namespace station::web {

// The most wallet movements a history, CSV export or statement reads (pages of
// limits::kPageSizeMax); an older movement is beyond what the portal shows.
inline constexpr std::size_t kHistoryMovementsMax = 5'000;

struct Portal::Impl {
  Impl(PortalDependencies dependencies, PortalOptions options);

  enum class Access { kAnyone, kCustomer };
  using PageHandler = void (Impl::*)(http::Request&, Visit&, http::Responder);
  // Resolves the visit, sends a visitor who must sign in to /signin, then calls the handler.
  http::Handler route(PageHandler handler, Access access);

  nlohmann::json layout(const Visit& visit) const;
  http::Response page(const Visit& visit, std::string_view name, nlohmann::json context,
                      int status = 200) const;
  http::Response error(const Visit& visit, const Status& status) const;
  // The checked form of a POST; nullopt after answering 403 (token) or 4xx (body) itself.
  std::optional<Form> form(http::Request& request, Visit& visit, const http::Responder& respond);

  Id customer_id(const Visit& visit) const { return *visit.session->principal_id; }
  std::string money(const Visit& visit, std::int64_t amount_minor, std::string_view currency) const;
  nlohmann::json plan_view(const Visit& visit, const catalogue::Plan& plan) const;
  // The order named by the {id} path parameter when it is the visiting customer's; kNotFound
  // otherwise, the same answer for another customer's order as for no order.
  Result<orders::Order> own_order(const http::Request& request, const Visit& visit);
  // The wallet's movements, newest first, at most kHistoryMovementsMax.
  Result<std::vector<billing::Movement>> movements(Id customer_id);

  // portal.cc
  void home(http::Request&, Visit&, http::Responder);
  void sign_in_form(http::Request&, Visit&, http::Responder);
  void request_code(http::Request&, Visit&, http::Responder);
  void verify_code(http::Request&, Visit&, http::Responder);
  void sign_out(http::Request&, Visit&, http::Responder);
  void device_check(http::Request&, Visit&, http::Responder);
  void plans_page(http::Request&, Visit&, http::Responder);
  void settings_page(http::Request&, Visit&, http::Responder);
  void save_settings(http::Request&, Visit&, http::Responder);
  // portal_money.cc
  void wallet_page(http::Request&, Visit&, http::Responder);
  void top_up(http::Request&, Visit&, http::Responder);
  void transactions_page(http::Request&, Visit&, http::Responder);
  void transactions_csv(http::Request&, Visit&, http::Responder);
  void statements_page(http::Request&, Visit&, http::Responder);
  // portal_orders.cc
  void order_page(http::Request&, Visit&, http::Responder);
  void submit_identity(http::Request&, Visit&, http::Responder);
  void place_order(http::Request&, Visit&, http::Responder);
  void esims_page(http::Request&, Visit&, http::Responder);
  void esim_page(http::Request&, Visit&, http::Responder);
  void esim_qr(http::Request&, Visit&, http::Responder);
  void cancel_page(http::Request&, Visit&, http::Responder);
  void cancel_order(http::Request&, Visit&, http::Responder);

  PortalDependencies deps;
  PortalOptions options;
  Sessions sessions;
  SignInCodes codes;
  Accounts accounts;
  Sweeper sweeper;  // after sessions and codes: stops before they go
  std::unique_ptr<Site> site;
};

// "2026-11-29 23:40" (UTC).
std::string format_time_utc(std::int64_t unix_ms);
// "2026-11-29" (UTC).
std::string format_date_utc(std::int64_t unix_ms);
// Milliseconds at 00:00 UTC of a "YYYY-MM-DD" date; nullopt unless a real date.
std::optional<std::int64_t> parse_date_utc(std::string_view date);

}  // namespace station::web
