#include "api/json_body.h"

#include <string>

#include <gtest/gtest.h>

namespace station::api {
namespace {

constexpr std::string_view kJson = "application/json";

TEST(JsonBodyTest, AcceptsAnObjectWithKnownMembers) {
  auto body = JsonBody::parse("application/json; charset=utf-8",
                              R"({"name":"x","amount":12,"opt":null})");
  ASSERT_TRUE(body.is_ok());
  EXPECT_TRUE(body->only({"name", "amount", "opt"}).is_ok());
  EXPECT_EQ(*body->string("name", 10), "x");
  EXPECT_EQ(*body->integer("amount", true), 12);
  EXPECT_FALSE(body->optional_string("opt", 10)->has_value());
  EXPECT_FALSE(body->optional_string("absent", 10)->has_value());
}

TEST(JsonBodyTest, RefusesWhatIsNotAJsonObject) {
  EXPECT_EQ(JsonBody::parse(std::nullopt, "{}").status().code(),
            ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(JsonBody::parse("text/json", "{}").status().code(), ErrorCode::kUnsupportedMediaType);
  for (std::string text : {"", "null", "[]", "\"s\"", "{", "{\"a\":}", "{} {}", "\xff"}) {
    EXPECT_EQ(JsonBody::parse(kJson, text).status().code(), ErrorCode::kMalformedRequest) << text;
  }
}

TEST(JsonBodyTest, RefusesDuplicatesDepthAndLongStrings) {
  EXPECT_EQ(JsonBody::parse(kJson, R"({"a":1,"a":2})").status().code(),
            ErrorCode::kMalformedRequest);
  EXPECT_TRUE(JsonBody::parse(kJson, R"({"a":{"a":1}})").is_ok());  // same name, other object
  std::string deep = "{\"a\":" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_EQ(JsonBody::parse(kJson, deep).status().code(), ErrorCode::kMalformedRequest);
  std::string long_string = "{\"a\":\"" + std::string(5000, 'x') + "\"}";
  EXPECT_EQ(JsonBody::parse(kJson, long_string).status().code(), ErrorCode::kMalformedRequest);
}

TEST(JsonBodyTest, IntegersAreStrict) {
  auto body = JsonBody::parse(
      kJson,
      R"({"f":1.5,"e":1e3,"s":"7","big":9223372036854775808,"huge":1e300,"max":9223372036854775807,"neg":-3})");
  ASSERT_TRUE(body.is_ok());
  EXPECT_EQ(body->integer("f", true).status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(body->integer("e", true).status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(body->integer("s", true).status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(body->integer("big", true).status().code(), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(body->integer("big", false).status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(body->integer("huge", true).status().code(), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(*body->integer("max", true), INT64_MAX);
  EXPECT_EQ(*body->integer("neg", true), -3);
  EXPECT_EQ(body->integer("missing", true).status().code(), ErrorCode::kValidationFailed);
}

TEST(JsonBodyTest, NamesUnknownMembersAndWrongTypes) {
  auto body = JsonBody::parse(kJson, R"({"name":5,"extra":true})");
  ASSERT_TRUE(body.is_ok());
  auto only = body->only({"name"});
  EXPECT_EQ(only.code(), ErrorCode::kValidationFailed);
  EXPECT_NE(only.message().find("extra"), std::string::npos);
  auto name = body->string("name", 10);
  EXPECT_NE(name.status().message().find("name"), std::string::npos);
}

}  // namespace
}  // namespace station::api
