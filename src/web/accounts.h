// web/accounts: who may sign in to the portal. An account ties a verified phone number (the
// login) to one customer, with the customer's portal preferences: language and whether to get
// SMS notifications. Created at sign-up, after the one-time code proved the number.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "storage/database.h"
#include "web/i18n.h"

namespace station::web {

struct Account {
  Id customer_id = 0;
  std::string login;  // E.164 phone number
  Language language = Language::kZhCn;
  bool notify_sms = true;
};

class Accounts {
 public:
  Accounts(storage::Database& database, const Clock& clock);

  Result<std::optional<Account>> find_by_login(std::string_view login);
  // kNotFound when the customer has no portal account.
  Result<Account> get(Id customer_id);
  // kConflict when the login or the customer already has an account.
  Status create(const Account& account);
  Status update_preferences(Id customer_id, Language language, bool notify_sms);

 private:
  storage::Database& database_;
  const Clock& clock_;
};

}  // namespace station::web
