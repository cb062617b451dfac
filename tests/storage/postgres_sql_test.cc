#include <gtest/gtest.h>

#include "storage/postgres_database.h"

namespace station::storage {
namespace {

TEST(RewritePlaceholdersTest, NumbersPlaceholdersInOrder) {
  const PostgresSql sql = rewrite_placeholders("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
  EXPECT_EQ(sql.text, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
  EXPECT_EQ(sql.placeholders, 4u);
}

TEST(RewritePlaceholdersTest, LeavesQuotedQuestionMarks) {
  const PostgresSql sql =
      rewrite_placeholders("SELECT 'a?', 'it''s ?', \"odd?name\" FROM t WHERE x = ? AND y = '?'");
  EXPECT_EQ(sql.text, "SELECT 'a?', 'it''s ?', \"odd?name\" FROM t WHERE x = $1 AND y = '?'");
  EXPECT_EQ(sql.placeholders, 1u);
}

TEST(RewritePlaceholdersTest, WithoutPlaceholdersIsUnchanged) {
  const PostgresSql sql = rewrite_placeholders("SELECT 1");
  EXPECT_EQ(sql.text, "SELECT 1");
  EXPECT_EQ(sql.placeholders, 0u);
}

TEST(RedactPostgresUrlTest, DropsPasswords) {
  EXPECT_EQ(redact_postgres_url("postgres://station:hunter2@db.example:5432/station"),
            "postgres://station@db.example:5432/station");
  EXPECT_EQ(redact_postgres_url("postgresql://station@db/station?password=hunter2&sslmode=require"),
            "postgresql://station@db/station?sslmode=require");
  EXPECT_EQ(redact_postgres_url("postgres://db/station?password=hunter2"), "postgres://db/station");
  EXPECT_EQ(redact_postgres_url("postgres://:hunter2@db/station"), "postgres://@db/station");
}

TEST(RedactPostgresUrlTest, KeepsUrlsWithoutPasswords) {
  for (const char* url : {"postgres://station@127.0.0.1:5432/station_test",
                          "postgres:///station?host=/run/postgresql", "postgresql://db"}) {
    EXPECT_EQ(redact_postgres_url(url), url);
  }
}

}  // namespace
}  // namespace station::storage
