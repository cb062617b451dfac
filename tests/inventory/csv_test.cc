#include "inventory/csv.h"

#include <gtest/gtest.h>

namespace station::inventory {
namespace {

using Fields = std::vector<std::string>;

const CsvLimits kLimits{100, 8, 32};

std::vector<CsvRecord> parse_ok(std::string_view text) {
  auto records = parse_csv(text, kLimits);
  EXPECT_TRUE(records.is_ok()) << records.status().to_string();
  return records.is_ok() ? std::move(records).value() : std::vector<CsvRecord>{};
}

std::string parse_error(std::string_view text, const CsvLimits& limits = kLimits) {
  auto records = parse_csv(text, limits);
  EXPECT_FALSE(records.is_ok()) << text;
  return records.is_ok() ? "" : records.status().message();
}

TEST(CsvTest, ReadsPlainRecordsWithLfOrCrlfAndNoFinalNewline) {
  for (std::string_view text : {"a,b\n1,2\n", "a,b\r\n1,2\r\n", "a,b\n1,2"}) {
    auto records = parse_ok(text);
    ASSERT_EQ(records.size(), 2u) << text;
    EXPECT_EQ(records[0].fields, (Fields{"a", "b"}));
    EXPECT_EQ(records[1].fields, (Fields{"1", "2"}));
    EXPECT_EQ(records[1].line, 2u);
  }
}

TEST(CsvTest, ReadsQuotedFieldsWithCommasQuotesAndLineBreaks) {
  auto records = parse_ok("\"a,1\",\"say \"\"hi\"\"\",\"two\r\nlines\"\nnext,\"\",x\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields, (Fields{"a,1", "say \"hi\"", "two\r\nlines"}));
  EXPECT_EQ(records[1].fields, (Fields{"next", "", "x"}));
  EXPECT_EQ(records[1].line, 3u);  // the quoted line break counts
}

TEST(CsvTest, KeepsEmptyFieldsAndSkipsBlankLinesAndTheBom) {
  auto records = parse_ok("\xEF\xBB\xBF" "a,,c,\n\n\r\n,\n\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields, (Fields{"a", "", "c", ""}));
  EXPECT_EQ(records[1].fields, (Fields{"", ""}));
  EXPECT_EQ(records[1].line, 4u);
  EXPECT_TRUE(parse_ok("").empty());
  // A separator at the very end of the text (found by the fuzzer: it read one byte past it).
  auto trailing = parse_ok("a,b\nc,");
  ASSERT_EQ(trailing.size(), 2u);
  EXPECT_EQ(trailing[1].fields, (Fields{"c", ""}));
}

TEST(CsvTest, RefusesMalformedQuotingNamingTheLine) {
  EXPECT_EQ(parse_error("a\nb\"c\n"), "line 2: a quote inside an unquoted field");
  EXPECT_EQ(parse_error("a\n\"b\"c\n"), "line 2: text after a closing quote");
  EXPECT_EQ(parse_error("a\n\"open\nstill open"), "line 2: a quoted field is not closed");
  EXPECT_EQ(parse_error("a\rb\n"), "line 1: a carriage return not followed by a line feed");
}

TEST(CsvTest, EnforcesItsBounds) {
  EXPECT_EQ(parse_error("1,2,3\n", CsvLimits{10, 2, 10}), "line 1: more than 2 fields");
  EXPECT_EQ(parse_error("1\n2\n3\n", CsvLimits{2, 2, 10}), "line 3: more than 2 records");
  EXPECT_EQ(parse_error("ok\n12345\n", CsvLimits{10, 2, 4}),
            "line 2: a field longer than 4 bytes");
  EXPECT_EQ(parse_error("\"12345\"\n", CsvLimits{10, 2, 4}),
            "line 1: a field longer than 4 bytes");
}

}  // namespace
}  // namespace station::inventory
