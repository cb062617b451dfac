// The portal's money pages: balance and top-up, transaction history (filters, CSV export) and
// monthly statements.
#include <fmt/format.h>

#include <map>

#include "common/limits.h"
#include "web/portal_impl.h"

namespace station::web {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 3> kKinds = {"topup", "order", "charge"};

bool is_credit(const billing::Movement& movement, Id wallet_account_id) {
  return movement.transfer.credit_account_id == wallet_account_id;
}

// Posted money only: a pending reservation that was voided or expired never moved the balance.
bool moved_money(const billing::Movement& movement) {
  return movement.transfer.state == ledger::TransferState::kPosted;
}

struct HistoryFilter {
  std::optional<std::int64_t> from_ms;   // inclusive
  std::optional<std::int64_t> until_ms;  // exclusive (the day after "to")
  std::string from, to, kind;            // as given, for the form

  bool matches(const billing::Movement& movement) const {
    const auto& t = movement.transfer;
    if (from_ms && t.created_at_ms < *from_ms) return false;
    if (until_ms && t.created_at_ms >= *until_ms) return false;
    return kind.empty() || t.category == kind;
  }
  std::string query() const { return fmt::format("from={}&to={}&kind={}", from, to, kind); }
};

// Reads the filter; unknown values are dropped rather than refused, as a form can only send
// valid ones and a hand-edited URL gets the unfiltered list.
HistoryFilter read_filter(const http::Request& request) {
  HistoryFilter filter;
  if (auto from = request.query_param("from"); from && parse_date_utc(*from)) {
    filter.from = *from;
    filter.from_ms = parse_date_utc(*from);
  }
  if (auto to = request.query_param("to"); to && parse_date_utc(*to)) {
    filter.to = *to;
    filter.until_ms = *parse_date_utc(*to) + 24 * 3600 * 1000;
  }
  if (auto kind = request.query_param("kind")) {
    for (auto known : kKinds) {
      if (*kind == known) filter.kind = known;
    }
  }
  return filter;
}

// A CSV field: quoted when it holds a separator, quote or line break; a leading = + - @ is
// neutralised with a quote mark so that a spreadsheet never runs it as a formula.
std::string csv_field(std::string_view text) {
  std::string value(text);
  if (!value.empty() &&
      (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@')) {
    value.insert(0, "'");
  }
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string plain_amount(std::int64_t amount_minor, std::string_view currency) {
  auto known = Currency::from_code(currency);
  if (!known) return std::to_string(amount_minor);
  std::string text = format_amount(amount_minor, *known);
  std::erase(text, ',');
  return amount_minor < 0 ? "-" + text : text;
}

}  // namespace

Result<std::vector<billing::Movement>> Portal::Impl::movements(Id customer_id) {
  std::vector<billing::Movement> all;
  std::optional<Id> before;
  while (all.size() < kHistoryMovementsMax) {
    STATION_ASSIGN_OR_RETURN(auto page,
                             deps.billing.transactions(customer_id, before, limits::kPageSizeMax));
    for (auto& movement : page) all.push_back(std::move(movement));
    if (page.size() < limits::kPageSizeMax) break;
    before = all.back().transfer.id;
  }
  if (all.size() > kHistoryMovementsMax) all.resize(kHistoryMovementsMax);
  return all;
}

void Portal::Impl::wallet_page(http::Request& request, Visit& visit, http::Responder respond) {
  auto customer = deps.billing.get_customer(customer_id(visit));
  if (!customer.is_ok()) return respond(error(visit, customer.status()));
  auto wallet = deps.billing.wallet(customer_id(visit));
  if (!wallet.is_ok()) return respond(error(visit, wallet.status()));
  auto key = random_hex(16);
  if (!key.is_ok()) return respond(error(visit, key.status()));
  std::string done(request.query_param("done").value_or(""));
  respond(
      page(visit, "wallet",
           {{"title", site->text(visit, "wallet_title")},
            {"balance", money(visit, wallet->balance_minor, customer->currency)},
            {"available", money(visit, wallet->available_minor(), customer->currency)},
            {"pending", wallet->pending_debit_minor > 0
                            ? json(money(visit, wallet->pending_debit_minor, customer->currency))
                            : json(nullptr)},
            {"currency", customer->currency},
            {"idempotency_key", *key},
            {"topped_up", done == "topup"},
            {"message", ""}}));
}

void Portal::Impl::top_up(http::Request& request, Visit& visit, http::Responder respond) {
  auto form = this->form(request, visit, respond);
  if (!form) return;
  auto customer = deps.billing.get_customer(customer_id(visit));
  if (!customer.is_ok()) return respond(error(visit, customer.status()));
  auto currency = Currency::from_code(customer->currency);
  if (!currency) return respond(error(visit, Status(ErrorCode::kInternal, "wallet currency")));
  auto amount =
      parse_amount(form_value(*form, "amount"), *currency, limits::kTransferAmountMinorMax);
  std::string key = form_value(*form, "idempotency_key");
  if (!amount.is_ok()) return respond(error(visit, amount.status()));
  if (key.size() != 32) {
    return respond(error(visit, Status(ErrorCode::kIdempotencyKeyInvalid, "form key")));
  }
  billing::TopupRequest topup;
  topup.customer_id = customer->id;
  topup.amount_minor = *amount;
  topup.currency = customer->currency;
  topup.channel = billing::TopupChannel::kWeb;
  topup.reference = "portal";
  // Keys are scoped by the customer: each form carries a fresh one, so a double submit or a
  // reload of the POST tops up once.
  billing::Actor actor{format_public_id("cus", customer->id), customer->id, request.request_id};
  deps.billing.topup(std::move(topup), "web-topup:" + key, actor,
                     [this, visit, respond](billing::MovementOutcome outcome) {
                       if (!outcome.status.is_ok()) return respond(error(visit, outcome.status));
                       respond(site->redirect(visit, "/wallet?done=topup"));
                     });
}

void Portal::Impl::transactions_page(http::Request& request, Visit& visit,
                                     http::Responder respond) {
  auto customer = deps.billing.get_customer(customer_id(visit));
  if (!customer.is_ok()) return respond(error(visit, customer.status()));
  auto all = movements(customer->id);
  if (!all.is_ok()) return respond(error(visit, all.status()));
  HistoryFilter filter = read_filter(request);
  json rows = json::array();
  for (const auto& movement : *all) {
    if (!filter.matches(movement)) continue;
    const auto& t = movement.transfer;
    bool credit = is_credit(movement, customer->wallet_account_id);
    rows.push_back(
        {{"date", format_time_utc(t.created_at_ms)},
         {"kind", site->text(visit, "kind_" + t.category)},
         {"description", t.description.empty() ? t.reference : t.description},
         {"credit", credit},
         {"amount", money(visit, credit ? t.amount_minor : -t.amount_minor, t.currency)},
         {"balance", moved_money(movement)
                         ? json(money(visit, movement.wallet_balance_after_minor, t.currency))
                         : json("")},
         {"state",
          site->text(visit, fmt::format("state_{}", ledger::transfer_state_name(t.state)))}});
  }
  json kinds = json::array();
  for (auto kind : kKinds) {
    kinds.push_back({{"value", kind},
                     {"label", site->text(visit, fmt::format("kind_{}", kind))},
                     {"selected", filter.kind == kind}});
  }
  respond(page(visit, "transactions",
               {{"title", site->text(visit, "transactions_title")},
                {"rows", rows},
                {"has_rows", !rows.empty()},
                {"from", filter.from},
                {"to", filter.to},
                {"kinds", kinds},
                {"csv", "/transactions.csv?" + filter.query()}}));
}

void Portal::Impl::transactions_csv(http::Request& request, Visit& visit, http::Responder respond) {
  auto customer = deps.billing.get_customer(customer_id(visit));
  if (!customer.is_ok()) return respond(error(visit, customer.status()));
  auto all = movements(customer->id);
  if (!all.is_ok()) return respond(error(visit, all.status()));
  HistoryFilter filter = read_filter(request);
  std::string csv =
      "id,created_at,kind,direction,amount,currency,balance_after,state,description,reference\r\n";
  for (const auto& movement : *all) {
    if (!filter.matches(movement)) continue;
    const auto& t = movement.transfer;
    bool credit = is_credit(movement, customer->wallet_account_id);
    csv += fmt::format(
        "{},{},{},{},{},{},{},{},{},{}\r\n", format_public_id("tr", t.id),
        format_rfc3339_ms(t.created_at_ms), t.category, credit ? "credit" : "debit",
        plain_amount(credit ? t.amount_minor : -t.amount_minor, t.currency), t.currency,
        moved_money(movement) ? plain_amount(movement.wallet_balance_after_minor, t.currency) : "",
        ledger::transfer_state_name(t.state), csv_field(t.description), csv_field(t.reference));
  }
  http::Response response = site->file(visit, "text/csv; charset=utf-8", std::move(csv));
  response.headers.emplace_back("Content-Disposition",
                                "attachment; filename=\"station-transactions.csv\"");
  respond(std::move(response));
}

void Portal::Impl::statements_page(http::Request&, Visit& visit, http::Responder respond) {
  auto customer = deps.billing.get_customer(customer_id(visit));
  if (!customer.is_ok()) return respond(error(visit, customer.status()));
  auto all = movements(customer->id);
  if (!all.is_ok()) return respond(error(visit, all.status()));
  struct Month {
    std::int64_t opening_minor = 0;
    std::int64_t credits_minor = 0;
    std::int64_t debits_minor = 0;
    std::int64_t closing_minor = 0;
    std::int64_t count = 0;
  };
  std::map<std::string, Month, std::greater<>> months;  // "YYYY-MM", newest first
  // Oldest first, so each month's first movement gives its opening balance.
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    if (!moved_money(*it)) continue;
    const auto& t = it->transfer;
    bool credit = is_credit(*it, customer->wallet_account_id);
    Month& month = months[format_date_utc(t.created_at_ms).substr(0, 7)];
    if (month.count++ == 0) {
      auto opening = credit ? checked_sub(it->wallet_balance_after_minor, t.amount_minor)
                            : checked_add(it->wallet_balance_after_minor, t.amount_minor);
      month.opening_minor = opening.value_or(0);
    }
    auto& sum = credit ? month.credits_minor : month.debits_minor;
    auto added = checked_add(sum, t.amount_minor);
    if (!added) return respond(error(visit, Status(ErrorCode::kOverflow, "statement sum")));
    sum = *added;
    month.closing_minor = it->wallet_balance_after_minor;
  }
  json rows = json::array();
  for (const auto& [name, month] : months) {
    rows.push_back({{"month", name},
                    {"opening", money(visit, month.opening_minor, customer->currency)},
                    {"credits", money(visit, month.credits_minor, customer->currency)},
                    {"debits", money(visit, month.debits_minor, customer->currency)},
                    {"closing", money(visit, month.closing_minor, customer->currency)},
                    {"count", month.count}});
  }
  respond(page(visit, "statements",
               {{"title", site->text(visit, "statements_title")}, {"months", rows}}));
}

}  // namespace station::web
