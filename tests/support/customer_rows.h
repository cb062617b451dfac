// Test support: a customer row with its wallet account, written directly as billing would write
// them, for tests of domains that only need a customer to refer to (kyc, web).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "common/id.h"
#include "storage/database.h"

namespace station::testing {

inline Id insert_customer_row(storage::Database& database, IdGenerator& ids,
                              std::int64_t created_at_ms) {
  using storage::Value;
  Id account = ids.next();
  Id customer = ids.next();
  auto connection = database.acquire();
  EXPECT_TRUE(connection.is_ok());
  const Value account_row[] = {account, std::string("wallet"), std::string("CNY"), created_at_ms};
  EXPECT_TRUE((*connection)
                  ->execute("INSERT INTO accounts (id, kind, code, currency, has_floor, "
                            "floor_minor, balance_minor, pending_debit_minor, "
                            "pending_credit_minor, created_at_ms) "
                            "VALUES (?, ?, NULL, ?, 1, 0, 0, 0, 0, ?)",
                            account_row)
                  .is_ok());
  const Value customer_row[] = {customer, std::string("李雷"), account, created_at_ms};
  EXPECT_TRUE((*connection)
                  ->execute("INSERT INTO customers (id, name, phone, email, currency, language, "
                            "wallet_account_id, created_at_ms) "
                            "VALUES (?, ?, NULL, NULL, 'CNY', 'zh-CN', ?, ?)",
                            customer_row)
                  .is_ok());
  return customer;
}

}  // namespace station::testing
