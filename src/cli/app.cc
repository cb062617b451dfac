#include "cli/app.h"

#include <array>
#include <cassert>
#include <thread>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "api/devices.h"
#include "api/kyc.h"
#include "api/orders.h"
#include "api/outbox.h"
#include "api/plans.h"
#include "api/profiles.h"
#include "api/v1.h"
#include "orders/activation.h"
#include "rsp_crypto/pki.h"
#include "schema/migrations.h"
#include "smdp/progress_report.h"
#include "spdlog/spdlog.h"

namespace station::cli {

struct ApiHolder {
  api::ApiContext context;
  std::optional<api::OrderRoutesContext> orders;
};

Result<std::optional<std::string>> ensure_first_admin_key(storage::Database& database,
                                                          IdGenerator& ids, const Clock& clock) {
  STATION_ASSIGN_OR_RETURN(auto connection, database.acquire());
  STATION_ASSIGN_OR_RETURN(auto rows, connection->query("SELECT COUNT(*) FROM api_keys"));
  if (rows[0].int_at(0) > 0) return std::optional<std::string>();
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  STATION_ASSIGN_OR_RETURN(auto key, auth::create_api_key(*connection, ids, clock,
                                                          {auth::Scope::kAdmin}, "first start"));
  STATION_RETURN_IF_ERROR(auth::insert_audit_entry(
      *connection, auth::AuditEntry{ids.next(), clock.now_unix_ms(), "system", "api_key.create",
                                    "key:" + key.prefix, "", "succeeded",
                                    R"({"scopes":"admin","reason":"first start"})"}));
  STATION_RETURN_IF_ERROR(transaction.commit());
  return std::optional<std::string>(key.plaintext);
}

Result<std::unique_ptr<App>> App::start(AppOptions options, const Clock& clock) {
  auto currency = Currency::from_code(options.default_currency);
  if (!currency) {
    return Status(ErrorCode::kValidationFailed,
                  "default currency '" + options.default_currency + "' is not supported");
  }
  std::unique_ptr<App> app(new App());
  app->options_ = options;
  app->clock_ = &clock;
  app->ids_ = std::make_unique<IdGenerator>(clock);

  storage::DatabaseOptions database_options;
  database_options.url = options.database_url;
  STATION_ASSIGN_OR_RETURN(app->database_, storage::Database::open(database_options));
  STATION_ASSIGN_OR_RETURN(app->ownership_, app->database_->lock_exclusive());
  STATION_RETURN_IF_ERROR(app->database_->migrate(schema::all_migrations()));

  ledger::LedgerOptions ledger_options;
  ledger_options.idempotency_retention_hours = options.idempotency_retention_hours;
  STATION_ASSIGN_OR_RETURN(app->ledger_,
                           ledger::Ledger::open(*app->database_, clock, *app->ids_, ledger_options));
  app->audit_ = std::make_unique<auth::AuditWriter>(*app->database_);
  app->authenticator_ = std::make_unique<auth::Authenticator>(*app->database_, clock);
  app->billing_ = std::make_unique<billing::Billing>(*app->database_, *app->ledger_, *app->audit_,
                                                     *app->ids_, clock, *currency);
  STATION_RETURN_IF_ERROR(app->billing_->prepare());
  app->keyring_ = options.keyring ? options.keyring : std::make_shared<const secrets::Keyring>();
  app->inventory_ = std::make_unique<inventory::Inventory>(*app->database_, *app->keyring_, clock);
  app->plans_ = std::make_unique<catalogue::Plans>(*app->database_, *app->ids_, clock);
  app->identities_ =
      std::make_unique<kyc::Identities>(*app->database_, *app->keyring_, *app->ids_, clock);
  app->devices_ = std::make_unique<devices::DeviceCatalogue>(*app->database_);
  STATION_RETURN_IF_ERROR(app->devices_->seed_if_empty());
  STATION_ASSIGN_OR_RETURN(app->first_admin_key_,
                           ensure_first_admin_key(*app->database_, *app->ids_, clock));

  app->api_ = std::make_unique<ApiHolder>(ApiHolder{{*app->billing_, *app->authenticator_}});
  api::add_v1_routes(app->router_, app->api_->context);
  api::add_profile_routes(app->router_, *app->authenticator_, *app->inventory_);
  api::add_plan_routes(app->router_, *app->authenticator_, *app->plans_);
  api::add_kyc_routes(app->router_, *app->authenticator_, *app->identities_);
  api::add_device_routes(app->router_, *app->authenticator_, *app->devices_);
  STATION_RETURN_IF_ERROR(app->start_messaging());
  api::add_outbox_routes(app->router_, *app->authenticator_, *app->messenger_);
  storage::Database* database = app->database_.get();
  http::add_operational_routes(app->router_, app->metrics_, [database]() -> Status {
    STATION_ASSIGN_OR_RETURN(auto connection, database->acquire());
    return connection->query("SELECT 1").status();
  });
  app->register_metrics();

  app->server_ = std::make_unique<http::Server>(options.server, app->router_, app->metrics_,
                                                options.access_log);
  STATION_RETURN_IF_ERROR(app->server_->listen());
  STATION_RETURN_IF_ERROR(app->start_smdp());
  STATION_RETURN_IF_ERROR(app->start_orders());
  return app;
}

Status App::start_orders() {
  STATION_RETURN_IF_ERROR(orders::check_smdp_address(options_.orders.smdp_address));
  std::string secret = options_.payment_webhook_secret;
  if (secret.empty()) {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      return Status(ErrorCode::kInternal, "the random generator failed");
    }
    for (unsigned char byte : bytes) secret += fmt::format("{:02x}", byte);
  }
  orders::TestProviderOptions provider;
  // The provider calls back the server it runs in; a wildcard listen address is reached
  // through loopback.
  const std::string& host = options_.server.listen_host;
  provider.webhook_host = host == "::" ? "::1" : host == "0.0.0.0" ? "127.0.0.1" : host;
  provider.webhook_port = server_->port();
  provider.delay_ms = options_.payment_webhook_delay_ms;
  payments_ = std::make_unique<orders::TestPaymentProvider>(
      secrets::SecretString(std::move(secret)), provider, *clock_);
  orders_ = std::make_unique<orders::Orders>(
      orders::OrdersDependencies{*database_, *ledger_, *billing_, *plans_, *identities_,
                                 *devices_, *inventory_, *messenger_, *payments_, *ids_, *clock_},
      options_.orders);
  api_->orders.emplace(
      api::OrderRoutesContext{*authenticator_, *billing_, *audit_, *orders_, *payments_, *ids_,
                              *clock_, metrics_});
  api::add_order_routes(router_, *api_->orders);
  if (options_.remote_smdp) {
    // The remote SM-DP+ reports its downloads through the ES2+ listener below.
    es2_ = smdp::make_remote_es2_port(*options_.remote_smdp);
    orders_->set_es2(es2_.get());
  } else if (smdp_) {
    es2_ = smdp::make_es2_port(smdp_->smdp());
    orders_->set_es2(es2_.get());
    orders::Orders* orders = orders_.get();
    smdp_->smdp().set_progress_listener(
        [orders](Id order_id, smdp::DownloadProgress progress, std::string_view cause) {
          using P = smdp::DownloadProgress;
          const orders::OrderState to = progress == P::kDownloaded ? orders::OrderState::kDownloaded
                                        : progress == P::kInstalled ? orders::OrderState::kInstalled
                                        : progress == P::kEnabled   ? orders::OrderState::kActive
                                                                    : orders::OrderState::kFailed;
          if (Status moved = orders->record_download_progress(order_id, to, cause);
              !moved.is_ok()) {
            spdlog::warn("order {}: download progress: {}",
                         format_public_id(orders::kOrderIdPrefix, order_id), moved.to_string());
          }
        });
  }
  web::PortalOptions portal_options = options_.portal;
  portal_options.require_verified_identity = options_.orders.require_verified_identity;
  // Served over TLS: Secure cookies and HSTS.
  portal_options.secure_transport |= options_.server.tls.has_value();
  STATION_ASSIGN_OR_RETURN(
      portal_, web::Portal::create(web::PortalDependencies{*database_, *billing_, *orders_,
                                                           *plans_, *identities_, *devices_,
                                                           *messenger_, *ids_, *clock_},
                                   portal_options));
  portal_->add_routes(router_);
  web::ConsoleOptions console_options = options_.console;
  console_options.secure_transport |= options_.server.tls.has_value();
  STATION_ASSIGN_OR_RETURN(
      console_, web::Console::create(
                    web::ConsoleDependencies{*database_, *billing_, *orders_, *plans_,
                                             *identities_, *inventory_, *messenger_, *audit_,
                                             *ids_, *clock_},
                    console_options));
  console_->add_routes(router_);
  if (options_.es2_listener) {
    smdp::add_progress_report_route(
        es2_router_,
        smdp::ProgressReportContext{*authenticator_, *orders_, *audit_, *ids_, *clock_});
    if (!options_.es2_ci_certificate_file.empty()) {
      STATION_ASSIGN_OR_RETURN(auto ci,
                               rsp_crypto::load_certificate_file(options_.es2_ci_certificate_file));
      smdp::add_notification_receiver_route(
          es2_router_,
          smdp::NotificationReceiverContext{*orders_, *audit_, *ids_, *clock_, metrics_,
                                            {std::move(ci)}});
    }
    es2_server_ = std::make_unique<http::Server>(*options_.es2_listener, es2_router_, metrics_,
                                                 options_.access_log);
    STATION_RETURN_IF_ERROR(es2_server_->listen());
  }
  payments_->start();
  orders_->start();
  return Status::ok();
}

Status App::start_smdp() {
  if (!options_.smdp) return Status::ok();
  SmdpServeOptions serve = *options_.smdp;
  serve.address = options_.orders.smdp_address;
  STATION_ASSIGN_OR_RETURN(
      smdp_, SmdpService::start(serve,
                                smdp::SmdpDependencies{*database_, *inventory_, *ids_,
                                                       *clock_, metrics_},
                                *ownership_, *authenticator_, metrics_, options_.access_log));
  return Status::ok();
}

Status App::start_messaging() {
  messenger_ = std::make_unique<messaging::Messenger>(*database_, *ids_, *clock_);
  if (!options_.smtp.url.empty()) {
    STATION_RETURN_IF_ERROR(messaging::validate(options_.smtp));
    smtp_client_ = std::make_unique<messaging::SmtpClient>(options_.smtp);
    messenger_->start_email_sender(*smtp_client_);
    // The URL carries no credentials (validate refuses them), so it may be logged.
    spdlog::info("email: sending through {} as {}", options_.smtp.url, options_.smtp.from);
  }
  if (options_.smpp.host.empty()) return Status::ok();
  STATION_RETURN_IF_ERROR(messaging::validate(options_.smpp));
  messaging::Messenger* messenger = messenger_.get();
  smpp_client_ = std::make_unique<messaging::SmppClient>(
      options_.smpp, [messenger](const messaging::smpp::DeliveryReceipt& receipt) {
        if (auto status = messenger->record_receipt(receipt); !status.is_ok()) {
          spdlog::warn("sms receipt for {}: {}", receipt.message_id, status.to_string());
        }
      });
  smpp_client_->start();
  messenger_->start_sender(*smpp_client_);
  return Status::ok();
}

void App::register_metrics() {
  ledger::Ledger* ledger = ledger_.get();
  auto stat = [ledger](auto member) {
    return [ledger, member]() { return static_cast<double>(ledger->stats().*member); };
  };
  metrics_.gauge_callback("station_ledger_transfers_committed_total",
                          "Transfers committed by the ledger since start",
                          stat(&ledger::LedgerStats::transfers_committed));
  metrics_.gauge_callback("station_ledger_transfers_refused_total",
                          "Transfer requests refused for a business reason since start",
                          stat(&ledger::LedgerStats::transfers_refused));
  metrics_.gauge_callback("station_ledger_batches_committed_total",
                          "Group-commit batches written since start",
                          stat(&ledger::LedgerStats::batches_committed));
  metrics_.gauge_callback("station_ledger_batch_commit_failures_total",
                          "Group-commit batches whose transaction failed",
                          stat(&ledger::LedgerStats::batch_commit_failures));
  // The ledger keeps its distributions as per-bucket counts; Prometheus wants them cumulative.
  auto histogram = [ledger](auto buckets_member, auto sum_member, auto bounds, double scale) {
    return [=]() {
      auto stats = ledger->stats();
      const auto& counts = stats.*buckets_member;
      metrics::Histogram::Snapshot snapshot;
      std::uint64_t running = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        running += counts[i];
        snapshot.cumulative_counts.push_back(running);
        if (i < bounds.size()) snapshot.upper_bounds.push_back(static_cast<double>(bounds[i]) * scale);
      }
      snapshot.count = running;
      snapshot.sum = static_cast<double>(stats.*sum_member) * scale;
      return snapshot;
    };
  };
  metrics_.histogram_callback(
      "station_ledger_batch_size", "Transfers per group-commit batch",
      histogram(&ledger::LedgerStats::batch_size_buckets, &ledger::LedgerStats::batch_size_sum,
                ledger::batch_size_bucket_bounds(), 1.0));
  metrics_.histogram_callback(
      "station_storage_commit_seconds", "Time to decide and durably commit one ledger batch",
      histogram(&ledger::LedgerStats::commit_latency_us_buckets,
                &ledger::LedgerStats::commit_latency_us_sum,
                ledger::commit_latency_bucket_bounds_us(), 1e-6));
  metrics_.gauge_callback("station_ledger_queue_depth", "Requests waiting for the ledger writer",
                          stat(&ledger::LedgerStats::queue_depth));
  auth::AuditWriter* audit = audit_.get();
  metrics_.gauge_callback("station_audit_dropped_total",
                          "Audit entries dropped because the audit queue was full",
                          [audit] { return static_cast<double>(audit->dropped()); });
}

std::string App::create_api_key_for_tests(const std::vector<auth::Scope>& scopes) {
  auto connection = database_->acquire();
  assert(connection.is_ok());
  auto key = auth::create_api_key(**connection, *ids_, *clock_, scopes, "test");
  assert(key.is_ok());
  return key->plaintext;
}

void App::run() {
  std::thread smdp_runner;
  if (smdp_) smdp_runner = std::thread([this] { smdp_->run(); });
  std::thread es2_runner;
  if (es2_server_) es2_runner = std::thread([this] { es2_server_->run(); });
  server_->run();
  // The main listener has stopped (stop() or a signal): the others stop with it.
  if (smdp_) {
    smdp_->stop();
    smdp_runner.join();
  }
  if (es2_server_) {
    es2_server_->stop();
    es2_runner.join();
  }
  drain();
}

void App::stop() {
  server_->stop();
  if (smdp_) smdp_->stop();
  if (es2_server_) es2_server_->stop();
}

void App::stop_on_signals() { server_->stop_on_signals(); }

void App::drain() {
  if (drained_) return;
  drained_ = true;
  // Orders first: their workers still use the ledger, the outbox and the provider.
  if (orders_) orders_->stop();
  if (payments_) payments_->stop();
  if (messenger_) messenger_->stop_sender();
  if (smpp_client_) smpp_client_->stop();  // unbinds cleanly
  ledger_->shutdown();
  audit_->flush();
}

App::~App() {
  if (ledger_ && audit_) drain();
}

}  // namespace station::cli
