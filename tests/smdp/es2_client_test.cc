// Station's orders through a remote SM-DP+ on both engines: the ES2+ client (HTTPS, verified
// TLS, bearer token) drives a second Station SM-DP+ — the fixture's, serving ES2+ on a loopback
// port — through DownloadOrder, ConfirmOrder, ReleaseProfile and CancelOrder, and a device then
// downloads (or is refused) the profile from it.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "auth/api_keys.h"
#include "smdp/es2_client.h"
#include "smdp_fixture.h"

namespace station::smdp::test {
namespace {

using inventory::ProfileState;

class Es2ClientTest : public SmdpTest {
 protected:
  void SetUp() override {
    SmdpTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto connection = database_->acquire().value();
    auto key = auth::create_api_key(*connection, *ids_, *clock_, {auth::Scope::kAdmin}, "bss");
    ASSERT_TRUE(key.is_ok()) << key.status().to_string();
    config_.base_url = "https://" + address_;
    config_.ca_file = pki_dir_ + "/ci.pem";
    config_.bearer_token = key->plaintext;
    ASSERT_TRUE(check_config(config_).is_ok()) << check_config(config_).to_string();
  }

  RemoteSmdpConfig config_;
};

TEST_P(Es2ClientTest, StationsOrderIsConfirmedOnTheRemoteSmdpAndDownloadsFromIt) {
  auto port = make_remote_es2_port(config_);
  const std::string iccid = test_iccid(1);
  Status confirmed = port->confirm(Id{5}, iccid, "REMOTE-ORDER-1", std::nullopt, std::nullopt);
  ASSERT_TRUE(confirmed.is_ok()) << confirmed.to_string();
  EXPECT_EQ(profile_state(iccid), ProfileState::kReleased);
  auto outcome = new_device()->download(fmt::format("LPA:1${}$REMOTE-ORDER-1", address_),
                                        std::nullopt, *client_);
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  EXPECT_EQ(outcome->iccid, iccid);
  // The order is done: cancelling it now is refused as SGP.22 says (conflict).
  EXPECT_EQ(port->cancel(iccid, "REMOTE-ORDER-1", "too late").code(), ErrorCode::kConflict);
}

TEST_P(Es2ClientTest, ACancelledOrderGoesBackToAvailableAndIsRefusedToDevices) {
  auto port = make_remote_es2_port(config_);
  const std::string iccid = test_iccid(2);
  ASSERT_TRUE(port->confirm(Id{6}, iccid, "REMOTE-ORDER-2", pki_.eid, std::nullopt).is_ok());
  Status cancelled = port->cancel(iccid, "REMOTE-ORDER-2", "customer cancelled");
  ASSERT_TRUE(cancelled.is_ok()) << cancelled.to_string();
  EXPECT_EQ(profile_state(iccid), ProfileState::kAvailable);
  auto refused = new_device()->download(fmt::format("LPA:1${}$REMOTE-ORDER-2", address_),
                                        std::nullopt, *client_);
  EXPECT_FALSE(refused.is_ok());
}

TEST_P(Es2ClientTest, AnOrderConfirmedUnreleasedIsReleasedLater) {
  Es2Client client(config_);
  auto taken = client.download_order(std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(taken.is_ok()) << taken.status().to_string();
  auto confirmation = client.confirm_order(*taken, std::nullopt, std::nullopt,
                                           auth::sha256_hex("1234"), /*release=*/false);
  ASSERT_TRUE(confirmation.is_ok()) << confirmation.status().to_string();
  EXPECT_EQ(confirmation->smdp_address, address_);
  EXPECT_FALSE(confirmation->matching_id.empty());
  EXPECT_EQ(profile_state(*taken), ProfileState::kConfirmed);
  ASSERT_TRUE(client.release_profile(*taken).is_ok());
  EXPECT_EQ(profile_state(*taken), ProfileState::kReleased);
}

TEST_P(Es2ClientTest, RefusalsCredentialsAndTlsAreReportedAsTheirCauses) {
  Es2Client client(config_);
  const std::string unknown = test_iccid(99);  // well formed, not in the SM-DP+'s inventory
  EXPECT_EQ(client.download_order(unknown, std::nullopt, std::nullopt).status().code(),
            ErrorCode::kNotFound);
  RemoteSmdpConfig wrong_key = config_;
  wrong_key.bearer_token = "st_live_not-a-key";
  EXPECT_EQ(Es2Client(wrong_key).release_profile(test_iccid(1)).code(),
            ErrorCode::kUnauthenticated);
  // A CA that does not vouch for the SM-DP+'s certificate: nothing is sent.
  auto other = rsp_crypto::create_test_pki({}).value();
  const std::string other_dir = (dir_ / "other-pki").string();
  ASSERT_TRUE(rsp_crypto::write_test_pki(other, other_dir, false).is_ok());
  RemoteSmdpConfig untrusted = config_;
  untrusted.ca_file = other_dir + "/ci.pem";
  EXPECT_EQ(
      Es2Client(untrusted).download_order(std::nullopt, std::nullopt, std::nullopt).status().code(),
      ErrorCode::kUnauthenticated);
  EXPECT_EQ(profile_state(test_iccid(1)), ProfileState::kAvailable);
}

TEST(RemoteSmdpConfigTest, RefusesWhatCannotWork) {
  RemoteSmdpConfig config{.base_url = "https://smdp.example:8443", .ca_file = "ca.pem"};
  EXPECT_TRUE(check_config(config).is_ok());
  config.base_url = "http://smdp.example:8443";
  EXPECT_FALSE(check_config(config).is_ok());
  config.base_url = "https://smdp.example:8443/gsma";
  EXPECT_FALSE(check_config(config).is_ok());
  config.base_url = "https://smdp.example:8443";
  config.ca_file = "";
  EXPECT_FALSE(check_config(config).is_ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, Es2ClientTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::smdp::test
