#include "storage/scratch_database.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace station::storage::testing {

std::string_view engine_name(Engine engine) {
  return engine == Engine::kSqlite ? "Sqlite" : "Postgres";
}

void PrintTo(Engine engine, std::ostream* out) { *out << engine_name(engine); }

std::string postgres_test_url() {
  const char* url = std::getenv("STATION_TEST_POSTGRES_URL");
  return url == nullptr ? std::string() : std::string(url);
}

bool postgres_required() {
  const char* required = std::getenv("STATION_REQUIRE_POSTGRES");
  return required != nullptr && std::string_view(required) == "1";
}

namespace {

Status run_script_on(const std::string& url, const std::string& sql) {
  STATION_ASSIGN_OR_RETURN(std::unique_ptr<Database> database,
                           Database::open(DatabaseOptions{.url = url, .pool_size = 1}));
  STATION_ASSIGN_OR_RETURN(ConnectionLease connection, database->acquire());
  return connection->execute_script(sql);
}

}  // namespace

Result<std::unique_ptr<ScratchDatabase>> ScratchDatabase::create(Engine engine) {
  std::unique_ptr<ScratchDatabase> scratch(new ScratchDatabase());
  if (engine == Engine::kSqlite) {
    std::string pattern = (std::filesystem::temp_directory_path() / "station-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status(ErrorCode::kStorageError,
                    fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
    }
    scratch->directory_ = pattern;
    scratch->url_ = "sqlite:" + pattern + "/station.db";
    return scratch;
  }
  // Unique among the processes running at once; a leftover from a crashed run is replaced.
  static std::atomic<int> next_schema_number{0};
  scratch->base_url_ = postgres_test_url();
  assert(!scratch->base_url_.empty());
  scratch->schema_ = fmt::format("station_test_{}_{}", ::getpid(), next_schema_number++);
  STATION_RETURN_IF_ERROR(run_script_on(
      scratch->base_url_,
      fmt::format("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", scratch->schema_)));
  const char separator = scratch->base_url_.find('?') == std::string::npos ? '?' : '&';
  scratch->url_ = fmt::format("{}{}options=-csearch_path%3D{}", scratch->base_url_, separator,
                              scratch->schema_);
  return scratch;
}

ScratchDatabase::~ScratchDatabase() {
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  if (!schema_.empty()) {
    Status dropped = run_script_on(base_url_, fmt::format("DROP SCHEMA {} CASCADE", schema_));
    if (!dropped.is_ok()) ADD_FAILURE() << "dropping " << schema_ << ": " << dropped.to_string();
  }
}

Result<MigratedScratch> open_migrated(Engine engine, std::span<const Migration> migrations) {
  MigratedScratch store;
  STATION_ASSIGN_OR_RETURN(store.scratch, ScratchDatabase::create(engine));
  STATION_ASSIGN_OR_RETURN(store.database, Database::open(store.scratch->options()));
  STATION_RETURN_IF_ERROR(store.database->migrate(migrations));
  return store;
}

}  // namespace station::storage::testing
