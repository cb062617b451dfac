#include "common/result.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace station {
namespace {

TEST(StatusTest, EveryCodeHasAUniqueStableName) {
  std::set<std::string_view> names;
  for (auto i = 0; i <= static_cast<int>(ErrorCode::kHeaderTooLarge); ++i) {
    const auto& info = error_info(static_cast<ErrorCode>(i));
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_GE(info.http_status, 200);
    EXPECT_LT(info.http_status, 600);
  }
  EXPECT_EQ(error_name(ErrorCode::kInsufficientFunds), "insufficient_funds");
  EXPECT_EQ(error_name(ErrorCode::kIdempotencyKeyReused), "idempotency_key_reused");
}

TEST(StatusTest, BusinessRefusalsAreFinal) {
  EXPECT_TRUE(is_business_refusal(ErrorCode::kInsufficientFunds));
  EXPECT_FALSE(is_business_refusal(ErrorCode::kValidationFailed));
  EXPECT_FALSE(is_business_refusal(ErrorCode::kStorageError));
}

Result<int> half(int x) {
  if (x % 2 != 0) return Status(ErrorCode::kValidationFailed, "odd");
  return x / 2;
}

Result<int> quarter(int x) {
  STATION_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*quarter(8), 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace station
