#include "support/test_store.h"

#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

namespace station::testing {

std::string engine_name(Engine engine) {
  return engine == Engine::kSqlite ? "Sqlite" : "Postgres";
}

std::optional<TestStore> TestStore::create(Engine engine, std::string* why) {
  TestStore store;
  std::random_device random;
  store.directory_ = std::filesystem::temp_directory_path() /
                     ("station-test-" + std::to_string(random()) + std::to_string(random()));
  std::filesystem::create_directories(store.directory_);
  if (engine == Engine::kSqlite) {
    store.url_ = storage::default_database_url(store.directory_.string());
    return store;
  }
  const char* url = std::getenv("STATION_TEST_POSTGRES_URL");
  if (url == nullptr || *url == '\0') {
    const char* required = std::getenv("STATION_REQUIRE_POSTGRES");
    if (required != nullptr && std::string(required) == "1") {
      ADD_FAILURE() << "STATION_REQUIRE_POSTGRES=1 but STATION_TEST_POSTGRES_URL is not set";
    }
    *why = "PostgreSQL not configured (set STATION_TEST_POSTGRES_URL)";
    return std::nullopt;
  }
  store.url_ = url;
  storage::DatabaseOptions options;
  options.url = store.url_;
  options.pool_size = 1;
  auto database = storage::Database::open(options);
  if (!database.is_ok()) {
    ADD_FAILURE() << "cannot open PostgreSQL: " << database.status().to_string();
    *why = "PostgreSQL unreachable";
    return std::nullopt;
  }
  auto connection = (*database)->acquire();
  if (!connection.is_ok() ||
      !(*connection)->execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;").is_ok()) {
    ADD_FAILURE() << "cannot reset the PostgreSQL test database";
    *why = "PostgreSQL reset failed";
    return std::nullopt;
  }
  return store;
}

TestStore::~TestStore() {
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
}

}  // namespace station::testing
