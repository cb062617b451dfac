#include "common/money.h"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace station {
namespace {

TEST(MoneyTest, KnowsIsoCurrenciesAndTheirMinorDigits) {
  ASSERT_TRUE(Currency::from_code("CNY"));
  EXPECT_EQ(Currency::from_code("CNY")->minor_digits(), 2);
  EXPECT_EQ(Currency::from_code("JPY")->minor_digits(), 0);
  EXPECT_EQ(Currency::from_code("KWD")->minor_digits(), 3);
  EXPECT_FALSE(Currency::from_code("cny"));
  EXPECT_FALSE(Currency::from_code("XXX"));
  EXPECT_FALSE(Currency::from_code("CNYY"));
}

TEST(MoneyTest, CheckedArithmeticRefusesOverflow) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(checked_add(1, 2), 3);
  EXPECT_EQ(checked_add(kMax, 1), std::nullopt);
  EXPECT_EQ(checked_sub(kMin, 1), std::nullopt);
  EXPECT_EQ(checked_sub(0, kMin), std::nullopt);
}

}  // namespace
}  // namespace station
