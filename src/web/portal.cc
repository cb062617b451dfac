#include "web/portal.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <map>

#include "common/limits.h"
#include "messaging/email.h"
#include "web/portal_impl.h"

namespace station::web {

using nlohmann::json;

std::string format_time_utc(std::int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min);
}

std::string format_date_utc(std::int64_t unix_ms) { return format_time_utc(unix_ms).substr(0, 10); }

std::optional<std::int64_t> parse_date_utc(std::string_view date) {
  if (!kyc::is_date(date)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(std::string(date.substr(0, 4))) - 1900;
  tm.tm_mon = std::stoi(std::string(date.substr(5, 2))) - 1;
  tm.tm_mday = std::stoi(std::string(date.substr(8, 2)));
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

Portal::Impl::Impl(PortalDependencies dependencies, PortalOptions portal_options)
    : deps(dependencies),
      options(portal_options),
      sessions(deps.database, deps.clock, options.sessions),
      codes(deps.database, deps.ids, deps.clock, options.codes),
      accounts(deps.database, deps.clock),
      sweeper(sessions, codes) {}

Result<std::unique_ptr<Portal>> Portal::create(PortalDependencies dependencies,
                                               PortalOptions options) {
  auto impl = std::make_unique<Impl>(dependencies, options);
  SiteOptions site;
  site.secure_transport = options.secure_transport;
  STATION_ASSIGN_OR_RETURN(impl->site, Site::create(impl->sessions, site));
  if (options.sweep_interval_ms > 0) impl->sweeper.start(options.sweep_interval_ms);
  return std::unique_ptr<Portal>(new Portal(std::move(impl)));
}

Portal::Portal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Portal::~Portal() = default;

void Portal::add_routes(http::Router& router) {
  using Access = Impl::Access;
  Impl& p = *impl_;
  router.add("GET", "/static/{file}", [&p](http::Request& request, http::Responder respond) {
    respond(p.site->static_file(request.path_params["file"]));
  });
  router.add("GET", "/", p.route(&Impl::home, Access::kAnyone));
  router.add("GET", "/signin", p.route(&Impl::sign_in_form, Access::kAnyone));
  router.add("POST", "/signin", p.route(&Impl::request_code, Access::kAnyone));
  router.add("POST", "/signin/code", p.route(&Impl::verify_code, Access::kAnyone));
  router.add("POST", "/signout", p.route(&Impl::sign_out, Access::kAnyone));
  router.add("GET", "/devices", p.route(&Impl::device_check, Access::kAnyone));
  router.add("GET", "/plans", p.route(&Impl::plans_page, Access::kAnyone));
  router.add("GET", "/order", p.route(&Impl::order_page, Access::kCustomer));
  router.add("POST", "/order", p.route(&Impl::place_order, Access::kCustomer));
  router.add("POST", "/identity", p.route(&Impl::submit_identity, Access::kCustomer));
  router.add("GET", "/esims", p.route(&Impl::esims_page, Access::kCustomer));
  router.add("GET", "/esims/{id}", p.route(&Impl::esim_page, Access::kCustomer));
  router.add("GET", "/esims/{id}/qr.svg", p.route(&Impl::esim_qr, Access::kCustomer));
  router.add("GET", "/esims/{id}/cancel", p.route(&Impl::cancel_page, Access::kCustomer));
  router.add("POST", "/esims/{id}/cancel", p.route(&Impl::cancel_order, Access::kCustomer));
  router.add("GET", "/wallet", p.route(&Impl::wallet_page, Access::kCustomer));
  router.add("POST", "/wallet/topup", p.route(&Impl::top_up, Access::kCustomer));
  router.add("GET", "/transactions", p.route(&Impl::transactions_page, Access::kCustomer));
  router.add("GET", "/transactions.csv", p.route(&Impl::transactions_csv, Access::kCustomer));
  router.add("GET", "/statements", p.route(&Impl::statements_page, Access::kCustomer));
  router.add("GET", "/settings", p.route(&Impl::settings_page, Access::kCustomer));
  router.add("POST", "/settings", p.route(&Impl::save_settings, Access::kCustomer));
}

http::Handler Portal::Impl::route(PageHandler handler, Access access) {
  return [this, handler, access](http::Request& request, http::Responder respond) {
    auto visit = site->visit(request);
    if (!visit.is_ok()) return respond(error(Visit{}, visit.status()));
    if (access == Access::kCustomer) {
      if (!visit->signed_in_as(PrincipalKind::kCustomer)) {
        return respond(site->redirect(*visit, "/signin"));
      }
      if (!visit->language_chosen) {
        if (auto account = accounts.get(customer_id(*visit)); account.is_ok()) {
          visit->language = account->language;
        }
      }
    }
    (this->*handler)(request, *visit, std::move(respond));
  };
}

json Portal::Impl::layout(const Visit& visit) const {
  bool zh = visit.language == Language::kZhCn;
  return json{{"signed_in", visit.signed_in_as(PrincipalKind::kCustomer)},
              {"switch_lang", zh ? "en" : "zh-CN"},
              {"switch_href", visit.language_link_base + (zh ? "lang=en" : "lang=zh-CN")},
              {"switch_label", zh ? "English" : "中文"}};
}

http::Response Portal::Impl::page(const Visit& visit, std::string_view name, json context,
                                  int status) const {
  return site->page(visit, name, std::move(context), layout(visit), status);
}

http::Response Portal::Impl::error(const Visit& visit, const Status& status) const {
  if (error_info(status.code()).http_status >= 500) {
    spdlog::error("portal: {}", status.to_string());
  }
  return site->error_page(visit, status, layout(visit));
}

std::optional<Form> Portal::Impl::form(http::Request& request, Visit& visit,
                                       const http::Responder& respond) {
  auto form = site->checked_form(request, visit);
  if (!form.is_ok()) {
    respond(error(visit, form.status()));
    return std::nullopt;
  }
  return std::move(form).value();
}

std::string Portal::Impl::money(const Visit& visit, std::int64_t amount_minor,
                                std::string_view currency) const {
  auto known = Currency::from_code(currency);
  if (!known) return fmt::format("{} {}", amount_minor, currency);
  return format_money(amount_minor, *known, visit.language);
}

void Portal::Impl::home(http::Request&, Visit& visit, http::Responder respond) {
  json context = {{"title", site->text(visit, "home_title")}, {"summary", nullptr}};
  if (visit.signed_in_as(PrincipalKind::kCustomer)) {
    auto customer = deps.billing.get_customer(customer_id(visit));
    auto wallet = deps.billing.wallet(customer_id(visit));
    if (!customer.is_ok()) return respond(error(visit, customer.status()));
    if (!wallet.is_ok()) return respond(error(visit, wallet.status()));
    context["summary"] = {{"name", customer->name},
                          {"balance", money(visit, wallet->balance_minor, customer->currency)}};
  }
  respond(page(visit, "home", std::move(context)));
}

namespace {

json sign_in_context(const Visit& visit, const Site& site, std::string_view login,
                     bool new_customer, std::string_view message) {
  return json{{"title", site.text(visit, new_customer ? "signup_title" : "signin_title")},
              {"login", login},
              {"new_customer", new_customer},
              {"message", message}};
}

// Where a sign-in code goes: an email address (typed with an '@'), else a phone number.
struct SignInAddress {
  std::string login;  // the account's login and the code's destination
  messaging::Channel channel = messaging::Channel::kSms;
};

// Email logins are compared without regard to case (mail providers treat local parts so), so
// they are kept lower-cased.
Result<SignInAddress> parse_sign_in_address(std::string_view typed) {
  if (typed.find('@') == std::string_view::npos) {
    STATION_ASSIGN_OR_RETURN(std::string phone, normalise_phone(typed));
    return SignInAddress{std::move(phone), messaging::Channel::kSms};
  }
  STATION_ASSIGN_OR_RETURN(std::string address, messaging::normalise_email_address(typed));
  for (char& c : address) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return SignInAddress{std::move(address), messaging::Channel::kEmail};
}

}  // namespace

void Portal::Impl::sign_in_form(http::Request& request, Visit& visit, http::Responder respond) {
  if (visit.signed_in_as(PrincipalKind::kCustomer)) return respond(site->redirect(visit, "/"));
  if (auto status = site->ensure_session(visit); !status.is_ok()) {
    return respond(error(visit, status));
  }
  bool new_customer = request.query_param("new").has_value();
  respond(page(visit, "signin", sign_in_context(visit, *site, "", new_customer, "")));
}

void Portal::Impl::request_code(http::Request& request, Visit& visit, http::Responder respond) {
  auto form = this->form(request, visit, respond);
  if (!form) return;
  std::string typed = form_value(*form, "login");
  std::string name = form_value(*form, "name");
  auto again = [&](bool new_customer, std::string_view key, int status) {
    respond(page(visit, "signin",
                 sign_in_context(visit, *site, typed, new_customer, site->text(visit, key)),
                 status));
  };
  auto address = parse_sign_in_address(typed);
  if (!address.is_ok()) return again(!name.empty(), "signin_login_invalid", 400);
  if (name.size() > limits::kNameBytesMax) return again(true, "signin_name_invalid", 400);
  auto account = accounts.find_by_login(address->login);
  if (!account.is_ok()) return respond(error(visit, account.status()));
  // An unknown number or address signs up: it needs a name first.
  if (!*account && name.empty()) return again(true, "signin_new_customer", 200);
  auto issued = codes.issue(address->login, request.remote_address,
                            *account ? std::nullopt : std::optional<std::string>(name));
  if (!issued.is_ok()) {
    if (issued.status().code() == ErrorCode::kTooManyRequests) {
      return again(!*account, "signin_too_many_codes", 429);
    }
    return respond(error(visit, issued.status()));
  }
  Language language = *account ? (*account)->language : visit.language;
  const std::map<std::string, std::string> values = {
      {"code", issued->code}, {"minutes", std::to_string(codes.settings().lifetime_ms / 60'000)}};
  const std::optional<Id> customer =
      *account ? std::optional<Id>((*account)->customer_id) : std::nullopt;
  auto queued =
      address->channel == messaging::Channel::kEmail
          ? deps.messenger.enqueue_email(
                address->login, site->catalogue().format(language, "email_sign_in_subject", values),
                site->catalogue().format(language, "email_sign_in_code", values),
                language_tag(language), customer)
          : deps.messenger.enqueue(address->login,
                                   site->catalogue().format(language, "sms_sign_in_code", values),
                                   language_tag(language), customer);
  if (!queued.is_ok()) return respond(error(visit, queued.status()));
  respond(page(visit, "code",
               {{"title", site->text(visit, "code_title")},
                {"challenge", format_public_id(kChallengeIdPrefix, issued->challenge_id)},
                {"login", address->login},
                {"message", ""},
                {"dead", false}}));
}

void Portal::Impl::verify_code(http::Request& request, Visit& visit, http::Responder respond) {
  auto form = this->form(request, visit, respond);
  if (!form) return;
  std::string challenge_text = form_value(*form, "challenge");
  auto challenge = parse_public_id(kChallengeIdPrefix, challenge_text);
  auto retry = [&](std::string_view key, int status, bool dead) {
    respond(page(visit, "code",
                 {{"title", site->text(visit, "code_title")},
                  {"challenge", challenge_text},
                  {"login", form_value(*form, "login")},
                  {"message", site->text(visit, key)},
                  {"dead", dead}},
                 status));
  };
  if (!challenge) return retry("code_expired", 400, true);
  auto verified = codes.verify(*challenge, form_value(*form, "code"));
  if (!verified.is_ok()) {
    switch (verified.status().code()) {
      case ErrorCode::kTooManyRequests:
        return retry("code_too_many", 429, true);
      case ErrorCode::kValidationFailed:
        return retry("code_wrong", 400, false);
      case ErrorCode::kNotFound:
        return retry("code_expired", 400, true);
      default:
        return respond(error(visit, verified.status()));
    }
  }
  auto account = accounts.find_by_login(verified->destination);
  if (!account.is_ok()) return respond(error(visit, account.status()));
  if (*account) {
    if (auto status = site->sign_in(visit, PrincipalKind::kCustomer, (*account)->customer_id);
        !status.is_ok()) {
      return respond(error(visit, status));
    }
    if (!visit.language_chosen) site->remember_language(visit, (*account)->language);
    return respond(site->redirect(visit, "/"));
  }
  if (!verified->signup_name || verified->signup_name->empty()) {
    return retry("code_expired", 400, true);
  }
  billing::NewCustomer customer;
  customer.name = *verified->signup_name;
  if (verified->destination.find('@') != std::string::npos) {
    customer.email = verified->destination;
  } else {
    customer.phone = verified->destination;
  }
  customer.language = std::string(language_tag(visit.language));
  billing::Actor actor{"web", 0, request.request_id};
  deps.billing.create_customer(
      std::move(customer), actor,
      [this, visit, respond,
       login = verified->destination](Result<billing::Customer> created) mutable {
        if (!created.is_ok()) return respond(error(visit, created.status()));
        Account created_account{created->id, login, visit.language, true};
        if (auto status = accounts.create(created_account); !status.is_ok()) {
          return respond(error(visit, status));
        }
        if (auto status = site->sign_in(visit, PrincipalKind::kCustomer, created->id);
            !status.is_ok()) {
          return respond(error(visit, status));
        }
        respond(site->redirect(visit, "/"));
      });
}

void Portal::Impl::sign_out(http::Request& request, Visit& visit, http::Responder respond) {
  if (!form(request, visit, respond)) return;
  if (auto status = site->sign_out(visit); !status.is_ok()) return respond(error(visit, status));
  respond(site->redirect(visit, "/"));
}

void Portal::Impl::device_check(http::Request& request, Visit& visit, http::Responder respond) {
  std::string device(request.query_param("device").value_or(""));
  json context = {{"title", site->text(visit, "devices_title")},
                  {"device", device},
                  {"result", nullptr},
                  {"message", ""}};
  if (!device.empty()) {
    std::string compact;
    for (char c : device) {
      if (c != ' ' && c != '-') compact += c;
    }
    bool digits = !compact.empty() && compact.find_first_not_of("0123456789") == std::string::npos;
    auto check = digits && compact.size() == 15   ? deps.devices.check_imei(compact)
                 : digits && compact.size() == 32 ? deps.devices.check_eid(compact)
                                                  : deps.devices.check_model(device);
    if (!check.is_ok()) {
      context["message"] =
          site->text(visit, fmt::format("error_{}", error_name(check.status().code())));
    } else {
      std::string verdict = !check->esim_capable   ? "devices_unknown"
                            : *check->esim_capable ? "devices_yes"
                                                   : "devices_no";
      context["result"] = {
          {"capable", check->esim_capable.value_or(false)},
          {"verdict", site->text(visit, verdict)},
          {"model", check->device ? check->device->brand + " " + check->device->model : ""}};
    }
  }
  respond(page(visit, "devices", std::move(context)));
}

void Portal::Impl::plans_page(http::Request&, Visit& visit, http::Responder respond) {
  auto plans = deps.plans.list(true);
  if (!plans.is_ok()) return respond(error(visit, plans.status()));
  json list = json::array();
  for (const auto& plan : *plans) list.push_back(plan_view(visit, plan));
  respond(page(visit, "plans", {{"title", site->text(visit, "plans_title")}, {"plans", list}}));
}

void Portal::Impl::settings_page(http::Request& request, Visit& visit, http::Responder respond) {
  auto account = accounts.get(customer_id(visit));
  if (!account.is_ok()) return respond(error(visit, account.status()));
  respond(page(visit, "settings",
               {{"title", site->text(visit, "settings_title")},
                {"login", account->login},
                {"zh", account->language == Language::kZhCn},
                {"notify_sms", account->notify_sms},
                {"saved", request.query_param("saved").has_value()}}));
}

void Portal::Impl::save_settings(http::Request& request, Visit& visit, http::Responder respond) {
  auto form = this->form(request, visit, respond);
  if (!form) return;
  auto language = parse_language(form_value(*form, "language"));
  if (!language) {
    return respond(error(visit, Status(ErrorCode::kValidationFailed, "unknown language")));
  }
  bool notify = form_value(*form, "notify_sms") == "on";
  if (auto status = accounts.update_preferences(customer_id(visit), *language, notify);
      !status.is_ok()) {
    return respond(error(visit, status));
  }
  site->remember_language(visit, *language);
  respond(site->redirect(visit, "/settings?saved=1"));
}

}  // namespace station::web
