#include "billing/billing.h"

#include <array>
#include <cassert>
#include <regex>

#include <fmt/format.h>

#include "auth/api_keys.h"
#include "common/limits.h"

namespace station::billing {
namespace {

using ledger::AccountKind;
using storage::Value;

constexpr std::array kChannelNames = {"app", "web", "partner", "voucher", "admin"};

bool has_control_characters(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Strict UTF-8 (no overlongs, no surrogates): names come from users and end up in SMS and PDFs.
bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    constexpr std::uint32_t kMinByLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinByLength[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

Status check_text(std::string_view field, std::string_view value, std::size_t max_bytes,
                  bool required) {
  if (required && value.empty()) {
    return Status(ErrorCode::kValidationFailed, fmt::format("{} must not be empty", field));
  }
  if (value.size() > max_bytes) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("{} must be at most {} bytes", field, max_bytes));
  }
  if (!is_valid_utf8(value) || has_control_characters(value)) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("{} must be UTF-8 text without control characters", field));
  }
  return Status::ok();
}

Result<Currency> check_currency(std::string_view code) {
  auto currency = Currency::from_code(code);
  if (!currency) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("currency '{}' is not a supported ISO 4217 code", code));
  }
  return *currency;
}

Status check_amount(std::int64_t amount_minor) {
  if (amount_minor <= 0 || amount_minor > limits::kTransferAmountMinorMax) {
    return Status(ErrorCode::kAmountOutOfRange,
                  fmt::format("amount_minor must be between 1 and {}",
                              limits::kTransferAmountMinorMax));
  }
  return Status::ok();
}

std::string fingerprint(std::initializer_list<std::string_view> parts) {
  std::string joined;
  for (auto part : parts) {
    joined += part;
    joined.push_back('\x1f');  // unit separator: cannot appear in validated fields
  }
  return auth::sha256_hex(joined);
}

std::string account_code(AccountKind kind, const Currency& currency) {
  return fmt::format("{}:{}", ledger::account_kind_name(kind), currency.code());
}

Value optional_text(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  return *text;
}

Customer customer_from_row(const storage::Row& row) {
  Customer c;
  c.id = row.int_at(0);
  c.name = row.text_at(1);
  if (!row.is_null(2)) c.phone = row.text_at(2);
  if (!row.is_null(3)) c.email = row.text_at(3);
  c.currency = row.text_at(4);
  c.language = row.text_at(5);
  c.wallet_account_id = row.int_at(6);
  c.created_at_ms = row.int_at(7);
  return c;
}

constexpr std::string_view kCustomerColumns =
    "id, name, phone, email, currency, language, wallet_account_id, created_at_ms";

}  // namespace

std::string_view topup_channel_name(TopupChannel channel) {
  return kChannelNames[static_cast<std::size_t>(channel)];
}

std::optional<TopupChannel> parse_topup_channel(std::string_view name) {
  for (std::size_t i = 0; i < kChannelNames.size(); ++i) {
    if (kChannelNames[i] == name) return static_cast<TopupChannel>(i);
  }
  return std::nullopt;
}

Billing::Billing(storage::Database& database, ledger::Ledger& ledger, auth::AuditWriter& audit,
                 IdGenerator& ids, const Clock& clock, Currency default_currency)
    : database_(database),
      ledger_(ledger),
      audit_(audit),
      ids_(ids),
      clock_(clock),
      default_currency_(default_currency) {}

Status Billing::prepare() {
  for (auto kind : {AccountKind::kCash, AccountKind::kPartnerSettlement, AccountKind::kPromotions,
                    AccountKind::kRevenue}) {
    auto account = operator_account(kind, default_currency_);
    if (!account.is_ok()) return account.status();
  }
  return Status::ok();
}

Result<Id> Billing::operator_account(AccountKind kind, const Currency& currency) {
  std::string code = account_code(kind, currency);
  if (auto existing = ledger_.account_by_code(code)) return existing->id;
  std::lock_guard lock(accounts_mutex_);
  if (auto existing = ledger_.account_by_code(code)) return existing->id;
  ledger::AccountSpec spec;
  spec.kind = kind;
  spec.code = code;
  spec.currency = currency;
  spec.floor_minor = std::nullopt;  // operator accounts carry the other side of every wallet
  STATION_ASSIGN_OR_RETURN(auto account, ledger_.create_account_and_wait(spec));
  return account.id;
}

void Billing::create_customer(NewCustomer request, Actor actor,
                              std::function<void(Result<Customer>)> done) {
  auto fail = [&](Status status) { done(std::move(status)); };
  if (auto s = check_text("name", request.name, limits::kNameBytesMax, true); !s.is_ok()) {
    return fail(s);
  }
  static const std::regex kE164(R"(\+[1-9][0-9]{6,14})");
  if (request.phone && !std::regex_match(*request.phone, kE164)) {
    return fail(Status(ErrorCode::kValidationFailed,
                       "phone must be in E.164 form, e.g. +8613800138000"));
  }
  static const std::regex kEmail(R"([^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})");
  if (request.email && (request.email->size() > limits::kEmailBytesMax ||
                        !std::regex_match(*request.email, kEmail))) {
    return fail(Status(ErrorCode::kValidationFailed, "email is not a valid address"));
  }
  auto currency = check_currency(request.currency.value_or(std::string(default_currency_.code())));
  if (!currency.is_ok()) return fail(currency.status());
  std::string language = request.language.value_or("zh-CN");
  if (language != "zh-CN" && language != "en") {
    return fail(Status(ErrorCode::kValidationFailed, "language must be 'zh-CN' or 'en'"));
  }

  // The wallet's currency needs its operator accounts before any money can move.
  for (auto kind : {AccountKind::kCash, AccountKind::kPartnerSettlement, AccountKind::kPromotions,
                    AccountKind::kRevenue}) {
    auto account = operator_account(kind, *currency);
    if (!account.is_ok()) return fail(account.status());
  }

  auto customer = std::make_shared<Customer>();
  customer->id = ids_.next();
  customer->name = std::move(request.name);
  customer->phone = std::move(request.phone);
  customer->email = std::move(request.email);
  customer->currency = std::string(currency->code());
  customer->language = language;
  customer->created_at_ms = clock_.now_unix_ms();

  ledger::AccountSpec spec;
  spec.kind = AccountKind::kWallet;
  spec.currency = *currency;
  spec.floor_minor = 0;
  auto audit_entry = auth::AuditEntry{ids_.next(), customer->created_at_ms, actor.name,
                                      "customer.create", format_public_id("cus", customer->id),
                                      actor.request_id, "succeeded", "{}"};
  ledger_.create_account(
      spec,
      [customer, audit_entry](storage::Connection& connection,
                              const ledger::Account& wallet) -> Status {
        customer->wallet_account_id = wallet.id;
        std::array<Value, 8> params = {customer->id,
                                       customer->name,
                                       optional_text(customer->phone),
                                       optional_text(customer->email),
                                       customer->currency,
                                       customer->language,
                                       wallet.id,
                                       customer->created_at_ms};
        STATION_RETURN_IF_ERROR(connection.execute(
            "INSERT INTO customers (id, name, phone, email, currency, language, "
            "wallet_account_id, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params));
        return auth::insert_audit_entry(connection, audit_entry);
      },
      [customer, done = std::move(done)](Result<ledger::Account> wallet) {
        if (!wallet.is_ok()) return done(wallet.status());
        customer->wallet_account_id = wallet->id;
        done(*customer);
      });
}

Result<Customer> Billing::get_customer(Id customer_id) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  std::array<Value, 1> params = {customer_id};
  STATION_ASSIGN_OR_RETURN(
      auto rows,
      connection->query(fmt::format("SELECT {} FROM customers WHERE id = ?", kCustomerColumns),
                        params));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no such customer");
  return customer_from_row(rows[0]);
}

Result<std::vector<Customer>> Billing::search_customers(std::string_view query) {
  while (!query.empty() && query.front() == ' ') query.remove_prefix(1);
  while (!query.empty() && query.back() == ' ') query.remove_suffix(1);
  if (query.empty() || query.size() > kCustomerSearchBytesMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("a search is 1 to {} bytes", kCustomerSearchBytesMax));
  }
  std::string digits;
  bool phone_like = true;
  for (char c : query) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c != '+' && c != ' ' && c != '-') {
      phone_like = false;
    }
  }
  std::string where;
  std::vector<Value> params;
  if (auto id = parse_public_id(kCustomerIdPrefix, query)) {
    where = "id = ?";
    params.emplace_back(*id);
  } else if (query.find('@') != std::string_view::npos) {
    where = "LOWER(email) = LOWER(?)";
    params.emplace_back(std::string(query));
  } else if (phone_like && !digits.empty()) {
    where = "phone LIKE ?";
    params.emplace_back("%" + digits);
  } else {
    // The typed text is a literal: LIKE's wildcards in it are escaped.
    std::string pattern = "%";
    for (char c : query) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    where = "LOWER(name) LIKE LOWER(?) ESCAPE '\\'";
    params.emplace_back(pattern + "%");
  }
  params.emplace_back(static_cast<std::int64_t>(kCustomerSearchResultsMax));
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(
      auto rows, connection->query(fmt::format("SELECT {} FROM customers WHERE {} ORDER BY id "
                                               "DESC LIMIT ?",
                                               kCustomerColumns, where),
                                   params));
  std::vector<Customer> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(customer_from_row(row));
  return out;
}

Result<std::vector<TopupTotal>> Billing::topup_totals_since(std::int64_t since_ms) {
  STATION_RETURN_IF_ERROR(ledger_.flush_journal());
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {since_ms};
  STATION_ASSIGN_OR_RETURN(
      auto rows,
      connection->query("SELECT t.currency, COUNT(*), SUM(t.amount_minor) FROM topups p "
                        "JOIN transfers t ON t.id = p.transfer_id "
                        "WHERE t.created_at_ms >= ? AND t.state = 'posted' "
                        "GROUP BY t.currency ORDER BY t.currency",
                        params));
  std::vector<TopupTotal> out;
  for (const auto& row : rows) out.push_back({row.text_at(0), row.int_at(1), row.int_at(2)});
  return out;
}

Result<ledger::Account> Billing::wallet(Id customer_id) {
  STATION_ASSIGN_OR_RETURN(auto customer, get_customer(customer_id));
  auto account = ledger_.account(customer.wallet_account_id);
  if (!account) return Status(ErrorCode::kInternal, "a customer without a wallet account");
  return *account;
}

Result<Billing::WalletRef> Billing::wallet_ref(Id customer_id) {
  {
    std::lock_guard lock(wallets_mutex_);
    auto it = wallets_.find(customer_id);
    if (it != wallets_.end()) return it->second;
  }
  STATION_ASSIGN_OR_RETURN(auto customer, get_customer(customer_id));
  WalletRef ref{customer.id, customer.wallet_account_id, customer.currency};
  std::lock_guard lock(wallets_mutex_);
  if (wallets_.size() >= limits::kWalletCacheEntriesMax) wallets_.clear();
  wallets_[customer_id] = ref;
  return ref;
}

Result<std::pair<Billing::WalletRef, Currency>> Billing::money_target(Id customer_id,
                                                                     std::string_view currency) {
  STATION_ASSIGN_OR_RETURN(auto known, check_currency(currency));
  STATION_ASSIGN_OR_RETURN(auto wallet, wallet_ref(customer_id));
  if (wallet.currency != currency) {
    return Status(ErrorCode::kCurrencyMismatch,
                  fmt::format("the wallet holds {}, not {}", wallet.currency, currency));
  }
  return std::make_pair(std::move(wallet), known);
}

Result<Id> Billing::wallet_account_for(Id customer_id, std::string_view currency) {
  STATION_ASSIGN_OR_RETURN(auto target, money_target(customer_id, currency));
  return target.first.wallet_account_id;
}

Result<Id> Billing::operator_account_for(AccountKind kind, std::string_view currency) {
  STATION_ASSIGN_OR_RETURN(auto known, check_currency(currency));
  return operator_account(kind, known);
}

void Billing::topup(TopupRequest request, std::string idempotency_key, Actor actor,
                    MovementCallback done) {
  auto fail = [&](Status status) { done(MovementOutcome{std::move(status), std::nullopt, false}); };
  if (auto s = check_amount(request.amount_minor); !s.is_ok()) return fail(s);
  if (auto s = check_text("reference", request.reference, limits::kReferenceBytesMax, false);
      !s.is_ok()) {
    return fail(s);
  }
  auto wallet = money_target(request.customer_id, request.currency);
  if (!wallet.is_ok()) return fail(wallet.status());
  const Currency currency = wallet->second;
  const WalletRef* customer = &wallet->first;
  AccountKind source = AccountKind::kCash;
  if (request.channel == TopupChannel::kPartner) source = AccountKind::kPartnerSettlement;
  if (request.channel == TopupChannel::kAdmin) source = AccountKind::kPromotions;
  auto source_account = operator_account(source, currency);
  if (!source_account.is_ok()) return fail(source_account.status());

  ledger::TransferRequest transfer;
  transfer.fingerprint = fingerprint({"topup", std::to_string(request.customer_id),
                                      std::to_string(request.amount_minor), request.currency,
                                      topup_channel_name(request.channel), request.reference});
  transfer.idempotency_key = fmt::format("{}/{}", actor.key_id, idempotency_key);
  transfer.debit_account_id = *source_account;
  transfer.credit_account_id = customer->wallet_account_id;
  transfer.amount_minor = request.amount_minor;
  transfer.currency = currency;
  transfer.category = "topup";
  transfer.reference = request.reference;
  transfer.description = fmt::format("top-up via {}", topup_channel_name(request.channel));
  submit_movement(std::move(transfer), customer->customer_id, request.channel, "topup.create",
                  std::move(actor), std::move(done));
}

void Billing::charge(ChargeRequest request, std::string idempotency_key, Actor actor,
                     MovementCallback done) {
  auto fail = [&](Status status) { done(MovementOutcome{std::move(status), std::nullopt, false}); };
  if (auto s = check_amount(request.amount_minor); !s.is_ok()) return fail(s);
  if (auto s = check_text("description", request.description, limits::kDescriptionBytesMax, true);
      !s.is_ok()) {
    return fail(s);
  }
  auto wallet = money_target(request.customer_id, request.currency);
  if (!wallet.is_ok()) return fail(wallet.status());
  const Currency currency = wallet->second;
  const WalletRef* customer = &wallet->first;
  auto revenue = operator_account(AccountKind::kRevenue, currency);
  if (!revenue.is_ok()) return fail(revenue.status());

  ledger::TransferRequest transfer;
  transfer.fingerprint = fingerprint({"charge", std::to_string(request.customer_id),
                                      std::to_string(request.amount_minor), request.currency,
                                      request.description});
  transfer.idempotency_key = fmt::format("{}/{}", actor.key_id, idempotency_key);
  transfer.debit_account_id = customer->wallet_account_id;
  transfer.credit_account_id = *revenue;
  transfer.amount_minor = request.amount_minor;
  transfer.currency = currency;
  transfer.category = "charge";
  transfer.description = request.description;
  submit_movement(std::move(transfer), customer->customer_id, std::nullopt, "charge.create",
                  std::move(actor), std::move(done));
}

void Billing::submit_movement(ledger::TransferRequest transfer, Id customer_id,
                              std::optional<TopupChannel> channel, std::string action,
                              Actor actor, MovementCallback done) {
  const bool is_topup = channel.has_value();
  auto audit = auth::AuditEntry{0, 0, actor.name, action, format_public_id("cus", customer_id),
                                actor.request_id, "succeeded", "{}"};
  IdGenerator& ids = ids_;
  transfer.attached_rows = [audit, customer_id, channel, &ids](
                               const ledger::Transfer& made, ledger::AttachedRows& rows) mutable {
    if (channel) {
      rows.add("INSERT INTO topups (transfer_id, customer_id, channel)",
               {made.id, customer_id, std::string(topup_channel_name(*channel))});
    }
    audit.id = ids.next();
    audit.at_ms = made.created_at_ms;
    audit.detail = fmt::format(R"({{"transfer_id":{},"amount_minor":{},"currency":"{}"}})",
                               made.id, made.amount_minor, made.currency);
    rows.add(auth::kAuditInsertHead, auth::audit_row(audit));
  };
  ledger_.submit(
      std::move(transfer),
      [this, audit, customer_id, channel, is_topup, done = std::move(done)](
          ledger::TransferOutcome outcome) mutable {
        if (!outcome.status.is_ok()) {
          // Refusals are audited too (outside the ledger transaction: nothing else was written).
          if (!outcome.replayed) {
            audit.id = ids_.next();
            audit.at_ms = clock_.now_unix_ms();
            audit.outcome = std::string(error_name(outcome.status.code()));
            audit_.record(audit);
          }
          return done(MovementOutcome{outcome.status, std::nullopt, outcome.replayed});
        }
        assert(outcome.transfer.has_value());
        Movement movement;
        movement.transfer = std::move(*outcome.transfer);
        movement.customer_id = customer_id;
        movement.channel = channel;
        movement.wallet_balance_after_minor = is_topup
                                                  ? movement.transfer.credit_balance_after_minor
                                                  : movement.transfer.debit_balance_after_minor;
        done(MovementOutcome{Status::ok(), std::move(movement), outcome.replayed});
      });
}

Result<Movement> Billing::movement_from_transfer(storage::Connection& connection,
                                                 ledger::Transfer transfer) {
  Movement movement;
  if (transfer.category == "topup") {
    std::array<Value, 1> params = {transfer.id};
    STATION_ASSIGN_OR_RETURN(
        auto rows,
        connection.query("SELECT customer_id, channel FROM topups WHERE transfer_id = ?", params));
    if (rows.empty()) return Status(ErrorCode::kInternal, "a top-up without its channel row");
    movement.customer_id = rows[0].int_at(0);
    movement.channel = parse_topup_channel(rows[0].text_at(1));
    movement.wallet_balance_after_minor = transfer.credit_balance_after_minor;
  } else {
    std::array<Value, 2> params = {transfer.debit_account_id, transfer.credit_account_id};
    STATION_ASSIGN_OR_RETURN(
        auto rows, connection.query("SELECT id, wallet_account_id FROM customers "
                                    "WHERE wallet_account_id IN (?, ?)",
                                    params));
    if (rows.empty()) return Status(ErrorCode::kNotFound, "not a customer's transaction");
    movement.customer_id = rows[0].int_at(0);
    movement.wallet_balance_after_minor = rows[0].int_at(1) == transfer.debit_account_id
                                              ? transfer.debit_balance_after_minor
                                              : transfer.credit_balance_after_minor;
  }
  movement.transfer = std::move(transfer);
  return movement;
}

Result<Movement> Billing::get_topup(Id transfer_id) {
  STATION_RETURN_IF_ERROR(ledger_.flush_journal());
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  auto transfer = ledger::get_transfer(*connection, transfer_id);
  if (!transfer.is_ok() || transfer->category != "topup") {
    return Status(ErrorCode::kNotFound, "no such top-up");
  }
  return movement_from_transfer(*connection, std::move(transfer).value());
}

Result<Movement> Billing::get_charge(Id transfer_id) {
  STATION_RETURN_IF_ERROR(ledger_.flush_journal());
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  auto transfer = ledger::get_transfer(*connection, transfer_id);
  if (!transfer.is_ok() || transfer->category != "charge") {
    return Status(ErrorCode::kNotFound, "no such charge");
  }
  return movement_from_transfer(*connection, std::move(transfer).value());
}

Result<std::vector<Movement>> Billing::transactions(Id customer_id, std::optional<Id> before_id,
                                                    std::uint32_t limit) {
  STATION_ASSIGN_OR_RETURN(auto customer, get_customer(customer_id));
  STATION_RETURN_IF_ERROR(ledger_.flush_journal());
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transfers,
                           ledger::list_account_transfers(*connection, customer.wallet_account_id,
                                                          before_id, limit));
  std::vector<Movement> out;
  out.reserve(transfers.size());
  for (auto& transfer : transfers) {
    Movement movement;
    movement.customer_id = customer_id;
    bool wallet_is_debit = transfer.debit_account_id == customer.wallet_account_id;
    movement.wallet_balance_after_minor = wallet_is_debit ? transfer.debit_balance_after_minor
                                                          : transfer.credit_balance_after_minor;
    movement.transfer = std::move(transfer);
    out.push_back(std::move(movement));
  }
  return out;
}

}  // namespace station::billing
