// cli/app: the running server, wired from its parts: database -> ownership lock -> ledger ->
// billing -> API routes -> HTTP server. `station serve` runs one; the API tests run one
// in-process on a loopback port.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "auth/api_keys.h"
#include "auth/audit.h"
#include "billing/billing.h"
#include "catalogue/plans.h"
#include "common/clock.h"
#include "common/id.h"
#include "devices/catalogue.h"
#include "http/router.h"
#include "http/server.h"
#include "inventory/inventory.h"
#include "kyc/identities.h"
#include "ledger/ledger.h"
#include "messaging/messenger.h"
#include "messaging/smpp_client.h"
#include "messaging/smtp_client.h"
#include "metrics/registry.h"
#include "orders/orders.h"
#include "orders/payments.h"
#include "cli/smdp_service.h"
#include "smdp/es2_client.h"
#include "storage/database.h"
#include "web/console.h"
#include "web/portal.h"

namespace station::cli {

// Creates an admin API key when the store has none, so that a first start can be used at once;
// returns it (shown once, stored only as a hash), or nothing when the store has a key already.
Result<std::optional<std::string>> ensure_first_admin_key(storage::Database& database,
                                                          IdGenerator& ids, const Clock& clock);

struct AppOptions {
  std::string database_url;
  http::ServerOptions server;
  std::string default_currency = "CNY";
  std::uint32_t idempotency_retention_hours = 7 * 24;
  std::shared_ptr<spdlog::logger> access_log;  // nullptr: no access log
  // Seals and opens profile secrets. nullptr: no keys, so profiles can be counted and moved but
  // not imported or opened (the API tests need no more).
  std::shared_ptr<const secrets::Keyring> keyring;
  // The SMSC; an empty host keeps SMS in the outbox (state queued) for admins to read.
  messaging::SmppConfig smpp;
  // The mail server; an empty URL keeps email in the outbox (state queued) for admins to read.
  messaging::SmtpConfig smtp;
  orders::OrderSettings orders;
  // The built-in payment provider's webhook secret (it plays a remote card processor and signs
  // its webhooks with it). Empty: a random one per start.
  std::string payment_webhook_secret;
  std::uint32_t payment_webhook_delay_ms = 1'500;
  // The SM-DP+ (src/smdp), served over HTTPS on its own listener; its address is
  // orders.smdp_address (which activation codes carry), whatever smdp->address says.
  std::optional<SmdpServeOptions> smdp;  // none: no SM-DP+
  // A remote SM-DP+ for the orders (ES2+ over HTTPS) instead of the built-in one; its address
  // must be orders.smdp_address. None: the built-in SM-DP+ when there is one.
  std::optional<smdp::RemoteSmdpConfig> remote_smdp;
  // HTTPS listener (tls set) for a remote SM-DP+'s ES2+ HandleDownloadProgressInfo into the
  // orders, and for the eUICCs' notifications of its profiles (smdp/progress_report.h). None:
  // not served.
  std::optional<http::ServerOptions> es2_listener;
  // The CI certificate (DER or PEM) whose eUICCs' notifications es2_listener believes
  // (smdp::add_notification_receiver_route). Empty: es2_listener receives no notifications.
  std::string es2_ci_certificate_file;
  // The subscriber portal's settings (web/portal.h); it is served under "/".
  web::PortalOptions portal;
  // The operator console's settings (web/console.h); it is served under "/console".
  web::ConsoleOptions console;
};

class App {
 public:
  // Opens and migrates the database, takes the ownership lock, loads the ledger and binds the
  // listening socket (so port() is known). When the store has no API key yet, creates an admin
  // key and returns it once from first_admin_key().
  static Result<std::unique_ptr<App>> start(AppOptions options, const Clock& clock);
  ~App();

  std::uint16_t port() const { return server_->port(); }
  // The SM-DP+'s HTTPS port (0 when there is none).
  std::uint16_t smdp_port() const { return smdp_ ? smdp_->port() : 0; }
  // The ES2+ progress listener's port (0 when there is none).
  std::uint16_t es2_port() const { return es2_server_ ? es2_server_->port() : 0; }
  const std::optional<std::string>& first_admin_key() const { return first_admin_key_; }

  // Serves until stop() (or a signal, after stop_on_signals()); then drains in-flight requests,
  // finishes queued ledger work and flushes the audit log before returning.
  void run();
  void stop();
  void stop_on_signals();

  ledger::Ledger& ledger() { return *ledger_; }
  storage::Database& database() { return *database_; }
  inventory::Inventory& inventory() { return *inventory_; }
  catalogue::Plans& plans() { return *plans_; }
  kyc::Identities& identities() { return *identities_; }
  devices::DeviceCatalogue& devices() { return *devices_; }
  messaging::Messenger& messenger() { return *messenger_; }
  orders::Orders& orders() { return *orders_; }
  // (method, pattern) of every route served.
  std::vector<std::pair<std::string, std::string>> routes() const { return router_.routes(); }
  // Waits until queued audit entries are written.
  void flush_audit() { audit_->flush(); }
  // Creates a key directly in the store; for tests that need callers with other scopes.
  std::string create_api_key_for_tests(const std::vector<auth::Scope>& scopes);

 private:
  App() = default;
  void register_metrics();
  // The outbox, the SMPP client and SMS sender when an SMSC is configured, and the SMTP client
  // and email sender when a mail server is.
  Status start_messaging();
  // The SM-DP+ and its HTTPS listener, when configured.
  Status start_smdp();
  // The payment provider and the orders domain, once the server's port is known.
  Status start_orders();
  void drain();

  AppOptions options_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<IdGenerator> ids_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::OwnershipLock> ownership_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<auth::AuditWriter> audit_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<billing::Billing> billing_;
  std::shared_ptr<const secrets::Keyring> keyring_;
  std::unique_ptr<inventory::Inventory> inventory_;
  std::unique_ptr<catalogue::Plans> plans_;
  std::unique_ptr<kyc::Identities> identities_;  // hashes document numbers with keyring_
  std::unique_ptr<devices::DeviceCatalogue> devices_;
  std::unique_ptr<messaging::Messenger> messenger_;
  std::unique_ptr<messaging::SmppClient> smpp_client_;  // null when no SMSC is configured
  std::unique_ptr<messaging::SmtpClient> smtp_client_;  // null when no mail server is configured
  std::unique_ptr<orders::TestPaymentProvider> payments_;
  std::unique_ptr<orders::Orders> orders_;
  std::unique_ptr<SmdpService> smdp_;      // null without an SM-DP+
  std::unique_ptr<orders::Es2Port> es2_;  // orders -> smdp_
  std::unique_ptr<web::Portal> portal_;
  std::unique_ptr<web::Console> console_;
  std::unique_ptr<struct ApiHolder> api_;
  metrics::Registry metrics_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  http::Router es2_router_;
  std::unique_ptr<http::Server> es2_server_;  // null without es2_listener
  std::optional<std::string> first_admin_key_;
  bool drained_ = false;
};

}  // namespace station::cli
