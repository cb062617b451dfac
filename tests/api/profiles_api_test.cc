// GET /v1/admin/profiles/stats over HTTP on both storages: counts by state, scopes, and that no
// route ever returns a profile's secrets.
#include <string>

#include <fmt/format.h>

#include "api/api_fixture.h"
#include "inventory/inventory.h"

namespace station::testing {
namespace {

constexpr std::string_view kKi = "465B5CE8B199B49FAA5F0A2EE238A6BC";
constexpr std::string_view kOpc = "CD63CB71954A9F4E48A5994E37A02BAF";
// Valid Luhn check digits.
constexpr std::string_view kIccids[] = {"8988247000000000019", "89860012345678901238",
                                        "898600123456789016"};

class ProfilesApiTest : public ApiTest {
 protected:
  // Imports kIccids beside the running app (import is a CLI path, not an HTTP one).
  void import_profiles() {
    auto keyring = secrets::parse_key_list(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    ASSERT_TRUE(keyring.is_ok());
    inventory::Inventory inventory(app_->database(), *keyring, clock_);
    std::string csv = "iccid,imsi,ki,opc\n";
    for (auto iccid : kIccids) csv += fmt::format("{},460001000000001,{},{}\n", iccid, kKi, kOpc);
    auto outcome = inventory.import_csv(csv);
    ASSERT_TRUE(outcome.is_ok());
    ASSERT_EQ(outcome->imported, std::size(kIccids));
  }
};

TEST_P(ProfilesApiTest, CountsEveryStateIncludingZeros) {
  auto empty = get("/v1/admin/profiles/stats");
  ASSERT_EQ(empty.status, 200) << empty.body;
  const char* states[] = {"available", "allocated", "linked",    "confirmed",  "released",
                          "downloaded", "installed", "error",    "unavailable"};
  EXPECT_EQ(empty.json().size(), std::size(states));
  for (const char* state : states) EXPECT_EQ(empty.json()[state], 0) << state;

  import_profiles();
  ASSERT_TRUE(app_->inventory().allocate_one(std::nullopt, "test order").is_ok());
  auto stats = get("/v1/admin/profiles/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(stats.json()["available"], 2);
  EXPECT_EQ(stats.json()["allocated"], 1);
  EXPECT_EQ(stats.body.find(kKi), std::string::npos);
}

TEST_P(ProfilesApiTest, IsForAdminAndSupportOnly) {
  EXPECT_EQ(get("/v1/admin/profiles/stats", app_->create_api_key_for_tests({auth::Scope::kSupport}))
                .status,
            200);
  for (auto scope : {auth::Scope::kApp, auth::Scope::kFinance, auth::Scope::kPartner}) {
    expect_problem(get("/v1/admin/profiles/stats", app_->create_api_key_for_tests({scope})), 403,
                   "forbidden");
  }
  expect_problem(http_request(app_->port(), "GET", "/v1/admin/profiles/stats"), 401,
                 "unauthenticated");
}

INSTANTIATE_TEST_SUITE_P(Engines, ProfilesApiTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::testing
