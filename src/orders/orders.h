// orders: the subscriber's path from "I want this plan on this device" to an activation code in
// hand: device and identity checks, payment, a profile from the inventory, the activation code,
// delivery, and cancellation with refund.
//
// States (order_state_name), each change recorded in order_events with its time and cause:
//
//   created -> paid -> profile_reserved -> code_issued -> downloaded -> installed -> active
//   created -> awaiting_payment -> paid                         (card: confirmed by webhook)
//   created | awaiting_payment -> failed                        (declined, timed out, no profile)
//   paid -> refunded                                            (card paid, no profile left)
//   awaiting_payment | paid | profile_reserved | code_issued -> cancelled -> refunded
//
// Money never goes missing between steps:
// - Wallet: a pending ledger transfer reserves the price (wallet -> revenue), then a profile is
//   allocated, then the reservation is posted with an attached write that moves the order to
//   code_issued in the same database transaction. No profile: the reservation is voided. A crash
//   between steps leaves the order in `created` with an unposted reservation: recover() voids it,
//   puts any profile it took back, and fails the order; the reservation also expires by itself.
// - Card: the provider's signed webhook confirms; the ledger transfer (cash -> revenue) and the
//   order's move to paid commit together. No profile: the money is refunded through the
//   provider. A success that arrives for an order no longer waiting (timed out, cancelled) is
//   refunded, never kept. Webhook events are recorded once, so redelivery changes nothing.
//
// Idempotency: every order carries its caller's Idempotency-Key (scoped per API key). The same
// key and request returns the order as it is now; another request under it is refused with
// idempotency_key_reused. Refusals before anything is written (unknown plan, bad device,
// identity not verified) are not stored and may be retried; once an order exists, its outcome
// (including insufficient_funds or no_profile_available) is what the key replays.
//
// Threads: create/cancel run their blocking steps on a small worker pool of their own (bounded
// by limits::kOrdersInFlightMax), never on the HTTP threads or the ledger writer.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "billing/billing.h"
#include "catalogue/plans.h"
#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "devices/catalogue.h"
#include "inventory/inventory.h"
#include "kyc/identities.h"
#include "ledger/ledger.h"
#include "messaging/messenger.h"
#include "orders/payments.h"
#include "storage/database.h"

namespace station::orders {

inline constexpr std::string_view kOrderIdPrefix = "ord";

enum class OrderState : std::uint8_t {
  kCreated,
  kAwaitingPayment,
  kPaid,
  kProfileReserved,
  kCodeIssued,
  kDownloaded,
  kInstalled,
  kActive,
  kCancelled,
  kRefunded,
  kFailed,
};
inline constexpr std::size_t kOrderStateCount = 11;
std::string_view order_state_name(OrderState state);
std::optional<OrderState> parse_order_state(std::string_view name);

// How many orders are in each state now (by OrderState, zero included), for the operator's
// dashboard.
using OrderStateCounts = std::array<std::int64_t, kOrderStateCount>;
Result<OrderStateCounts> count_orders_by_state(storage::Database& database);

enum class Delivery : std::uint8_t { kApp, kSms, kWeb };
std::string_view delivery_name(Delivery delivery);
std::optional<Delivery> parse_delivery(std::string_view name);

enum class PaymentMethod : std::uint8_t { kWallet, kCard };
std::string_view payment_method_name(PaymentMethod method);
std::optional<PaymentMethod> parse_payment_method(std::string_view name);

struct OrderSettings {
  std::string smdp_address = "smdp.station.localhost";
  // A per-market rule: ordering needs a verified identity (the default, as most markets that
  // sell SIMs require real-name registration).
  bool require_verified_identity = true;
  bool confirmation_code_required = false;
  std::uint32_t payment_timeout_seconds = 15 * 60;
  // How long a wallet reservation lives if the process dies before posting it.
  std::uint32_t reservation_timeout_seconds = 10 * 60;
};

struct NewOrder {
  Id customer_id = 0;
  std::string plan_code;
  std::optional<std::string> imei;
  std::optional<std::string> eid;
  Delivery delivery = Delivery::kApp;
  PaymentMethod payment = PaymentMethod::kWallet;
  std::string card_token;  // card only; the provider's test tokens in development
};

struct OrderEvent {
  std::optional<OrderState> from_state;
  OrderState to_state = OrderState::kCreated;
  std::string cause;
  std::int64_t at_ms = 0;
};

struct Order {
  Id id = 0;
  Id customer_id = 0;
  Id plan_version_id = 0;
  std::string plan_code;
  std::int64_t price_minor = 0;
  std::string currency;
  std::optional<std::string> imei;
  std::optional<std::string> eid;
  Delivery delivery = Delivery::kApp;
  PaymentMethod payment = PaymentMethod::kWallet;
  OrderState state = OrderState::kCreated;
  std::optional<std::string> iccid;
  std::optional<std::string> matching_id;
  std::optional<std::string> activation_code;
  std::optional<std::string> payment_intent_id;
  std::optional<Id> delivery_message_id;
  std::optional<std::string> failure_code;  // the ErrorCode name when failed
  std::string failure_detail;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::vector<OrderEvent> history;  // oldest first

  // The states cancel() accepts (before the download began); it may still refuse when the
  // device fetched the profile meanwhile.
  bool cancellable() const {
    return state == OrderState::kAwaitingPayment || state == OrderState::kPaid ||
           state == OrderState::kProfileReserved || state == OrderState::kCodeIssued;
  }

  // The activation code is shown and drawn only while it can still fetch the profile, not after
  // the order was cancelled or failed (its profile may then be someone else's).
  bool code_usable() const {
    return activation_code.has_value() &&
           (state == OrderState::kCodeIssued || state == OrderState::kDownloaded ||
            state == OrderState::kInstalled || state == OrderState::kActive);
  }
};

struct OrderOutcome {
  Status status;  // ok, or the refusal (for a failed order: its failure)
  std::optional<Order> order;
  bool replayed = false;
  // Given once, at creation, when the operator requires confirmation codes; never stored.
  std::optional<std::string> confirmation_code;
};
using OrderCallback = std::function<void(OrderOutcome)>;

struct Actor {
  std::string name;  // "key:<prefix>", "cli"
  Id key_id = 0;     // scopes idempotency keys
  std::string request_id;
};

struct OrdersDependencies {
  storage::Database& database;
  ledger::Ledger& ledger;
  billing::Billing& billing;
  catalogue::Plans& plans;
  kyc::Identities& identities;
  devices::DeviceCatalogue& devices;
  inventory::Inventory& inventory;
  messaging::Messenger& messenger;
  PaymentProvider& payments;
  IdGenerator& ids;
  const Clock& clock;
};

// The SM-DP+ side of an order (GSMA SGP.22 ES2+): Station's own SM-DP+ (src/smdp) implements
// it with the same functions its ES2+ endpoint runs, so an order is to the SM-DP+ what an
// operator's DownloadOrder + ConfirmOrder is.
class Es2Port {
 public:
  virtual ~Es2Port() = default;
  // DownloadOrder for the profile the order holds (allocated), then ConfirmOrder with the
  // order's Matching ID, EID and confirmation code hash (lower-case hex SHA-256), released.
  virtual Status confirm(Id order_id, const std::string& iccid, const std::string& matching_id,
                         const std::optional<std::string>& eid,
                         const std::optional<std::string>& confirmation_code_hash) = 0;
  // CancelOrder: the profile back to available. kConflict once the download has begun.
  virtual Status cancel(const std::string& iccid, const std::string& matching_id,
                        std::string_view cause) = 0;
};

class Orders {
 public:
  Orders(OrdersDependencies dependencies, OrderSettings settings);
  ~Orders();  // stops the workers
  Orders(const Orders&) = delete;
  Orders& operator=(const Orders&) = delete;

  // Starts the worker pool and the sweeper that fails card orders whose payment timed out.
  void start();
  // Waits for queued work to finish.
  void stop();

  // Checks, pays, allocates, issues and delivers; `done` runs once on a worker thread.
  void create(NewOrder request, std::string idempotency_key, Actor actor, OrderCallback done);
  // Cancels before download: releases the profile and refunds. kOrderNotCancellable after.
  void cancel(Id order_id, Actor actor, OrderCallback done);
  Result<Order> get(Id order_id);
  // A customer's orders, newest first, with id < before_id when given; without their history.
  // limit: 1 to limits::kPageSizeMax + 1 (one more than a page tells whether another follows).
  Result<std::vector<Order>> list_for_customer(Id customer_id, std::optional<Id> before_id,
                                               std::uint32_t limit);

  // A verified webhook event. Ok for an event already handled (redelivery) and for one about an
  // unknown intent (it is recorded and ignored). Runs the payment's consequences before
  // returning, so a 2xx to the provider means they are done.
  Status handle_payment_event(const PaymentEvent& event);

  // The SM-DP+ that serves this Station's orders; without one, profiles are moved in the
  // inventory directly (as the ES2+ steps would). Set before start(); must outlive the Orders.
  void set_es2(Es2Port* es2);
  // The SM-DP+ reports a download step: code_issued -> downloaded -> installed -> active, or
  // failed. Ok when the order is already there (a repeated report); kConflict when the order
  // is in a state the step does not follow.
  Status record_download_progress(Id order_id, OrderState to, std::string_view cause);
  // The newest order that holds the profile `iccid` (a remote SM-DP+ reports by ICCID).
  // kNotFound when no order holds it.
  Result<Id> order_holding(std::string_view iccid);

  // Finishes what a crash interrupted: orders left in `created`, and card orders whose payment
  // deadline passed. start() runs it once; the sweeper runs the timeout part periodically.
  Status recover();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace station::orders
