// `station smdp`: the SM-DP+ alone (ES9+ and ES2+ over HTTPS on smdp_listen), on a store and a
// PKI, without the subscriber API, the portal, the ledger or messaging: for an operator whose
// BSS orders profiles through ES2+, and for labs. It owns its store as `station serve` does.
#include <array>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/api_keys.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/smdp_service.h"
#include "schema/migrations.h"

namespace station::cli {
namespace {

// The options `station smdp` takes as flags: the store, the transport, logging, the SM-DP+'s.
bool offered_by_smdp(std::string_view key) {
  static constexpr std::array kShared = {
      "data_dir",           "database",          "threads",          "header_bytes_max",
      "body_bytes_max",     "request_timeout_ms", "keep_alive_idle_ms", "shutdown_grace_ms",
      "log_level",          "access_log",        "pki"};
  for (std::string_view shared : kShared) {
    if (key == shared) return true;
  }
  return key.starts_with("smdp_");
}

int run_smdp(const config::ServeFlags& flags) {
  auto config = config::resolve_serve_config(flags, config::process_env);
  if (!config.is_ok()) {
    fmt::print(stderr, "error: {}\n", config.status().to_string());
    return 2;
  }
  if (config->smdp_listen.empty()) {
    fmt::print(stderr, "error: --smdp-listen HOST:PORT is required\n");
    return 2;
  }
  auto serve = smdp_serve_options(*config);
  if (!serve.is_ok()) {
    fmt::print(stderr, "error: {}\n", serve.status().to_string());
    return 2;
  }
  auto access_log = start_logging(*config);

  auto started = [&]() -> Status {
    storage::DatabaseOptions database_options;
    database_options.url = config->database_url.empty()
                               ? storage::default_database_url(config->data_dir)
                               : config->database_url;
    STATION_ASSIGN_OR_RETURN(auto database, storage::Database::open(database_options));
    STATION_ASSIGN_OR_RETURN(auto ownership, database->lock_exclusive());
    STATION_RETURN_IF_ERROR(database->migrate(schema::all_migrations()));
    const char* key_file = std::getenv("STATION_SECRETS_KEY_FILE");
    STATION_ASSIGN_OR_RETURN(auto keyring,
                             open_keyring(key_file != nullptr ? key_file : "", config->data_dir));
    SystemClock clock;
    IdGenerator ids(clock);
    metrics::Registry metrics;
    inventory::Inventory inventory(*database, *keyring, clock);
    auth::Authenticator authenticator(*database, clock);
    STATION_ASSIGN_OR_RETURN(auto first_key, ensure_first_admin_key(*database, ids, clock));
    STATION_ASSIGN_OR_RETURN(
        auto service,
        SmdpService::start(*serve,
                           smdp::SmdpDependencies{*database, inventory, ids, clock,
                                                  metrics},
                           *ownership, authenticator, metrics, access_log));
    storage::Database* store = database.get();
    http::add_operational_routes(service->router(), metrics, [store]() -> Status {
      STATION_ASSIGN_OR_RETURN(auto connection, store->acquire());
      return connection->query("SELECT 1").status();
    });
    spdlog::info("sm-dp+ serving ES9+/ES2+ on https://{}:{} as {} (store: {})",
                 serve->server.listen_host, service->port(), serve->address,
                 database->describe());
    if (serve->callbacks) {
      // The URL names the operator's endpoint; the token is never logged.
      spdlog::info("sm-dp+ reporting download progress to {}", serve->callbacks->url);
    }
    if (first_key) print_first_admin_key(*first_key);
    service->stop_on_signals();
    service->run();
    spdlog::info("sm-dp+ stopped: in-flight calls answered");
    return Status::ok();
  }();
  if (!started.is_ok()) {
    spdlog::error("cannot start: {}", started.to_string());
    return 1;
  }
  return 0;
}

}  // namespace

void add_smdp_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<config::ServeFlags>();
  auto* command = app.add_subcommand(
      "smdp",
      "Run only the SM-DP+ (GSMA SGP.22 ES9+ for LPAs and ES2+ for operators, over HTTPS on "
      "--smdp-listen) on the store under --data-dir (or --database) with the credentials of "
      "--pki; no subscriber API or portal. ES2+ callers need an admin API key: the first start "
      "on an empty store prints one; `station admin api-key create` makes more. /healthz, "
      "/readyz and /metrics are served on the same listener. Options as for `station serve` "
      "(defaults < --config TOML file < STATION_* environment < flags).");
  config::add_serve_flags(*command, *flags, offered_by_smdp);
  command->callback([flags, exit_code] { *exit_code = run_smdp(*flags); });
}

}  // namespace station::cli
