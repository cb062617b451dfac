#include "devices/catalogue.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "devices/identifiers.h"
#include "storage/migrated_store_test.h"
#include "storage/scratch_database.h"

namespace station::devices {
namespace {

using storage::testing::Engine;

constexpr std::string_view kEid = "89049032123451234512345678901235";

// An IMEI with the given TAC: TAC + 6-digit serial + the Luhn check digit.
std::string imei_of(std::string_view tac, int serial = 123456) {
  std::string body = fmt::format("{}{:06d}", tac, serial);
  for (char check = '0'; check <= '9'; ++check) {
    if (check_imei(body + check).is_ok()) return body + check;
  }
  ADD_FAILURE() << "no check digit for " << body;
  return body;
}

std::vector<std::size_t> problem_lines(const ImportOutcome& outcome) {
  std::vector<std::size_t> lines;
  for (const auto& p : outcome.problems) lines.push_back(p.line);
  return lines;
}

TEST(ModelKeyTest, LowersAsciiAndCollapsesSpaces) {
  EXPECT_EQ(model_key("  iPhone   15 Pro "), "iphone 15 pro");
  EXPECT_EQ(model_key("Galaxy\tS24+"), "galaxy s24+");
  EXPECT_EQ(model_key("华为 Mate 40 Pro"), "华为 mate 40 pro");
  EXPECT_EQ(model_key("   "), "");
}

TEST(EmbeddedCatalogueTest, HasAHeaderAndTheMainBrands) {
  std::string_view csv = embedded_catalogue();
  ASSERT_TRUE(csv.starts_with("brand,model,kind,esim_capable,tacs\n"));
  for (auto brand : {"Apple", "Samsung", "Google", "Huawei", "Xiaomi", "OPPO", "vivo", "Honor",
                     "Motorola", "Sony", "Lenovo", "Microsoft"}) {
    EXPECT_NE(csv.find(fmt::format("\n{},", brand)), std::string_view::npos) << brand;
  }
}

class CatalogueTest : public storage::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    catalogue_ = std::make_unique<DeviceCatalogue>(database());
  }

  ImportOutcome import(std::string_view csv) {
    auto outcome = catalogue_->import_csv(csv);
    EXPECT_TRUE(outcome.is_ok()) << outcome.status().to_string();
    return outcome.is_ok() ? *outcome : ImportOutcome{};
  }

  DeviceCheck check(Result<DeviceCheck> result) {
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? *result : DeviceCheck{};
  }

  std::unique_ptr<DeviceCatalogue> catalogue_;
};

constexpr std::string_view kCsv =
    "brand,model,kind,esim_capable,tacs\n"
    "Acme,Phone 1,phone,true,11111111;11111112\n"
    "Acme,\"Phone 1, Lite\",phone,false, 22222222 \n"
    "Acme,Watch X,watch,yes,\n"
    "Other,Phone 1,phone,true,\n";

TEST_P(CatalogueTest, SeedsTheEmbeddedCatalogueOnceAndItAnswers) {
  ASSERT_TRUE(catalogue_->seed_if_empty().is_ok());
  auto seeded = catalogue_->count();
  ASSERT_TRUE(seeded.is_ok());
  EXPECT_GT(*seeded, 100);
  ASSERT_TRUE(catalogue_->seed_if_empty().is_ok());
  EXPECT_EQ(*catalogue_->count(), *seeded);

  DeviceCheck iphone = check(catalogue_->check_model("IPHONE 15 pro"));
  EXPECT_EQ(iphone.esim_capable, true);
  ASSERT_TRUE(iphone.device.has_value());
  EXPECT_EQ(iphone.device->brand, "Apple");
  EXPECT_EQ(iphone.device->model, "iPhone 15 Pro");
  EXPECT_EQ(iphone.device->kind, DeviceKind::kPhone);
  EXPECT_EQ(check(catalogue_->check_model("apple iphone 8")).esim_capable, false);
  EXPECT_EQ(check(catalogue_->check_model("Google Pixel 8")).esim_capable, true);

  // A shipped TAC (Wikipedia's "Type Allocation Code" table): the iPhone 3GS, which has no eSIM.
  DeviceCheck old = check(catalogue_->check_imei(imei_of("01194800")));
  EXPECT_EQ(old.esim_capable, false);
  ASSERT_TRUE(old.device.has_value());
  EXPECT_EQ(old.device->model, "iPhone 3GS");
}

TEST_P(CatalogueTest, ImportsAndMatchesModelsCaseInsensitively) {
  ImportOutcome outcome = import(kCsv);
  ASSERT_TRUE(outcome.problems.empty()) << outcome.problems.front().reason;
  EXPECT_EQ(outcome.imported, 4u);
  EXPECT_EQ(outcome.created, 4u);

  DeviceCheck lite = check(catalogue_->check_model("  acme   PHONE 1, lite"));
  EXPECT_EQ(lite.esim_capable, false);
  ASSERT_TRUE(lite.device);
  EXPECT_EQ(lite.device->model, "Phone 1, Lite");
  EXPECT_NE(lite.reason.find("no eSIM"), std::string::npos) << lite.reason;

  DeviceCheck watch = check(catalogue_->check_model("watch x"));
  EXPECT_EQ(watch.esim_capable, true);
  EXPECT_EQ(watch.device->kind, DeviceKind::kWatch);

  // Two brands with the same name that agree: an answer without a device.
  DeviceCheck both = check(catalogue_->check_model("phone 1"));
  EXPECT_EQ(both.esim_capable, true);
  EXPECT_FALSE(both.device);
  EXPECT_EQ(check(catalogue_->check_model("other phone 1")).device->brand, "Other");

  DeviceCheck unknown = check(catalogue_->check_model("Nokia 3310"));
  EXPECT_FALSE(unknown.esim_capable.has_value());
  EXPECT_FALSE(unknown.device);
  EXPECT_NE(unknown.reason.find("*#06#"), std::string::npos) << unknown.reason;

  EXPECT_EQ(catalogue_->check_model("   ").status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(catalogue_->check_model(std::string(kModelQueryBytesMax + 1, 'a')).status().code(),
            ErrorCode::kValidationFailed);
  EXPECT_EQ(catalogue_->check_model("bad\x01").status().code(), ErrorCode::kValidationFailed);
}

TEST_P(CatalogueTest, ChecksImeisByTacAndNeverSaysAFalseNo) {
  ASSERT_TRUE(import(kCsv).problems.empty());
  DeviceCheck known = check(catalogue_->check_imei(imei_of("11111112")));
  EXPECT_EQ(known.esim_capable, true);
  ASSERT_TRUE(known.device);
  EXPECT_EQ(known.device->model, "Phone 1");
  EXPECT_NE(known.reason.find("11111112"), std::string::npos);

  DeviceCheck no = check(catalogue_->check_imei(imei_of("22222222")));
  EXPECT_EQ(no.esim_capable, false);  // the catalogue says so for that model

  DeviceCheck unknown = check(catalogue_->check_imei(imei_of("35000000")));
  EXPECT_FALSE(unknown.esim_capable.has_value());
  EXPECT_FALSE(unknown.device);
  EXPECT_NE(unknown.reason.find("*#06#"), std::string::npos);

  std::string bad = imei_of("11111111");
  bad.back() = bad.back() == '9' ? '0' : static_cast<char>(bad.back() + 1);
  EXPECT_EQ(catalogue_->check_imei(bad).status().code(), ErrorCode::kInvalidImei);
  EXPECT_EQ(catalogue_->check_imei("123").status().code(), ErrorCode::kInvalidImei);
}

TEST_P(CatalogueTest, AValidEidProvesAnEuicc) {
  DeviceCheck eid = check(catalogue_->check_eid(kEid));
  EXPECT_EQ(eid.esim_capable, true);
  EXPECT_FALSE(eid.device);
  EXPECT_FALSE(eid.reason.empty());
  std::string bad(kEid);
  bad.back() = '6';
  EXPECT_EQ(catalogue_->check_eid(bad).status().code(), ErrorCode::kInvalidEid);
}

TEST_P(CatalogueTest, UpsertsByBrandAndModel) {
  ASSERT_TRUE(import(kCsv).problems.empty());
  // The same model in other case, now without eSIM and with another TAC; a TAC moves models.
  ImportOutcome again = import(
      "brand,model,kind,esim_capable,tacs\n"
      "ACME,PHONE 1,phone,false,33333333\n"
      "Acme,Phone 2,phone,true,11111111\n");
  ASSERT_TRUE(again.problems.empty()) << again.problems.front().reason;
  EXPECT_EQ(again.created, 1u);
  EXPECT_EQ(again.updated, 1u);
  EXPECT_EQ(*catalogue_->count(), 5);

  DeviceCheck phone1 = check(catalogue_->check_model("acme phone 1"));
  EXPECT_EQ(phone1.esim_capable, false);
  EXPECT_EQ(phone1.device->model, "PHONE 1");  // as last imported
  EXPECT_FALSE(check(catalogue_->check_imei(imei_of("11111112"))).esim_capable.has_value());
  EXPECT_EQ(check(catalogue_->check_imei(imei_of("33333333"))).device->model, "PHONE 1");
  EXPECT_EQ(check(catalogue_->check_imei(imei_of("11111111"))).device->model, "Phone 2");

  // Without a tacs column, the known TACs stay.
  ASSERT_TRUE(import("brand,model,kind,esim_capable\nAcme,Phone 2,phone,true\n").problems.empty());
  EXPECT_EQ(check(catalogue_->check_imei(imei_of("11111111"))).device->model, "Phone 2");
}

TEST_P(CatalogueTest, RefusesABadFileWholeWithItsLineNumbers) {
  ImportOutcome outcome = import(
      "brand,model,kind,esim_capable,tacs\n"
      "Acme,Good,phone,true,44444444\n"     // 2: good
      "Acme,Bad kind,fridge,true,\n"        // 3
      "Acme,Bad flag,phone,maybe,\n"        // 4
      "Acme,Bad tac,phone,true,1234567\n"   // 5
      "Acme,Dup tac,phone,true,44444444\n"  // 6
      ",No brand,phone,true,\n"             // 7
      "acme,GOOD,phone,true,\n"             // 8: the model of line 2 again
      "Acme,Short,phone\n"                  // 9
      "Acme,Fine,laptop,false,\n");         // 10: good
  EXPECT_EQ(outcome.imported, 0u);
  EXPECT_EQ(problem_lines(outcome), (std::vector<std::size_t>{3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(*catalogue_->count(), 0);

  auto header = import("brand,model,colour\nAcme,X,red\n");
  EXPECT_FALSE(header.problems.empty());
  EXPECT_EQ(header.problems.front().line, 1u);
  EXPECT_EQ(import("").problems.size(), 1u);
  EXPECT_EQ(import("brand,model,kind,esim_capable\n").problems.size(), 1u);
  EXPECT_EQ(import("brand,model,kind,esim_capable\n\"unclosed,x,phone,true\n").problems.size(), 1u);
  EXPECT_EQ(*catalogue_->count(), 0);

  std::string huge(kImportBytesMax + 1, 'a');
  EXPECT_EQ(catalogue_->import_csv(huge).status().code(), ErrorCode::kPayloadTooLarge);
}

INSTANTIATE_TEST_SUITE_P(Engines, CatalogueTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::devices
