#include "web/i18n.h"

#include <gtest/gtest.h>

#include "common/limits.h"

namespace station::web {
namespace {

using nlohmann::json;

Currency currency(std::string_view code) { return *Currency::from_code(code); }

TEST(LanguageTest, TagsRoundTripAndRelativesMap) {
  EXPECT_EQ(parse_language(language_tag(Language::kZhCn)), Language::kZhCn);
  EXPECT_EQ(parse_language(language_tag(Language::kEn)), Language::kEn);
  EXPECT_EQ(parse_language("zh-Hans-CN"), Language::kZhCn);
  EXPECT_EQ(parse_language("ZH"), Language::kZhCn);
  EXPECT_EQ(parse_language("en-GB"), Language::kEn);
  EXPECT_FALSE(parse_language("fr").has_value());
  EXPECT_FALSE(parse_language("zhx").has_value());
}

TEST(LanguageTest, AcceptLanguageWeightsDecide) {
  EXPECT_EQ(negotiate_language(std::nullopt), Language::kEn);
  EXPECT_EQ(negotiate_language("zh-CN,zh;q=0.9,en;q=0.8"), Language::kZhCn);
  EXPECT_EQ(negotiate_language("en-US,en;q=0.9,zh-CN;q=0.8"), Language::kEn);
  EXPECT_EQ(negotiate_language("fr-FR, zh;q=0.5, en;q=0.3"), Language::kZhCn);
  EXPECT_EQ(negotiate_language("fr, de"), Language::kEn);
  EXPECT_EQ(negotiate_language("zh;q=0, en;q=0.1"), Language::kEn);
  EXPECT_EQ(negotiate_language("zh;q=abc, en;q=0.2"), Language::kEn);   // malformed q: ignored
  EXPECT_EQ(negotiate_language("en;q=0.5,zh;q=0.500"), Language::kEn);  // tie: first wins
}

TEST(CatalogueTest, EmbeddedCataloguesHaveTheSameKeys) {
  auto catalogue = Catalogue::load();
  ASSERT_TRUE(catalogue.is_ok()) << catalogue.status().to_string();
  EXPECT_EQ(catalogue->messages(Language::kZhCn).size(), catalogue->messages(Language::kEn).size());
  EXPECT_EQ(catalogue->text(Language::kEn, "nav_plans"), "Plans");
  EXPECT_EQ(catalogue->text(Language::kZhCn, "nav_plans"), "套餐");
  EXPECT_EQ(catalogue->text(Language::kEn, "no_such_key"), "no_such_key");
  EXPECT_EQ(catalogue->format(Language::kEn, "plans_days", {{"days", "30"}}), "30 days");
  EXPECT_EQ(catalogue->format(Language::kZhCn, "plans_days", {{"days", "30"}}), "30 天");
}

TEST(CatalogueTest, MismatchedOrMalformedCataloguesAreRefused) {
  EXPECT_FALSE(Catalogue::from_json({{"a", "甲"}}, {{"a", "A"}, {"b", "B"}}).is_ok());
  EXPECT_FALSE(Catalogue::from_json({{"a", "甲"}, {"b", "乙"}}, {{"a", "A"}}).is_ok());
  EXPECT_FALSE(Catalogue::from_json({{"a", 1}}, {{"a", "A"}}).is_ok());
  EXPECT_FALSE(Catalogue::from_json(json::array(), {{"a", "A"}}).is_ok());
  EXPECT_TRUE(Catalogue::from_json({{"a", "甲"}}, {{"a", "A"}}).is_ok());
}

TEST(MoneyFormatTest, SymbolsFollowTheReadersLanguage) {
  EXPECT_EQ(format_money(1250, currency("CNY"), Language::kZhCn), "¥12.50");
  EXPECT_EQ(format_money(1250, currency("CNY"), Language::kEn), "CN¥12.50");
  EXPECT_EQ(format_money(1250, currency("USD"), Language::kEn), "$12.50");
  EXPECT_EQ(format_money(1250, currency("USD"), Language::kZhCn), "US$12.50");
  EXPECT_EQ(format_money(1250, currency("JPY"), Language::kEn), "¥1,250");
  EXPECT_EQ(format_money(1250, currency("JPY"), Language::kZhCn), "JP¥1,250");
  EXPECT_EQ(format_money(1500, currency("KWD"), Language::kEn), "KWD\u00a01.500");
}

TEST(MoneyFormatTest, GroupingSignsAndExtremes) {
  EXPECT_EQ(format_money(0, currency("CNY"), Language::kZhCn), "¥0.00");
  EXPECT_EQ(format_money(5, currency("CNY"), Language::kZhCn), "¥0.05");
  EXPECT_EQ(format_money(123456789, currency("CNY"), Language::kZhCn), "¥1,234,567.89");
  EXPECT_EQ(format_money(-1500, currency("CNY"), Language::kEn), "-CN¥15.00");
  EXPECT_EQ(format_money(INT64_MIN, currency("USD"), Language::kEn), "-$92,233,720,368,547,758.08");
  EXPECT_EQ(format_amount(100000, currency("EUR")), "1,000.00");
}

TEST(MoneyParseTest, TypedAmountsBecomeMinorUnits) {
  const std::int64_t max = limits::kTransferAmountMinorMax;
  EXPECT_EQ(parse_amount("12", currency("CNY"), max).value(), 1200);
  EXPECT_EQ(parse_amount(" 12.5 ", currency("CNY"), max).value(), 1250);
  EXPECT_EQ(parse_amount("1,234.56", currency("CNY"), max).value(), 123456);
  EXPECT_EQ(parse_amount("1250", currency("JPY"), max).value(), 1250);
  EXPECT_EQ(parse_amount("0.001", currency("KWD"), max).value(), 1);
}

TEST(MoneyParseTest, BadAmountsAreRefused) {
  auto code = [](std::string_view text, std::string_view cur, std::int64_t max = 1'000'000) {
    auto parsed = parse_amount(text, currency(cur), max);
    return parsed.is_ok() ? ErrorCode::kOk : parsed.status().code();
  };
  EXPECT_EQ(code("", "CNY"), ErrorCode::kValidationFailed);
  EXPECT_EQ(code("abc", "CNY"), ErrorCode::kValidationFailed);
  EXPECT_EQ(code("1.2.3", "CNY"), ErrorCode::kValidationFailed);
  EXPECT_EQ(code("1e3", "CNY"), ErrorCode::kValidationFailed);
  EXPECT_EQ(code(".", "CNY"), ErrorCode::kValidationFailed);
  EXPECT_EQ(code("0", "CNY"), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(code("-5", "CNY"), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(code("1.234", "CNY"), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(code("1.5", "JPY"), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(code("10000.01", "CNY"), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(code("10000.00", "CNY"), ErrorCode::kOk);
  EXPECT_EQ(code("99999999999999999999999", "CNY", INT64_MAX), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(code(std::string(25, '1'), "CNY", INT64_MAX), ErrorCode::kValidationFailed);
  EXPECT_EQ(code("9999999999999999999", "CNY", INT64_MAX), ErrorCode::kAmountOutOfRange);
}

}  // namespace
}  // namespace station::web
