#include "devices/identifiers.h"

#include <gtest/gtest.h>

#include <string>

namespace station::devices {
namespace {

// IMEIs used as examples in public references (the Wikipedia IMEI article's among them) and the
// example EID of GSMA SGP.29, all with correct check digits.
constexpr std::string_view kImeis[] = {"490154203237518", "356938035643809", "352099001761481"};
constexpr std::string_view kEid = "89049032123451234512345678901235";

std::string with_last_digit_bumped(std::string_view text) {
  std::string out(text);
  out.back() = out.back() == '9' ? '0' : static_cast<char>(out.back() + 1);
  return out;
}

void expect_fails(const Status& status, ErrorCode code, std::string_view which) {
  EXPECT_EQ(status.code(), code) << status.to_string();
  EXPECT_NE(status.message().find(which), std::string::npos) << status.to_string();
}

TEST(ImeiTest, AcceptsRealImeisAndGivesTheirTac) {
  for (auto imei : kImeis) EXPECT_TRUE(check_imei(imei).is_ok()) << imei;
  EXPECT_EQ(imei_tac("490154203237518"), "49015420");
}

TEST(ImeiTest, SaysWhichCheckFailed) {
  for (auto imei : kImeis) {
    expect_fails(check_imei(with_last_digit_bumped(imei)), ErrorCode::kInvalidImei, "check digit");
  }
  // A swap of two neighbouring digits is what Luhn catches.
  expect_fails(check_imei("940154203237518"), ErrorCode::kInvalidImei, "check digit");
  expect_fails(check_imei("49015420323751"), ErrorCode::kInvalidImei, "length");
  expect_fails(check_imei("4901542032375180"), ErrorCode::kInvalidImei, "length");
  expect_fails(check_imei(""), ErrorCode::kInvalidImei, "length");
  expect_fails(check_imei("49015420323751X"), ErrorCode::kInvalidImei, "non-digit");
  expect_fails(check_imei("49-015420-32375"), ErrorCode::kInvalidImei, "non-digit");
  expect_fails(check_imei(" 90154203237518"), ErrorCode::kInvalidImei, "non-digit");
}

TEST(EidTest, AcceptsTheSgp29Example) { EXPECT_TRUE(check_eid(kEid).is_ok()); }

TEST(EidTest, SaysWhichCheckFailed) {
  expect_fails(check_eid(with_last_digit_bumped(kEid)), ErrorCode::kInvalidEid, "check digits");
  std::string swapped(kEid);
  std::swap(swapped[10], swapped[11]);
  expect_fails(check_eid(swapped), ErrorCode::kInvalidEid, "check digits");
  expect_fails(check_eid(kEid.substr(0, 31)), ErrorCode::kInvalidEid, "length");
  expect_fails(check_eid(std::string(kEid) + "0"), ErrorCode::kInvalidEid, "length");
  std::string letter(kEid);
  letter[5] = 'A';
  expect_fails(check_eid(letter), ErrorCode::kInvalidEid, "non-digit");
  // An IMEI is not an EID.
  expect_fails(check_eid(kImeis[0]), ErrorCode::kInvalidEid, "length");
}

TEST(EidTest, ErrorCodesAreStable) {
  EXPECT_EQ(error_name(ErrorCode::kInvalidImei), "invalid_imei");
  EXPECT_EQ(error_name(ErrorCode::kInvalidEid), "invalid_eid");
  EXPECT_EQ(error_info(ErrorCode::kInvalidImei).http_status, 400);
  EXPECT_EQ(error_info(ErrorCode::kInvalidEid).http_status, 400);
  EXPECT_EQ(error_info(ErrorCode::kInvalidImei).retry, RetryClass::kFixRequest);
  EXPECT_EQ(error_info(ErrorCode::kInvalidEid).retry, RetryClass::kFixRequest);
}

}  // namespace
}  // namespace station::devices
