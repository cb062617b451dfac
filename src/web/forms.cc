#include "web/forms.h"

#include <fmt/format.h>

#include <cassert>
#include <cctype>

#include "http/target.h"

namespace station::web {

Result<Form> parse_form(const http::Request& request) {
  auto type = request.header("content-type");
  std::string_view media = type ? type->substr(0, type->find(';')) : std::string_view();
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media != "application/x-www-form-urlencoded") {
    return Status(ErrorCode::kUnsupportedMediaType,
                  "forms are sent as application/x-www-form-urlencoded");
  }
  // The body has the grammar of a query string; reuse its parser and limits.
  STATION_ASSIGN_OR_RETURN(auto target, http::parse_target("/?" + request.body));
  return std::move(target.query);
}

std::string form_value(const Form& form, std::string_view name) {
  auto it = form.find(std::string(name));
  return it == form.end() ? std::string() : it->second;
}

std::optional<std::string_view> cookie_value(const http::Request& request, std::string_view name) {
  auto header = request.header("cookie");
  if (!header) return std::nullopt;
  std::string_view rest = *header;
  while (!rest.empty()) {
    std::size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    std::size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      return pair.substr(equals + 1);
    }
  }
  return std::nullopt;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string set_cookie(std::string_view name, std::string_view value, CookieOptions options) {
  assert(name.find_first_of(";, =") == std::string_view::npos);
  assert(value.find_first_of(";, ") == std::string_view::npos);
  std::string out = fmt::format("{}={}; Path=/; SameSite=Lax", name, value);
  if (options.max_age_seconds >= 0) out += fmt::format("; Max-Age={}", options.max_age_seconds);
  if (options.http_only) out += "; HttpOnly";
  if (options.secure) out += "; Secure";
  return out;
}

}  // namespace station::web
