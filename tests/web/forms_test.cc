#include "web/forms.h"

#include <gtest/gtest.h>

namespace station::web {
namespace {

http::Request form_request(std::string body,
                           std::string type = "application/x-www-form-urlencoded") {
  http::Request request;
  request.method = "POST";
  request.headers["content-type"] = std::move(type);
  request.body = std::move(body);
  return request;
}

TEST(FormsTest, UrlEncodedBodiesAreDecoded) {
  auto form = parse_form(form_request("name=%E6%9D%8E+%E9%9B%B7&phone=%2B8613800138000&x="));
  ASSERT_TRUE(form.is_ok()) << form.status().to_string();
  EXPECT_EQ(form_value(*form, "name"), "李 雷");
  EXPECT_EQ(form_value(*form, "phone"), "+8613800138000");
  EXPECT_EQ(form_value(*form, "x"), "");
  EXPECT_EQ(form_value(*form, "absent"), "");
}

TEST(FormsTest, OtherMediaTypesAndBadEscapesAreRefused) {
  auto json = parse_form(form_request("{}", "application/json"));
  ASSERT_FALSE(json.is_ok());
  EXPECT_EQ(json.status().code(), ErrorCode::kUnsupportedMediaType);
  auto bad = parse_form(form_request("a=%zz"));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kMalformedRequest);
  auto nul = parse_form(form_request("a=%00"));
  EXPECT_FALSE(nul.is_ok());
  EXPECT_TRUE(
      parse_form(form_request("a=1", "application/x-www-form-urlencoded; charset=UTF-8")).is_ok());
}

TEST(FormsTest, CookiesAreFoundByName) {
  http::Request request;
  request.headers["cookie"] = "a=1; station_session=abc; station_lang=zh-CN";
  EXPECT_EQ(cookie_value(request, "station_session"), "abc");
  EXPECT_EQ(cookie_value(request, "station_lang"), "zh-CN");
  EXPECT_EQ(cookie_value(request, "a"), "1");
  EXPECT_FALSE(cookie_value(request, "station").has_value());
}

TEST(FormsTest, SetCookieCarriesTheFlags) {
  EXPECT_EQ(set_cookie("s", "v", {-1, true, false}), "s=v; Path=/; SameSite=Lax; HttpOnly");
  EXPECT_EQ(set_cookie("s", "v", {60, true, true}),
            "s=v; Path=/; SameSite=Lax; Max-Age=60; HttpOnly; Secure");
  EXPECT_EQ(url_encode("a b&c/李"), "a%20b%26c%2F%E6%9D%8E");
}

}  // namespace
}  // namespace station::web
