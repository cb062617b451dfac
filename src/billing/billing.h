// billing: subscribers (customers) and the money that moves through their wallets: top-ups and
// charges. The domain between the API and the ledger: it decides which accounts a movement
// touches, names idempotency keys, and records the audit trail; the ledger keeps the money.
//
// Accounts: each customer has one wallet (floor 0). Per currency the operator has a cash account
// (money received through the app, web or vouchers), a partner settlement account (money owed by
// third-party top-up platforms), a promotions account (goodwill and bonus credit, used by admin
// top-ups) and a revenue account (credited by charges). They are created on first use.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/audit.h"
#include "common/clock.h"
#include "common/id.h"
#include "common/money.h"
#include "common/result.h"
#include "ledger/ledger.h"
#include "storage/database.h"

namespace station::billing {

inline constexpr std::string_view kCustomerIdPrefix = "cus";

struct NewCustomer {
  std::string name;
  std::optional<std::string> phone;  // E.164, e.g. +8613800138000
  std::optional<std::string> email;
  std::optional<std::string> currency;  // default: the operator's currency
  std::optional<std::string> language;  // "zh-CN" or "en"; default "zh-CN"
};

struct Customer {
  Id id = 0;
  std::string name;
  std::optional<std::string> phone;
  std::optional<std::string> email;
  std::string currency;
  std::string language;
  Id wallet_account_id = 0;
  std::int64_t created_at_ms = 0;
};

enum class TopupChannel : std::uint8_t { kApp, kWeb, kPartner, kVoucher, kAdmin };
std::string_view topup_channel_name(TopupChannel channel);
std::optional<TopupChannel> parse_topup_channel(std::string_view name);

// Who asks, for the audit trail and to scope idempotency keys per caller.
struct Actor {
  std::string name;        // "key:<prefix>" or "cli"
  Id key_id = 0;           // scopes idempotency keys; 0 for the CLI
  std::string request_id;  // empty for the CLI
};

// Top-ups of one currency over a time range, as the operator's dashboard counts them.
struct TopupTotal {
  std::string currency;
  std::int64_t count = 0;
  std::int64_t amount_minor = 0;
};

inline constexpr std::uint32_t kCustomerSearchResultsMax = 50;
inline constexpr std::size_t kCustomerSearchBytesMax = 200;

struct TopupRequest {
  Id customer_id = 0;
  std::int64_t amount_minor = 0;
  std::string currency;
  TopupChannel channel = TopupChannel::kApp;
  std::string reference;
};

struct ChargeRequest {
  Id customer_id = 0;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string description;
};

// A top-up or charge as the API shows it.
struct Movement {
  ledger::Transfer transfer;
  Id customer_id = 0;
  std::optional<TopupChannel> channel;  // top-ups only
  std::int64_t wallet_balance_after_minor = 0;
};

struct MovementOutcome {
  Status status;                    // ok, or the refusal
  std::optional<Movement> movement;
  bool replayed = false;
};

using MovementCallback = std::function<void(MovementOutcome)>;

class Billing {
 public:
  Billing(storage::Database& database, ledger::Ledger& ledger, auth::AuditWriter& audit,
          IdGenerator& ids, const Clock& clock, Currency default_currency);

  // Creates the operator accounts of the default currency; call once at start-up.
  Status prepare();

  void create_customer(NewCustomer request, Actor actor,
                       std::function<void(Result<Customer>)> done);
  Result<Customer> get_customer(Id customer_id);
  // Customers for support's search box, newest first, at most kCustomerSearchResultsMax: a
  // "cus_..." id exactly; text with '@' an email exactly (case-insensitively); digits (with '+',
  // spaces or '-') the phone numbers ending in them; anything else a part of the name
  // (case-insensitively for ASCII). kValidationFailed for an empty or too long query.
  Result<std::vector<Customer>> search_customers(std::string_view query);
  // The customer's wallet as the ledger holds it now (committed state).
  Result<ledger::Account> wallet(Id customer_id);

  // The idempotency key is the client's; it is scoped by actor.key_id before reaching the ledger.
  void topup(TopupRequest request, std::string idempotency_key, Actor actor,
             MovementCallback done);
  void charge(ChargeRequest request, std::string idempotency_key, Actor actor,
              MovementCallback done);

  Result<Movement> get_topup(Id transfer_id);
  Result<Movement> get_charge(Id transfer_id);
  // The wallet's movements, newest first, with id < before_id when given.
  Result<std::vector<Movement>> transactions(Id customer_id, std::optional<Id> before_id,
                                             std::uint32_t limit);

  // Posted top-ups created at or after `since_ms`, per currency (by currency code).
  Result<std::vector<TopupTotal>> topup_totals_since(std::int64_t since_ms);

  const Currency& default_currency() const { return default_currency_; }

  // For other domains that move a customer's money (orders): the wallet that holds `currency`
  // (kCurrencyMismatch when it holds another), and the operator's account of a kind and
  // currency, created on first use.
  Result<Id> wallet_account_for(Id customer_id, std::string_view currency);
  Result<Id> operator_account_for(ledger::AccountKind kind, std::string_view currency);

 private:
  // A customer's wallet and currency never change, so money paths keep them in memory rather
  // than reading the customer row on every top-up and charge.
  struct WalletRef {
    Id customer_id = 0;
    Id wallet_account_id = 0;
    std::string currency;
  };
  Result<WalletRef> wallet_ref(Id customer_id);
  // The wallet money in `currency` would move to or from: kCurrencyMismatch when the wallet
  // holds another currency.
  Result<std::pair<WalletRef, Currency>> money_target(Id customer_id, std::string_view currency);
  Result<Id> operator_account(ledger::AccountKind kind, const Currency& currency);
  void submit_movement(ledger::TransferRequest transfer, Id customer_id,
                       std::optional<TopupChannel> channel, std::string action, Actor actor,
                       MovementCallback done);
  Result<Movement> movement_from_transfer(storage::Connection& connection,
                                          ledger::Transfer transfer);

  storage::Database& database_;
  ledger::Ledger& ledger_;
  auth::AuditWriter& audit_;
  IdGenerator& ids_;
  const Clock& clock_;
  Currency default_currency_;
  std::mutex accounts_mutex_;  // serialises first-use creation of operator accounts
  std::mutex wallets_mutex_;
  std::unordered_map<Id, WalletRef> wallets_;  // GUARDED_BY(wallets_mutex_)
};

}  // namespace station::billing
