#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "auth/api_keys.h"
#include "auth/audit.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/id.h"
#include "ledger/ledger.h"
#include "schema/migrations.h"
#include "secrets/secrets.h"

namespace station::cli {
std::string cli_actor() {
  const char* user = std::getenv("USER");
  return fmt::format("cli:{}", user != nullptr ? user : std::to_string(getuid()));
}

namespace {

struct ApiKeyCreateFlags {
  StoreFlags store;
  std::vector<std::string> scopes;
  std::string label;
};

int run_api_key_create(const ApiKeyCreateFlags& flags) {
  std::vector<auth::Scope> scopes;
  for (const auto& name : flags.scopes) {
    auto scope = auth::parse_scope(name);
    if (!scope) {
      return fail(Status(
          ErrorCode::kValidationFailed,
          fmt::format("unknown scope '{}' (admin, app, support, finance, partner, smdp)", name)));
    }
    scopes.push_back(*scope);
  }
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  auto connection = (*database)->acquire();
  if (!connection.is_ok()) return fail(connection.status());
  SystemClock clock;
  IdGenerator ids(clock);
  auto key = auth::create_api_key(**connection, ids, clock, scopes, flags.label);
  if (!key.is_ok()) return fail(key.status());
  auth::AuditEntry entry{ids.next(), clock.now_unix_ms(), cli_actor(), "api_key.create",
                         "key:" + key->prefix, "", "succeeded",
                         fmt::format(R"({{"scopes":"{}"}})", fmt::join(flags.scopes, ","))};
  if (auto s = auth::insert_audit_entry(**connection, entry); !s.is_ok()) return fail(s);
  fmt::print(stderr, "Created API key {} with scopes {}. It is shown only once:\n", key->prefix,
             fmt::join(flags.scopes, ","));
  fmt::print("{}\n", key->plaintext);
  return 0;
}

int run_api_key_revoke(const StoreFlags& store, const std::string& prefix) {
  auto database = open_store(store);
  if (!database.is_ok()) return fail(database.status());
  auto connection = (*database)->acquire();
  if (!connection.is_ok()) return fail(connection.status());
  SystemClock clock;
  IdGenerator ids(clock);
  if (auto s = auth::revoke_api_key(**connection, clock, prefix); !s.is_ok()) return fail(s);
  auth::AuditEntry entry{ids.next(), clock.now_unix_ms(), cli_actor(), "api_key.revoke",
                         "key:" + prefix, "", "succeeded", "{}"};
  if (auto s = auth::insert_audit_entry(**connection, entry); !s.is_ok()) return fail(s);
  fmt::print("revoked {}\n", prefix);
  return 0;
}

// With no server running, what a crash left in the ledger's journal is applied first (the check
// would report it otherwise); a running server applies it by itself when idle.
Status apply_journal_when_stopped(storage::Database& database) {
  auto ownership = database.lock_exclusive();
  if (!ownership.is_ok()) return Status::ok();
  STATION_ASSIGN_OR_RETURN(auto connection, database.acquire());
  return ledger::apply_stopped_journal(*connection);
}

int run_ledger_check(const StoreFlags& store) {
  auto database = open_store(store);
  if (!database.is_ok()) return fail(database.status());
  if (auto s = apply_journal_when_stopped(**database); !s.is_ok()) return fail(s);
  auto connection = (*database)->acquire();
  if (!connection.is_ok()) return fail(connection.status());
  auto report = ledger::check_ledger(**connection);
  if (!report.is_ok()) return fail(report.status());
  for (const auto& problem : report->problems) fmt::print("MISMATCH {}\n", problem);
  fmt::print("{}: {} accounts, {} transfers checked\n", report->ok ? "ok" : "FAILED",
             report->accounts_checked, report->transfers_checked);
  return report->ok ? 0 : 2;
}

int run_audit_list(const StoreFlags& store, std::uint32_t limit) {
  auto database = open_store(store);
  if (!database.is_ok()) return fail(database.status());
  auto connection = (*database)->acquire();
  if (!connection.is_ok()) return fail(connection.status());
  auto entries = auth::list_audit_entries(**connection, limit);
  if (!entries.is_ok()) return fail(entries.status());
  for (const auto& e : *entries) {
    fmt::print("{} {} {} {} {} {} {}\n", format_rfc3339_ms(e.at_ms), e.actor, e.action,
               e.target.empty() ? "-" : e.target, e.outcome,
               e.request_id.empty() ? "-" : e.request_id, e.detail);
  }
  return 0;
}

}  // namespace

int fail(const Status& status) {
  fmt::print(stderr, "error: {}\n", status.to_string());
  return 1;
}

Result<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return Status(ErrorCode::kNotFound, fmt::format("cannot read {}", path));
  }
  if (static_cast<std::size_t>(info.st_size) > max_bytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  fmt::format("{} is larger than {} bytes; split it", path, max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in || in.peek() != std::char_traits<char>::eof()) {
    secrets::wipe(text);
    return Status(ErrorCode::kStorageError, fmt::format("{} changed while being read", path));
  }
  return text;
}

void add_store_flags(CLI::App& command, StoreFlags& flags) {
  command.add_option("--data-dir", flags.data_dir, "Data directory (SQLite default store)")
      ->envname("STATION_DATA_DIR")
      ->capture_default_str();
  command.add_option("--database", flags.database_url,
                     "Database URL: sqlite:PATH or postgres://... (default: sqlite under "
                     "--data-dir)")
      ->envname("STATION_DATABASE");
}

Result<std::unique_ptr<storage::Database>> open_store(const StoreFlags& flags) {
  storage::DatabaseOptions options;
  options.url = flags.database_url.empty() ? storage::default_database_url(flags.data_dir)
                                           : flags.database_url;
  STATION_ASSIGN_OR_RETURN(auto database, storage::Database::open(options));
  STATION_RETURN_IF_ERROR(database->migrate(schema::all_migrations()));
  return database;
}

void add_admin_command(CLI::App& app, int* exit_code) {
  auto* admin = app.add_subcommand("admin", "Operator administration on a store");
  admin->require_subcommand(1);

  auto* api_key = admin->add_subcommand("api-key", "Operator API keys");
  api_key->require_subcommand(1);
  auto create_flags = std::make_shared<ApiKeyCreateFlags>();
  auto* create = api_key->add_subcommand(
      "create", "Create a key; prints it alone on the last line (shown only once)");
  add_store_flags(*create, create_flags->store);
  create
      ->add_option("--scope", create_flags->scopes,
                   "admin, app, support, finance, partner or smdp (a remote SM-DP+'s progress)")
      ->required();
  create->add_option("--label", create_flags->label, "Who or what the key is for");
  create->callback([=] { *exit_code = run_api_key_create(*create_flags); });

  auto revoke_store = std::make_shared<StoreFlags>();
  auto revoke_prefix = std::make_shared<std::string>();
  auto* revoke = api_key->add_subcommand("revoke", "Revoke a key by its prefix");
  add_store_flags(*revoke, *revoke_store);
  revoke->add_option("prefix", *revoke_prefix, "The 8 characters after stk_")->required();
  revoke->callback([=] { *exit_code = run_api_key_revoke(*revoke_store, *revoke_prefix); });

  auto* ledger_command = admin->add_subcommand("ledger", "Ledger maintenance");
  ledger_command->require_subcommand(1);
  auto check_store = std::make_shared<StoreFlags>();
  auto* check = ledger_command->add_subcommand(
      "check", "Verify that balances sum to zero per currency and match their history");
  add_store_flags(*check, *check_store);
  check->callback([=] { *exit_code = run_ledger_check(*check_store); });

  auto* audit = admin->add_subcommand("audit", "The audit log");
  audit->require_subcommand(1);
  auto audit_store = std::make_shared<StoreFlags>();
  auto audit_limit = std::make_shared<std::uint32_t>(50);
  auto* list = audit->add_subcommand("list", "Newest entries first");
  add_store_flags(*list, *audit_store);
  list->add_option("--limit", *audit_limit, "How many entries")->check(CLI::Range(1, 200));
  list->callback([=] { *exit_code = run_audit_list(*audit_store, *audit_limit); });

  add_profiles_commands(*admin, exit_code);
  add_devices_commands(*admin, exit_code);
  add_outbox_commands(*admin, exit_code);
  add_plans_commands(*admin, exit_code);
  add_kyc_commands(*admin, exit_code);
  add_staff_commands(*admin, exit_code);
}

}  // namespace station::cli
