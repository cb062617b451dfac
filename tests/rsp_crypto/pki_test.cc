#include "rsp_crypto/pki.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace station::rsp_crypto {
namespace {

namespace fs = std::filesystem;

// 2025-01-01T00:00:00Z: inside the validity of the SGP.26 DPauth/DPpb certificates (2020-2030),
// so that the test does not start failing when they expire.
constexpr std::int64_t kSgp26Time = 1735689600;

const fs::path kCerts = fs::path(STATION_SHARED_RSP_DIR) / "certs";

Certificate load(const fs::path& path) {
  auto cert = load_certificate_file(path);
  EXPECT_TRUE(cert.is_ok()) << path << ": " << cert.status().to_string();
  return cert.is_ok() ? *cert : Certificate();
}

class Sgp26Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kCerts / "CertificateIssuer")) {
      GTEST_SKIP() << "SGP.26 test certificates not found under " << kCerts;
    }
  }
};

TEST_F(Sgp26Test, DpAuthAndDpPbChainToTheirCi) {
  for (std::string suffix : {"NIST", "BRP"}) {
    SCOPED_TRACE(suffix);
    const Certificate ci =
        load(kCerts / "CertificateIssuer" / ("CERT_CI_ECDSA_" + suffix + ".der"));
    const Certificate other_ci =
        load(kCerts / "CertificateIssuer" /
             (suffix == "NIST" ? "CERT_CI_ECDSA_BRP.der" : "CERT_CI_ECDSA_NIST.der"));
    const Certificate auth =
        load(kCerts / "DPauth" / ("CERT_S_SM_DPauth_ECDSA_" + suffix + ".der"));
    const Certificate pb = load(kCerts / "DPpb" / ("CERT_S_SM_DPpb_ECDSA_" + suffix + ".der"));
    EXPECT_TRUE(ci.has_role(CertRole::kCi));
    const Certificate trusted[] = {ci};
    Status status = verify_chain(auth, {}, trusted, CertRole::kDpAuth, kSgp26Time);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    status = verify_chain(pb, {}, trusted, CertRole::kDpPb, kSgp26Time);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    // The wrong role, the other CI, and a time outside the validity are refused.
    EXPECT_EQ(verify_chain(auth, {}, trusted, CertRole::kDpPb, kSgp26Time).code(),
              ErrorCode::kUnauthenticated);
    const Certificate others[] = {other_ci};
    EXPECT_EQ(verify_chain(auth, {}, others, CertRole::kDpAuth, kSgp26Time).code(),
              ErrorCode::kUnauthenticated);
    EXPECT_EQ(
        verify_chain(auth, {}, trusted, CertRole::kDpAuth, 1577836800 /* 2020-01-01 */).code(),
        ErrorCode::kUnauthenticated);
    // SGP.22 names the CI by its subjectKeyIdentifier; the SM-DP+ certificates point at it.
    if (suffix == "NIST") {  // openssl x509 -text of CERT_CI_ECDSA_NIST.der
      EXPECT_EQ(to_hex(ci.subject_key_identifier()), "f54172bdf98a95d65cbeb88a38a1c11d800a85c3");
    }
    EXPECT_EQ(ci.subject_key_identifier().size(), 20u);
    EXPECT_EQ(auth.authority_key_identifier(), ci.subject_key_identifier());
    EXPECT_TRUE(ci.authority_key_identifier().empty());
    auto key = auth.public_key();
    ASSERT_TRUE(key.is_ok());
    EXPECT_EQ(key->curve(), suffix == "NIST" ? Curve::kNistP256 : Curve::kBrainpoolP256r1);
  }
}

// The SGP.26 TLS certificates are short-lived (2025-06-30 to 2026-08-02): validity is checked.
TEST_F(Sgp26Test, DpTlsChainsToItsCiWithinItsValidity) {
  for (std::string suffix : {"NIST", "BRP"}) {
    SCOPED_TRACE(suffix);
    const Certificate ci =
        load(kCerts / "CertificateIssuer" / ("CERT_CI_ECDSA_" + suffix + ".der"));
    const Certificate tls = load(kCerts / "DPtls" / ("CERT_S_SM_DP_TLS_" + suffix + ".der"));
    const Certificate trusted[] = {ci};
    Status status = verify_chain(tls, {}, trusted, CertRole::kDpTls, 1767225600 /* 2026-01-01 */);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    status = verify_chain(tls, {}, trusted, CertRole::kDpTls, 1788220800 /* 2026-09-01 */);
    EXPECT_EQ(status.code(), ErrorCode::kUnauthenticated);
    EXPECT_NE(status.message().find("expired"), std::string::npos) << status.message();
  }
}

TEST_F(Sgp26Test, DpAuthKeySignsWhatItsCertificateVerifies) {
  for (std::string suffix : {"NIST", "BRP"}) {
    SCOPED_TRACE(suffix);
    auto secret =
        load_private_key_file(kCerts / "DPauth" / ("SK_S_SM_DPauth_ECDSA_" + suffix + ".pem"));
    ASSERT_TRUE(secret.is_ok()) << secret.status().to_string();
    const Certificate cert =
        load(kCerts / "DPauth" / ("CERT_S_SM_DPauth_ECDSA_" + suffix + ".der"));
    auto certified = cert.public_key();
    ASSERT_TRUE(certified.is_ok());
    const ByteView data = as_bytes("serverSigned1: transactionId, euiccChallenge, serverAddress");
    auto signature = sign(*secret, data);
    ASSERT_TRUE(signature.is_ok());
    EXPECT_TRUE(verify(*certified, data, *signature).is_ok());
    Bytes tampered(data.begin(), data.end());
    tampered[0] ^= 0x20;
    EXPECT_EQ(verify(*certified, tampered, *signature).code(), ErrorCode::kUnauthenticated);
    // The DPpb certificate's key is another key.
    const Certificate pb = load(kCerts / "DPpb" / ("CERT_S_SM_DPpb_ECDSA_" + suffix + ".der"));
    EXPECT_FALSE(verify(*pb.public_key(), data, *signature).is_ok());
  }
}

TEST(PkiTest, CertificateParsingIsBounded) {
  EXPECT_FALSE(Certificate::from_der(Bytes{0x30, 0x03, 0x02, 0x01, 0x01}).is_ok());
  EXPECT_EQ(Certificate::from_der(Bytes(kMaxCertificateBytes + 1, 0x30)).status().code(),
            ErrorCode::kPayloadTooLarge);
  EXPECT_FALSE(Certificate::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n").is_ok());
  EXPECT_EQ(load_certificate_file("/nonexistent/cert.der").status().code(), ErrorCode::kNotFound);
}

class TestPkiTest : public ::testing::TestWithParam<Curve> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rsp_pki_test_" + std::to_string(::getpid()) + "_" +
                                        std::string(curve_name(GetParam())));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(TestPkiTest, InitWritesChainsThatVerify) {
  TestPkiOptions options;
  options.curve = GetParam();
  options.smdp_host = "smdp.station.test";
  auto created = create_test_pki(options);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  Status written = write_test_pki(*created, dir_.string(), false);
  ASSERT_TRUE(written.is_ok()) << written.to_string();

  for (std::string_view name : kPkiEntityNames) {
    struct stat info {};
    const fs::path key = dir_ / (std::string(name) + ".key.pem");
    ASSERT_EQ(::stat(key.c_str(), &info), 0) << key;
    EXPECT_EQ(info.st_mode & 0777, 0600u) << key;
    EXPECT_TRUE(fs::exists(dir_ / (std::string(name) + ".der")));
    EXPECT_TRUE(fs::exists(dir_ / (std::string(name) + ".pem")));
  }
  // Writing again is refused without overwrite, allowed with it.
  EXPECT_EQ(write_test_pki(*created, dir_.string(), false).code(), ErrorCode::kConflict);
  EXPECT_TRUE(write_test_pki(*created, dir_.string(), true).is_ok());

  auto pki = load_test_pki(dir_.string());
  ASSERT_TRUE(pki.is_ok()) << pki.status().to_string();
  EXPECT_EQ(pki->curve, GetParam());
  EXPECT_EQ(pki->eid, kDefaultTestEid);
  EXPECT_EQ(pki->euicc.certificate.subject_serial_number(), kDefaultTestEid);

  const Certificate trusted[] = {pki->ci.certificate};
  const Certificate eum[] = {pki->eum.certificate};
  EXPECT_TRUE(verify_chain(pki->ci.certificate, {}, trusted, CertRole::kCi).is_ok());
  Status status = verify_chain(pki->eum.certificate, {}, trusted, CertRole::kEum);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  status = verify_chain(pki->euicc.certificate, eum, trusted, CertRole::kEuicc);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  status = verify_chain(pki->dp_auth.certificate, {}, trusted, CertRole::kDpAuth);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  status = verify_chain(pki->dp_pb.certificate, {}, trusted, CertRole::kDpPb);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  status = verify_chain(pki->dp_tls.certificate, {}, trusted, CertRole::kDpTls);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  // The eUICC certificate never expires; the others have finite lifetimes.
  EXPECT_TRUE(verify_chain(pki->euicc.certificate, eum, trusted, CertRole::kEuicc,
                           std::int64_t{4102444800})        // 2100-01-01, past the CI's end
                  .code() == ErrorCode::kUnauthenticated);  // because the CI has expired then

  auto eid = verify_euicc_certificates(pki->euicc.certificate, pki->eum.certificate, trusted);
  ASSERT_TRUE(eid.is_ok()) << eid.status().to_string();
  EXPECT_EQ(*eid, kDefaultTestEid);
  EXPECT_EQ(pki->euicc.certificate.authority_key_identifier(),
            pki->eum.certificate.subject_key_identifier());
  // An SM-DP+ certificate in the EUM's place is refused (no EUM policy, and no CA).
  EXPECT_EQ(verify_euicc_certificates(pki->euicc.certificate, pki->dp_auth.certificate, trusted)
                .status()
                .code(),
            ErrorCode::kUnauthenticated);

  // Without the EUM the eUICC does not chain; an SM-DP+ certificate is no CA.
  EXPECT_EQ(verify_chain(pki->euicc.certificate, {}, trusted).code(), ErrorCode::kUnauthenticated);
  const Certificate dp_as_ca[] = {pki->dp_auth.certificate};
  EXPECT_EQ(verify_chain(pki->euicc.certificate, dp_as_ca, trusted).code(),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(verify_chain(pki->dp_auth.certificate, {}, trusted, CertRole::kDpPb).code(),
            ErrorCode::kUnauthenticated);
  // A PKI made by another run is another CI.
  auto stranger = create_test_pki(options);
  ASSERT_TRUE(stranger.is_ok());
  const Certificate stranger_ci[] = {stranger->ci.certificate};
  EXPECT_EQ(verify_chain(pki->dp_auth.certificate, {}, stranger_ci).code(),
            ErrorCode::kUnauthenticated);

  // The eUICC's key signs what its certificate verifies.
  const ByteView data = as_bytes("euiccSigned1");
  auto signature = sign(pki->euicc.key, data);
  ASSERT_TRUE(signature.is_ok());
  EXPECT_TRUE(verify(*pki->euicc.certificate.public_key(), data, *signature).is_ok());
}

INSTANTIATE_TEST_SUITE_P(Curves, TestPkiTest,
                         ::testing::Values(Curve::kNistP256, Curve::kBrainpoolP256r1),
                         [](const auto& param_info) {
                           return param_info.param == Curve::kNistP256 ? std::string("Nist")
                                                                       : std::string("Brainpool");
                         });

TEST(PkiTest, TestPkiRefusesBadOptions) {
  TestPkiOptions options;
  options.eid = "89049032123451234512345678901234";  // check digits wrong
  EXPECT_EQ(create_test_pki(options).status().code(), ErrorCode::kInvalidEid);
  options.eid = std::string(kDefaultTestEid);
  options.smdp_host = "not a host";
  EXPECT_EQ(create_test_pki(options).status().code(), ErrorCode::kValidationFailed);
  options.smdp_host = "";
  EXPECT_FALSE(create_test_pki(options).is_ok());
}

// An eUICC certificate for `eid` under the test PKI's EUM (its key reused).
Certificate euicc_certificate_for(const TestPki& pki, const std::string& eid) {
  CertificateProfile profile{CertRole::kEuicc,
                             {{"O", "Station Test EUM"}, {"serialNumber", eid}, {"CN", "eUICC"}},
                             {},
                             "",
                             static_cast<std::int64_t>(std::time(nullptr)) - 3600,
                             std::nullopt};
  return issue_certificate(profile, pki.euicc.key, &pki.eum.certificate, pki.eum.key).value();
}

TEST(PkiTest, TheEumCertifiesOnlyTheEidsOfItsNameConstraints) {
  auto pki = create_test_pki({}).value();
  // The EUM carries a critical nameConstraints extension: a permitted directoryName subtree.
  int critical = 0;
  auto* constraints = static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(pki.eum.certificate.get(), NID_name_constraints, &critical, nullptr));
  ASSERT_NE(constraints, nullptr);
  EXPECT_EQ(critical, 1);
  ASSERT_EQ(sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees), 1);
  EXPECT_EQ(sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, 0)->base->type, GEN_DIRNAME);
  NAME_CONSTRAINTS_free(constraints);

  const Certificate trusted[] = {pki.ci.certificate};
  const Certificate eum[] = {pki.eum.certificate};
  // The same first 8 digits (89049032): inside; another issuer's prefix: outside.
  const std::string inside = "89049032999991234512345678901231";
  const std::string outside = "89044032123451234512345678901233";
  auto accepted =
      verify_euicc_certificates(euicc_certificate_for(pki, inside), pki.eum.certificate, trusted);
  ASSERT_TRUE(accepted.is_ok()) << accepted.status().to_string();
  EXPECT_EQ(*accepted, inside);
  EuiccCertificatesVerdict refused =
      check_euicc_certificates(euicc_certificate_for(pki, outside), pki.eum.certificate, trusted);
  EXPECT_EQ(refused.status.code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(refused.status.message().find("outside the range"), std::string::npos)
      << refused.status.to_string();
  EXPECT_EQ(refused.faulty, EuiccChainPart::kEuicc);
  EXPECT_FALSE(refused.expired);
  // verify_chain applies the same rule.
  EXPECT_EQ(verify_chain(euicc_certificate_for(pki, outside), eum, trusted).code(),
            ErrorCode::kUnauthenticated);
}

TEST(PkiTest, AnExpiredEumIsNamedAsTheExpiredCertificate) {
  auto pki = create_test_pki({}).value();
  const Certificate trusted[] = {pki.ci.certificate};
  const std::int64_t after_the_eum = static_cast<std::int64_t>(std::time(nullptr)) +
                                     std::int64_t{31} * 365 * 24 * 3600;  // the CI still lives
  EuiccCertificatesVerdict verdict =
      check_euicc_certificates(pki.euicc.certificate, pki.eum.certificate, trusted, after_the_eum);
  EXPECT_EQ(verdict.status.code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(verdict.faulty, EuiccChainPart::kEum);
  EXPECT_TRUE(verdict.expired);
  // Before its start, too.
  verdict = check_euicc_certificates(pki.euicc.certificate, pki.eum.certificate, trusted,
                                     std::int64_t{946684800} /* 2000-01-01 */);
  EXPECT_TRUE(verdict.expired);
}

}  // namespace
}  // namespace station::rsp_crypto
