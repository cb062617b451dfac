// config: the configuration of `station serve`.
//
// Every option is declared once, in one table (serve_config.cc), which gives it its TOML key,
// its environment variable (STATION_<KEY>), its flag (--<key-with-dashes>), its help text, its
// type and its bounds. Sources in increasing precedence: built-in defaults < TOML file
// (--config FILE) < environment < command-line flags. Every value is validated whatever its
// source, and an error names the source and the key.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "common/result.h"

namespace station::config {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
// "127.0.0.1:8080", "localhost:0", "[::1]:8080". Port 0 asks the system for a free port.
Result<HostPort> parse_host_port(std::string_view text);

struct ServeConfig {
  HostPort listen{"127.0.0.1", 8080};
  std::string data_dir = "./data";
  std::string database_url;   // empty: sqlite under data_dir
  std::uint32_t threads = 0;  // 0: one per core
  std::uint32_t header_bytes_max = 0;
  std::uint32_t body_bytes_max = 0;
  std::uint32_t request_timeout_ms = 0;
  std::uint32_t keep_alive_idle_ms = 0;
  std::uint32_t shutdown_grace_ms = 0;
  std::string log_level = "info";
  bool access_log = true;
  std::string default_currency = "CNY";
  std::uint32_t idempotency_retention_hours = 0;
  // SMSC for SMS delivery (src/messaging); an empty host keeps messages in the outbox.
  std::string smpp_host;
  std::uint32_t smpp_port = 2775;
  std::string smpp_system_id;
  std::string smpp_password;  // never logged
  std::string smpp_system_type;
  std::string smpp_source_addr = "Station";
  // Mail server for email (src/messaging); an empty URL keeps email in the outbox.
  std::string smtp_url;
  std::string smtp_from;
  std::string smtp_username;
  std::string smtp_password;  // never logged
  std::string smtp_ca_file;
  bool smtp_require_tls = true;
  // Ordering (src/orders).
  std::string smdp_address = "smdp.station.localhost";
  bool require_verified_identity = true;
  bool confirmation_code_required = false;
  std::uint32_t payment_timeout_seconds = 900;
  std::string payment_webhook_secret;  // never logged; empty: random per start
  std::uint32_t payment_webhook_delay_ms = 1'500;
  // The SM-DP+ (src/smdp), served over HTTPS on smdp_listen when it is set. Its credentials
  // come from a `station pki init` directory (pki) and/or the explicit files, which win.
  std::string pki_dir;
  std::string smdp_listen;  // HOST:PORT; empty: no SM-DP+
  std::string smdp_tls_cert;
  std::string smdp_tls_key;
  std::string smdp_ci_cert;
  // Where eUICCs send their enable/disable/delete notifications; empty: the SM-DP+ itself.
  std::string smdp_notification_address;
  std::string smdp_dpauth_cert;
  std::string smdp_dpauth_key;
  std::string smdp_dppb_cert;
  std::string smdp_dppb_key;
  // A DER profile package every profile's package is made from (upp/upp.h); empty: built-in.
  std::string smdp_upp_template;
  std::uint32_t smdp_session_ttl_seconds = 600;
  std::uint32_t smdp_cc_attempts_max = 3;
  std::uint32_t smdp_workers = 0;  // 0: one per core
  // ES2+ HandleDownloadProgressInfo of the SM-DP+ to the operator whose download orders it serves
  // (smdp/progress_callbacks.h); an empty URL sends none.
  std::string smdp_callback_url;
  std::string smdp_callback_ca_file;
  std::string smdp_callback_token;  // never logged
  // The SM-DP+ of Station's own orders: empty URL, the built-in one (smdp_listen); else a remote
  // SM-DP+ over ES2+ (smdp/es2_client.h), and smdp_address must be the remote's.
  std::string es2_smdp_url;
  std::string es2_smdp_ca_file;
  std::string es2_smdp_token;  // never logged
  // HTTPS listener for a remote SM-DP+'s HandleDownloadProgressInfo (smdp/progress_report.h).
  std::string es2_listen;  // HOST:PORT; empty: none
  std::string es2_tls_cert;
  std::string es2_tls_key;
};

// Raw flag values as given on the command line, by option key.
struct ServeFlags {
  std::string config_file;
  std::map<std::string, std::string> values;
};

// Registers --config and one flag per option on `command`, with help naming the env variable;
// only the options whose key `offered` accepts, when it is given (a TOML file and the
// environment may still set the others, so that one configuration serves every command).
void add_serve_flags(CLI::App& command, ServeFlags& flags,
                     const std::function<bool(std::string_view key)>& offered = {});

using GetEnv = std::function<std::optional<std::string>(std::string_view)>;
// Layers defaults, the TOML file, the environment and the flags. kValidationFailed naming the
// source and key for an unknown TOML key, a wrong type or a value out of range.
Result<ServeConfig> resolve_serve_config(const ServeFlags& flags, const GetEnv& getenv);

// The process environment.
std::optional<std::string> process_env(std::string_view name);

}  // namespace station::config
