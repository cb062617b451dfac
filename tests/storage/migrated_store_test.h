// The fixture a domain store's tests start from: on each engine (the test parameter), a fresh
// scratch database with all of Station's migrations applied. Header only: a test using it links
// station_storage_testing and station_schema.
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "schema/migrations.h"
#include "storage/database.h"
#include "storage/scratch_database.h"

namespace station::storage::testing {

class MigratedStoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  // A derived SetUp calls this first and builds its store only if the test goes on:
  //   MigratedStoreTest::SetUp();
  //   if (IsSkipped() || HasFatalFailure()) return;
  // The derived fixture's members (the stores on database()) are destroyed before this class's,
  // so the database outlives them and closes before its scratch is removed.
  void SetUp() override {
    STATION_SKIP_UNLESS_ENGINE_AVAILABLE(GetParam());
    auto store = open_migrated(GetParam(), schema::all_migrations());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  Database& database() { return *store_.database; }

 private:
  MigratedScratch store_;
};

}  // namespace station::storage::testing
