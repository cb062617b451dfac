#include "messaging/templates.h"

#include <gtest/gtest.h>

namespace station::messaging {
namespace {

TEST(Templates, RendersByLanguage) {
  EXPECT_EQ(*render("activation_code", "en", {{"code", "LPA:1$x$y"}}),
            "Your eSIM activation code: LPA:1$x$y");
  EXPECT_EQ(*render("activation_code", "zh-CN", {{"code", "LPA:1$x$y"}}),
            "您的 eSIM 激活码：LPA:1$x$y");
  EXPECT_EQ(*render("activation_code", "fr", {{"code", "c"}}), "Your eSIM activation code: c");
}

TEST(Templates, RefusesUnknownTemplateOrMissingValue) {
  EXPECT_FALSE(render("nope", "en", {}).is_ok());
  EXPECT_FALSE(render("otp", "en", {{"code", "1"}}).is_ok());
  EXPECT_TRUE(render("otp", "zh-CN", {{"code", "1"}, {"minutes", "5"}}).is_ok());
  EXPECT_TRUE(render("topup_receipt", "en", {{"amount", "1"}, {"balance", "2"}}).is_ok());
}

}  // namespace
}  // namespace station::messaging
