// web/console_impl: the console's state and handlers, shared by its source files (console.cc:
// routing, sign-in, dashboard; console_customers.cc: search, customer detail, identity review;
// console_operations.cc: plans, profile import, outbox). Private to src/web.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "web/console.h"
#include "web/site.h"

namespace station::web {

// The most rows a console table shows: customer detail's transactions, orders and audit trail,
// the review queue, and the outbox.
inline constexpr std::uint32_t kConsoleRowsMax = 100;

struct Console::Impl {
  Impl(ConsoleDependencies dependencies, ConsoleOptions options);

  // A request as a console handler sees it: the visit and, once signed in, the staff user.
  struct Call {
    http::Request& request;
    Visit visit;
    std::optional<auth::StaffUser> staff;
    http::Responder respond;
  };
  using PageHandler = void (Impl::*)(Call&);
  // nullopt: anyone (the sign-in page); else a signed-in staff user whose role has the
  // permission (kCustomersRead is held by every role, so it stands for "any staff user").
  http::Handler route(PageHandler handler, std::optional<auth::Permission> needs);

  nlohmann::json layout(const Call& call) const;
  void page(Call& call, std::string_view name, nlohmann::json context, int status = 200) const;
  void error(Call& call, const Status& status) const;
  // The checked form of a POST; nullopt after answering 403 (token) or 4xx (body) itself.
  std::optional<Form> form(Call& call) const;
  // Records a change made by the signed-in staff user.
  void audit(const Call& call, std::string action, std::string target, const Status& outcome,
             std::string detail = "{}") const;
  std::string money(const Visit& visit, std::int64_t amount_minor, std::string_view currency) const;
  std::string text(const Call& call, std::string_view key) const {
    return site->text(call.visit, key);
  }

  // console.cc
  void home(Call&);
  void sign_in_form(Call&);
  void sign_in(Call&);
  void sign_out(Call&);
  void dashboard(Call&);
  // console_customers.cc
  void customers(Call&);
  void customer(Call&);
  void review_queue(Call&);
  void approve_identity(Call&);
  void reject_identity(Call&);
  // console_operations.cc
  void plans_page(Call&);
  void create_plan(Call&);
  void update_plan(Call&);
  void profiles_page(Call&);
  void import_profiles(Call&);
  void outbox(Call&);

  ConsoleDependencies deps;
  ConsoleOptions options;
  Sessions sessions;
  auth::StaffAccounts staff;
  std::unique_ptr<Site> site;
};

}  // namespace station::web
