// Test support: a browser's side of Station's web pages over HTTP (portal and console): the
// session cookie it keeps from one reply to the next, and the form fields it reads from a page.
#pragma once

#include <cstdint>
#include <map>
#include <regex>
#include <string>

#include "support/http_client.h"

namespace station::testing {

// The value `reply` sets for the cookie `name` (Set-Cookie), or "" when it sets none.
inline std::string cookie_of(const HttpReply& reply, const std::string& name) {
  std::smatch match;
  std::string set_cookie = reply.header("set-cookie");
  if (!std::regex_search(set_cookie, match, std::regex(name + "=([0-9a-f]*)"))) {
    return "";
  }
  return match[1];
}

// The value of the form field `name` in an HTML page, or "" when the page has none.
inline std::string form_field(const std::string& body, const std::string& name) {
  std::smatch match;
  std::regex pattern("name=\"" + name + "\" value=\"([^\"]*)\"");
  return std::regex_search(body, match, pattern) ? std::string(match[1]) : "";
}

// One browser on one web app: its session cookie and the last reply it had.
struct Browser {
  std::string session;
  HttpReply last;
};

// A request from `browser` to the app on `port` whose session cookie is `cookie_name`: English
// pages, the session sent and replaced by any the reply sets, a body of `content_type` on POST.
inline HttpReply browse(std::uint16_t port, const std::string& cookie_name, Browser& browser,
                        const std::string& method, const std::string& target,
                        const std::string& body, const std::string& content_type) {
  std::map<std::string, std::string> headers = {
      {"Cookie", "station_lang=en; " + cookie_name + "=" + browser.session}};
  if (method == "POST") headers["Content-Type"] = content_type;
  browser.last = http_request(port, method, target, body, headers);
  if (std::string cookie = cookie_of(browser.last, cookie_name); !cookie.empty()) {
    browser.session = cookie;
  }
  return browser.last;
}

}  // namespace station::testing
