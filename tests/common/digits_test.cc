#include "common/digits.h"

#include <gtest/gtest.h>

namespace station {
namespace {

TEST(Digits, AllDigitsNeedsAtLeastOneAndNothingElse) {
  EXPECT_TRUE(all_digits("0123456789"));
  EXPECT_FALSE(all_digits(""));
  EXPECT_FALSE(all_digits("12a4"));
  EXPECT_FALSE(all_digits(" 1234"));
  EXPECT_FALSE(all_digits("1\xd9\xa1"));  // U+0661, an Arabic-Indic one, is not an ASCII digit
}

TEST(Digits, FirstNonDigitCountsFromOne) {
  EXPECT_EQ(first_non_digit("12345"), 0u);
  EXPECT_EQ(first_non_digit("x2345"), 1u);
  EXPECT_EQ(first_non_digit("1234-"), 5u);
}

TEST(Digits, LuhnAcceptsPublishedNumbersAndCatchesOneWrongDigit) {
  EXPECT_TRUE(luhn_valid("79927398713"));      // the usual worked example
  EXPECT_TRUE(luhn_valid("490154203237518"));  // an IMEI
  EXPECT_TRUE(luhn_valid("89882470000000000006"));
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_FALSE(luhn_valid("490154203237519"));
  EXPECT_FALSE(luhn_valid("79927398731"));  // two neighbours swapped
}

TEST(Digits, Mod97OfAnEidIsOne) {
  EXPECT_TRUE(mod97_10_valid("89049032123451234512345678901235"));  // the GSMA test eUICC's
  EXPECT_FALSE(mod97_10_valid("89049032123451234512345678901234"));
  EXPECT_FALSE(mod97_10_valid("89049032123451234512345678901253"));
}

}  // namespace
}  // namespace station
