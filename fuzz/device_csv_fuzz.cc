// Fuzz target: device catalogue CSV files as `station admin devices import` takes them — parsing,
// header and row checks, and (for good files) the upsert into a scratch SQLite database — and the
// outcome's promises: all or nothing, problems listed by line and bounded.
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "devices/catalogue.h"
#include "schema/migrations.h"

namespace {

// One scratch SQLite database for the whole run, removed at exit.
struct Scratch {
  std::string directory;
  std::unique_ptr<station::storage::Database> database;
  std::unique_ptr<station::devices::DeviceCatalogue> catalogue;

  Scratch() {
    char name[] = "/tmp/station-device-fuzz-XXXXXX";
    if (::mkdtemp(name) == nullptr) std::abort();
    directory = name;
    auto opened = station::storage::Database::open({.url = "sqlite:" + directory + "/station.db"});
    if (!opened.is_ok()) std::abort();
    database = std::move(opened).value();
    if (!database->migrate(station::schema::all_migrations()).is_ok()) std::abort();
    catalogue = std::make_unique<station::devices::DeviceCatalogue>(*database);
  }
  ~Scratch() {
    catalogue.reset();
    database.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
  }
};

station::devices::DeviceCatalogue& catalogue() {
  static Scratch scratch;
  return *scratch.catalogue;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto outcome = catalogue().import_csv(text);
  if (!outcome.is_ok()) return 0;
  assert(outcome->problems.size() <= station::devices::kImportProblemsMax);
  if (outcome->problems.empty()) {
    assert(outcome->imported > 0);
    assert(outcome->imported == outcome->created + outcome->updated);
  } else {
    assert(outcome->imported == 0);
    for (std::size_t i = 1; i < outcome->problems.size(); ++i) {
      assert(outcome->problems[i - 1].line <= outcome->problems[i].line);
    }
  }
  return 0;
}
