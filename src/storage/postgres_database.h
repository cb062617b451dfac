// storage/postgres_database: the PostgreSQL engine (libpq), for production.
//
// Statements are prepared once per connection (PQprepare, cached by SQL text) and run with
// text-format parameters whose types the server infers. Every session sets
// synchronous_commit=on (a commit that returned is durable) and a statement timeout.
// Result columns become Values by type: int2/int4/int8 and integral NUMERIC (e.g. SUM over
// BIGINT) become int64, NULL becomes nullptr, anything else stays text.
// lock_exclusive() holds a session advisory lock on a dedicated connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/database.h"

namespace station::storage {

// REQUIRES: options.url starts with postgres:// or postgresql://.
Result<std::unique_ptr<Database>> open_postgres_database(const DatabaseOptions& options);

// Exposed for tests.
struct PostgresSql {
  std::string text;  // `?` rewritten to $1..$n
  std::size_t placeholders;
};
// Rewrites `?` placeholders to $1..$n, leaving those inside quoted literals and identifiers.
PostgresSql rewrite_placeholders(std::string_view sql);
// The URL without its password (user info or `password=` parameter), safe to log.
std::string redact_postgres_url(std::string_view url);

}  // namespace station::storage
