// The request-target parser on its own: decoding rules and refusals, without a server.
#include "http/target.h"

#include <string>

#include <gtest/gtest.h>

#include "common/limits.h"

namespace station::http {
namespace {

TEST(TargetTest, SplitsAndDecodesPathAndQuery) {
  auto target = parse_target("/v1/Li%20Lei+x?q=a+b%21&q=2&flag&=dropped&&eq=b=c");
  ASSERT_TRUE(target.is_ok()) << target.status().to_string();
  EXPECT_EQ(target->path, "/v1/Li Lei+x");  // '+' is a space only in the query
  std::multimap<std::string, std::string> expected = {
      {"q", "a b!"}, {"q", "2"}, {"flag", ""}, {"eq", "b=c"}};
  EXPECT_EQ(target->query, expected);
}

TEST(TargetTest, NonOriginFormKeepsItsTextForTheRouterToRefuse) {
  EXPECT_EQ(parse_target("*")->path, "*");
  EXPECT_EQ(parse_target("http://host/x")->path, "http://host/x");
  EXPECT_EQ(parse_target("")->path, "");
}

TEST(TargetTest, RefusesMalformedOrForbiddenEscapes) {
  for (const char* text : {"/%", "/%4", "/%zz", "/a%00b", "/a%2Fb", "/a%2fb", "/x?q=%", "/x?q=%g1",
                           "/x?%00=1", "/x?q=a%00"}) {
    auto target = parse_target(text);
    ASSERT_FALSE(target.is_ok()) << text;
    EXPECT_EQ(target.status().code(), ErrorCode::kMalformedRequest) << text;
  }
  // An encoded '/' is data in a query value.
  EXPECT_EQ(parse_target("/x?next=%2Fa")->query.find("next")->second, "/a");
}

TEST(TargetTest, BoundsTheNumberOfQueryParameters) {
  std::string text = "/x?";
  for (std::size_t i = 0; i < limits::kHttpQueryParamsMax; ++i) text += "p=1&";
  ASSERT_TRUE(parse_target(text).is_ok());
  EXPECT_EQ(parse_target(text)->query.size(), limits::kHttpQueryParamsMax);
  EXPECT_FALSE(parse_target(text + "one=more").is_ok());
}

}  // namespace
}  // namespace station::http
