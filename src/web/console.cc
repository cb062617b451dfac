#include "web/console.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "messaging/outbox_counts.h"
#include "web/console_impl.h"
#include "web/portal_impl.h"

namespace station::web {

using auth::Permission;
using nlohmann::json;

namespace {

constexpr std::int64_t kDayMs = 24 * 3600 * 1000;
// The dashboard reloads itself (static/portal.js) so its figures stay live.
constexpr int kDashboardRefreshSeconds = 30;

// JSON string content for an audit detail (the values are ours: names, codes, counts).
std::string json_text(std::string_view text) { return json(std::string(text)).dump(); }

}  // namespace

Console::Impl::Impl(ConsoleDependencies dependencies, ConsoleOptions console_options)
    : deps(dependencies),
      options(console_options),
      sessions(deps.database, deps.clock, options.sessions),
      staff(deps.database, deps.ids, deps.clock, options.staff) {}

Result<std::unique_ptr<Console>> Console::create(ConsoleDependencies dependencies,
                                                 ConsoleOptions options) {
  auto impl = std::make_unique<Impl>(dependencies, options);
  SiteOptions site;
  site.layout = "templates/console/layout.html";
  site.session_cookie = "station_console";
  site.secure_transport = options.secure_transport;
  STATION_ASSIGN_OR_RETURN(impl->site, Site::create(impl->sessions, site));
  return std::unique_ptr<Console>(new Console(std::move(impl)));
}

Console::Console(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Console::~Console() = default;

void Console::add_routes(http::Router& router) {
  using P = Permission;
  Impl& c = *impl_;
  router.add("GET", "/console", c.route(&Impl::home, std::nullopt));
  router.add("GET", "/console/signin", c.route(&Impl::sign_in_form, std::nullopt));
  router.add("POST", "/console/signin", c.route(&Impl::sign_in, std::nullopt));
  router.add("POST", "/console/signout", c.route(&Impl::sign_out, std::nullopt));
  router.add("GET", "/console/dashboard", c.route(&Impl::dashboard, P::kCustomersRead));
  router.add("GET", "/console/customers", c.route(&Impl::customers, P::kCustomersRead));
  router.add("GET", "/console/customers/{id}", c.route(&Impl::customer, P::kCustomersRead));
  router.add("GET", "/console/kyc", c.route(&Impl::review_queue, P::kIdentityReview));
  router.add("POST", "/console/kyc/{id}/approve",
             c.route(&Impl::approve_identity, P::kIdentityReview));
  router.add("POST", "/console/kyc/{id}/reject",
             c.route(&Impl::reject_identity, P::kIdentityReview));
  router.add("GET", "/console/plans", c.route(&Impl::plans_page, P::kPlansWrite));
  router.add("POST", "/console/plans", c.route(&Impl::create_plan, P::kPlansWrite));
  router.add("POST", "/console/plans/{code}", c.route(&Impl::update_plan, P::kPlansWrite));
  router.add("GET", "/console/profiles", c.route(&Impl::profiles_page, P::kProfilesImport));
  router.add("POST", "/console/profiles", c.route(&Impl::import_profiles, P::kProfilesImport));
  router.add("GET", "/console/outbox", c.route(&Impl::outbox, P::kOutboxRead));
}

http::Handler Console::Impl::route(PageHandler handler, std::optional<Permission> needs) {
  return [this, handler, needs](http::Request& request, http::Responder respond) {
    auto visit = site->visit(request);
    if (!visit.is_ok()) {
      Call failed{request, Visit{}, std::nullopt, std::move(respond)};
      return error(failed, visit.status());
    }
    Call call{request, std::move(visit).value(), std::nullopt, std::move(respond)};
    if (call.visit.signed_in_as(PrincipalKind::kOperator)) {
      auto user = staff.get(*call.visit.session->principal_id);
      if (user.is_ok()) {
        call.staff = std::move(user).value();
      } else if (user.status().code() != ErrorCode::kNotFound) {
        return error(call, user.status());
      }
    }
    if (needs) {
      if (!call.staff) return call.respond(site->redirect(call.visit, "/console/signin"));
      if (!call.staff->allows(*needs)) {
        // No data of the page: only who is signed in and what they may open instead.
        return page(call, "console/forbidden", {{"title", text(call, "console_forbidden_title")}},
                    403);
      }
    }
    (this->*handler)(call);
  };
}

json Console::Impl::layout(const Call& call) const {
  const Visit& visit = call.visit;
  bool zh = visit.language == Language::kZhCn;
  json nav = json::array();
  if (call.staff) {
    const std::pair<std::string_view, Permission> pages[] = {
        {"dashboard", Permission::kCustomersRead}, {"customers", Permission::kCustomersRead},
        {"kyc", Permission::kIdentityReview},      {"plans", Permission::kPlansWrite},
        {"profiles", Permission::kProfilesImport}, {"outbox", Permission::kOutboxRead}};
    for (const auto& [name, permission] : pages) {
      if (!call.staff->allows(permission)) continue;
      std::string href = fmt::format("/console/{}", name);
      nav.push_back({{"href", href},
                     {"label", site->text(visit, fmt::format("console_nav_{}", name))},
                     {"current", visit.path.starts_with(href)}});
    }
  }
  return json{{"signed_in", call.staff.has_value()},
              {"staff_name", call.staff ? call.staff->username : ""},
              {"staff_role",
               call.staff ? site->text(visit, fmt::format("console_role_{}",
                                                          auth::staff_role_name(call.staff->role)))
                          : ""},
              {"nav", nav},
              {"switch_lang", zh ? "en" : "zh-CN"},
              {"switch_href", visit.language_link_base + (zh ? "lang=en" : "lang=zh-CN")},
              {"switch_label", zh ? "English" : "中文"}};
}

void Console::Impl::page(Call& call, std::string_view name, json context, int status) const {
  call.respond(site->page(call.visit, name, std::move(context), layout(call), status));
}

void Console::Impl::error(Call& call, const Status& status) const {
  if (error_info(status.code()).http_status >= 500) {
    spdlog::error("console: {}", status.to_string());
  }
  call.respond(site->error_page(call.visit, status, layout(call)));
}

std::optional<Form> Console::Impl::form(Call& call) const {
  auto form = site->checked_form(call.request, call.visit);
  if (!form.is_ok()) {
    error(call, form.status());
    return std::nullopt;
  }
  return std::move(form).value();
}

void Console::Impl::audit(const Call& call, std::string action, std::string target,
                          const Status& outcome, std::string detail) const {
  deps.audit.record(auth::AuditEntry{
      deps.ids.next(), deps.clock.now_unix_ms(), call.staff ? call.staff->actor() : "console",
      std::move(action), std::move(target), call.request.request_id,
      outcome.is_ok() ? "succeeded" : std::string(error_name(outcome.code())), std::move(detail)});
}

std::string Console::Impl::money(const Visit& visit, std::int64_t amount_minor,
                                 std::string_view currency) const {
  auto known = Currency::from_code(currency);
  if (!known) return fmt::format("{} {}", amount_minor, currency);
  return format_money(amount_minor, *known, visit.language);
}

void Console::Impl::home(Call& call) {
  call.respond(site->redirect(call.visit, call.staff ? "/console/dashboard" : "/console/signin"));
}

void Console::Impl::sign_in_form(Call& call) {
  if (call.staff) return call.respond(site->redirect(call.visit, "/console/dashboard"));
  if (auto status = site->ensure_session(call.visit); !status.is_ok()) return error(call, status);
  page(call, "console/signin",
       {{"title", text(call, "console_signin_title")}, {"username", ""}, {"message", ""}});
}

void Console::Impl::sign_in(Call& call) {
  auto form = this->form(call);
  if (!form) return;
  std::string username = form_value(*form, "username");
  std::string password = form_value(*form, "password");
  auto user = staff.sign_in(username, password, call.request.remote_address);
  secrets::wipe(password);
  const std::string target = auth::is_staff_username(username) ? "staff:" + username : "";
  if (!user.is_ok()) {
    audit(call, "console.sign_in", target, user.status());
    ErrorCode code = user.status().code();
    if (code != ErrorCode::kUnauthenticated && code != ErrorCode::kTooManyRequests) {
      return error(call, user.status());
    }
    bool limited = code == ErrorCode::kTooManyRequests;
    return page(
        call, "console/signin",
        {{"title", text(call, "console_signin_title")},
         {"username", username},
         {"message", text(call, limited ? "console_signin_locked" : "console_signin_wrong")}},
        limited ? 429 : 401);
  }
  // A new session id and CSRF token: whatever session the browser had is gone (no fixation).
  if (auto status = site->sign_in(call.visit, PrincipalKind::kOperator, user->id);
      !status.is_ok()) {
    return error(call, status);
  }
  call.staff = std::move(user).value();
  audit(call, "console.sign_in", target, Status::ok(),
        fmt::format(R"({{"role":{}}})", json_text(auth::staff_role_name(call.staff->role))));
  call.respond(site->redirect(call.visit, "/console/dashboard"));
}

void Console::Impl::sign_out(Call& call) {
  if (!form(call)) return;
  if (call.staff) audit(call, "console.sign_out", "staff:" + call.staff->username, Status::ok());
  if (auto status = site->sign_out(call.visit); !status.is_ok()) return error(call, status);
  call.respond(site->redirect(call.visit, "/console/signin"));
}

void Console::Impl::dashboard(Call& call) {
  const auth::StaffUser& user = *call.staff;
  const Visit& visit = call.visit;
  json context = {{"title", text(call, "console_dashboard_title")},
                  {"refresh_seconds", kDashboardRefreshSeconds},
                  {"as_of", format_time_utc(deps.clock.now_unix_ms())},
                  {"topups", nullptr},
                  {"orders", nullptr},
                  {"pool", nullptr},
                  {"outbox", nullptr}};
  if (user.allows(Permission::kTopupsRead)) {
    std::int64_t now = deps.clock.now_unix_ms();
    auto totals = deps.billing.topup_totals_since(now - now % kDayMs);
    if (!totals.is_ok()) return error(call, totals.status());
    json rows = json::array();
    for (const auto& total : *totals) {
      rows.push_back({{"currency", total.currency},
                      {"count", total.count},
                      {"sum", money(visit, total.amount_minor, total.currency)}});
    }
    context["topups"] = {{"rows", rows}, {"none", rows.empty()}};
  }
  if (user.allows(Permission::kOrdersRead)) {
    auto counts = orders::count_orders_by_state(deps.database);
    if (!counts.is_ok()) return error(call, counts.status());
    json rows = json::array();
    for (std::size_t i = 0; i < counts->size(); ++i) {
      auto state = orders::order_state_name(static_cast<orders::OrderState>(i));
      rows.push_back({{"state", state},
                      {"label", site->text(visit, fmt::format("order_{}", state))},
                      {"count", (*counts)[i]}});
    }
    context["orders"] = {{"rows", rows}};
  }
  if (user.allows(Permission::kProfilesRead)) {
    auto stats = deps.inventory.stats();
    if (!stats.is_ok()) return error(call, stats.status());
    json rows = json::array();
    for (std::size_t i = 0; i < stats->size(); ++i) {
      auto state = inventory::profile_state_name(static_cast<inventory::ProfileState>(i));
      rows.push_back({{"state", state},
                      {"label", site->text(visit, fmt::format("console_profile_{}", state))},
                      {"count", (*stats)[i]}});
    }
    context["pool"] = {{"rows", rows}};
  }
  if (user.allows(Permission::kOutboxRead)) {
    auto counts = messaging::count_messages_by_state(deps.database);
    if (!counts.is_ok()) return error(call, counts.status());
    using messaging::MessageState;
    const std::int64_t failed = (*counts)[static_cast<std::size_t>(MessageState::kFailed)] +
                                (*counts)[static_cast<std::size_t>(MessageState::kUndeliverable)];
    context["outbox"] = {{"failed", failed},
                         {"any_failed", failed > 0},
                         {"queued", (*counts)[static_cast<std::size_t>(MessageState::kQueued)]}};
  }
  page(call, "console/dashboard", std::move(context));
}

}  // namespace station::web
