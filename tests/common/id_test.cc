#include "common/id.h"

#include <gtest/gtest.h>

namespace station {
namespace {

TEST(IdTest, GeneratorIsStrictlyIncreasingEvenWhenTheClockGoesBack) {
  ManualClock clock(1'800'000'000'000);
  IdGenerator ids(clock);
  Id a = ids.next();
  clock.advance_ms(-60'000);
  Id b = ids.next();
  EXPECT_GT(b, a);
  ids.observe(b + 1000);
  EXPECT_GT(ids.next(), b + 1000);
}

TEST(IdTest, PublicFormRoundTripsAndChecksThePrefix) {
  ManualClock clock(1'800'000'000'000);
  IdGenerator ids(clock);
  Id id = ids.next();
  std::string text = format_public_id("cus", id);
  EXPECT_EQ(text.size(), 4u + 13u);
  EXPECT_EQ(parse_public_id("cus", text), id);
  EXPECT_EQ(parse_public_id("tu", text), std::nullopt);
  EXPECT_EQ(parse_public_id("cus", text + "0"), std::nullopt);
  EXPECT_EQ(parse_public_id("cus", "cus_ZZZZZZZZZZZZZ"), std::nullopt);  // beyond int64
  EXPECT_EQ(parse_public_id("cus", "cus_0000000000000"), std::nullopt);  // zero
  EXPECT_EQ(parse_public_id("cus", "cus_00000000000U1"), std::nullopt);  // U is not Crockford
  EXPECT_EQ(parse_public_id("cus", "cus_7ZZZZZZZZZZZZ"), std::nullopt);  // 65th bit set
}

}  // namespace
}  // namespace station
