// `station admin staff create|password|list`: the operator console's staff accounts.
//
// create --username U --role R: a random password (96 bits) is printed alone on stdout, shown
// this once only; or, with --password-stdin, the first line of stdin is the password, so it
// never shows in a process list or a shell history.

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "auth/audit.h"
#include "auth/staff.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/id.h"
#include "secrets/secrets.h"
#include "web/sessions.h"

namespace station::cli {
namespace {

struct StaffFlags {
  StoreFlags store;
  std::string username;
  std::string role;
  bool password_stdin = false;
};

// The password: the first line of stdin, or 24 random hex digits (96 bits).
Result<std::string> password_for(const StaffFlags& flags, bool& generated) {
  generated = !flags.password_stdin;
  if (generated) return web::random_hex(12);
  std::string line;
  if (!std::getline(std::cin, line)) {
    return Status(ErrorCode::kValidationFailed, "no password on stdin");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Status audit(storage::Database& database, IdGenerator& ids, const Clock& clock, std::string action,
             const std::string& username, std::string detail) {
  STATION_ASSIGN_OR_RETURN(auto connection, database.acquire());
  return auth::insert_audit_entry(
      *connection, auth::AuditEntry{ids.next(), clock.now_unix_ms(), cli_actor(), std::move(action),
                                    "staff:" + username, "", "succeeded", std::move(detail)});
}

int run_create(const StaffFlags& flags) {
  auto role = auth::parse_staff_role(flags.role);
  if (!role) {
    return fail(Status(ErrorCode::kValidationFailed,
                       fmt::format("unknown role '{}' (admin, support, finance)", flags.role)));
  }
  bool generated = false;
  auto password = password_for(flags, generated);
  if (!password.is_ok()) return fail(password.status());
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  SystemClock clock;
  IdGenerator ids(clock);
  auth::StaffAccounts staff(**database, ids, clock);
  auto user = staff.create(flags.username, *role, *password);
  if (!user.is_ok()) {
    secrets::wipe(*password);
    return fail(user.status());
  }
  if (auto s = audit(**database, ids, clock, "staff.create", user->username,
                     fmt::format(R"({{"role":"{}"}})", flags.role));
      !s.is_ok()) {
    secrets::wipe(*password);
    return fail(s);
  }
  fmt::print(stderr, "Created staff user {} with role {}.\n", user->username, flags.role);
  if (generated) {
    fmt::print(stderr, "Its password is shown only once:\n");
    fmt::print("{}\n", *password);
  }
  secrets::wipe(*password);
  return 0;
}

int run_password(const StaffFlags& flags) {
  bool generated = false;
  auto password = password_for(flags, generated);
  if (!password.is_ok()) return fail(password.status());
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  SystemClock clock;
  IdGenerator ids(clock);
  auth::StaffAccounts staff(**database, ids, clock);
  Status set = staff.set_password(flags.username, *password);
  if (set.is_ok()) set = audit(**database, ids, clock, "staff.password", flags.username, "{}");
  if (!set.is_ok()) {
    secrets::wipe(*password);
    return fail(set);
  }
  fmt::print(stderr, "Set a new password for {} (its lockout is cleared).\n", flags.username);
  if (generated) fmt::print("{}\n", *password);
  secrets::wipe(*password);
  return 0;
}

int run_list(const StoreFlags& store) {
  auto database = open_store(store);
  if (!database.is_ok()) return fail(database.status());
  SystemClock clock;
  IdGenerator ids(clock);
  auth::StaffAccounts staff(**database, ids, clock);
  auto users = staff.list();
  if (!users.is_ok()) return fail(users.status());
  for (const auto& user : *users) {
    fmt::print("{}\t{}\t{}\n", user.username, auth::staff_role_name(user.role),
               format_rfc3339_ms(user.created_at_ms));
  }
  return 0;
}

}  // namespace

void add_staff_commands(CLI::App& admin, int* exit_code) {
  auto* staff = admin.add_subcommand("staff", "Staff accounts of the operator console");
  staff->require_subcommand(1);

  auto create_flags = std::make_shared<StaffFlags>();
  auto* create = staff->add_subcommand(
      "create",
      "Create a staff user; prints a one-time password alone on stdout unless --password-stdin");
  add_store_flags(*create, create_flags->store);
  create->add_option("--username", create_flags->username, "2-64 of a-z 0-9 . _ -")->required();
  create->add_option("--role", create_flags->role, "admin, support or finance")->required();
  create->add_flag("--password-stdin", create_flags->password_stdin,
                   "Read the password (12-256 bytes) from the first line of stdin");
  create->callback([=] { *exit_code = run_create(*create_flags); });

  auto password_flags = std::make_shared<StaffFlags>();
  auto* password = staff->add_subcommand(
      "password", "Set a new password (printed unless --password-stdin) and clear a lockout");
  add_store_flags(*password, password_flags->store);
  password->add_option("--username", password_flags->username, "The staff user")->required();
  password->add_flag("--password-stdin", password_flags->password_stdin,
                     "Read the password from the first line of stdin");
  password->callback([=] { *exit_code = run_password(*password_flags); });

  auto list_store = std::make_shared<StoreFlags>();
  auto* list = staff->add_subcommand("list", "One user a line: name, role, created at");
  add_store_flags(*list, *list_store);
  list->callback([=] { *exit_code = run_list(*list_store); });
}

}  // namespace station::cli
