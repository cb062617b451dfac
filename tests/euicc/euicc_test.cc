// The virtual eUICC's ES10 functions, driven through APDUs by the LPA's channel, with the test
// playing the SM-DP+ from rsp_crypto and the test PKI: a whole download, and what the card must
// refuse — an SM-DP+ from an untrusted CI, a tampered signature, a tampered BPP segment.
#include "euicc/euicc.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "der/rsp.h"
#include "euicc/card.h"
#include "euicc/profile_package.h"
#include "inventory/inventory.h"
#include "lpa/card_channel.h"
#include "lpa/lpa.h"
#include "rsp_crypto/pki.h"
#include "rsp_crypto/rsp_crypto.h"
#include "upp/upp.h"

namespace station::euicc {
namespace {

namespace rsp = der::rsp;
using der::Tag;
using rsp_crypto::TestPki;

constexpr std::string_view kIccid = "8988247000001234567";
constexpr std::string_view kImsi = "460011234567890";
constexpr std::string_view kKi = "465B5CE8B199B49FAA5F0A2EE238A6BC";
constexpr std::string_view kOpc = "CD63CB71954A9F4E48A5994E37A02BAF";
constexpr std::string_view kSmdpAddress = "localhost";
const Bytes kTransactionId = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

template <typename T>
T ok(Result<T> result) {
  EXPECT_TRUE(result.is_ok()) << result.status().to_string();
  return std::move(*result);
}

Bytes tlv(const Tag& tag, der::ByteView contents) {
  der::Builder builder;
  builder.primitive(tag, contents);
  return ok(std::move(builder).finish());
}

Bytes concat(der::ByteView a, der::ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

TestPki make_pki(const std::string& eid = std::string(rsp_crypto::kDefaultTestEid)) {
  rsp_crypto::TestPkiOptions options;
  options.eid = eid;
  return ok(rsp_crypto::create_test_pki(options));
}

// The SM-DP+ side of one download, as SGP.22 has it compute each message.
class TestSmdp {
 public:
  explicit TestSmdp(const TestPki& pki) : pki_(pki) {}

  Bytes authenticate_server_request(const Bytes& euicc_challenge) {
    rsp::AuthenticateServerRequest request;
    request.server_signed1 = {.transaction_id = kTransactionId,
                              .euicc_challenge = euicc_challenge,
                              .server_address = std::string(kSmdpAddress),
                              .server_challenge = Bytes(16, 0x5A)};
    request.server_signed1_der = ok(rsp::encode(request.server_signed1));
    request.server_signature1 = ok(rsp_crypto::sign(pki_.dp_auth.key, request.server_signed1_der));
    if (tamper_server_signature) request.server_signature1[10] ^= 0x01;
    request.euicc_ci_pkid_to_be_used = pki_.ci.certificate.subject_key_identifier();
    request.server_certificate = ok(pki_.dp_auth.certificate.der());
    request.ctx_params1.matching_id = "ABCDE-FGHIJ";
    request.ctx_params1.device_info.tac = {0x35, 0x29, 0x06, 0x11, 0, 0, 0, 0};
    return ok(rsp::encode(request));
  }

  // Checks the card's euiccSignature1 and answers PrepareDownload's request.
  Bytes prepare_download_request(const Bytes& authenticate_answer) {
    auto answer = ok(rsp::decode_authenticate_server_response(authenticate_answer));
    auto* signed_ok = std::get_if<rsp::AuthenticateResponseOk>(&answer);
    EXPECT_NE(signed_ok, nullptr);
    if (signed_ok == nullptr) return {};
    auto euicc_certificate = ok(rsp_crypto::Certificate::from_der(signed_ok->euicc_certificate));
    auto eum_certificate = ok(rsp_crypto::Certificate::from_der(signed_ok->eum_certificate));
    std::vector<rsp_crypto::Certificate> cis = {pki_.ci.certificate};
    EXPECT_EQ(ok(rsp_crypto::verify_euicc_certificates(euicc_certificate, eum_certificate, cis)),
              pki_.eid);
    euicc_key_ = ok(euicc_certificate.public_key());
    EXPECT_TRUE(
        rsp_crypto::verify(euicc_key_, signed_ok->euicc_signed1_der, signed_ok->euicc_signature1)
            .is_ok());
    rsp::PrepareDownloadRequest request;
    request.smdp_signed2 = {.transaction_id = kTransactionId, .cc_required = false};
    request.smdp_signed2_der = ok(rsp::encode(request.smdp_signed2));
    request.smdp_signature2 = ok(rsp_crypto::sign(
        pki_.dp_pb.key,
        concat(request.smdp_signed2_der, tlv(Tag::application(55), signed_ok->euicc_signature1))));
    smdp_signature2_ = request.smdp_signature2;
    request.smdp_certificate = ok(pki_.dp_pb.certificate.der());
    return ok(rsp::encode(request));
  }

  // Checks euiccSignature2 and binds the profile to the card's one-time key.
  Bytes bound_profile_package(const Bytes& prepare_answer) {
    auto answer = ok(rsp::decode_prepare_download_response(prepare_answer));
    auto* prepared = std::get_if<rsp::PrepareDownloadResponseOk>(&answer);
    EXPECT_NE(prepared, nullptr);
    if (prepared == nullptr) return {};
    EXPECT_TRUE(rsp_crypto::verify(euicc_key_,
                                   concat(prepared->euicc_signed2_der,
                                          tlv(Tag::application(55), smdp_signature2_)),
                                   prepared->euicc_signature2)
                    .is_ok());
    const Bytes euicc_otpk = prepared->euicc_signed2.euicc_otpk;
    auto one_time = ok(rsp_crypto::generate_key(rsp_crypto::Curve::kNistP256));
    rsp::InitialiseSecureChannelRequest iscr;
    iscr.transaction_id = kTransactionId;
    iscr.control_ref_template.host_id = Bytes{'S', 'T', 'A', 'T', 'I', 'O', 'N'};
    iscr.smdp_otpk = ok(rsp_crypto::public_point(one_time));
    iscr.smdp_sign = Bytes(64, 0);
    // What smdpSign covers: the request's parts before it, then the card's otPK (5F49 TLV).
    const Bytes signed_part =
        ok(rsp::decode_initialise_secure_channel_request(ok(rsp::encode(iscr)))).signed_part;
    iscr.smdp_sign = ok(rsp_crypto::sign(
        pki_.dp_pb.key, concat(signed_part, tlv(Tag::application(73), euicc_otpk))));
    if (tamper_smdp_sign) iscr.smdp_sign[0] ^= 0x80;

    auto peer = ok(rsp_crypto::public_key_from_point(rsp_crypto::Curve::kNistP256, euicc_otpk));
    auto shared = ok(rsp_crypto::shared_secret(one_time, peer));
    auto keys = ok(rsp_crypto::derive_session_keys(shared.view(), iscr.control_ref_template.host_id,
                                                   ok(rsp_crypto::eid_bytes(pki_.eid))));
    rsp_crypto::Scp03tState scp(keys);

    rsp::BoundProfilePackage package;
    package.initialise_secure_channel_request = ok(rsp::encode(iscr));
    package.first_sequence_of87.push_back(
        ok(rsp_crypto::protect_segment(scp, 0x87, ok(rsp::encode(rsp::ConfigureIsdpRequest{})))));
    rsp::StoreMetadataRequest metadata;
    metadata.iccid = ok(upp::encode_iccid(iccid));
    metadata.service_provider_name = "Station";
    metadata.profile_name = "Test profile";
    package.sequence_of88.push_back(
        ok(rsp_crypto::mac_segment(scp, 0x88, ok(rsp::encode(metadata)))));
    inventory::ProfileSecrets secrets{
        secrets::SecretString(std::string(kKi)), secrets::SecretString(std::string(kOpc)), {}};
    auto upp = ok(upp::ProfileTemplate::built_in().build(upp::UppInput{.iccid = upp_iccid.empty() ? iccid : upp_iccid,
                                               .imsi = std::string(kImsi),
                                               .secrets = secrets,
                                               .profile_type = "Station test"}));
    const auto plain = rsp_crypto::as_bytes(upp.view());
    for (std::size_t at = 0; at < plain.size(); at += segment_plaintext) {
      const std::size_t size = std::min(segment_plaintext, plain.size() - at);
      package.sequence_of86.push_back(
          ok(rsp_crypto::protect_segment(scp, 0x86, plain.subspan(at, size))));
    }
    if (tamper_profile_segment) package.sequence_of86.back()[6] ^= 0x01;
    return ok(rsp::encode(package));
  }

  std::string iccid = std::string(kIccid);
  std::string upp_iccid;  // when set, the profile package's ICCID differs from the metadata's
  std::size_t segment_plaintext = 100;  // small, so the profile spans several '86' segments
  bool tamper_server_signature = false;
  bool tamper_smdp_sign = false;
  bool tamper_profile_segment = false;

 private:
  const TestPki& pki_;
  rsp_crypto::EcKey euicc_key_;
  Bytes smdp_signature2_;
};

class EuiccTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("euicc_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(rsp_crypto::write_test_pki(pki_, (dir_ / "pki").string(), false).is_ok());
    state_path_ = (dir_ / "euicc.json").string();
    open_card();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void open_card() {
    channel_.reset();
    transport_.reset();
    card_.reset();
    euicc_.reset();
    state_.reset();
    auto state = std::filesystem::exists(state_path_)
                     ? StateFile::open(state_path_)
                     : StateFile::create(state_path_, (dir_ / "pki").string());
    ASSERT_TRUE(state.is_ok()) << state.status().to_string();
    state_ = std::make_unique<StateFile>(std::move(*state));
    euicc_ = std::make_unique<Euicc>(*state_, clock_);
    card_ = std::make_unique<VirtualCard>(*euicc_);
    transport_ = std::make_unique<lpa::VirtualCardTransport>(*card_);
    channel_.emplace(ok(lpa::Es10Channel::open(*transport_)));
  }

  Bytes call(const Bytes& request) { return ok(channel_->call(request)); }
  Bytes call_empty(const Tag& tag) {
    Bytes request;
    der::append_tag(request, tag);
    der::append_length(request, 0);
    return call(request);
  }
  Bytes challenge() {
    auto answer = call_empty(Tag::context(46, true));
    auto element = ok(der::parse(answer, der::Limits{}));
    der::Cursor cursor(element);
    auto value = ok(cursor.required(Tag::context(0), "euiccChallenge"));
    return Bytes(value.value().begin(), value.value().end());
  }
  // Runs a download up to the card's ProfileInstallationResult.
  rsp::ProfileInstallationResult download(TestSmdp& smdp) {
    const Bytes authenticated = call(smdp.authenticate_server_request(challenge()));
    const Bytes prepared = call(smdp.prepare_download_request(authenticated));
    const auto pieces = ok(lpa::bound_profile_package_pieces(smdp.bound_profile_package(prepared)));
    Bytes result;
    for (const auto& piece : pieces) {
      result = call(piece);
      if (!result.empty()) break;
    }
    return ok(rsp::decode_profile_installation_result(result));
  }

  TestPki pki_ = make_pki();
  ManualClock clock_{std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()};
  std::filesystem::path dir_;
  std::string state_path_;
  std::unique_ptr<StateFile> state_;
  std::unique_ptr<Euicc> euicc_;
  std::unique_ptr<VirtualCard> card_;
  std::unique_ptr<lpa::VirtualCardTransport> transport_;
  std::optional<lpa::Es10Channel> channel_;
};

TEST_F(EuiccTest, DownloadsVerifiesAndInstallsAProfile) {
  TestSmdp smdp(pki_);
  const auto result = download(smdp);
  auto key = ok(rsp_crypto::Certificate::from_der(state_->state().euicc_certificate)).public_key();
  EXPECT_TRUE(rsp_crypto::verify(*key, result.data_der, result.euicc_sign_pir).is_ok());
  ASSERT_TRUE(std::holds_alternative<rsp::ProfileInstallationSuccess>(result.data.final_result));
  EXPECT_EQ(result.data.transaction_id, kTransactionId);
  EXPECT_EQ(result.data.notification_metadata.notification_address, kSmdpAddress);

  // The profile is installed, disabled, with its secrets sealed; the state survives a restart.
  open_card();
  ASSERT_EQ(state_->state().profiles.size(), 1u);
  const auto& profile = state_->state().profiles[0];
  EXPECT_EQ(profile.iccid, kIccid);
  EXPECT_EQ(profile.imsi, kImsi);
  EXPECT_FALSE(profile.enabled);
  auto ki = ok(state_->keyring().open(profile.sealed_ki, "profile:" + profile.iccid + ":ki"));
  EXPECT_EQ(rsp_crypto::to_hex(rsp_crypto::as_bytes(ki.view())),
            "465b5ce8b199b49faa5f0a2ee238a6bc");
  std::ifstream file(state_path_);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("465B5CE8"), std::string::npos);
  EXPECT_EQ(text.find("BEGIN PRIVATE KEY"), std::string::npos);
  struct stat info {};
  ASSERT_EQ(::stat(state_path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(state_->state().notifications.size(), 1u);

  // The same ICCID again is refused by the card.
  auto again = download(smdp);
  auto* error = std::get_if<rsp::ProfileInstallationError>(&again.data.final_result);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->error_reason, 9);  // installFailedDueToIccidAlreadyExistsOnEuicc
}

TEST_F(EuiccTest, ATamperedProfileSegmentIsRefusedAndNothingIsInstalled) {
  TestSmdp smdp(pki_);
  smdp.tamper_profile_segment = true;
  const auto result = download(smdp);
  auto* error = std::get_if<rsp::ProfileInstallationError>(&result.data.final_result);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->bpp_command_id, 5);  // loadProfileElements
  EXPECT_EQ(error->error_reason, 8);    // scp03tSecurityError
  EXPECT_TRUE(state_->state().profiles.empty());
}

TEST_F(EuiccTest, ATamperedInitialiseSecureChannelSignatureIsRefused) {
  TestSmdp smdp(pki_);
  smdp.tamper_smdp_sign = true;
  const auto result = download(smdp);
  auto* error = std::get_if<rsp::ProfileInstallationError>(&result.data.final_result);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->bpp_command_id, 0);  // initialiseSecureChannel
  EXPECT_EQ(error->error_reason, 2);    // invalidSignature
}

TEST_F(EuiccTest, AProfileWhoseIccidIsNotTheMetadatasIsRefused) {
  TestSmdp smdp(pki_);
  smdp.upp_iccid = "8988247000009999999";
  const auto result = download(smdp);
  auto* error = std::get_if<rsp::ProfileInstallationError>(&result.data.final_result);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->error_reason, 13);  // installFailedDueToIccidMismatch
}

TEST_F(EuiccTest, ATamperedServerSignatureIsRefused) {
  TestSmdp smdp(pki_);
  smdp.tamper_server_signature = true;
  auto answer = ok(rsp::decode_authenticate_server_response(
      call(smdp.authenticate_server_request(challenge()))));
  auto* error = std::get_if<rsp::AuthenticateResponseError>(&answer);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, 2);  // invalidSignature
}

TEST_F(EuiccTest, AnSmdpChainedToAnotherCiIsRefused) {
  const TestPki other = make_pki();  // same profiles, another CI key
  TestSmdp smdp(other);
  auto answer = ok(rsp::decode_authenticate_server_response(
      call(smdp.authenticate_server_request(challenge()))));
  auto* error = std::get_if<rsp::AuthenticateResponseError>(&answer);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, 7);  // ciPKUnknown: the CI it names is not the card's
}

TEST_F(EuiccTest, AnSmdpCertificateFromAnotherCiNamingOursIsRefused) {
  const TestPki other = make_pki();
  TestPki mixed = make_pki();
  mixed.ci.certificate = pki_.ci.certificate;  // names our CI, but DPauth is signed by another
  mixed.dp_auth.certificate = other.dp_auth.certificate;
  mixed.dp_auth.key = ok(rsp_crypto::private_key_from_pem(
      ok(rsp_crypto::private_key_to_pem(other.dp_auth.key)).view()));
  TestSmdp smdp(mixed);
  auto answer = ok(rsp::decode_authenticate_server_response(
      call(smdp.authenticate_server_request(challenge()))));
  auto* error = std::get_if<rsp::AuthenticateResponseError>(&answer);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, 1);  // invalidCertificate
}

TEST_F(EuiccTest, AServerSignedForAnotherChallengeIsRefused) {
  TestSmdp smdp(pki_);
  challenge();
  auto answer = ok(rsp::decode_authenticate_server_response(
      call(smdp.authenticate_server_request(Bytes(16, 0x11)))));
  auto* error = std::get_if<rsp::AuthenticateResponseError>(&answer);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, 6);  // euiccChallengeMismatch
}

TEST_F(EuiccTest, ProfilesAreEnabledDisabledAndDeletedWithSignedNotifications) {
  TestSmdp smdp(pki_);
  download(smdp);
  smdp.iccid = "8988247000007654321";
  download(smdp);
  ASSERT_EQ(ok(lpa::list_profiles(*transport_)).size(), 2u);
  EXPECT_EQ(lpa::enable_profile(*transport_, kIccid).code(), ErrorCode::kOk);
  EXPECT_EQ(lpa::enable_profile(*transport_, kIccid).code(), ErrorCode::kConflict);
  EXPECT_EQ(lpa::enable_profile(*transport_, "8988247000007654321").code(), ErrorCode::kOk);
  auto profiles = ok(lpa::list_profiles(*transport_));
  EXPECT_EQ(profiles[0].state, "disabled");  // enabling the second disabled the first
  EXPECT_EQ(profiles[1].state, "enabled");
  EXPECT_EQ(profiles[1].service_provider_name, "Station");
  EXPECT_EQ(lpa::delete_profile(*transport_, "8988247000007654321").code(), ErrorCode::kConflict);
  EXPECT_EQ(lpa::disable_profile(*transport_, "8988247000007654321").code(), ErrorCode::kOk);
  EXPECT_EQ(lpa::delete_profile(*transport_, "8988247000007654321").code(), ErrorCode::kOk);
  EXPECT_EQ(lpa::delete_profile(*transport_, "8988247000007654321").code(), ErrorCode::kNotFound);
  EXPECT_EQ(ok(lpa::list_profiles(*transport_)).size(), 1u);

  // 2 installs, enable, disable (by the second enable), enable, disable, delete.
  const auto& notifications = state_->state().notifications;
  ASSERT_EQ(notifications.size(), 7u);
  EXPECT_EQ(notifications.back().event, NotificationEvent::kDelete);
  auto pending = ok(rsp::decode_pending_notification(notifications.back().encoded));
  auto* other = std::get_if<rsp::OtherSignedNotification>(&pending);
  ASSERT_NE(other, nullptr);
  auto key = ok(rsp_crypto::Certificate::from_der(other->euicc_certificate)).public_key();
  EXPECT_TRUE(rsp_crypto::verify(*key, other->tbs_other_notification_der,
                                 other->euicc_notification_signature)
                  .is_ok());
  EXPECT_EQ(other->tbs_other_notification.profile_management_operation, rsp::kNotificationDelete);

  // RemoveNotificationFromList, as the LPA does once the SM-DP+ has it.
  der::Builder remove;
  remove.begin(Tag::context(48, true))
      .integer(Tag::context(0), notifications.back().sequence_number)
      .end();
  const Bytes removed = call(ok(std::move(remove).finish()));
  EXPECT_EQ(removed, (Bytes{0xBF, 0x30, 0x03, 0x80, 0x01, 0x00}));
  EXPECT_EQ(state_->state().notifications.size(), 6u);
}

TEST_F(EuiccTest, GetEidAnswersTheEidOfThePki) {
  const Bytes request = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
  const Bytes answer = call(request);
  EXPECT_EQ(rsp_crypto::to_hex(answer), "bf3e125a10" + std::string(rsp_crypto::kDefaultTestEid));
}

TEST_F(EuiccTest, StepsOutOfOrderHaveNoSession) {
  TestSmdp smdp(pki_);
  // PrepareDownload before any authentication: noSessionContext.
  const Bytes authenticated = call(smdp.authenticate_server_request(challenge()));
  const Bytes prepare = smdp.prepare_download_request(authenticated);
  ok(channel_->call(prepare));
  auto again = ok(rsp::decode_prepare_download_response(call(prepare)));
  auto* error = std::get_if<rsp::PrepareDownloadResponseError>(&again);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, 4);
  // A malformed request is a status word, not an answer.
  EXPECT_FALSE(channel_->call(Bytes{0xBF, 0x21, 0x01}).is_ok());
}

TEST(ProfilePackageTest, ReadsWhatUppWrites) {
  inventory::ProfileSecrets secrets{
      secrets::SecretString(std::string(kKi)), secrets::SecretString(std::string(kOpc)), {}};
  for (std::string imsi : {"460011234567890", "46001123456789", "310150123456"}) {
    auto upp = ok(upp::ProfileTemplate::built_in().build(upp::UppInput{
        .iccid = "89860118000000000018", .imsi = imsi, .secrets = secrets, .profile_type = "t"}));
    auto contents = ok(read_profile_package(rsp_crypto::as_bytes(upp.view())));
    EXPECT_EQ(contents.iccid, "89860118000000000018");
    EXPECT_EQ(contents.imsi, imsi);
    EXPECT_EQ(rsp_crypto::to_hex(contents.opc.view()), "cd63cb71954a9f4e48a5994e37a02baf");
  }
  EXPECT_FALSE(read_profile_package(Bytes{0xA0, 0x00}).is_ok());
}

}  // namespace
}  // namespace station::euicc
