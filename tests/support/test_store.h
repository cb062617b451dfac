// Test support: a fresh, empty store per test on the engine a parametrized test asks for.
//
// SQLite: a new file in a new temporary directory. PostgreSQL: the database named by
// STATION_TEST_POSTGRES_URL, emptied (schema public dropped and re-created). Without that
// variable PostgreSQL tests skip, unless STATION_REQUIRE_POSTGRES=1, when they fail.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "storage/database.h"

namespace station::testing {

enum class Engine { kSqlite, kPostgres };
std::string engine_name(Engine engine);

class TestStore {
 public:
  // nullopt (with `why` set) when the engine is not available and not required.
  static std::optional<TestStore> create(Engine engine, std::string* why);
  TestStore(TestStore&&) noexcept = default;
  ~TestStore();

  const std::string& url() const { return url_; }
  const std::filesystem::path& directory() const { return directory_; }

 private:
  TestStore() = default;
  std::string url_;
  std::filesystem::path directory_;  // a temporary directory, removed on destruction
};

}  // namespace station::testing

// In a TEST_P fixture's SetUp: declares `store_` or skips/fails per the rules above.
#define STATION_TEST_STORE_OR_SKIP(engine)                                 \
  do {                                                                     \
    std::string station_why_;                                              \
    store_ = ::station::testing::TestStore::create((engine), &station_why_); \
    if (!store_) GTEST_SKIP() << station_why_;                             \
  } while (false)
