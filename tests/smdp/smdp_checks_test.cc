// What the SM-DP+ checks in what the eUICC sends, on both engines, over HTTPS: a tampered
// euiccSignature1 or euiccSignature2, an expired EUM or eUICC certificate, and an EID outside its
// EUM's range are refused with their SGP.22 subject and reason codes, and leave the profile
// downloadable. And how a session
// ends when the card refuses or the LPA gives up: the SM-DP+ frees the order either way.
//
// The LPA's steps are driven one by one (the real virtual eUICC over APDUs, the real ES9+ client)
// so that the test can alter the card's answer on its way to the SM-DP+.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "der/rsp.h"
#include "lpa/es9_client.h"
#include "smdp_fixture.h"

namespace station::smdp::test {
namespace {

namespace rsp = der::rsp;
using inventory::ProfileState;

// An LPA session cut into its ES10b / ES9+ steps.
class SteppedSession {
 public:
  SteppedSession(Device& device, const http::Client& client, std::string address,
                 std::string matching_id)
      : channel_(lpa::Es10Channel::open(device.transport).value()),
        es9_(client, address),
        matching_id_(std::move(matching_id)) {}

  // GetEUICCInfo1, GetEUICCChallenge, initiateAuthentication, AuthenticateServer: the card's
  // AuthenticateServerResponse.
  Bytes authenticate_on_card() {
    Bytes info1 = channel_.call(Bytes{0xBF, 0x20, 0x00}).value();
    auto challenge =
        rsp::decode_get_euicc_challenge_response(
            channel_.call(rsp::encode(rsp::GetEuiccChallengeRequest{}).value()).value())
            .value();
    initiated_ = es9_.initiate_authentication(challenge.euicc_challenge, info1).value();
    rsp::AuthenticateServerRequest request;
    request.server_signed1_der = initiated_.server_signed1;
    request.server_signed1 = rsp::decode_server_signed1(initiated_.server_signed1).value();
    request.server_signature1 = contents(initiated_.server_signature1);
    request.euicc_ci_pkid_to_be_used = contents(initiated_.euicc_ci_pkid_to_be_used);
    request.server_certificate = initiated_.server_certificate;
    request.ctx_params1.matching_id = matching_id_;
    request.ctx_params1.device_info.tac = {0x35, 0x29, 0x06, 0x11, 0, 0, 0, 0};
    return channel_.call(rsp::encode(request).value()).value();
  }

  Result<lpa::AuthenticateClientResult> authenticate_client(const Bytes& response) {
    return es9_.authenticate_client(initiated_.transaction_id, response);
  }

  // PrepareDownload on the card with the SM-DP+'s answer: its PrepareDownloadResponse.
  Bytes prepare_on_card(const lpa::AuthenticateClientResult& client) {
    rsp::PrepareDownloadRequest request;
    request.smdp_signed2 = rsp::decode_smdp_signed2(client.smdp_signed2).value();
    request.smdp_signed2_der = client.smdp_signed2;
    request.smdp_signature2 = contents(client.smdp_signature2);
    request.smdp_certificate = client.smdp_certificate;
    return channel_.call(rsp::encode(request).value()).value();
  }

  Result<Bytes> get_bound_profile_package(const Bytes& response) {
    return es9_.get_bound_profile_package(initiated_.transaction_id, response);
  }

  const lpa::Es9Status& last_status() const { return es9_.last_status(); }

 private:
  static Bytes contents(const Bytes& tlv) {
    auto element =
        der::parse(tlv, der::Limits{.max_bytes = 4096, .max_elements = 4, .max_depth = 2});
    return Bytes(element->value().begin(), element->value().end());
  }

  lpa::Es10Channel channel_;
  lpa::Es9Client es9_;
  std::string matching_id_;
  lpa::InitiateAuthenticationResult initiated_;
};

std::string matching_id_of(const std::string& activation_code) {
  return activation_code.substr(activation_code.rfind('$') + 1);
}

void expect_status(const lpa::Es9Status& status, std::string_view subject,
                   std::string_view reason) {
  EXPECT_EQ(status.status, "Failed");
  EXPECT_EQ(status.subject_code, subject) << status.message;
  EXPECT_EQ(status.reason_code, reason) << status.message;
}

TEST_P(SmdpTest, ATamperedEuiccSignature1IsRefusedWith8_1And6_1) {
  std::string code = order_profile();
  auto device = new_device();
  SteppedSession session(*device, *client_, address_, matching_id_of(code));
  auto response = rsp::decode_authenticate_server_response(session.authenticate_on_card()).value();
  auto& ok = std::get<rsp::AuthenticateResponseOk>(response);
  ok.euicc_signature1.back() ^= 0x01;  // euiccSigned1 itself stays as the card signed it

  auto refused = session.authenticate_client(rsp::encode(response).value());
  ASSERT_FALSE(refused.is_ok());
  expect_status(session.last_status(), "8.1", "6.1");
  EXPECT_EQ(metric("station_smdp_sessions_failed_total{reason=\"invalid_signature\"}"), 1);
  // Nothing changed: the profile still downloads with its Matching ID.
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kReleased);
  EXPECT_TRUE(new_device()->download(code, std::nullopt, *client_).is_ok());
}

TEST_P(SmdpTest, ATamperedEuiccSignature2IsRefusedWith8_1And6_1) {
  std::string code = order_profile();
  auto device = new_device();
  SteppedSession session(*device, *client_, address_, matching_id_of(code));
  auto client = session.authenticate_client(session.authenticate_on_card());
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  auto response = rsp::decode_prepare_download_response(session.prepare_on_card(*client)).value();
  auto& ok = std::get<rsp::PrepareDownloadResponseOk>(response);
  ok.euicc_signature2.front() ^= 0x80;

  auto refused = session.get_bound_profile_package(rsp::encode(response).value());
  ASSERT_FALSE(refused.is_ok());
  expect_status(session.last_status(), "8.1", "6.1");
  EXPECT_EQ(metric("station_smdp_sessions_completed_total"), 0);
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kReleased);
  EXPECT_TRUE(new_device()->download(code, std::nullopt, *client_).is_ok());
}

// AuthenticateClient keeps the verified eUICC key in the session, not the card's certificates,
// and the later calls verify with the key; a session begun by a build that kept only the
// certificate (no key columns) still completes, from the certificate.
TEST_P(SmdpTest, TheSessionKeepsTheEuiccKeyAndASessionWithOnlyTheCertificateStillCompletes) {
  std::string code = order_profile();
  auto device = new_device();
  SteppedSession session(*device, *client_, address_, matching_id_of(code));
  auto client = session.authenticate_client(session.authenticate_on_card());
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  auto connection = database_->acquire().value();
  auto kept = connection->query(
      "SELECT euicc_public_key, euicc_key_curve, euicc_certificate, eum_certificate "
      "FROM smdp_sessions WHERE state = 'authenticated'");
  ASSERT_TRUE(kept.is_ok() && kept->size() == 1);
  EXPECT_EQ(kept->at(0).text_at(0).size(), 2u * 65u);  // the uncompressed point, hex
  EXPECT_EQ(kept->at(0).text_at(1), "prime256v1");
  EXPECT_TRUE(kept->at(0).is_null(2));
  EXPECT_TRUE(kept->at(0).is_null(3));
  // What an older build left: the certificate, no key.
  const std::vector<storage::Value> old_row = {
      rsp_crypto::to_hex(pki_.euicc.certificate.der().value())};
  ASSERT_TRUE(connection
                  ->execute("UPDATE smdp_sessions SET euicc_public_key = NULL, "
                            "euicc_key_curve = NULL, euicc_certificate = ?",
                            old_row)
                  .is_ok());

  auto package = session.get_bound_profile_package(session.prepare_on_card(*client));
  ASSERT_TRUE(package.is_ok()) << package.status().to_string();
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kDownloaded);
}

// What a reissued card certificate differs in.
struct CardChange {
  std::string name;                // of the PKI directory
  bool eum_expired = false;        // a new EUM certificate (same key) that ended yesterday
  bool euicc_expired = false;      // the eUICC certificate ended yesterday
  std::optional<std::string> eid;  // another EID in the eUICC certificate
};

// The test PKI of `pki_dir` with its card's certificates reissued (same keys, same CI) as
// `change` says, written as a PKI directory for a new device.
std::string pki_with(const std::string& pki_dir, const CardChange& change,
                     const std::filesystem::path& dir) {
  constexpr std::int64_t kDay = 24 * 3600;
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  rsp_crypto::TestPki pki = rsp_crypto::load_test_pki(pki_dir).value();
  if (change.eum_expired) {
    rsp_crypto::CertificateProfile eum{rsp_crypto::CertRole::kEum,
                                       {{"C", "XX"}, {"O", "Station Test EUM"}, {"CN", "Old EUM"}},
                                       {},
                                       "2.999.5",
                                       now - 400 * kDay,
                                       now - kDay};
    pki.eum.certificate =
        rsp_crypto::issue_certificate(eum, pki.eum.key, &pki.ci.certificate, pki.ci.key).value();
  }
  if (change.eid) pki.eid = *change.eid;
  rsp_crypto::CertificateProfile euicc{rsp_crypto::CertRole::kEuicc,
                                       {{"C", "XX"},
                                        {"O", "Station Test EUM"},
                                        {"serialNumber", pki.eid},
                                        {"CN", "Station Test eUICC"}},
                                       {},
                                       "",
                                       now - 400 * kDay,
                                       std::nullopt};
  if (change.euicc_expired) euicc.not_after = now - kDay;
  pki.euicc.certificate =
      rsp_crypto::issue_certificate(euicc, pki.euicc.key, &pki.eum.certificate, pki.eum.key)
          .value();
  const std::string out = (dir / change.name).string();
  EXPECT_TRUE(rsp_crypto::write_test_pki(pki, out, false).is_ok());
  return out;
}

TEST_P(SmdpTest, AnExpiredEumOrEuiccCertificateIsRefusedWithReason6_3) {
  for (auto [change, subject] :
       {std::pair{CardChange{.name = "eum-expired", .eum_expired = true}, "8.1.2"},
        std::pair{CardChange{.name = "euicc-expired", .euicc_expired = true}, "8.1.3"}}) {
    SCOPED_TRACE(change.name);
    std::string code = order_profile();
    auto outcome =
        new_device(pki_with(pki_dir_, change, dir_))->download(code, std::nullopt, *client_);
    ASSERT_FALSE(outcome.is_ok());
    EXPECT_NE(outcome.status().message().find(fmt::format("subject {}, reason 6.3", subject)),
              std::string::npos)
        << outcome.status().to_string();
    EXPECT_EQ(profile_state(last_iccid_), ProfileState::kReleased);
  }
  EXPECT_EQ(metric("station_smdp_sessions_failed_total{reason=\"expired_certificate\"}"), 2);
}

TEST_P(SmdpTest, AnEuiccCertificateWithAnEidOutsideItsEumsRangeIsRefused) {
  // The EUM of the test PKI certifies EIDs 89049032...; this one is another issuer's.
  std::string outside = eid_with_check_digits("890440321234512345123456789012");
  std::string code = order_profile();
  auto outcome =
      new_device(pki_with(pki_dir_, CardChange{.name = "other-eid", .eid = outside}, dir_))
          ->download(code, std::nullopt, *client_);
  ASSERT_FALSE(outcome.is_ok());
  EXPECT_NE(outcome.status().message().find("subject 8.1.3, reason 6.1"), std::string::npos)
      << outcome.status().to_string();
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kReleased);
  // Within the range, a reissued certificate is accepted.
  std::string inside = eid_with_check_digits("890490329999912345123456789012");
  auto accepted =
      new_device(pki_with(pki_dir_, CardChange{.name = "same-range", .eid = inside}, dir_))
          ->download(code, std::nullopt, *client_);
  EXPECT_TRUE(accepted.is_ok()) << accepted.status().to_string();
}

// The states of the SM-DP+'s sessions, oldest first.
std::vector<std::string> session_states(storage::Database& database) {
  auto connection = database.acquire().value();
  auto rows =
      connection->query("SELECT state FROM smdp_sessions ORDER BY created_at_ms, transaction_id")
          .value();
  std::vector<std::string> states;
  for (const auto& row : rows) {
    states.push_back(row.text_at(0));
  }
  return states;
}

TEST_P(SmdpTest, AnLpaThatGivesUpCancelsTheSessionOnTheCardAndTheSmdp) {
  std::string code = order_profile(std::nullopt, std::string("12345678"));
  auto device = new_device();
  // No confirmation code: the LPA stops after authenticateClient and cancels.
  auto stopped = device->download(code, std::nullopt, *client_);
  ASSERT_FALSE(stopped.is_ok());
  EXPECT_EQ(stopped.status().code(), ErrorCode::kValidationFailed) << stopped.status().to_string();
  EXPECT_EQ(session_states(*database_), std::vector<std::string>{"cancelled"});
  // The order is free again at once (not held by a live session, no wrong code counted) and the
  // card has no session left: the same device downloads with the code.
  auto outcome = device->download(code, std::string("12345678"), *client_);
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  EXPECT_EQ(profile_state(last_iccid_), ProfileState::kInstalled);
}

TEST_P(SmdpTest, TheCardsRefusalReachesTheSmdpWhichEndsItsSession) {
  std::string code = order_profile();
  // A card whose clock is eleven years ahead finds the DPauth certificate expired.
  ManualClock late_clock(clock_->now_unix_ms() + std::int64_t{11} * 365 * 24 * 3600 * 1000);
  Device device((dir_ / "late-euicc.json").string(), pki_dir_, late_clock);
  auto refused = device.download(code, std::nullopt, *client_);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("invalidCertificate"), std::string::npos)
      << refused.status().to_string();
  EXPECT_EQ(session_states(*database_), std::vector<std::string>{"failed"});
  EXPECT_EQ(metric("station_smdp_sessions_failed_total{reason=\"euicc_refused\"}"), 1);
  EXPECT_TRUE(new_device()->download(code, std::nullopt, *client_).is_ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, SmdpTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::smdp::test
