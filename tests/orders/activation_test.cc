// Activation codes (SGP.22 format, unguessable Matching IDs, confirmation code hashes) and the
// QR images made of them.
#include <set>

#include <gtest/gtest.h>

#include "orders/activation.h"
#include "orders/qr.h"

namespace station::orders {
namespace {

TEST(MatchingId, IsGroupedFromAnUnambiguousAlphabetAndNeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 2'000; ++i) {
    auto id = new_matching_id();
    ASSERT_TRUE(id.is_ok());
    ASSERT_EQ(id->size(), 23u);
    for (std::size_t j = 0; j < id->size(); ++j) {
      char c = (*id)[j];
      if (j % 6 == 5) {
        EXPECT_EQ(c, '-');
      } else {
        EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) << *id;
        EXPECT_TRUE(c != 'I' && c != 'O' && c != 'U') << *id;
      }
    }
    EXPECT_TRUE(seen.insert(*id).second);
  }
}

TEST(ActivationCode, FollowsTheSgp22Format) {
  EXPECT_EQ(activation_code("smdp.example.com", "AB12C-DE34F-GH56J-KL78M", false),
            "LPA:1$smdp.example.com$AB12C-DE34F-GH56J-KL78M");
  EXPECT_EQ(activation_code("smdp.example.com:8443", "X", true), "LPA:1$smdp.example.com:8443$X$$1");
}

TEST(ActivationCode, SmdpAddressIsAHostWithAnOptionalPort) {
  EXPECT_TRUE(check_smdp_address("smdp.example.com").is_ok());
  EXPECT_TRUE(check_smdp_address("smdp.example.com:8443").is_ok());
  EXPECT_TRUE(check_smdp_address("127.0.0.1:8443").is_ok());
  for (std::string_view bad : {"", "smdp$example", "https://smdp", ".smdp", "smdp:", "smdp:99999",
                               "smdp:80a", "smdp example"}) {
    EXPECT_EQ(check_smdp_address(bad).code(), ErrorCode::kValidationFailed) << bad;
  }
}

TEST(ConfirmationCode, IsEightDigitsKeptOnlyAsSha256) {
  auto code = new_confirmation_code();
  ASSERT_TRUE(code.is_ok());
  EXPECT_EQ(code->size(), 8u);
  EXPECT_EQ(code->find_first_not_of("0123456789"), std::string::npos);
  EXPECT_EQ(confirmation_code_hash("12345678"),
            "ef797c8118f02dfb649607dd5d3f8c7623048c9c063d532cc95c5ed7a898a64f");
}

TEST(Qr, PngHasTheSignatureAndAQuietZone) {
  auto png = qr_png("LPA:1$smdp.example.com$AB12C-DE34F-GH56J-KL78M", {4});
  ASSERT_TRUE(png.is_ok()) << png.status().to_string();
  ASSERT_GT(png->size(), 24u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR width: version 3 (29 modules) at error correction M holds this text; plus 2 x 4 quiet.
  auto be32 = [&](std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>((*png)[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>((*png)[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>((*png)[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>((*png)[at + 3]));
  };
  std::uint32_t width = be32(16);
  EXPECT_EQ(width, be32(20));
  EXPECT_EQ(width % 4, 0u);
  EXPECT_EQ((width / 4 - 8 - 21) % 4, 0u);  // a QR side is 21 + 4k modules
}

TEST(Qr, SvgIsOnePathOnAWhiteSquare) {
  auto svg = qr_svg("LPA:1$smdp.example.com$X");
  ASSERT_TRUE(svg.is_ok());
  EXPECT_NE(svg->find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg->find("<path fill=\"#000\" d=\"M"), std::string::npos);
  EXPECT_EQ(svg->find("<script"), std::string::npos);
}

TEST(Qr, RefusesEmptyAndOversizedText) {
  EXPECT_EQ(qr_png("").status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(qr_svg(std::string(513, 'A')).status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(qr_png("x", {0}).status().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace station::orders
