#include <cstdio>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/app.h"
#include "cli/commands.h"
#include "config/serve_config.h"

namespace station::cli {

http::ServerOptions transport_options(const config::ServeConfig& config) {
  http::ServerOptions server;
  server.listen_host = config.listen.host;
  server.listen_port = config.listen.port;
  server.threads = config.threads;
  server.header_bytes_max = config.header_bytes_max;
  server.body_bytes_max = config.body_bytes_max;
  server.request_timeout_ms = config.request_timeout_ms;
  server.keep_alive_idle_ms = config.keep_alive_idle_ms;
  server.shutdown_grace_ms = config.shutdown_grace_ms;
  return server;
}

std::shared_ptr<spdlog::logger> start_logging(const config::ServeConfig& config) {
  // Diagnostics on stderr; stdout carries only the access log.
  spdlog::set_default_logger(spdlog::stderr_color_mt("station"));
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (!config.access_log) return nullptr;
  // The access log is data (one JSON object per line) on stdout; diagnostics go to stderr.
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto access_log = std::make_shared<spdlog::logger>("access", sink);
  access_log->set_pattern("%v");
  access_log->flush_on(spdlog::level::info);
  return access_log;
}

namespace {

// A credential file: the one given, else `in_pki` of the pki directory (when there is one).
std::string given_or_in_pki(const config::ServeConfig& config, const std::string& given,
                            std::string_view in_pki) {
  if (!given.empty() || config.pki_dir.empty()) return given;
  return config.pki_dir + "/" + std::string(in_pki);
}

}  // namespace

Result<SmdpServeOptions> smdp_serve_options(const config::ServeConfig& config) {
  SmdpServeOptions smdp;
  auto listen = config::parse_host_port(config.smdp_listen);
  if (!listen.is_ok()) {
    return Status(listen.status().code(), "smdp_listen: " + listen.status().message());
  }
  smdp.server = transport_options(config);
  smdp.server.listen_host = listen->host;
  smdp.server.listen_port = listen->port;
  auto pick = [&config](const std::string& given, std::string_view in_pki) {
    return given_or_in_pki(config, given, in_pki);
  };
  smdp.server.tls = http::TlsFiles{pick(config.smdp_tls_cert, "dp_tls.pem"),
                                   pick(config.smdp_tls_key, "dp_tls.key.pem")};
  smdp.address = config.smdp_address;
  smdp.notification_address = config.smdp_notification_address;
  smdp.credentials = smdp::CredentialFiles{
      pick(config.smdp_ci_cert, "ci.der"), pick(config.smdp_dpauth_cert, "dp_auth.der"),
      pick(config.smdp_dpauth_key, "dp_auth.key.pem"), pick(config.smdp_dppb_cert, "dp_pb.der"),
      pick(config.smdp_dppb_key, "dp_pb.key.pem")};
  smdp.session_ttl_seconds = config.smdp_session_ttl_seconds;
  smdp.cc_attempts_max = config.smdp_cc_attempts_max;
  smdp.upp_template_file = config.smdp_upp_template;
  smdp.workers = config.smdp_workers;
  if (!config.smdp_callback_url.empty()) {
    smdp::ProgressCallbackConfig callbacks;
    callbacks.url = config.smdp_callback_url;
    callbacks.ca_file = config.smdp_callback_ca_file;
    callbacks.bearer_token = config.smdp_callback_token;
    STATION_RETURN_IF_ERROR(smdp::check_config(callbacks));
    smdp.callbacks = std::move(callbacks);
  }
  return smdp;
}

void print_first_admin_key(const std::string& key) {
  // First start: the store had no API key. Shown once; stored only as a hash.
  fmt::print(stderr,
             "\nFirst start: created an admin API key. Keep it; it is not shown again:\n\n"
             "    {}\n\n",
             key);
}

namespace {

// The remote SM-DP+ of Station's orders, and the listener its progress reports and the eUICCs'
// notifications of its profiles come to.
Status remote_es2_options(const config::ServeConfig& config, AppOptions& options) {
  if (!config.es2_smdp_url.empty()) {
    smdp::RemoteSmdpConfig remote;
    remote.base_url = config.es2_smdp_url;
    remote.ca_file = config.es2_smdp_ca_file;
    remote.bearer_token = config.es2_smdp_token;
    STATION_RETURN_IF_ERROR(smdp::check_config(remote));
    options.remote_smdp = std::move(remote);
  }
  if (config.es2_listen.empty()) return Status::ok();
  STATION_ASSIGN_OR_RETURN(auto listen, config::parse_host_port(config.es2_listen));
  http::ServerOptions es2 = transport_options(config);
  es2.listen_host = listen.host;
  es2.listen_port = listen.port;
  es2.tls = http::TlsFiles{given_or_in_pki(config, config.es2_tls_cert, "dp_tls.pem"),
                           given_or_in_pki(config, config.es2_tls_key, "dp_tls.key.pem")};
  if (es2.tls->certificate_chain_file.empty() || es2.tls->private_key_file.empty()) {
    return Status(ErrorCode::kValidationFailed,
                  "es2_listen needs es2_tls_cert and es2_tls_key (or pki)");
  }
  options.es2_listener = std::move(es2);
  options.es2_ci_certificate_file = given_or_in_pki(config, config.smdp_ci_cert, "ci.der");
  return Status::ok();
}

int run_serve(const config::ServeFlags& flags) {
  auto config = config::resolve_serve_config(flags, config::process_env);
  if (!config.is_ok()) {
    fmt::print(stderr, "error: {}\n", config.status().to_string());
    return 2;
  }
  AppOptions options;
  options.access_log = start_logging(*config);
  options.database_url = config->database_url.empty()
                             ? storage::default_database_url(config->data_dir)
                             : config->database_url;
  options.server = transport_options(*config);
  options.default_currency = config->default_currency;
  options.idempotency_retention_hours = config->idempotency_retention_hours;
  options.smpp.host = config->smpp_host;
  options.smpp.port = static_cast<std::uint16_t>(config->smpp_port);
  options.smpp.system_id = config->smpp_system_id;
  options.smpp.password = config->smpp_password;
  options.smpp.system_type = config->smpp_system_type;
  options.smpp.source_addr = config->smpp_source_addr;
  options.smtp.url = config->smtp_url;
  options.smtp.from = config->smtp_from;
  options.smtp.username = config->smtp_username;
  options.smtp.password = config->smtp_password;
  options.smtp.ca_file = config->smtp_ca_file;
  options.smtp.require_tls = config->smtp_require_tls;
  options.orders.smdp_address = config->smdp_address;
  options.orders.require_verified_identity = config->require_verified_identity;
  options.orders.confirmation_code_required = config->confirmation_code_required;
  options.orders.payment_timeout_seconds = config->payment_timeout_seconds;
  options.payment_webhook_secret = config->payment_webhook_secret;
  options.payment_webhook_delay_ms = config->payment_webhook_delay_ms;
  if (!config->smdp_listen.empty()) {
    auto smdp = smdp_serve_options(*config);
    if (!smdp.is_ok()) {
      fmt::print(stderr, "error: {}\n", smdp.status().to_string());
      return 2;
    }
    options.smdp = std::move(smdp).value();
  }
  if (Status es2 = remote_es2_options(*config, options); !es2.is_ok()) {
    fmt::print(stderr, "error: {}\n", es2.to_string());
    return 2;
  }

  // Profile secrets: STATION_SECRETS_KEY_FILE or STATION_SECRETS_KEY, else the data directory's key.
  const char* key_file = std::getenv("STATION_SECRETS_KEY_FILE");
  auto keyring = open_keyring(key_file != nullptr ? key_file : "", config->data_dir);
  if (!keyring.is_ok()) {
    spdlog::error("cannot start: {}", keyring.status().to_string());
    return 1;
  }
  options.keyring = std::move(keyring).value();

  SystemClock clock;
  auto app = App::start(options, clock);
  if (!app.is_ok()) {
    spdlog::error("cannot start: {}", app.status().to_string());
    return 1;
  }
  spdlog::info("station serving on http://{}:{} (store: {})", config->listen.host,
               (*app)->port(), (*app)->database().describe());
  if ((*app)->smdp_port() != 0) {
    spdlog::info("sm-dp+ serving ES9+/ES2+ on https://{}:{} as {}", options.smdp->server.listen_host,
                 (*app)->smdp_port(), config->smdp_address);
  }
  if (options.remote_smdp) {
    spdlog::info("orders use the remote sm-dp+ at {} over ES2+", options.remote_smdp->base_url);
    if (!options.es2_listener) {
      spdlog::warn("no es2_listen: the remote sm-dp+ cannot report downloads, so orders stay "
                   "at code_issued");
    }
  }
  if ((*app)->es2_port() != 0) {
    spdlog::info("ES2+ HandleDownloadProgressInfo served on https://{}:{}",
                 options.es2_listener->listen_host, (*app)->es2_port());
  }
  if (options.smdp && options.smdp->callbacks) {
    spdlog::info("sm-dp+ reporting download progress to {}", options.smdp->callbacks->url);
  }
  if ((*app)->first_admin_key()) print_first_admin_key(*(*app)->first_admin_key());
  (*app)->stop_on_signals();
  (*app)->run();
  spdlog::info("station stopped: in-flight requests answered, ledger and audit log flushed");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<config::ServeFlags>();
  auto* serve = app.add_subcommand(
      "serve",
      "Run the Station server (HTTP API). Options come from defaults < --config TOML file < "
      "STATION_* environment < flags.");
  config::add_serve_flags(*serve, *flags);
  serve->callback([flags, exit_code] { *exit_code = run_serve(*flags); });
}

}  // namespace station::cli
