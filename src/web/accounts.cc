#include "web/accounts.h"

namespace station::web {

using storage::Value;

namespace {

constexpr std::string_view kColumns = "customer_id, login, language, notify_sms";

Account account_from(const storage::Row& row) {
  Account account;
  account.customer_id = row.int_at(0);
  account.login = row.text_at(1);
  account.language = parse_language(row.text_at(2)).value_or(Language::kZhCn);
  account.notify_sms = row.int_at(3) != 0;
  return account;
}

}  // namespace

Accounts::Accounts(storage::Database& database, const Clock& clock)
    : database_(database), clock_(clock) {}

Result<std::optional<Account>> Accounts::find_by_login(std::string_view login) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {std::string(login)};
  STATION_ASSIGN_OR_RETURN(auto rows, connection->query("SELECT " + std::string(kColumns) +
                                                            " FROM web_accounts WHERE login = ?",
                                                        params));
  if (rows.empty()) return std::optional<Account>();
  return std::optional<Account>(account_from(rows[0]));
}

Result<Account> Accounts::get(Id customer_id) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {customer_id};
  STATION_ASSIGN_OR_RETURN(
      auto rows,
      connection->query(
          "SELECT " + std::string(kColumns) + " FROM web_accounts WHERE customer_id = ?", params));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no portal account for this customer");
  return account_from(rows[0]);
}

Status Accounts::create(const Account& account) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value row[] = {account.customer_id, account.login,
                       std::string(language_tag(account.language)),
                       std::int64_t{account.notify_sms ? 1 : 0}, clock_.now_unix_ms()};
  STATION_RETURN_IF_ERROR(connection->execute(
      "INSERT INTO web_accounts (customer_id, login, language, notify_sms, created_at_ms) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      row));
  if (connection->changes() != 1) {
    return Status(ErrorCode::kConflict, "this phone number already has an account");
  }
  return Status::ok();
}

Status Accounts::update_preferences(Id customer_id, Language language, bool notify_sms) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {std::string(language_tag(language)), std::int64_t{notify_sms ? 1 : 0},
                          customer_id};
  STATION_RETURN_IF_ERROR(connection->execute(
      "UPDATE web_accounts SET language = ?, notify_sms = ? WHERE customer_id = ?", params));
  if (connection->changes() != 1) {
    return Status(ErrorCode::kNotFound, "no portal account for this customer");
  }
  return Status::ok();
}

}  // namespace station::web
