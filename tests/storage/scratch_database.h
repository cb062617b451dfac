// storage testing: a fresh, empty database for one test, on either engine.
//
// SQLite: a file in a new temporary directory. PostgreSQL: a new schema in the database at
// STATION_TEST_POSTGRES_URL (scripts/with-postgres.sh sets it), selected through the URL's
// search_path option, so tests running in parallel never see each other's tables. The
// server-wide advisory lock of lock_exclusive() is still shared by everyone on that database.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "storage/database.h"

namespace station::storage::testing {

enum class Engine { kSqlite, kPostgres };

// "Sqlite" or "Postgres", for parametrized test names.
std::string_view engine_name(Engine engine);
// Lets GoogleTest print an Engine by name.
void PrintTo(Engine engine, std::ostream* out);
// STATION_TEST_POSTGRES_URL, or empty when unset.
std::string postgres_test_url();
// True when STATION_REQUIRE_POSTGRES=1: a missing test server is a failure, not a skip.
bool postgres_required();

class ScratchDatabase {
 public:
  // REQUIRES: engine is kSqlite, or postgres_test_url() is not empty.
  static Result<std::unique_ptr<ScratchDatabase>> create(Engine engine);
  // Removes the directory or drops the schema. REQUIRES: every Database on url() is closed.
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& url() const { return url_; }
  // url() with the default options.
  DatabaseOptions options() const { return DatabaseOptions{.url = url_}; }
  // SQLite only: the temporary directory holding the database file.
  const std::string& directory() const { return directory_; }

 private:
  ScratchDatabase() = default;

  std::string url_;
  std::string directory_;  // SQLite
  std::string base_url_;   // PostgreSQL: STATION_TEST_POSTGRES_URL
  std::string schema_;     // PostgreSQL
};

// What a test of a domain's store starts from: a scratch database of `engine`, open, with
// `migrations` applied (usually schema::all_migrations()). Members in destruction order: the
// database closes before its scratch is removed.
struct MigratedScratch {
  std::unique_ptr<ScratchDatabase> scratch;
  std::unique_ptr<Database> database;
};
Result<MigratedScratch> open_migrated(Engine engine, std::span<const Migration> migrations);

}  // namespace station::storage::testing

// In SetUp() or a test: skips the test, or fails it when STATION_REQUIRE_POSTGRES=1, if the
// engine is PostgreSQL and STATION_TEST_POSTGRES_URL is unset.
#define STATION_SKIP_UNLESS_ENGINE_AVAILABLE(engine)                                   \
  do {                                                                                 \
    if ((engine) == ::station::storage::testing::Engine::kPostgres &&                  \
        ::station::storage::testing::postgres_test_url().empty()) {                    \
      if (::station::storage::testing::postgres_required()) {                          \
        FAIL() << "STATION_REQUIRE_POSTGRES=1 but STATION_TEST_POSTGRES_URL is unset " \
                  "(run under scripts/with-postgres.sh)";                              \
      }                                                                                \
      GTEST_SKIP() << "STATION_TEST_POSTGRES_URL is unset (run under "                 \
                      "scripts/with-postgres.sh)";                                     \
    }                                                                                  \
  } while (false)
