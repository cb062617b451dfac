#include "orders/orders.h"

#include <array>
#include <cassert>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/api_keys.h"
#include "common/enum_names.h"
#include "common/limits.h"
#include "common/worker_pool.h"
#include "messaging/templates.h"
#include "orders/activation.h"

namespace station::orders {
namespace {

using storage::Connection;
using storage::Value;
using enum OrderState;

constexpr std::array<std::string_view, 11> kStateNames = {
    "created", "awaiting_payment", "paid",      "profile_reserved", "code_issued", "downloaded",
    "installed", "active",         "cancelled", "refunded",         "failed"};

constexpr std::array<std::pair<OrderState, OrderState>, 19> kAllowedTransitions = {{
    {kCreated, kAwaitingPayment},
    {kCreated, kPaid},
    {kCreated, kFailed},
    {kAwaitingPayment, kPaid},
    {kAwaitingPayment, kFailed},
    {kAwaitingPayment, kCancelled},
    {kPaid, kProfileReserved},
    {kPaid, kRefunded},
    {kPaid, kCancelled},
    {kProfileReserved, kCodeIssued},
    {kProfileReserved, kCancelled},
    {kCodeIssued, kDownloaded},
    {kCodeIssued, kCancelled},
    {kCodeIssued, kFailed},
    {kDownloaded, kInstalled},
    {kDownloaded, kFailed},
    {kInstalled, kActive},
    {kInstalled, kFailed},
    {kCancelled, kRefunded},
}};

bool transition_allowed(OrderState from, OrderState to) {
  return std::find(kAllowedTransitions.begin(), kAllowedTransitions.end(), std::pair{from, to}) !=
         kAllowedTransitions.end();
}

constexpr std::array<std::string_view, 3> kDeliveryNames = {"app", "sms", "web"};
constexpr std::array<std::string_view, 2> kPaymentNames = {"wallet", "card"};

constexpr std::string_view kOrderColumns =
    "id, customer_id, plan_version_id, plan_code, price_minor, currency, imei, eid, delivery, "
    "payment_method, state, iccid, matching_id, activation_code, payment_intent_id, "
    "delivery_message_id, failure_code, failure_detail, created_at_ms, updated_at_ms, "
    "fingerprint, reservation_transfer_id";

struct StoredOrder {
  Order order;
  std::string fingerprint;
  std::optional<Id> reservation_transfer_id;
};

std::optional<std::string> optional_text(const storage::Row& row, std::size_t column) {
  if (row.is_null(column)) return std::nullopt;
  return row.text_at(column);
}

StoredOrder order_from_row(const storage::Row& row) {
  StoredOrder stored;
  Order& order = stored.order;
  order.id = row.int_at(0);
  order.customer_id = row.int_at(1);
  order.plan_version_id = row.int_at(2);
  order.plan_code = row.text_at(3);
  order.price_minor = row.int_at(4);
  order.currency = row.text_at(5);
  order.imei = optional_text(row, 6);
  order.eid = optional_text(row, 7);
  order.delivery = parse_delivery(row.text_at(8)).value_or(Delivery::kApp);
  order.payment = parse_payment_method(row.text_at(9)).value_or(PaymentMethod::kWallet);
  auto state = parse_order_state(row.text_at(10));
  assert(state.has_value());
  order.state = state.value_or(kFailed);
  order.iccid = optional_text(row, 11);
  order.matching_id = optional_text(row, 12);
  order.activation_code = optional_text(row, 13);
  order.payment_intent_id = optional_text(row, 14);
  if (!row.is_null(15)) order.delivery_message_id = row.int_at(15);
  order.failure_code = optional_text(row, 16);
  order.failure_detail = row.text_or(17, "");
  order.created_at_ms = row.int_at(18);
  order.updated_at_ms = row.int_at(19);
  stored.fingerprint = row.text_at(20);
  if (!row.is_null(21)) stored.reservation_transfer_id = row.int_at(21);
  return stored;
}

std::string fingerprint_of(const NewOrder& request) {
  return auth::sha256_hex(fmt::format("{}|{}|{}|{}|{}|{}|{}", request.customer_id, request.plan_code,
                                request.imei.value_or(""), request.eid.value_or(""),
                                delivery_name(request.delivery),
                                payment_method_name(request.payment), request.card_token));
}

// A column to set along with a state change.
using ColumnValue = std::pair<std::string_view, Value>;

// The order's failure as a Status, for replies and replays.
Status failure_status(const Order& order) {
  if (order.state != kFailed || !order.failure_code) return Status::ok();
  if (auto code = parse_error_code(*order.failure_code)) {
    return Status(*code, order.failure_detail);
  }
  return Status(ErrorCode::kInternal, order.failure_detail);
}

}  // namespace

std::string_view order_state_name(OrderState state) {
  return enum_name(kStateNames, state);
}
std::optional<OrderState> parse_order_state(std::string_view name) {
  return enum_from_name<OrderState>(kStateNames, name);
}
std::string_view delivery_name(Delivery delivery) {
  return enum_name(kDeliveryNames, delivery);
}
std::optional<Delivery> parse_delivery(std::string_view name) {
  return enum_from_name<Delivery>(kDeliveryNames, name);
}
std::string_view payment_method_name(PaymentMethod method) {
  return enum_name(kPaymentNames, method);
}
std::optional<PaymentMethod> parse_payment_method(std::string_view name) {
  return enum_from_name<PaymentMethod>(kPaymentNames, name);
}

struct Orders::Impl {
  OrdersDependencies deps;
  OrderSettings settings;
  std::unique_ptr<WorkerPool> workers;

  std::mutex sweeper_mutex;
  std::condition_variable sweeper_wake;
  bool stopping = false;  // GUARDED_BY(sweeper_mutex)
  std::thread sweeper;

  Es2Port* es2 = nullptr;  // set before start()

  Impl(OrdersDependencies d, OrderSettings s) : deps(d), settings(std::move(s)) {}

  std::string public_id(Id id) const { return format_public_id(kOrderIdPrefix, id); }

  // --- rows -------------------------------------------------------------------------------

  Result<std::optional<StoredOrder>> load_where(Connection& connection, std::string_view column,
                                                Value value) {
    std::array<Value, 1> params = {std::move(value)};
    STATION_ASSIGN_OR_RETURN(
        auto rows, connection.query(fmt::format("SELECT {} FROM orders WHERE {} = ?",
                                                kOrderColumns, column),
                                    params));
    if (rows.empty()) return std::optional<StoredOrder>();
    return std::optional<StoredOrder>(order_from_row(rows[0]));
  }

  Result<StoredOrder> load(Id order_id) {
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    STATION_ASSIGN_OR_RETURN(auto stored, load_where(*connection, "id", order_id));
    if (!stored) return Status(ErrorCode::kNotFound, "no such order");
    std::array<Value, 1> params = {order_id};
    STATION_ASSIGN_OR_RETURN(
        auto rows,
        connection->query("SELECT from_state, to_state, cause, at_ms FROM order_events "
                          "WHERE order_id = ? ORDER BY id",
                          params));
    for (const auto& row : rows) {
      OrderEvent event;
      if (!row.is_null(0)) event.from_state = parse_order_state(row.text_at(0));
      event.to_state = parse_order_state(row.text_at(1)).value_or(kFailed);
      event.cause = row.text_at(2);
      event.at_ms = row.int_at(3);
      stored->order.history.push_back(std::move(event));
    }
    return std::move(*stored);
  }

  Status insert_event(Connection& connection, Id order_id, std::optional<OrderState> from,
                      OrderState to, std::string_view cause) {
    std::array<Value, 6> params = {
        deps.ids.next(), order_id,
        from ? Value(std::string(order_state_name(*from))) : Value(nullptr),
        std::string(order_state_name(to)), std::string(cause), deps.clock.now_unix_ms()};
    return connection.execute(
        "INSERT INTO order_events (id, order_id, from_state, to_state, cause, at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        params);
  }

  // Compare-and-set of the state, with extra columns, and its event. kConflict when the order
  // is no longer in `from` (another path moved it first).
  Status move(Connection& connection, Id order_id, OrderState from, OrderState to,
              std::string_view cause, std::vector<ColumnValue> columns = {}) {
    if (!transition_allowed(from, to)) {
      return Status(ErrorCode::kInternal,
                    fmt::format("order state {} -> {} is not an edge of the state machine",
                                order_state_name(from), order_state_name(to)));
    }
    std::string sets = "state = ?, updated_at_ms = ?";
    std::vector<Value> params;
    params.reserve(columns.size() + 4);
    params.emplace_back(std::string(order_state_name(to)));
    params.emplace_back(deps.clock.now_unix_ms());
    for (auto& [column, value] : columns) {
      sets += fmt::format(", {} = ?", column);
      params.emplace_back(std::move(value));
    }
    params.emplace_back(order_id);
    params.emplace_back(std::string(order_state_name(from)));
    STATION_RETURN_IF_ERROR(connection.execute(
        fmt::format("UPDATE orders SET {} WHERE id = ? AND state = ?", sets), params));
    if (connection.changes() != 1) {
      return Status(ErrorCode::kConflict,
                    fmt::format("the order is no longer {}", order_state_name(from)));
    }
    return insert_event(connection, order_id, from, to, cause);
  }

  // move() in a transaction of its own.
  Status move_now(Id order_id, OrderState from, OrderState to, std::string_view cause,
                  std::vector<ColumnValue> columns = {}) {
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
    STATION_RETURN_IF_ERROR(move(*connection, order_id, from, to, cause, std::move(columns)));
    return transaction.commit();
  }

  Status fail_now(Id order_id, OrderState from, const Status& why) {
    return move_now(order_id, from, kFailed, why.message(),
                    {{"failure_code", std::string(error_info(why.code()).name)},
                     {"failure_detail", why.message()}});
  }

  Status set_columns(Id order_id, std::vector<ColumnValue> columns) {
    std::string sets = "updated_at_ms = ?";
    std::vector<Value> params;
    params.reserve(columns.size() + 2);
    params.emplace_back(deps.clock.now_unix_ms());
    for (auto& [column, value] : columns) {
      sets += fmt::format(", {} = ?", column);
      params.emplace_back(std::move(value));
    }
    params.emplace_back(order_id);
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    return connection->execute(fmt::format("UPDATE orders SET {} WHERE id = ?", sets), params);
  }

  OrderOutcome outcome_of(Id order_id, Status status, bool replayed) {
    auto stored = load(order_id);
    if (!stored.is_ok()) return OrderOutcome{stored.status(), std::nullopt, replayed, {}};
    if (status.is_ok()) status = failure_status(stored->order);
    return OrderOutcome{std::move(status), std::move(stored->order), replayed, {}};
  }

  // --- ledger -----------------------------------------------------------------------------

  ledger::TransferOutcome transfer(std::string key, ledger::TransferPhase phase, Id debit,
                                   Id credit, Id pending_id, const Order& order,
                                   std::string_view description,
                                   std::function<Status(Connection&, const ledger::Transfer&)>
                                       attached = nullptr) {
    ledger::TransferRequest request;
    request.idempotency_key = std::move(key);
    request.phase = phase;
    request.debit_account_id = debit;
    request.credit_account_id = credit;
    request.pending_id = pending_id;
    if (phase == ledger::TransferPhase::kSingle || phase == ledger::TransferPhase::kPending) {
      request.amount_minor = order.price_minor;
    }
    request.currency = Currency::from_code(order.currency);
    request.category = "order";
    request.reference = public_id(order.id);
    request.description = std::string(description);
    if (phase == ledger::TransferPhase::kPending) {
      request.timeout_seconds = settings.reservation_timeout_seconds;
    }
    request.attached_write = std::move(attached);
    return deps.ledger.submit_and_wait(std::move(request));
  }

  // --- create -----------------------------------------------------------------------------

  // Checks that need no writes; a refusal here is not stored under the idempotency key.
  Result<std::pair<billing::Customer, catalogue::Plan>> check(const NewOrder& request) {
    STATION_ASSIGN_OR_RETURN(auto customer, deps.billing.get_customer(request.customer_id));
    STATION_ASSIGN_OR_RETURN(auto plan, deps.plans.current(request.plan_code));
    if (!plan.active) {
      return Status(ErrorCode::kPlanNotAvailable,
                    fmt::format("plan {} is not on sale", request.plan_code));
    }
    if (request.imei.has_value() == request.eid.has_value()) {
      return Status(ErrorCode::kValidationFailed, "device needs exactly one of imei and eid");
    }
    STATION_ASSIGN_OR_RETURN(auto device, request.imei ? deps.devices.check_imei(*request.imei)
                                                       : deps.devices.check_eid(*request.eid));
    if (device.esim_capable == false) {
      return Status(ErrorCode::kDeviceNotEsimCapable, device.reason);
    }
    if (settings.require_verified_identity) {
      STATION_ASSIGN_OR_RETURN(auto identity, deps.identities.state(customer.id));
      if (identity != kyc::IdentityState::kVerified) {
        return Status(ErrorCode::kIdentityNotVerified,
                      identity ? "the customer's identity is not verified yet"
                               : "the customer has not submitted an identity document");
      }
    }
    if (request.delivery == Delivery::kSms && !customer.phone) {
      return Status(ErrorCode::kValidationFailed,
                    "delivery by sms needs a phone number on the customer");
    }
    if (request.payment == PaymentMethod::kWallet) {
      STATION_RETURN_IF_ERROR(
          deps.billing.wallet_account_for(customer.id, plan.currency).status());
      if (!request.card_token.empty()) {
        return Status(ErrorCode::kValidationFailed, "card.token is for card payments only");
      }
    }
    return std::make_pair(std::move(customer), std::move(plan));
  }

  OrderOutcome create(NewOrder request, const std::string& idempotency_key, const Actor& actor) {
    const std::string scoped_key = fmt::format("{}/{}", actor.key_id, idempotency_key);
    const std::string fingerprint = fingerprint_of(request);
    auto replay = [&](const StoredOrder& existing) {
      if (existing.fingerprint != fingerprint) {
        return OrderOutcome{Status(ErrorCode::kIdempotencyKeyReused,
                                   "this Idempotency-Key was used for another order"),
                            std::nullopt, false, {}};
      }
      return outcome_of(existing.order.id, Status::ok(), true);
    };
    {
      auto connection = deps.database.acquire();
      if (!connection.is_ok()) return OrderOutcome{connection.status(), {}, false, {}};
      auto existing = load_where(**connection, "idempotency_key", scoped_key);
      if (!existing.is_ok()) return OrderOutcome{existing.status(), {}, false, {}};
      if (*existing) return replay(**existing);
    }
    auto checked = check(request);
    if (!checked.is_ok()) return OrderOutcome{checked.status(), {}, false, {}};
    // Named references, not a structured binding: the lambda below uses them, which clang
    // (the fuzzing build's compiler) allows of bindings only from version 16.
    const billing::Customer& customer = checked->first;
    const catalogue::Plan& plan = checked->second;

    std::optional<std::string> confirmation_code;
    std::optional<std::string> confirmation_hash;
    if (settings.confirmation_code_required) {
      auto code = new_confirmation_code();
      if (!code.is_ok()) return OrderOutcome{code.status(), {}, false, {}};
      confirmation_hash = confirmation_code_hash(*code);
      confirmation_code = std::move(*code);
    }

    const Id order_id = deps.ids.next();
    const std::int64_t now = deps.clock.now_unix_ms();
    {
      auto connection = deps.database.acquire();
      if (!connection.is_ok()) return OrderOutcome{connection.status(), {}, false, {}};
      auto written = [&]() -> Status {
        STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(**connection));
        std::array<Value, 17> params = {
            order_id,
            customer.id,
            plan.id,
            plan.code,
            plan.price_minor,
            plan.currency,
            request.imei ? Value(*request.imei) : Value(nullptr),
            request.eid ? Value(*request.eid) : Value(nullptr),
            std::string(delivery_name(request.delivery)),
            std::string(payment_method_name(request.payment)),
            std::string(order_state_name(kCreated)),
            scoped_key,
            fingerprint,
            confirmation_hash ? Value(*confirmation_hash) : Value(nullptr),
            actor.name,
            now,
            now};
        STATION_RETURN_IF_ERROR((*connection)->execute(
            "INSERT INTO orders (id, customer_id, plan_version_id, plan_code, price_minor, "
            "currency, imei, eid, delivery, payment_method, state, idempotency_key, fingerprint, "
            "confirmation_code_hash, created_by, created_at_ms, updated_at_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params));
        STATION_RETURN_IF_ERROR(insert_event(**connection, order_id, std::nullopt, kCreated,
                                             fmt::format("ordered by {}", actor.name)));
        return transaction.commit();
      }();
      if (written.code() == ErrorCode::kConflict) {
        // A concurrent request with the same key won the insert.
        auto existing = load_where(**connection, "idempotency_key", scoped_key);
        if (existing.is_ok() && *existing) return replay(**existing);
      }
      if (!written.is_ok()) return OrderOutcome{written, {}, false, {}};
    }
    auto stored = load(order_id);
    if (!stored.is_ok()) return OrderOutcome{stored.status(), {}, false, {}};
    Status status = request.payment == PaymentMethod::kWallet
                        ? pay_from_wallet(stored->order, customer)
                        : start_card_payment(stored->order, request.card_token);
    auto outcome = outcome_of(order_id, status, false);
    outcome.confirmation_code = std::move(confirmation_code);
    return outcome;
  }

  Status pay_from_wallet(const Order& order, const billing::Customer& customer) {
    auto wallet = deps.billing.wallet_account_for(customer.id, order.currency);
    auto revenue = deps.billing.operator_account_for(ledger::AccountKind::kRevenue, order.currency);
    if (!wallet.is_ok() || !revenue.is_ok()) {
      Status why = wallet.is_ok() ? revenue.status() : wallet.status();
      (void)fail_now(order.id, kCreated, why);
      return why;
    }
    const std::string description = fmt::format("eSIM plan {}", order.plan_code);
    auto reserved = transfer(fmt::format("order:{}:reserve", order.id),
                             ledger::TransferPhase::kPending, *wallet, *revenue, 0, order,
                             description);
    if (!reserved.status.is_ok()) {
      if (error_info(reserved.status.code()).retry != RetryClass::kRetryLater) {
        (void)fail_now(order.id, kCreated, reserved.status);
      }  // else recover() settles the order once the cause has passed
      return reserved.status;
    }
    const Id pending_id = reserved.transfer->id;
    (void)set_columns(order.id, {{"reservation_transfer_id", pending_id}});
    auto undo = [&](const Status& why) {
      auto voided = transfer(fmt::format("order:{}:void", order.id), ledger::TransferPhase::kVoid,
                             0, 0, pending_id, order, description);
      if (!voided.status.is_ok()) {
        spdlog::warn("order {}: voiding its reservation: {} (it expires by itself)",
                     public_id(order.id), voided.status.to_string());
      }
      (void)fail_now(order.id, kCreated, why);
      return why;
    };

    auto profile = deps.inventory.allocate_one(std::nullopt, fmt::format("order {}", public_id(order.id)));
    if (!profile.is_ok()) {
      if (profile.status().code() == ErrorCode::kNotFound) {
        return undo(Status(ErrorCode::kNoProfileAvailable,
                           "no eSIM profile is available; nothing was charged"));
      }
      return undo(profile.status());
    }
    (void)set_columns(order.id, {{"iccid", profile->iccid}});
    auto code = new_matching_id();
    if (!code.is_ok()) {
      (void)deps.inventory.transition(profile->iccid, inventory::ProfileState::kAllocated,
                                      inventory::ProfileState::kAvailable, "order failed");
      return undo(code.status());
    }
    std::string matching_id = *code;
    std::string activation = activation_code(settings.smdp_address, matching_id,
                                             settings.confirmation_code_required);
    std::string iccid = profile->iccid;
    auto posted = transfer(
        fmt::format("order:{}:post", order.id), ledger::TransferPhase::kPost, 0, 0, pending_id,
        order, description,
        [this, order_id = order.id, iccid, matching_id, activation](
            Connection& connection, const ledger::Transfer& transfer) -> Status {
          STATION_RETURN_IF_ERROR(move(connection, order_id, kCreated, kPaid, "paid from wallet",
                                       {{"payment_transfer_id", transfer.id}}));
          return issue_code(connection, order_id, kPaid, iccid, matching_id, activation);
        });
    if (!posted.status.is_ok()) {
      (void)deps.inventory.transition(iccid, inventory::ProfileState::kAllocated,
                                      inventory::ProfileState::kAvailable, "order failed");
      return undo(posted.status);
    }
    finish_issue(order.id);
    return Status::ok();
  }

  // paid -> profile_reserved -> code_issued, on the caller's transaction.
  Status issue_code(Connection& connection, Id order_id, OrderState from, const std::string& iccid,
                    const std::string& matching_id, const std::string& activation) {
    STATION_RETURN_IF_ERROR(move(connection, order_id, from, kProfileReserved,
                                 fmt::format("profile {} reserved", iccid), {{"iccid", iccid}}));
    return move(connection, order_id, kProfileReserved, kCodeIssued, "activation code issued",
                {{"matching_id", matching_id}, {"activation_code", activation}});
  }

  // After code_issued: the profile follows (ES2+ ConfirmOrder and ReleaseProfile, so the SM-DP+
  // will hand it out), then delivery. Idempotent: recover() calls it again after a crash.
  void finish_issue(Id order_id) {
    auto stored = load(order_id);
    if (!stored.is_ok() || stored->order.state != kCodeIssued || !stored->order.iccid) return;
    const Order& order = stored->order;
    const std::string cause = fmt::format("order {}", public_id(order_id));
    auto profile = deps.inventory.get(*order.iccid);
    if (profile.is_ok() && es2 != nullptr && order.matching_id) {
      // The SM-DP+ takes the order once, while the profile is still only allocated.
      if (profile->state == inventory::ProfileState::kAllocated) {
        auto hash = confirmation_hash_of(order_id);
        Status confirmed = hash.is_ok() ? es2->confirm(order_id, *order.iccid, *order.matching_id,
                                                       order.eid, *hash)
                                        : hash.status();
        if (!confirmed.is_ok()) {
          spdlog::warn("order {}: the SM-DP+ did not take it: {}", public_id(order_id),
                       confirmed.to_string());
        }
      }
    } else if (profile.is_ok()) {
      using inventory::ProfileState;
      ProfileState state = profile->state;
      auto step = [&](ProfileState to) {
        if (deps.inventory.transition(*order.iccid, state, to, cause).is_ok()) state = to;
      };
      if (state == ProfileState::kAllocated) step(order.eid ? ProfileState::kLinked
                                                            : ProfileState::kConfirmed);
      if (state == ProfileState::kLinked) step(ProfileState::kConfirmed);
      if (state == ProfileState::kConfirmed) step(ProfileState::kReleased);
    }
    if (order.delivery == Delivery::kSms && !order.delivery_message_id && order.activation_code) {
      auto customer = deps.billing.get_customer(order.customer_id);
      if (!customer.is_ok() || !customer->phone) return;
      auto text = messaging::render("activation_code", customer->language,
                                    {{"code", *order.activation_code}});
      if (!text.is_ok()) return;
      auto message = deps.messenger.enqueue(*customer->phone, *text, customer->language,
                                            customer->id);
      if (message.is_ok()) {
        (void)set_columns(order_id, {{"delivery_message_id", message->id}});
      } else {
        spdlog::warn("order {}: queueing its SMS: {}", public_id(order_id),
                     message.status().to_string());
      }
    }
  }

  Result<std::optional<std::string>> confirmation_hash_of(Id order_id) {
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    std::array<Value, 1> params = {order_id};
    STATION_ASSIGN_OR_RETURN(
        auto rows,
        connection->query("SELECT confirmation_code_hash FROM orders WHERE id = ?", params));
    if (rows.empty() || rows[0].is_null(0)) return std::optional<std::string>();
    return std::optional<std::string>(rows[0].text_at(0));
  }

  Status record_download_progress(Id order_id, OrderState to, std::string_view cause) {
    STATION_ASSIGN_OR_RETURN(auto stored, load(order_id));
    const Order& order = stored.order;
    if (order.state == to) return Status::ok();
    static constexpr std::array<std::pair<OrderState, OrderState>, 3> kSteps = {
        {{kDownloaded, kCodeIssued}, {kInstalled, kDownloaded}, {kActive, kInstalled}}};
    std::optional<OrderState> from;
    for (auto [step_to, step_from] : kSteps) {
      if (to == step_to && order.state == step_from) from = step_from;
    }
    if (to == kFailed && transition_allowed(order.state, kFailed)) from = order.state;
    // Installed before the download was recorded (a report lost to a crash): both steps.
    if (to == kInstalled && order.state == kCodeIssued) {
      STATION_RETURN_IF_ERROR(move_now(order_id, kCodeIssued, kDownloaded, cause));
      from = kDownloaded;
    }
    if (!from) {
      return Status(ErrorCode::kConflict,
                    fmt::format("order {} is {}; the download step {} does not follow",
                                public_id(order_id), order_state_name(order.state),
                                order_state_name(to)));
    }
    if (to == kFailed) {
      return move_now(order_id, *from, kFailed, cause,
                      {{"failure_code", std::string(error_info(ErrorCode::kInternal).name)},
                       {"failure_detail", std::string(cause)}});
    }
    return move_now(order_id, *from, to, cause);
  }

  Status start_card_payment(const Order& order, const std::string& card_token) {
    auto intent = deps.payments.create_intent(
        IntentRequest{order.price_minor, order.currency, public_id(order.id), card_token});
    if (!intent.is_ok()) {
      (void)fail_now(order.id, kCreated, intent.status());
      return intent.status();
    }
    const std::int64_t deadline =
        deps.clock.now_unix_ms() + std::int64_t{settings.payment_timeout_seconds} * 1000;
    return move_now(order.id, kCreated, kAwaitingPayment,
                    fmt::format("card payment {} started with {}", intent->intent_id,
                                deps.payments.name()),
                    {{"payment_intent_id", intent->intent_id}, {"payment_deadline_ms", deadline}});
  }

  // --- card outcomes ------------------------------------------------------------------------

  Status card_succeeded(const Order& order, const PaymentEvent& event) {
    if (order.state != kAwaitingPayment) {
      if (order.state == kFailed || order.state == kCancelled) {
        // The money came after the order gave up on it: give it back, never keep it.
        spdlog::info("order {}: payment arrived in state {}; refunding it", public_id(order.id),
                     order_state_name(order.state));
        return deps.payments.refund(event.intent_id, event.amount_minor, event.currency);
      }
      return Status::ok();  // already paid: a second delivery of the same news
    }
    if (event.amount_minor != order.price_minor || event.currency != order.currency) {
      return Status(ErrorCode::kValidationFailed,
                    "the payment's amount or currency differs from the order's");
    }
    STATION_ASSIGN_OR_RETURN(auto cash, deps.billing.operator_account_for(
                                            ledger::AccountKind::kCash, order.currency));
    STATION_ASSIGN_OR_RETURN(auto revenue, deps.billing.operator_account_for(
                                               ledger::AccountKind::kRevenue, order.currency));
    const std::string description = fmt::format("eSIM plan {} by card", order.plan_code);
    auto paid = transfer(fmt::format("order:{}:card", order.id), ledger::TransferPhase::kSingle,
                         cash, revenue, 0, order, description,
                         [this, order_id = order.id, intent = event.intent_id](
                             Connection& connection, const ledger::Transfer& transfer) {
                           return move(connection, order_id, kAwaitingPayment, kPaid,
                                       fmt::format("card payment {} succeeded", intent),
                                       {{"payment_transfer_id", transfer.id}});
                         });
    if (!paid.status.is_ok()) return paid.status;
    // Also after a replay: an earlier delivery may have paid and then failed before issuing.
    STATION_ASSIGN_OR_RETURN(auto now, load(order.id));
    if (now.order.state != kPaid) return Status::ok();
    return fulfil_card_order(now.order, cash, revenue);
  }

  Status fulfil_card_order(const Order& order, Id cash, Id revenue) {
    const std::string cause = fmt::format("order {}", public_id(order.id));
    auto profile = deps.inventory.allocate_one(std::nullopt, cause);
    if (!profile.is_ok()) {
      if (profile.status().code() != ErrorCode::kNotFound) return profile.status();
      Status why(ErrorCode::kNoProfileAvailable, "no eSIM profile was available; refunded");
      auto refunded = transfer(
          fmt::format("order:{}:refund", order.id), ledger::TransferPhase::kSingle, revenue, cash,
          0, order, "refund: no eSIM profile available",
          [this, order_id = order.id, why](Connection& connection, const ledger::Transfer&) {
            return move(connection, order_id, kPaid, kRefunded, why.message(),
                        {{"failure_code", std::string(error_info(why.code()).name)},
                         {"failure_detail", why.message()}});
          });
      STATION_RETURN_IF_ERROR(refunded.status);
      return deps.payments.refund(*order.payment_intent_id, order.price_minor, order.currency);
    }
    STATION_ASSIGN_OR_RETURN(auto matching_id, new_matching_id());
    std::string activation = activation_code(settings.smdp_address, matching_id,
                                             settings.confirmation_code_required);
    Status issued = [&]() -> Status {
      STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
      STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
      STATION_RETURN_IF_ERROR(
          issue_code(*connection, order.id, kPaid, profile->iccid, matching_id, activation));
      return transaction.commit();
    }();
    if (!issued.is_ok()) {
      // A concurrent delivery of the same payment issued first: this profile goes back.
      (void)deps.inventory.transition(profile->iccid, inventory::ProfileState::kAllocated,
                                      inventory::ProfileState::kAvailable, cause);
      return issued.code() == ErrorCode::kConflict ? Status::ok() : issued;
    }
    finish_issue(order.id);
    return Status::ok();
  }

  Status handle_payment_event(const PaymentEvent& event) {
    {
      STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
      std::array<Value, 1> params = {event.event_id};
      STATION_ASSIGN_OR_RETURN(
          auto rows, connection->query("SELECT 1 FROM payment_events WHERE event_id = ?", params));
      if (!rows.empty()) return Status::ok();  // redelivered: already handled
    }
    Status handled = Status::ok();
    std::optional<StoredOrder> stored;
    {
      STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
      STATION_ASSIGN_OR_RETURN(stored, load_where(*connection, "payment_intent_id",
                                                  event.intent_id));
    }
    if (stored) {
      const Order& order = stored->order;
      switch (event.type) {
        case PaymentEventType::kSucceeded:
          handled = card_succeeded(order, event);
          break;
        case PaymentEventType::kFailed:
          if (order.state == kAwaitingPayment) {
            handled = fail_now(order.id, kAwaitingPayment,
                               Status(ErrorCode::kPaymentDeclined,
                                      fmt::format("the card payment was declined: {}",
                                                  event.failure_reason.empty()
                                                      ? "no reason given"
                                                      : event.failure_reason)));
            if (handled.code() == ErrorCode::kConflict) handled = Status::ok();
          }
          break;
        case PaymentEventType::kRefunded:
          if (order.state == kCancelled) {
            handled = move_now(order.id, kCancelled, kRefunded,
                               fmt::format("card refund of {} confirmed", event.intent_id));
            if (handled.code() == ErrorCode::kConflict) handled = Status::ok();
          }
          break;
      }
    }
    if (!handled.is_ok()) return handled;  // not recorded: the provider delivers it again
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    std::array<Value, 6> params = {event.event_id,
                                   std::string(deps.payments.name()),
                                   std::string(payment_event_type_name(event.type)),
                                   event.intent_id,
                                   stored ? Value(stored->order.id) : Value(nullptr),
                                   deps.clock.now_unix_ms()};
    Status recorded = connection->execute(
        "INSERT INTO payment_events (event_id, provider, type, intent_id, order_id, "
        "received_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
        params);
    if (recorded.code() == ErrorCode::kConflict) return Status::ok();  // a concurrent delivery
    return recorded;
  }

  // --- cancel -----------------------------------------------------------------------------

  Status cancel(const Order& order, const Actor& actor) {
    const std::string cause = fmt::format("cancelled by {}", actor.name);
    switch (order.state) {
      case kAwaitingPayment: {
        Status moved = move_now(order.id, kAwaitingPayment, kCancelled, cause);
        if (moved.code() == ErrorCode::kConflict) {
          return Status(ErrorCode::kOrderNotCancellable,
                        "the payment was settled meanwhile; try again");
        }
        return moved;
      }
      case kPaid:
      case kProfileReserved:
      case kCodeIssued:
        break;
      default:
        return Status(ErrorCode::kOrderNotCancellable,
                      fmt::format("an order in state {} cannot be cancelled",
                                  order_state_name(order.state)));
    }
    if (order.iccid) {
      // The profile goes back first: if the device fetched it meanwhile, the order stands.
      const bool at_smdp = es2 != nullptr && order.matching_id && order.state == kCodeIssued;
      Status released =
          at_smdp ? es2->cancel(*order.iccid, *order.matching_id, cause)
                  : deps.inventory.transition(*order.iccid, inventory::ProfileState::kAvailable,
                                              cause);
      if (!released.is_ok()) {
        return Status(ErrorCode::kOrderNotCancellable,
                      "the profile is being downloaded or is installed");
      }
    }
    const bool by_wallet = order.payment == PaymentMethod::kWallet;
    STATION_ASSIGN_OR_RETURN(auto revenue, deps.billing.operator_account_for(
                                               ledger::AccountKind::kRevenue, order.currency));
    STATION_ASSIGN_OR_RETURN(
        auto back_to, by_wallet ? deps.billing.wallet_account_for(order.customer_id, order.currency)
                                : deps.billing.operator_account_for(ledger::AccountKind::kCash,
                                                                    order.currency));
    auto refunded = transfer(
        fmt::format("order:{}:refund", order.id), ledger::TransferPhase::kSingle, revenue,
        back_to, 0, order, fmt::format("refund of eSIM plan {}", order.plan_code),
        [this, order_id = order.id, from = order.state, cause, by_wallet](
            Connection& connection, const ledger::Transfer&) -> Status {
          STATION_RETURN_IF_ERROR(move(connection, order_id, from, kCancelled, cause));
          if (!by_wallet) return Status::ok();  // refunded when the provider confirms
          return move(connection, order_id, kCancelled, kRefunded, "refunded to the wallet");
        });
    if (!refunded.status.is_ok()) return refunded.status;
    if (!by_wallet && order.payment_intent_id) {
      return deps.payments.refund(*order.payment_intent_id, order.price_minor, order.currency);
    }
    return Status::ok();
  }

  // --- recovery and timeouts ----------------------------------------------------------------

  Result<std::vector<StoredOrder>> orders_where(std::string_view condition,
                                                std::vector<Value> params) {
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    params.push_back(static_cast<std::int64_t>(limits::kOrdersSweepBatch));
    STATION_ASSIGN_OR_RETURN(
        auto rows, connection->query(fmt::format("SELECT {} FROM orders WHERE {} ORDER BY id "
                                                 "LIMIT ?",
                                                 kOrderColumns, condition),
                                     params));
    std::vector<StoredOrder> out;
    for (const auto& row : rows) out.push_back(order_from_row(row));
    return out;
  }

  Status expire_payments() {
    STATION_ASSIGN_OR_RETURN(
        auto due, orders_where("state = ? AND payment_deadline_ms < ?",
                               {std::string(order_state_name(kAwaitingPayment)),
                                deps.clock.now_unix_ms()}));
    for (const auto& stored : due) {
      Status failed = fail_now(stored.order.id, kAwaitingPayment,
                               Status(ErrorCode::kPaymentTimedOut,
                                      "the card payment was not confirmed in time"));
      if (!failed.is_ok() && failed.code() != ErrorCode::kConflict) return failed;
    }
    return Status::ok();
  }

  // Runs before the workers start, so every order still in `created` was interrupted.
  Status recover() {
    STATION_ASSIGN_OR_RETURN(auto interrupted,
                             orders_where("state = ?", {std::string(order_state_name(kCreated))}));
    for (const auto& stored : interrupted) {
      const Order& order = stored.order;
      if (stored.reservation_transfer_id) {
        auto voided = transfer(fmt::format("order:{}:void", order.id),
                               ledger::TransferPhase::kVoid, 0, 0, *stored.reservation_transfer_id,
                               order, "order interrupted");
        if (!voided.status.is_ok() &&
            voided.status.code() != ErrorCode::kPendingTransferResolved) {
          return voided.status;
        }
      }
      if (order.iccid) {
        (void)deps.inventory.transition(*order.iccid, inventory::ProfileState::kAllocated,
                                        inventory::ProfileState::kAvailable, "order interrupted");
      }
      STATION_RETURN_IF_ERROR(fail_now(order.id, kCreated,
                                       Status(ErrorCode::kUnavailable,
                                              "the order was interrupted; nothing was charged")));
    }
    STATION_ASSIGN_OR_RETURN(
        auto issued,
        orders_where("state = ? AND delivery = ? AND delivery_message_id IS NULL",
                     {std::string(order_state_name(kCodeIssued)),
                      std::string(delivery_name(Delivery::kSms))}));
    for (const auto& stored : issued) finish_issue(stored.order.id);
    return expire_payments();
  }

  void sweep() {
    std::unique_lock lock(sweeper_mutex);
    while (!stopping) {
      sweeper_wake.wait_for(lock, std::chrono::milliseconds(limits::kOrdersSweepIntervalMs));
      if (stopping) break;
      lock.unlock();
      if (auto status = expire_payments(); !status.is_ok()) {
        spdlog::warn("orders: failing timed-out payments: {}", status.to_string());
      }
      lock.lock();
    }
  }

  // Runs `work` on a worker; kUnavailable when too much is queued already.
  void run_async(std::function<OrderOutcome()> work, OrderCallback done) {
    const bool posted =
        workers && workers->try_post([work = std::move(work), done] { done(work()); });
    if (!posted) {
      done(OrderOutcome{Status(ErrorCode::kUnavailable, "too many orders in progress; retry"),
                        std::nullopt, false, {}});
    }
  }
};

Orders::Orders(OrdersDependencies dependencies, OrderSettings settings)
    : impl_(std::make_unique<Impl>(dependencies, std::move(settings))) {}

Orders::~Orders() { stop(); }

void Orders::start() {
  if (auto status = impl_->recover(); !status.is_ok()) {
    spdlog::warn("orders: recovery: {}", status.to_string());
  }
  impl_->workers = std::make_unique<WorkerPool>(2, limits::kOrdersInFlightMax);
  {
    std::lock_guard lock(impl_->sweeper_mutex);
    impl_->stopping = false;
  }
  impl_->sweeper = std::thread([impl = impl_.get()] { impl->sweep(); });
}

void Orders::stop() {
  {
    std::lock_guard lock(impl_->sweeper_mutex);
    impl_->stopping = true;
  }
  impl_->sweeper_wake.notify_all();
  if (impl_->sweeper.joinable()) impl_->sweeper.join();
  if (impl_->workers) {
    impl_->workers->join();
    impl_->workers.reset();
  }
}

void Orders::create(NewOrder request, std::string idempotency_key, Actor actor,
                    OrderCallback done) {
  impl_->run_async(
      [impl = impl_.get(), request = std::move(request), key = std::move(idempotency_key),
       actor = std::move(actor)]() mutable { return impl->create(std::move(request), key, actor); },
      std::move(done));
}

void Orders::cancel(Id order_id, Actor actor, OrderCallback done) {
  impl_->run_async(
      [impl = impl_.get(), order_id, actor = std::move(actor)]() {
        auto stored = impl->load(order_id);
        if (!stored.is_ok()) return OrderOutcome{stored.status(), std::nullopt, false, {}};
        Status status = impl->cancel(stored->order, actor);
        if (!status.is_ok()) return OrderOutcome{status, std::nullopt, false, {}};
        return impl->outcome_of(order_id, Status::ok(), false);
      },
      std::move(done));
}

Result<Order> Orders::get(Id order_id) {
  STATION_ASSIGN_OR_RETURN(auto stored, impl_->load(order_id));
  return std::move(stored.order);
}

Result<std::vector<Order>> Orders::list_for_customer(Id customer_id, std::optional<Id> before_id,
                                                     std::uint32_t limit) {
  if (limit == 0 || limit > limits::kPageSizeMax + 1) {
    return Status(ErrorCode::kValidationFailed, "limit out of range");
  }
  STATION_ASSIGN_OR_RETURN(auto connection, impl_->deps.database.acquire());
  std::array<Value, 3> params = {customer_id, before_id.value_or(std::numeric_limits<Id>::max()),
                                 static_cast<std::int64_t>(limit)};
  STATION_ASSIGN_OR_RETURN(
      auto rows, connection->query(fmt::format("SELECT {} FROM orders WHERE customer_id = ? AND "
                                               "id < ? ORDER BY id DESC LIMIT ?",
                                               kOrderColumns),
                                   params));
  std::vector<Order> orders;
  orders.reserve(rows.size());
  for (const auto& row : rows) orders.push_back(order_from_row(row).order);
  return orders;
}

Status Orders::handle_payment_event(const PaymentEvent& event) {
  return impl_->handle_payment_event(event);
}

Status Orders::recover() { return impl_->recover(); }

void Orders::set_es2(Es2Port* es2) { impl_->es2 = es2; }

Status Orders::record_download_progress(Id order_id, OrderState to, std::string_view cause) {
  return impl_->record_download_progress(order_id, to, cause);
}

Result<Id> Orders::order_holding(std::string_view iccid) {
  STATION_ASSIGN_OR_RETURN(auto connection, impl_->deps.database.acquire());
  std::array<Value, 1> params = {std::string(iccid)};
  STATION_ASSIGN_OR_RETURN(
      auto rows, connection->query("SELECT id FROM orders WHERE iccid = ? ORDER BY id DESC LIMIT 1",
                                   params));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no order holds this profile");
  return rows[0].int_at(0);
}

}  // namespace station::orders
