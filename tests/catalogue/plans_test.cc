#include "catalogue/plans.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "auth/audit.h"
#include "catalogue/countries.h"
#include "storage/migrated_store_test.h"
#include "storage/scratch_database.h"

namespace station::catalogue {
namespace {

using storage::testing::Engine;

constexpr std::int64_t kStartMs = 1'800'000'000'000;

NewPlan sample(std::string code = "CN-10GB-30D") {
  NewPlan plan;
  plan.code = std::move(code);
  plan.name_zh = "中国大陆 10GB 30天";
  plan.name_en = "China 10 GB, 30 days";
  plan.data_mb = 10'240;
  plan.validity_days = 30;
  plan.price_minor = 4'900;
  plan.currency = "CNY";
  plan.countries = {"CN"};
  return plan;
}

TEST(CountriesTest, KnowsTheAssignedCodesOnly) {
  EXPECT_EQ(iso3166_alpha2_codes().size(), 249U);
  for (auto code : {"CN", "HK", "MO", "TW", "US", "GB", "DE", "JP", "ZW", "AD"}) {
    EXPECT_TRUE(is_iso3166_alpha2(code)) << code;
  }
  for (auto code : {"cn", "UK", "EU", "XK", "C", "CHN", "", "ZZ"}) {
    EXPECT_FALSE(is_iso3166_alpha2(code)) << code;
  }
}

TEST(PlanValidationTest, ChecksEveryField) {
  EXPECT_TRUE(validate(sample()).is_ok());
  auto code_of = [](NewPlan plan) { return validate(plan).code(); };
  const auto bad = ErrorCode::kValidationFailed;

  NewPlan plan = sample();
  plan.code = "";
  EXPECT_EQ(code_of(plan), bad);
  plan.code = std::string(65, 'A');
  EXPECT_EQ(code_of(plan), bad);
  plan.code = std::string(64, 'A');
  EXPECT_TRUE(validate(plan).is_ok());
  plan.code = "CN 10GB";
  EXPECT_EQ(code_of(plan), bad);
  plan.code = "cn_10-GB";
  EXPECT_TRUE(validate(plan).is_ok());

  plan = sample();
  plan.name_zh = "";
  EXPECT_EQ(code_of(plan), bad);
  plan = sample();
  plan.name_en = std::string(201, 'x');
  EXPECT_EQ(code_of(plan), bad);
  plan.name_en = std::string(200, 'x');
  EXPECT_TRUE(validate(plan).is_ok());
  plan.name_en = "tab\there";
  EXPECT_EQ(code_of(plan), bad);

  plan = sample();
  plan.data_mb = 0;
  EXPECT_EQ(code_of(plan), bad);
  plan.data_mb = -1;
  EXPECT_EQ(code_of(plan), bad);
  plan.data_mb = std::nullopt;  // unlimited
  EXPECT_TRUE(validate(plan).is_ok());

  plan = sample();
  plan.validity_days = 0;
  EXPECT_EQ(code_of(plan), bad);
  plan.validity_days = 3651;
  EXPECT_EQ(code_of(plan), bad);
  plan.validity_days = 3650;
  EXPECT_TRUE(validate(plan).is_ok());

  plan = sample();
  plan.price_minor = 0;
  EXPECT_EQ(code_of(plan), ErrorCode::kAmountOutOfRange);
  plan.price_minor = -5;
  EXPECT_EQ(code_of(plan), ErrorCode::kAmountOutOfRange);
  plan.price_minor = kPlanPriceMinorMax + 1;
  EXPECT_EQ(code_of(plan), ErrorCode::kAmountOutOfRange);
  plan.price_minor = kPlanPriceMinorMax;
  EXPECT_TRUE(validate(plan).is_ok());

  plan = sample();
  plan.currency = "XXX";
  EXPECT_EQ(code_of(plan), bad);
  plan.currency = "cny";
  EXPECT_EQ(code_of(plan), bad);

  plan = sample();
  plan.countries = {"CN", "HK", "MO"};
  EXPECT_TRUE(validate(plan).is_ok());
  plan.countries = {"CN", "cn"};
  EXPECT_EQ(code_of(plan), bad);
  plan.countries = {"CN", "CN"};
  EXPECT_EQ(code_of(plan), bad);
  plan.countries = {"EU"};
  EXPECT_EQ(code_of(plan), bad);
  plan.countries = {};
  EXPECT_TRUE(validate(plan).is_ok());
}

class PlansTest : public storage::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    plans_ = std::make_unique<Plans>(database(), ids_, clock_);
  }

  std::vector<auth::AuditEntry> audit() {
    auto connection = database().acquire();
    EXPECT_TRUE(connection.is_ok());
    auto entries = auth::list_audit_entries(**connection, 200);
    EXPECT_TRUE(entries.is_ok());
    return entries.is_ok() ? std::move(entries).value() : std::vector<auth::AuditEntry>{};
  }

  ManualClock clock_{kStartMs};
  IdGenerator ids_{clock_};
  std::unique_ptr<Plans> plans_;
};

TEST_P(PlansTest, CreateStoresVersionOneAndReadsItBack) {
  auto created = plans_->create(sample(), Actor{"key:Abcdefgh", "req-1"});
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->created_at_ms, kStartMs);
  EXPECT_TRUE(created->active);

  auto current = plans_->current("CN-10GB-30D");
  ASSERT_TRUE(current.is_ok()) << current.status().to_string();
  EXPECT_EQ(current->id, created->id);
  EXPECT_EQ(current->name_zh, "中国大陆 10GB 30天");
  EXPECT_EQ(current->name_en, "China 10 GB, 30 days");
  EXPECT_EQ(current->data_mb, 10'240);
  EXPECT_EQ(current->validity_days, 30U);
  EXPECT_EQ(current->price_minor, 4'900);
  EXPECT_EQ(current->currency, "CNY");
  EXPECT_EQ(current->countries, std::vector<std::string>{"CN"});

  auto entries = audit();
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0].action, "plan.create");
  EXPECT_EQ(entries[0].actor, "key:Abcdefgh");
  EXPECT_EQ(entries[0].request_id, "req-1");
  EXPECT_EQ(entries[0].target, format_public_id(kPlanIdPrefix, created->id));
}

TEST_P(PlansTest, UnlimitedDataAndNoCountriesRoundTrip) {
  NewPlan plan = sample("WORLD-UNL");
  plan.data_mb = std::nullopt;
  plan.countries = {};
  plan.active = false;
  ASSERT_TRUE(plans_->create(plan).is_ok());
  auto current = plans_->current("WORLD-UNL");
  ASSERT_TRUE(current.is_ok());
  EXPECT_FALSE(current->data_mb.has_value());
  EXPECT_TRUE(current->countries.empty());
  EXPECT_FALSE(current->active);
}

TEST_P(PlansTest, ADuplicateCodeIsAConflictAndABadPlanIsRefused) {
  ASSERT_TRUE(plans_->create(sample()).is_ok());
  EXPECT_EQ(plans_->create(sample()).status().code(), ErrorCode::kConflict);
  NewPlan bad = sample("OTHER");
  bad.price_minor = 0;
  EXPECT_EQ(plans_->create(bad).status().code(), ErrorCode::kAmountOutOfRange);
  EXPECT_EQ(plans_->current("OTHER").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(audit().size(), 1U);
}

TEST_P(PlansTest, UpdateMakesANewVersionAndKeepsTheOldOne) {
  auto first = plans_->create(sample());
  ASSERT_TRUE(first.is_ok());
  clock_.advance_ms(1'000);
  NewPlan cheaper = sample();
  cheaper.price_minor = 3'900;
  cheaper.countries = {"CN", "HK", "MO"};
  auto second = plans_->update("CN-10GB-30D", cheaper, Actor{"cli:ops", ""});
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_EQ(second->version, 2);
  EXPECT_NE(second->id, first->id);
  EXPECT_EQ(second->created_at_ms, kStartMs + 1'000);

  // The version an order was sold at is unchanged.
  auto sold = plans_->version(first->id);
  ASSERT_TRUE(sold.is_ok());
  EXPECT_EQ(sold->version, 1);
  EXPECT_EQ(sold->price_minor, 4'900);
  EXPECT_EQ(sold->countries, std::vector<std::string>{"CN"});

  auto current = plans_->current("CN-10GB-30D");
  ASSERT_TRUE(current.is_ok());
  EXPECT_EQ(current->id, second->id);
  EXPECT_EQ(current->price_minor, 3'900);
  EXPECT_EQ(current->countries, (std::vector<std::string>{"CN", "HK", "MO"}));

  auto listed = plans_->list(false);
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 1U);  // the latest version only
  EXPECT_EQ((*listed)[0].version, 2);

  auto entries = audit();
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].action, "plan.update");
  EXPECT_EQ(entries[0].actor, "cli:ops");
}

TEST_P(PlansTest, AnUnchangedUpdateWritesNothing) {
  auto first = plans_->create(sample());
  ASSERT_TRUE(first.is_ok());
  auto same = plans_->update("CN-10GB-30D", sample());
  ASSERT_TRUE(same.is_ok());
  EXPECT_EQ(same->id, first->id);
  EXPECT_EQ(same->version, 1);
  NewPlan no_code = sample();
  no_code.code = "";  // the code comes from the argument
  no_code.active = false;
  auto deactivated = plans_->update("CN-10GB-30D", no_code);
  ASSERT_TRUE(deactivated.is_ok()) << deactivated.status().to_string();
  EXPECT_EQ(deactivated->version, 2);
  EXPECT_EQ(audit().size(), 2U);
}

TEST_P(PlansTest, UpdateRefusesUnknownCodesRenamesAndBadFields) {
  EXPECT_EQ(plans_->update("NOPE", sample("NOPE")).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(plans_->create(sample()).is_ok());
  EXPECT_EQ(plans_->update("CN-10GB-30D", sample("RENAMED")).status().code(),
            ErrorCode::kValidationFailed);
  NewPlan bad = sample();
  bad.validity_days = 0;
  EXPECT_EQ(plans_->update("CN-10GB-30D", bad).status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(plans_->current("not a code!").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(plans_->version(12345).status().code(), ErrorCode::kNotFound);
}

TEST_P(PlansTest, ListShowsTheLatestVersionOfEachCodeByCode) {
  ASSERT_TRUE(plans_->create(sample("B-PLAN")).is_ok());
  ASSERT_TRUE(plans_->create(sample("A-PLAN")).is_ok());
  NewPlan c = sample("C-PLAN");
  c.active = false;
  ASSERT_TRUE(plans_->create(c).is_ok());
  NewPlan b2 = sample("B-PLAN");
  b2.active = false;
  ASSERT_TRUE(plans_->update("B-PLAN", b2).is_ok());
  NewPlan c2 = sample("C-PLAN");
  ASSERT_TRUE(plans_->update("C-PLAN", c2).is_ok());  // active again

  auto active = plans_->list(true);
  ASSERT_TRUE(active.is_ok());
  ASSERT_EQ(active->size(), 2U);
  EXPECT_EQ((*active)[0].code, "A-PLAN");
  EXPECT_EQ((*active)[1].code, "C-PLAN");
  EXPECT_EQ((*active)[1].version, 2);

  auto all = plans_->list(false);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ((*all)[1].code, "B-PLAN");
  EXPECT_EQ((*all)[1].version, 2);
  EXPECT_FALSE((*all)[1].active);
}

TEST_P(PlansTest, ListIsInByteOrderOnEveryEngine) {
  for (const char* code : {"A_X", "AB", "A-X", "a"}) {
    ASSERT_TRUE(plans_->create(sample(code)).is_ok()) << code;
  }
  auto listed = plans_->list(true);
  ASSERT_TRUE(listed.is_ok());
  std::vector<std::string> codes;
  for (const auto& plan : *listed) codes.push_back(plan.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"A-X", "AB", "A_X", "a"}));
}

TEST_P(PlansTest, ConcurrentUpdatesNeverShareAVersion) {
  ASSERT_TRUE(plans_->create(sample()).is_ok());
  constexpr int kWriters = 4;
  constexpr int kEach = 5;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        NewPlan plan = sample();
        plan.price_minor = 1'000 + w * 100 + i;
        auto updated = plans_->update("CN-10GB-30D", plan);
        if (updated.is_ok()) {
          ++succeeded;
        } else {
          EXPECT_EQ(updated.status().code(), ErrorCode::kConflict)
              << updated.status().to_string();
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  auto current = plans_->current("CN-10GB-30D");
  ASSERT_TRUE(current.is_ok());
  EXPECT_EQ(current->version, 1 + succeeded.load());
  EXPECT_GE(succeeded.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, PlansTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::catalogue
