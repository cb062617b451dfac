// cli: the `station` subcommands. main.cc registers them; each command parses its own flags
// (CLI11) and returns the process exit code. Commands print results on stdout and diagnostics on
// stderr, so scripts can capture the one line they need.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/smdp_service.h"
#include "common/result.h"
#include "config/serve_config.h"
#include "http/server.h"
#include "secrets/secrets.h"
#include "storage/database.h"

namespace station::cli {

// "cli:<user>": who acts from the command line, for the audit trail.
std::string cli_actor();
// Prints "error: <status>" on stderr; returns the exit code 1.
int fail(const Status& status);
// A regular file's whole text, refused (kPayloadTooLarge) beyond `max_bytes` before reading it.
// The buffer is wiped on a failed read, as the file may hold secrets (profile Ki and OPc).
Result<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes);

// Where a command finds its store: --database URL wins, else sqlite under --data-dir.
struct StoreFlags {
  std::string data_dir = "./data";
  std::string database_url;
};
void add_store_flags(CLI::App& command, StoreFlags& flags);
// Opens the database and applies pending migrations.
Result<std::unique_ptr<storage::Database>> open_store(const StoreFlags& flags);

// The secrets keyring: the key file given (--key-file / STATION_SECRETS_KEY_FILE), else the hex
// keys in STATION_SECRETS_KEY, else <data dir>/secrets.key, created with a fresh key on first use
// (and said so on stderr), so zero set-up keeps working.
Result<std::shared_ptr<const secrets::Keyring>> open_keyring(const std::string& key_file,
                                                              const std::string& data_dir);

// Shared by `station serve` and `station smdp` (serve_command.cc): the HTTP transport options of
// a configuration (its `listen` address); the log levels, with the access log (on stdout) or
// nullptr when it is off; the SM-DP+'s options (its listener, credentials from the PKI directory
// or the explicit files); the first admin key, printed once on stderr.
http::ServerOptions transport_options(const config::ServeConfig& config);
std::shared_ptr<spdlog::logger> start_logging(const config::ServeConfig& config);
Result<SmdpServeOptions> smdp_serve_options(const config::ServeConfig& config);
void print_first_admin_key(const std::string& key);

// Registers `station admin profiles ...` (admin_profiles.cc).
void add_profiles_commands(CLI::App& admin, int* exit_code);
// `station admin devices import FILE` (admin_devices.cc).
void add_devices_commands(CLI::App& admin, int* exit_code);
// `station admin plans create|update|list` (admin_plans.cc).
void add_plans_commands(CLI::App& admin, int* exit_code);
// `station admin kyc list|approve|reject` (admin_kyc.cc).
void add_kyc_commands(CLI::App& admin, int* exit_code);
// `station admin outbox list [--limit N]` (admin_outbox.cc).
void add_outbox_commands(CLI::App& admin, int* exit_code);

// `station admin staff create|password|list`: the console's staff accounts (admin_staff.cc).
void add_staff_commands(CLI::App& admin, int* exit_code);

// Registers `station admin ...`; the exit code of the command that ran is written to *exit_code.
void add_admin_command(CLI::App& app, int* exit_code);
// Registers `station serve`.
void add_serve_command(CLI::App& app, int* exit_code);
// Registers `station smdp`: the SM-DP+ alone (smdp_command.cc).
void add_smdp_command(CLI::App& app, int* exit_code);
// Registers `station pki init DIR` (pki_command.cc).
void add_pki_command(CLI::App& app, int* exit_code);
// Registers `station lpa ...` and `station euicc init` (lpa_command.cc).
void add_lpa_command(CLI::App& app, int* exit_code);

}  // namespace station::cli
