// web/forms: what a browser sends besides the path — HTML form bodies
// (application/x-www-form-urlencoded, decoded by the same strict, bounded parser as query
// strings) and cookies.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"

namespace station::web {

using Form = std::multimap<std::string, std::string>;

// kUnsupportedMediaType unless the body is application/x-www-form-urlencoded; kMalformedRequest
// for a bad %-escape, a NUL byte or too many fields (limits::kHttpQueryParamsMax).
Result<Form> parse_form(const http::Request& request);
// The first value of a field; empty when absent.
std::string form_value(const Form& form, std::string_view name);

// The value of the cookie `name` in the Cookie header; nullopt when absent.
std::optional<std::string_view> cookie_value(const http::Request& request, std::string_view name);

// Percent-encodes everything but unreserved characters (RFC 3986), for query values in links.
std::string url_encode(std::string_view text);

struct CookieOptions {
  std::int64_t max_age_seconds = -1;  // -1: a browser-session cookie; 0: delete it
  bool http_only = true;
  bool secure = false;  // sent over TLS only
};
// A Set-Cookie value: name=value; Path=/; SameSite=Lax and the options. REQUIRES: name and value
// are cookie-safe tokens (the callers' are hex ids and language tags).
std::string set_cookie(std::string_view name, std::string_view value, CookieOptions options);

}  // namespace station::web
