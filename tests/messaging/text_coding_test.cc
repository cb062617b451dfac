#include "messaging/text_coding.h"

#include <gtest/gtest.h>

#include <string>

namespace station::messaging {
namespace {

std::string joined_bodies(const EncodedText& encoded) {
  std::string all;
  for (const auto& segment : encoded.segments) {
    all += encoded.concatenated ? segment.substr(6) : segment;
  }
  return all;
}

TEST(TextCoding, AsciiIsGsm7OneSeptetPerOctet) {
  auto encoded = encode_text("Code: 1234", 1);
  ASSERT_TRUE(encoded.is_ok());
  EXPECT_EQ(encoded->data_coding, kDataCodingGsm7);
  ASSERT_EQ(encoded->segments.size(), 1U);
  EXPECT_EQ(encoded->segments[0], "Code: 1234");
  EXPECT_FALSE(encoded->concatenated);
}

TEST(TextCoding, Gsm7MapsSpecialCharactersAndEscapes) {
  auto encoded = encode_text("@£€{", 1);
  ASSERT_TRUE(encoded.is_ok());
  EXPECT_EQ(encoded->data_coding, kDataCodingGsm7);
  EXPECT_EQ(encoded->segments[0], std::string("\x00\x01\x1B\x65\x1B\x28", 6));
  EXPECT_EQ(*decode_text(encoded->segments[0], kDataCodingGsm7), "@£€{");
}

TEST(TextCoding, ChineseIsUcs2BigEndian) {
  auto encoded = encode_text("您的 eSIM 激活码", 1);
  ASSERT_TRUE(encoded.is_ok());
  EXPECT_EQ(encoded->data_coding, kDataCodingUcs2);
  EXPECT_EQ(encoded->segments[0].substr(0, 4), std::string("\x60\xA8\x76\x84", 4));
  EXPECT_EQ(*decode_text(encoded->segments[0], kDataCodingUcs2), "您的 eSIM 激活码");
}

TEST(TextCoding, SurrogatePairsSurvive) {
  auto encoded = encode_text("ok 😀", 1);
  ASSERT_TRUE(encoded.is_ok());
  EXPECT_EQ(encoded->data_coding, kDataCodingUcs2);
  EXPECT_EQ(*decode_text(encoded->segments[0], kDataCodingUcs2), "ok 😀");
}

TEST(TextCoding, SingleSmsLimitsAreExact) {
  EXPECT_EQ(encode_text(std::string(160, 'a'), 1)->segments.size(), 1U);
  EXPECT_EQ(encode_text(std::string(161, 'a'), 1)->segments.size(), 2U);
  std::string seventy;
  for (int i = 0; i < 70; ++i) seventy += "码";
  EXPECT_EQ(encode_text(seventy, 1)->segments.size(), 1U);
  EXPECT_EQ(encode_text(seventy + "码", 1)->segments.size(), 2U);
}

TEST(TextCoding, LongTextIsSplitWithConcatenationUdh) {
  const std::string text(400, 'x');
  auto encoded = encode_text(text, 0xAB);
  ASSERT_TRUE(encoded.is_ok());
  ASSERT_TRUE(encoded->concatenated);
  ASSERT_EQ(encoded->segments.size(), 3U);  // 153 + 153 + 94
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& segment = encoded->segments[i];
    EXPECT_EQ(segment.substr(0, 6),
              std::string({0x05, 0x00, 0x03, static_cast<char>(0xAB), 0x03,
                           static_cast<char>(i + 1)}));
    EXPECT_LE(segment.size(), 140U + 19U);  // 6 + 153 septets, unpacked
  }
  EXPECT_EQ(joined_bodies(*encoded), text);
}

TEST(TextCoding, SplittingKeepsEscapePairsAndSurrogatesWhole) {
  std::string text(152, 'a');
  text += "€tail";  // the escape pair would straddle septet 153
  text += std::string(20, 'b');
  auto encoded = encode_text(text, 1);
  ASSERT_TRUE(encoded.is_ok());
  EXPECT_EQ(encoded->segments[0].size(), 6U + 152U);
  EXPECT_EQ(*decode_text(joined_bodies(*encoded), kDataCodingGsm7), text);

  std::string chinese;
  for (int i = 0; i < 66; ++i) chinese += "码";
  chinese += "😀😀😀";  // 144 octets; the first pair would straddle octet 134
  auto ucs2 = encode_text(chinese, 1);
  ASSERT_TRUE(ucs2.is_ok());
  EXPECT_EQ(ucs2->segments[0].size(), 6U + 132U);
  for (const auto& segment : ucs2->segments) EXPECT_LE(segment.size(), 140U);
  EXPECT_EQ(*decode_text(joined_bodies(*ucs2), kDataCodingUcs2), chinese);
}

TEST(TextCoding, RefusesBadInput) {
  EXPECT_FALSE(encode_text("", 1).is_ok());
  EXPECT_FALSE(encode_text("\xC3", 1).is_ok());
  EXPECT_FALSE(encode_text("\xC0\x80", 1).is_ok());       // overlong
  EXPECT_FALSE(encode_text("\xED\xA0\x80", 1).is_ok());   // surrogate
  EXPECT_FALSE(encode_text(std::string(2'000, 'a'), 1).is_ok());  // > 10 segments
  EXPECT_FALSE(decode_text("\x1B", kDataCodingGsm7).is_ok());
  EXPECT_FALSE(decode_text("abc", kDataCodingUcs2).is_ok());
}

}  // namespace
}  // namespace station::messaging
