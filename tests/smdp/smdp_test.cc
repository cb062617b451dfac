// The SM-DP+ end to end in one process, on both engines: ES2+ orders a profile, the LPA
// downloads it into a virtual eUICC over HTTPS, and every refusal the issue lists is answered
// with its SGP.22 subject and reason codes and changes nothing it should not.
#include <gtest/gtest.h>

#include <array>

#include <fmt/format.h>

#include "der/rsp.h"
#include "smdp_fixture.h"

namespace station::smdp::test {
namespace {

using inventory::ProfileState;

// The LPA reports an SM-DP+ refusal as kConflict naming "subject S, reason R".
void expect_refused(const Result<lpa::DownloadOutcome>& outcome, std::string_view subject,
                    std::string_view reason) {
  ASSERT_FALSE(outcome.is_ok());
  EXPECT_EQ(outcome.status().code(), ErrorCode::kConflict) << outcome.status().to_string();
  EXPECT_NE(outcome.status().message().find(fmt::format("subject {}, reason {}", subject, reason)),
            std::string::npos)
      << outcome.status().to_string();
}

TEST_P(SmdpTest, DownloadsInstallsAndReportsEachStepOfTheOrder) {
  std::string code = order_profile(std::nullopt, std::nullopt, Id{42});
  auto device = new_device();
  auto outcome = device->download(code, std::nullopt, *client_);
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  EXPECT_TRUE(outcome->notification_delivered);
  EXPECT_EQ(outcome->iccid, last_iccid_);
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kInstalled);

  // The card holds the inventory's profile.
  const auto& installed = device->state.state().profiles;
  ASSERT_EQ(installed.size(), 1u);
  EXPECT_EQ(installed[0].iccid, last_iccid_);
  EXPECT_EQ(installed[0].imsi, test_imsi(1));

  // Enabling it on the device reaches the order through the enable notification.
  ASSERT_TRUE(lpa::enable_profile(device->transport, last_iccid_).is_ok());
  auto delivered = lpa::process_notifications(device->transport, *client_, [](std::string_view) {});
  ASSERT_TRUE(delivered.is_ok()) << delivered.status().to_string();
  {
    std::lock_guard lock(progress_mutex_);
    ASSERT_EQ(progress_.size(), 3u);
    EXPECT_EQ(progress_[0], std::pair(Id{42}, DownloadProgress::kDownloaded));
    EXPECT_EQ(progress_[1], std::pair(Id{42}, DownloadProgress::kInstalled));
    EXPECT_EQ(progress_[2], std::pair(Id{42}, DownloadProgress::kEnabled));
  }
  EXPECT_EQ(metric("station_smdp_sessions_started_total"), 1);
  EXPECT_EQ(metric("station_smdp_sessions_completed_total"), 1);
}

TEST_P(SmdpTest, AMatchingIdDownloadsOnce) {
  std::string code = order_profile();
  ASSERT_TRUE(new_device()->download(code, std::nullopt, *client_).is_ok());
  expect_refused(new_device()->download(code, std::nullopt, *client_), "8.2.6", "3.8");
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kInstalled);
  EXPECT_EQ(metric("station_smdp_sessions_failed_total{reason=\"matching_id_used\"}"), 1);
}

TEST_P(SmdpTest, UnknownMatchingIdIsRefused) {
  order_profile();
  expect_refused(
      new_device()->download(fmt::format("LPA:1${}$NOSUCH-MATCHING-ID", address_), std::nullopt,
                             *client_),
      "8.2.6", "3.8");
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kReleased);
}

TEST_P(SmdpTest, ConfirmationCodeIsCheckedWithAnAttemptLimit) {
  std::string code = order_profile(std::nullopt, std::string("12345678"));
  auto device = new_device();
  expect_refused(device->download(code, std::string("00000000"), *client_), "8.2.7", "3.8");
  expect_refused(device->download(code, std::string("00000001"), *client_), "8.2.7", "3.8");
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kReleased);
  expect_refused(device->download(code, std::string("00000002"), *client_), "8.2.7", "6.4");
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kError);
  // Locked: even the right code no longer downloads it.
  expect_refused(device->download(code, std::string("12345678"), *client_), "8.2.7", "6.4");
  EXPECT_TRUE(device->state.state().profiles.empty());
}

TEST_P(SmdpTest, RightConfirmationCodeDownloads) {
  std::string code = order_profile(std::nullopt, std::string("12345678"));
  auto outcome = new_device()->download(code + "$$1", std::string("12345678"), *client_);
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kInstalled);
}

TEST_P(SmdpTest, OrderBoundToAnotherEidIsRefused) {
  std::string other = eid_with_check_digits("890490321234512345123456789999");
  std::string code = order_profile(other);
  expect_refused(new_device()->download(code, std::nullopt, *client_), "8.1.1", "3.8");
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kReleased);
  // Bound to this device's EID, it downloads.
  std::string mine = order_profile(pki_.eid);
  EXPECT_TRUE(new_device()->download(mine, std::nullopt, *client_).is_ok());
}

TEST_P(SmdpTest, CancelledOrderIsRefused) {
  std::string code = order_profile();
  ASSERT_TRUE(smdp_->cancel_order(last_iccid_, std::nullopt, FinalProfileStatus::kAvailable,
                                  "test")
                  .is_ok());
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kAvailable);
  expect_refused(new_device()->download(code, std::nullopt, *client_), "8.2.6", "3.8");
}

TEST_P(SmdpTest, EuiccOfAnUntrustedCiIsRefused) {
  std::string code = order_profile();
  auto foreign = rsp_crypto::create_test_pki({}).value();
  std::string foreign_dir = (dir_ / "foreign-pki").string();
  ASSERT_TRUE(rsp_crypto::write_test_pki(foreign, foreign_dir, false).is_ok());
  // The foreign card trusts only its own CI, which this SM-DP+ does not know.
  expect_refused(new_device(foreign_dir)->download(code, std::nullopt, *client_), "8.8.2", "3.1");
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kReleased);
}

// Builds what an LPA sends to initiateAuthentication for the test PKI's card.
Bytes euicc_info1_of(const rsp_crypto::TestPki& pki) {
  der::rsp::EuiccInfo1 info;
  info.svn = {2, 2, 0};
  info.ci_pkids_for_verification = {pki.ci.certificate.subject_key_identifier()};
  info.ci_pkids_for_signing = info.ci_pkids_for_verification;
  return der::rsp::encode(info).value();
}

TEST_P(SmdpTest, SessionsAreFreshPerCallSurviveARestartAndExpire) {
  Bytes challenge(16, 0x11);
  auto first = smdp_->initiate_authentication(challenge, euicc_info1_of(pki_), address_);
  auto second = smdp_->initiate_authentication(challenge, euicc_info1_of(pki_), address_);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first.value().transaction_id, second.value().transaction_id);
  EXPECT_NE(first.value().server_signed1, second.value().server_signed1);  // fresh challenges
  // serverSignature1 verifies over serverSigned1 with the DPauth certificate it names.
  auto certificate = rsp_crypto::Certificate::from_der(first.value().server_certificate).value();
  const Bytes& tlv = first.value().server_signature1;
  ASSERT_EQ(tlv.size(), 3u + 64u);
  EXPECT_TRUE(rsp_crypto::verify(certificate.public_key().value(), first.value().server_signed1,
                                 der::ByteView(tlv).subspan(3))
                  .is_ok());

  // Another SM-DP+ instance on the same store (a restart) knows the session: a bad answer is
  // judged on its merits (malformed), not as an unknown session.
  Smdp restarted(SmdpDependencies{*database_, *inventory_, *ids_, *clock_, metrics_},
                 config_for_test());
  auto judged = restarted.authenticate_client(first.value().transaction_id, Bytes{0x30, 0x00});
  ASSERT_NE(judged.failure(), nullptr);
  EXPECT_EQ(judged.failure()->subject_code, "8.1");
  EXPECT_EQ(judged.failure()->reason_code, "2.1");

  // An expired session is unknown.
  clock_->advance_ms(std::int64_t{restarted.config().session_ttl_seconds} * 1000 + 1);
  auto expired = restarted.authenticate_client(second.value().transaction_id, Bytes{0x30, 0x00});
  ASSERT_NE(expired.failure(), nullptr);
  EXPECT_EQ(expired.failure()->subject_code, "8.10.1");
  EXPECT_EQ(expired.failure()->reason_code, "3.9");
}

TEST_P(SmdpTest, AbandonedSessionsAreDeletedOnceExpiredAndDownloadsKeepTheirs) {
  auto session_count = [this] {
    auto connection = database_->acquire().value();
    return connection->query("SELECT COUNT(*) FROM smdp_sessions").value()[0].int_at(0);
  };
  std::string code = order_profile();
  auto device = new_device();
  ASSERT_TRUE(device->download(code, std::nullopt, *client_).is_ok());
  expect_refused(new_device()->download(fmt::format("LPA:1${}$NO-SUCH-ID", address_), std::nullopt,
                                        *client_),
                 "8.2.6", "3.8");
  Bytes challenge(16, 0x33);
  for (int abandoned = 0; abandoned < 2; ++abandoned) {
    ASSERT_TRUE(smdp_->initiate_authentication(challenge, euicc_info1_of(pki_), address_).ok());
  }
  ASSERT_EQ(session_count(), 4);

  // Nothing has expired yet.
  EXPECT_EQ(smdp_->delete_abandoned_sessions(10).value(), 0u);
  // Once expired, the three sessions without an order go, in batches of the size asked.
  clock_->advance_ms(std::int64_t{smdp_->config().session_ttl_seconds} * 1000);
  EXPECT_EQ(smdp_->delete_abandoned_sessions(2).value(), 2u);
  EXPECT_EQ(smdp_->delete_abandoned_sessions(2).value(), 1u);
  EXPECT_EQ(smdp_->delete_abandoned_sessions(2).value(), 0u);
  EXPECT_EQ(session_count(), 1);
  EXPECT_EQ(metric("station_smdp_sessions_abandoned_deleted_total"), 3);

  // The download's session stays, and the profile's enable notification still finds it.
  ASSERT_TRUE(lpa::enable_profile(device->transport, last_iccid_).is_ok());
  ASSERT_TRUE(
      lpa::process_notifications(device->transport, *client_, [](std::string_view) {}).is_ok());
  EXPECT_EQ(metric("station_smdp_notifications_total{outcome=\"enabled\"}"), 1);
}

TEST_P(SmdpTest, WrongAddressAndUnknownCiAreRefusedAtInitiation) {
  Bytes challenge(16, 0x22);
  auto wrong = smdp_->initiate_authentication(challenge, euicc_info1_of(pki_), "elsewhere:1");
  ASSERT_NE(wrong.failure(), nullptr);
  EXPECT_EQ(wrong.failure()->subject_code, "8.8.1");
  auto foreign = rsp_crypto::create_test_pki({}).value();
  auto unknown = smdp_->initiate_authentication(challenge, euicc_info1_of(foreign), address_);
  ASSERT_NE(unknown.failure(), nullptr);
  EXPECT_EQ(unknown.failure()->subject_code, "8.8.2");
  EXPECT_EQ(unknown.failure()->reason_code, "3.1");
}

TEST_P(SmdpTest, ANotificationAddressIsCheckedLikeTheSmdpsOwn) {
  SmdpConfig config = config_for_test();
  config.notification_address = "bss.operator.example:8443";
  EXPECT_TRUE(check_config(config).is_ok()) << check_config(config).to_string();
  config.notification_address = "not an address/";
  EXPECT_EQ(check_config(config).code(), ErrorCode::kValidationFailed);
}

TEST_P(SmdpTest, RunsWithTheGsmaSgp26CertificatesAndItsSignaturesVerifyAgainstThatChain) {
  const std::string certs = std::string(STATION_RSP_SHARED_DIR) + "/certs/";
  CredentialFiles files{certs + "CertificateIssuer/CERT_CI_ECDSA_NIST.der",
                        certs + "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der",
                        certs + "DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem",
                        certs + "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der",
                        certs + "DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem"};
  auto credentials = load_credentials(files);
  ASSERT_TRUE(credentials.is_ok()) << credentials.status().to_string();
  rsp_crypto::Certificate ci = credentials->ci;
  SmdpConfig config;
  config.address = address_;
  config.credentials.push_back(std::move(*credentials));
  ASSERT_TRUE(check_config(config).is_ok()) << check_config(config).to_string();
  Smdp gsma(SmdpDependencies{*database_, *inventory_, *ids_, *clock_, metrics_},
            std::move(config));

  der::rsp::EuiccInfo1 info;
  info.svn = {2, 2, 0};
  info.ci_pkids_for_verification = {ci.subject_key_identifier()};
  info.ci_pkids_for_signing = info.ci_pkids_for_verification;
  auto started = gsma.initiate_authentication(Bytes(16, 0x33), der::rsp::encode(info).value(),
                                              address_);
  ASSERT_TRUE(started.ok());
  auto dp_auth = rsp_crypto::Certificate::from_der(started.value().server_certificate).value();
  std::array trusted{ci};
  EXPECT_TRUE(rsp_crypto::verify_chain(dp_auth, {}, trusted, rsp_crypto::CertRole::kDpAuth).is_ok());
  const Bytes& tlv = started.value().server_signature1;
  ASSERT_EQ(tlv.size(), 3u + 64u);
  EXPECT_TRUE(rsp_crypto::verify(dp_auth.public_key().value(), started.value().server_signed1,
                                 der::ByteView(tlv).subspan(3))
                  .is_ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, SmdpTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::smdp::test
