#include "config/serve_config.h"

#include <array>
#include <cassert>
#include <charconv>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/limits.h"
#include "common/money.h"

namespace station::config {
namespace {

enum class Kind { kText, kUnsigned, kBool, kHostPort, kCurrency, kLogLevel };

struct Option {
  std::string_view key;  // TOML key; env STATION_<KEY upper>; flag --<key with dashes>
  Kind kind;
  std::string help;  // ends with the default, so that --help documents it
  std::uint64_t min = 0;
  std::uint64_t max = 0;
  std::function<Status(ServeConfig&, std::string_view)> set;
};

Result<std::uint64_t> parse_unsigned(std::string_view text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return Status(ErrorCode::kValidationFailed, fmt::format("'{}' is not a whole number", text));
  }
  if (value < min || value > max) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("{} is outside {}..{}", value, min, max));
  }
  return value;
}

template <typename Field>
std::function<Status(ServeConfig&, std::string_view)> unsigned_field(Field field, std::uint64_t min,
                                                                     std::uint64_t max) {
  return [field, min, max](ServeConfig& config, std::string_view text) -> Status {
    STATION_ASSIGN_OR_RETURN(auto value, parse_unsigned(text, min, max));
    config.*field = static_cast<std::uint32_t>(value);
    return Status::ok();
  };
}

template <typename Field>
std::function<Status(ServeConfig&, std::string_view)> text_field(Field field) {
  return [field](ServeConfig& config, std::string_view text) -> Status {
    if (text.size() > limits::kConfigTextValueBytesMax) {
      return Status(ErrorCode::kValidationFailed,
                    fmt::format("longer than {} bytes", limits::kConfigTextValueBytesMax));
    }
    config.*field = std::string(text);
    return Status::ok();
  };
}

// Parses "true"/"false" and the usual spellings of each in environment variables.
Result<bool> parse_bool(std::string_view text) {
  for (std::string_view yes : {"true", "1", "yes", "on"}) {
    if (text == yes) return true;
  }
  for (std::string_view no : {"false", "0", "no", "off"}) {
    if (text == no) return false;
  }
  return Status(ErrorCode::kValidationFailed, "expected true or false");
}

const std::vector<Option>& options() {
  using limits::kHttpBodyBytesMax;
  static const std::vector<Option> kOptions = {
      {"listen", Kind::kHostPort,
       "Address to serve HTTP on, HOST:PORT; port 0 takes any free port (default "
       "127.0.0.1:8080)",
       0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         STATION_ASSIGN_OR_RETURN(c.listen, parse_host_port(t));
         return Status::ok();
       }},
      {"data_dir", Kind::kText,
       "Data directory; the default SQLite store lives here (default ./data)", 0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         if (t.empty()) return Status(ErrorCode::kValidationFailed, "must not be empty");
         return text_field(&ServeConfig::data_dir)(c, t);
       }},
      {"database", Kind::kText,
       "Database URL: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: sqlite in data_dir)", 0,
       0,
       [](ServeConfig& c, std::string_view t) -> Status {
         // The URL may hold a password: the error does not quote it.
         bool known = t.empty() || t.starts_with("sqlite:") || t.starts_with("postgres://") ||
                      t.starts_with("postgresql://");
         if (!known) {
           return Status(ErrorCode::kValidationFailed,
                         "must start with sqlite:, postgres:// or postgresql://");
         }
         return text_field(&ServeConfig::database_url)(c, t);
       }},
      {"threads", Kind::kUnsigned, "HTTP io threads; 0 is one per core (default 0)", 0,
       limits::kHttpThreadsMax, unsigned_field(&ServeConfig::threads, 0, limits::kHttpThreadsMax)},
      {"header_bytes_max", Kind::kUnsigned,
       fmt::format("Largest accepted request header block, in bytes (default {})",
                   limits::kHttpHeaderBytesMax),
       1024, 1024 * 1024, unsigned_field(&ServeConfig::header_bytes_max, 1024, 1024 * 1024)},
      {"body_bytes_max", Kind::kUnsigned,
       fmt::format("Largest accepted request body, in bytes (default and most {})",
                   kHttpBodyBytesMax),
       1024, kHttpBodyBytesMax,
       unsigned_field(&ServeConfig::body_bytes_max, 1024, kHttpBodyBytesMax)},
      {"request_timeout_ms", Kind::kUnsigned,
       fmt::format("Time a client has to send a whole request, in milliseconds (default {})",
                   limits::kHttpRequestTimeoutMsDefault),
       100, 600'000, unsigned_field(&ServeConfig::request_timeout_ms, 100, 600'000)},
      {"keep_alive_idle_ms", Kind::kUnsigned,
       fmt::format("Idle time before a keep-alive connection is closed, in milliseconds "
                   "(default {})",
                   limits::kHttpKeepAliveIdleMsDefault),
       100, 3'600'000, unsigned_field(&ServeConfig::keep_alive_idle_ms, 100, 3'600'000)},
      {"shutdown_grace_ms", Kind::kUnsigned,
       fmt::format("On SIGTERM or SIGINT, time in-flight requests get to finish, in milliseconds "
                   "(default {})",
                   limits::kHttpShutdownGraceMsDefault),
       0, 600'000, unsigned_field(&ServeConfig::shutdown_grace_ms, 0, 600'000)},
      {"log_level", Kind::kLogLevel, "trace, debug, info, warn, error or off (default info)", 0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         static constexpr std::array kLevels = {"trace", "debug", "info", "warn", "error", "off"};
         for (auto level : kLevels) {
           if (t == level) {
             c.log_level = std::string(t);
             return Status::ok();
           }
         }
         return Status(ErrorCode::kValidationFailed, fmt::format("unknown log level '{}'", t));
       }},
      {"access_log", Kind::kBool,
       "Write one JSON access-log line per request to stdout: true or false (default true)", 0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         STATION_ASSIGN_OR_RETURN(c.access_log, parse_bool(t));
         return Status::ok();
       }},
      {"default_currency", Kind::kCurrency,
       "ISO 4217 currency of new wallets when a request names none (default CNY)", 0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         if (!Currency::from_code(t)) {
           return Status(ErrorCode::kValidationFailed,
                         fmt::format("'{}' is not a supported ISO 4217 currency", t));
         }
         c.default_currency = std::string(t);
         return Status::ok();
       }},
      {"idempotency_retention_hours", Kind::kUnsigned,
       fmt::format("How long idempotency keys are remembered, in hours (at least {}, default {})",
                   limits::kIdempotencyRetentionHoursMin,
                   limits::kIdempotencyRetentionHoursDefault),
       limits::kIdempotencyRetentionHoursMin, 24 * 365,
       unsigned_field(&ServeConfig::idempotency_retention_hours,
                      limits::kIdempotencyRetentionHoursMin, 24 * 365)},
      {"smpp_host", Kind::kText, "SMSC host for SMS delivery (empty: messages stay in the outbox)",
       0, 0, text_field(&ServeConfig::smpp_host)},
      {"smpp_port", Kind::kUnsigned, "SMSC SMPP port (default 2775)", 1, 65'535,
       unsigned_field(&ServeConfig::smpp_port, 1, 65'535)},
      {"smpp_system_id", Kind::kText, "SMPP system_id to bind with (at most 15 characters)", 0, 0,
       text_field(&ServeConfig::smpp_system_id)},
      {"smpp_password", Kind::kText, "SMPP password (at most 8 characters; never logged)", 0, 0,
       text_field(&ServeConfig::smpp_password)},
      {"smpp_system_type", Kind::kText, "SMPP system_type (often empty)", 0, 0,
       text_field(&ServeConfig::smpp_system_type)},
      {"smpp_source_addr", Kind::kText,
       "Sender shown on the SMS: digits or up to 11 letters (default Station)", 0, 0,
       text_field(&ServeConfig::smpp_source_addr)},
      {"smtp_url", Kind::kText,
       "Mail server for email: smtp://HOST:587 (STARTTLS) or smtps://HOST:465, no credentials in "
       "it (empty: email stays in the outbox)",
       0, 0, text_field(&ServeConfig::smtp_url)},
      {"smtp_from", Kind::kText, "Sender address of email, e.g. noreply@example.com", 0, 0,
       text_field(&ServeConfig::smtp_from)},
      {"smtp_username", Kind::kText, "SMTP AUTH user name (empty: no AUTH)", 0, 0,
       text_field(&ServeConfig::smtp_username)},
      {"smtp_password", Kind::kText,
       "SMTP AUTH password (never logged; better given as STATION_SMTP_PASSWORD than a flag)", 0,
       0, text_field(&ServeConfig::smtp_password)},
      {"smtp_ca_file", Kind::kText,
       "PEM file of the CA that vouches for the mail server (default: the system's)", 0, 0,
       text_field(&ServeConfig::smtp_ca_file)},
      {"smtp_require_tls", Kind::kBool,
       "An smtp:// server must offer STARTTLS; false only for a relay on loopback (default true)",
       0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         STATION_ASSIGN_OR_RETURN(c.smtp_require_tls, parse_bool(t));
         return Status::ok();
       }},
      {"smdp_address", Kind::kText,
       "SM-DP+ address put in activation codes, host[:port] (default smdp.station.localhost)", 0,
       0, text_field(&ServeConfig::smdp_address)},
      {"require_verified_identity", Kind::kBool,
       "Ordering an eSIM needs a verified identity (the market's rule): true or false (default "
       "true)",
       0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         STATION_ASSIGN_OR_RETURN(c.require_verified_identity, parse_bool(t));
         return Status::ok();
       }},
      {"confirmation_code_required", Kind::kBool,
       "Activation codes need a confirmation code, given once when ordering (default false)", 0,
       0,
       [](ServeConfig& c, std::string_view t) -> Status {
         STATION_ASSIGN_OR_RETURN(c.confirmation_code_required, parse_bool(t));
         return Status::ok();
       }},
      {"payment_timeout_seconds", Kind::kUnsigned,
       "Time a card payment has to be confirmed before its order fails (default 900)", 10, 86'400,
       unsigned_field(&ServeConfig::payment_timeout_seconds, 10, 86'400)},
      {"payment_webhook_secret", Kind::kText,
       "Secret of the built-in test payment provider's webhooks (never logged; default: random "
       "per start)",
       0, 0, text_field(&ServeConfig::payment_webhook_secret)},
      {"payment_webhook_delay_ms", Kind::kUnsigned,
       "Delay of the built-in test payment provider before it confirms, in milliseconds "
       "(default 1500)",
       0, 60'000, unsigned_field(&ServeConfig::payment_webhook_delay_ms, 0, 60'000)},
      {"pki", Kind::kText,
       "SM-DP+ credentials: a `station pki init` directory (ci, dp_auth, dp_pb, dp_tls)", 0, 0,
       text_field(&ServeConfig::pki_dir)},
      {"smdp_listen", Kind::kText,
       "Address to serve the SM-DP+ (ES9+ and ES2+) on over HTTPS, HOST:PORT (default: no "
       "SM-DP+); put the name and port the devices reach in smdp_address",
       0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         if (!t.empty()) STATION_RETURN_IF_ERROR(parse_host_port(t).status());
         return text_field(&ServeConfig::smdp_listen)(c, t);
       }},
      {"smdp_tls_cert", Kind::kText,
       "SM-DP+ TLS certificate chain, PEM (default: dp_tls.pem of pki)", 0, 0,
       text_field(&ServeConfig::smdp_tls_cert)},
      {"smdp_tls_key", Kind::kText, "SM-DP+ TLS private key, PEM (default: dp_tls.key.pem of pki)",
       0, 0, text_field(&ServeConfig::smdp_tls_key)},
      {"smdp_ci_cert", Kind::kText,
       "CI certificate the SM-DP+ trusts, and whose eUICCs' notifications es2_listen believes, "
       "DER or PEM (default: ci.der of pki)",
       0, 0,
       text_field(&ServeConfig::smdp_ci_cert)},
      {"smdp_notification_address", Kind::kText,
       "Where eUICCs send their notifications of enabling, disabling and deleting the SM-DP+'s "
       "profiles, host[:port]: the operator's receiver (a Station's es2_listen) when its orders "
       "are not this SM-DP+'s own (default: the SM-DP+ itself)",
       0, 0, text_field(&ServeConfig::smdp_notification_address)},
      {"smdp_dpauth_cert", Kind::kText,
       "SM-DP+ DPauth certificate (signs serverSigned1; default: dp_auth.der of pki)", 0, 0,
       text_field(&ServeConfig::smdp_dpauth_cert)},
      {"smdp_dpauth_key", Kind::kText, "DPauth private key, PEM (default: dp_auth.key.pem of pki)",
       0, 0, text_field(&ServeConfig::smdp_dpauth_key)},
      {"smdp_dppb_cert", Kind::kText,
       "SM-DP+ DPpb certificate (signs smdpSigned2 and the package; default: dp_pb.der of pki)",
       0, 0, text_field(&ServeConfig::smdp_dppb_cert)},
      {"smdp_dppb_key", Kind::kText, "DPpb private key, PEM (default: dp_pb.key.pem of pki)", 0,
       0, text_field(&ServeConfig::smdp_dppb_key)},
      {"smdp_upp_template", Kind::kText,
       "Profile template: a DER profile package (TCA interoperable format) that every profile's "
       "package is made from, checked at start-up (default: the built-in one; docs/rsp.md)",
       0, 0, text_field(&ServeConfig::smdp_upp_template)},
      {"smdp_session_ttl_seconds", Kind::kUnsigned,
       "Lifetime of an RSP session (ES9+), in seconds (default 600)", 30, 86'400,
       unsigned_field(&ServeConfig::smdp_session_ttl_seconds, 30, 86'400)},
      {"smdp_cc_attempts_max", Kind::kUnsigned,
       "Wrong confirmation codes before a download order is locked (default 3)", 1, 100,
       unsigned_field(&ServeConfig::smdp_cc_attempts_max, 1, 100)},
      {"smdp_workers", Kind::kUnsigned,
       "Threads that run the SM-DP+'s calls (signatures, key agreement, storage), off the HTTP "
       "threads; 0 is one per core (default 0)",
       0, limits::kHttpThreadsMax, unsigned_field(&ServeConfig::smdp_workers, 0,
                                                  limits::kHttpThreadsMax)},
      {"smdp_callback_url", Kind::kText,
       "The operator's ES2+ endpoint the SM-DP+ reports its download orders' progress to "
       "(HandleDownloadProgressInfo), https://... (default: no reports)",
       0, 0, text_field(&ServeConfig::smdp_callback_url)},
      {"smdp_callback_ca_file", Kind::kText,
       "PEM CA file that verifies the operator's endpoint of smdp_callback_url", 0, 0,
       text_field(&ServeConfig::smdp_callback_ca_file)},
      {"smdp_callback_token", Kind::kText,
       "Bearer token sent to smdp_callback_url (never logged; better given as "
       "STATION_SMDP_CALLBACK_TOKEN than a flag; default: none)",
       0, 0, text_field(&ServeConfig::smdp_callback_token)},
      {"es2_smdp_url", Kind::kText,
       "A remote SM-DP+ for Station's orders, https://HOST[:PORT], reached over ES2+; set "
       "smdp_address to its address (default: the built-in SM-DP+)",
       0, 0, text_field(&ServeConfig::es2_smdp_url)},
      {"es2_smdp_ca_file", Kind::kText,
       "PEM CA file that verifies the remote SM-DP+ of es2_smdp_url", 0, 0,
       text_field(&ServeConfig::es2_smdp_ca_file)},
      {"es2_smdp_token", Kind::kText,
       "Bearer token (API key) Station presents to the remote SM-DP+ (never logged; better given "
       "as STATION_ES2_SMDP_TOKEN than a flag)",
       0, 0, text_field(&ServeConfig::es2_smdp_token)},
      {"es2_listen", Kind::kText,
       "Address to serve ES2+ HandleDownloadProgressInfo on over HTTPS, HOST:PORT, for a remote "
       "SM-DP+ with an API key of the smdp scope, and the eUICCs' notifications of its profiles "
       "(ES9+ handleNotification; set smdp_notification_address of that SM-DP+ to this address) "
       "(default: not served)",
       0, 0,
       [](ServeConfig& c, std::string_view t) -> Status {
         if (!t.empty()) STATION_RETURN_IF_ERROR(parse_host_port(t).status());
         return text_field(&ServeConfig::es2_listen)(c, t);
       }},
      {"es2_tls_cert", Kind::kText,
       "TLS certificate chain of es2_listen, PEM (default: dp_tls.pem of pki)", 0, 0,
       text_field(&ServeConfig::es2_tls_cert)},
      {"es2_tls_key", Kind::kText,
       "TLS private key of es2_listen, PEM (default: dp_tls.key.pem of pki)", 0, 0,
       text_field(&ServeConfig::es2_tls_key)},
  };
  return kOptions;
}

std::string env_name(std::string_view key) {
  std::string out = "STATION_";
  for (char c : key) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

std::string flag_name(std::string_view key) {
  std::string out = "--";
  for (char c : key) out.push_back(c == '_' ? '-' : c);
  return out;
}

Status with_source(const Status& status, std::string_view source, std::string_view key) {
  if (status.is_ok()) return status;
  return Status(status.code(), fmt::format("{} {}: {}", source, key, status.message()));
}

// A TOML value as the option's text form, refusing a value of the wrong TOML type.
Result<std::string> toml_text(const Option& option, const toml::node& node) {
  switch (option.kind) {
    case Kind::kUnsigned:
      if (auto v = node.value<std::int64_t>(); v && node.is_integer()) {
        if (*v < 0) return Status(ErrorCode::kValidationFailed, "must not be negative");
        return std::to_string(*v);
      }
      return Status(ErrorCode::kValidationFailed, "expected an integer");
    case Kind::kBool:
      if (node.is_boolean()) return std::string(*node.value<bool>() ? "true" : "false");
      return Status(ErrorCode::kValidationFailed, "expected true or false");
    default:
      if (node.is_string()) return *node.value<std::string>();
      return Status(ErrorCode::kValidationFailed, "expected a string");
  }
}

ServeConfig defaults() {
  ServeConfig config;
  config.threads = 0;
  config.header_bytes_max = static_cast<std::uint32_t>(limits::kHttpHeaderBytesMax);
  config.body_bytes_max = static_cast<std::uint32_t>(limits::kHttpBodyBytesMax);
  config.request_timeout_ms = limits::kHttpRequestTimeoutMsDefault;
  config.keep_alive_idle_ms = limits::kHttpKeepAliveIdleMsDefault;
  config.shutdown_grace_ms = limits::kHttpShutdownGraceMsDefault;
  config.idempotency_retention_hours = limits::kIdempotencyRetentionHoursDefault;
  return config;
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("'{}' is not HOST:PORT (e.g. 127.0.0.1:8080)", text));
  }
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) {
      return Status(ErrorCode::kValidationFailed, fmt::format("'{}' is not HOST:PORT", text));
    }
    host = host.substr(1, host.size() - 2);
  }
  auto port = parse_unsigned(text.substr(colon + 1), 0, 65535);
  if (!port.is_ok()) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("port in '{}': {}", text, port.status().message()));
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(*port)};
}

void add_serve_flags(CLI::App& command, ServeFlags& flags,
                     const std::function<bool(std::string_view key)>& offered) {
  command
      .add_option("--config", flags.config_file,
                  "TOML configuration file (keys as the flags, with '_' for '-')")
      ->envname("STATION_CONFIG");
  for (const auto& option : options()) {
    if (offered && !offered(option.key)) continue;
    std::string key(option.key);
    command
        .add_option_function<std::string>(
            flag_name(option.key), [&flags, key](const std::string& v) { flags.values[key] = v; },
            fmt::format("{} [env {}]", option.help, env_name(option.key)))
        ->type_name(option.kind == Kind::kUnsigned ? "N"
                    : option.kind == Kind::kBool   ? "BOOL"
                                                   : "TEXT");
  }
}

Result<ServeConfig> resolve_serve_config(const ServeFlags& flags, const GetEnv& getenv) {
  ServeConfig config = defaults();
  const auto& table = options();
  auto find = [&](std::string_view key) -> const Option* {
    for (const auto& option : table) {
      if (option.key == key) return &option;
    }
    return nullptr;
  };

  std::string config_file = flags.config_file;
  if (config_file.empty()) config_file = getenv("STATION_CONFIG").value_or("");
  if (!config_file.empty()) {
    toml::table document;
    try {
      document = toml::parse_file(config_file);
    } catch (const toml::parse_error& error) {
      return Status(ErrorCode::kValidationFailed,
                    fmt::format("config file {}: {} (line {})", config_file, error.description(),
                                error.source().begin.line));
    }
    for (const auto& [key, node] : document) {
      const Option* option = find(key.str());
      if (option == nullptr) {
        return Status(ErrorCode::kValidationFailed,
                      fmt::format("config file {}: unknown key '{}'", config_file, key.str()));
      }
      auto text = toml_text(*option, node);
      if (!text.is_ok()) return with_source(text.status(), "config file " + config_file, key.str());
      STATION_RETURN_IF_ERROR(
          with_source(option->set(config, *text), "config file " + config_file, key.str()));
    }
  }
  for (const auto& option : table) {
    std::string name = env_name(option.key);
    if (auto value = getenv(name)) {
      STATION_RETURN_IF_ERROR(with_source(option.set(config, *value), "environment", name));
    }
  }
  for (const auto& [key, value] : flags.values) {
    const Option* option = find(key);
    assert(option != nullptr && "flags are registered from the same table");
    STATION_RETURN_IF_ERROR(with_source(option->set(config, value), "flag", flag_name(key)));
  }
  if (config.threads == 0) config.threads = std::max(1U, std::thread::hardware_concurrency());
  if (config.smdp_workers == 0) {
    config.smdp_workers = std::max(1U, std::thread::hardware_concurrency());
  }
  return config;
}

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace station::config
