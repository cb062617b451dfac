// storage/statement_checks: what both engines check about a statement and how errors quote it,
// worded once.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/limits.h"
#include "common/status.h"
#include "storage/database.h"

namespace station::storage::internal {

// Errors quote the start of the statement to say which one failed. Parameter values are never
// quoted: they may be secrets.
inline constexpr std::size_t kSqlQuotedInErrorsBytesMax = 80;

inline std::string_view sql_excerpt(std::string_view sql) {
  return sql.substr(0, kSqlQuotedInErrorsBytesMax);
}

// kInternal (a bug in the caller) unless exactly one value is given per placeholder, within the
// per-statement bound. kValidationFailed for text holding a NUL byte: PostgreSQL cannot store it
// and libpq would silently cut the text there (two distinct keys could then collide), so
// neither engine accepts it.
inline Status check_parameters(std::size_t placeholders, std::span<const Value> params,
                               std::string_view sql) {
  if (params.size() > limits::kSqlParamsPerStatementMax) {
    return Status(ErrorCode::kInternal,
                  fmt::format("{} parameters exceed the limit of {} per statement (in \"{}\")",
                              params.size(), limits::kSqlParamsPerStatementMax, sql_excerpt(sql)));
  }
  if (params.size() != placeholders) {
    return Status(ErrorCode::kInternal,
                  fmt::format("statement has {} placeholders but {} values were given (in \"{}\")",
                              placeholders, params.size(), sql_excerpt(sql)));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto* text = std::get_if<std::string>(&params[i]);
    if (text != nullptr && text->find('\0') != std::string::npos) {
      return Status(
          ErrorCode::kValidationFailed,
          fmt::format("parameter {} holds a NUL byte, which text cannot store (in \"{}\")", i + 1,
                      sql_excerpt(sql)));
    }
  }
  return Status::ok();
}

}  // namespace station::storage::internal
