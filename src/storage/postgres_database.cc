#include "storage/postgres_database.h"

#include <string>

namespace station::storage {

PostgresSql rewrite_placeholders(std::string_view sql) {
  PostgresSql rewritten{.text = {}, .placeholders = 0};
  rewritten.text.reserve(sql.size() + sql.size() / 4);
  char open_quote = 0;  // ' for a string literal, " for a quoted identifier, 0 outside both
  for (const char c : sql) {
    if (open_quote != 0) {
      // A doubled quote inside a literal ('it''s') closes and reopens it: same result.
      if (c == open_quote) open_quote = 0;
      rewritten.text += c;
    } else if (c == '\'' || c == '"') {
      open_quote = c;
      rewritten.text += c;
    } else if (c == '?') {
      rewritten.text += '$';
      rewritten.text += std::to_string(++rewritten.placeholders);
    } else {
      rewritten.text += c;
    }
  }
  return rewritten;
}

std::string redact_postgres_url(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  std::string redacted(url.substr(0, scheme_end + 3));
  std::string_view rest = url.substr(scheme_end + 3);

  // User info ends at the first '@' before any '/', as libpq parses it.
  const std::size_t at_or_slash = rest.find_first_of("@/");
  if (at_or_slash != std::string_view::npos && rest[at_or_slash] == '@') {
    const std::string_view user_info = rest.substr(0, at_or_slash);
    redacted += user_info.substr(0, user_info.find(':'));
    redacted += '@';
    rest.remove_prefix(at_or_slash + 1);
  }

  const std::size_t query_start = rest.find('?');
  redacted += rest.substr(0, query_start);
  if (query_start == std::string_view::npos) return redacted;
  std::string_view query = rest.substr(query_start + 1);
  char separator = '?';
  while (!query.empty()) {
    const std::size_t end = query.find('&');
    const std::string_view parameter = query.substr(0, end);
    if (!parameter.starts_with("password=")) {
      redacted += separator;
      redacted += parameter;
      separator = '&';
    }
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
  }
  return redacted;
}

Result<std::unique_ptr<Database>> open_postgres_database(const DatabaseOptions&) {
  return Status(ErrorCode::kUnavailable, "postgres: engine not implemented yet");
}

}  // namespace station::storage
