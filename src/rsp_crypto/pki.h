// rsp_crypto/pki: X.509 certificates of the RSP ecosystem (GSMA SGP.22 v2.x, the certificate
// profiles of its "Certificates" section; test certificates as in SGP.26).
//
// The chains SGP.22 defines, all ECDSA-SHA256 on the curve of the CI:
//
//   CI (self-signed root) -> EUM -> eUICC          (the eUICC's EID in its subject serialNumber)
//   CI -> SM-DP+ DPauth  (signs serverSigned1, ES9+ InitiateAuthentication)
//   CI -> SM-DP+ DPpb    (signs smdpSigned2 of AuthenticateClient and the Bound Profile
//                         Package's InitialiseSecureChannel)
//   CI -> SM-DP+ DPtls   (TLS server certificate of ES9+)
//
// Each role is marked by a critical certificatePolicies extension (SGP.22 id-rspRole,
// 2.23.146.1.2.1.x, the values the SGP.26 certificates carry): ci .0, euicc .1, eum .2,
// dp-tls .3, dp-auth .4, dp-pb .5 (the dp-tls policy is not critical, as in SGP.26). CI and EUM
// certificates are CAs (basicConstraints critical, keyUsage keyCertSign + cRLSign; the EUM with
// pathLenConstraint 0); the others have keyUsage digitalSignature only, DPtls also
// extendedKeyUsage serverAuth + clientAuth. The eUICC certificate never expires (notAfter
// 99991231235959Z, as SGP.22 specifies).
//
// `station pki init DIR` (src/cli/pki_command.cc) writes a private test PKI with these profiles;
// the files in DIR are listed above write_test_pki below. Private keys are written with mode 0600.
//
// The EUM's nameConstraints: SGP.22 restricts the EIDs an EUM may certify by a permitted
// directoryName subtree (the EUM's O, and an EID prefix as serialNumber). OpenSSL's directoryName
// matching cannot express a prefix of one attribute, so verify_chain checks a leaf against its
// issuer's directoryName subtrees itself, that way (an eUICC outside its EUM's range is refused;
// an EUM without the extension is unconstrained).
// Not done: CRLs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "rsp_crypto/rsp_crypto.h"

struct x509_st;  // X509

namespace station::rsp_crypto {

inline constexpr std::size_t kMaxCertificateBytes = 8 * 1024;  // DER; SGP.22 ones are < 1 KiB
inline constexpr std::size_t kMaxChainLength = 4;              // leaf + intermediates
// The SGP.26 test EID (32 digits, MOD 97-10 check digits valid).
inline constexpr std::string_view kDefaultTestEid = "89049032123451234512345678901235";

enum class CertRole : std::uint8_t { kCi, kEuicc, kEum, kDpTls, kDpAuth, kDpPb };
// The role's certificate policy OID, e.g. "2.23.146.1.2.1.4" for kDpAuth.
std::string_view role_policy_oid(CertRole role);
std::string_view role_name(CertRole role);

struct X509Free {
  void operator()(x509_st* cert) const;
};

// One X.509 certificate. Copies share the underlying (immutable) certificate.
class Certificate {
 public:
  Certificate() = default;
  explicit Certificate(x509_st* owned) : cert_(owned) {}
  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;
  ~Certificate() = default;

  // kValidationFailed unless `der` is exactly one DER certificate of at most 8 KiB.
  static Result<Certificate> from_der(ByteView der);
  // The first certificate of a PEM text.
  static Result<Certificate> from_pem(std::string_view pem);

  bool empty() const { return cert_ == nullptr; }
  x509_st* get() const { return cert_.get(); }
  Result<Bytes> der() const;
  Result<std::string> pem() const;
  // The subject as one line (RFC 2253), for messages.
  std::string subject() const;
  // The subject's serialNumber attribute (an eUICC certificate's EID), empty when absent.
  std::string subject_serial_number() const;
  // The certified public key (on P-256 or brainpoolP256r1, else kValidationFailed).
  Result<EcKey> public_key() const;
  // True when the certificatePolicies extension names the role's policy.
  bool has_role(CertRole role) const;
  // The subjectKeyIdentifier / authorityKeyIdentifier keyIdentifier (SGP.22 names a CI by its
  // SKI, e.g. in euiccCiPKIdListForVerification); empty when absent.
  Bytes subject_key_identifier() const;
  Bytes authority_key_identifier() const;

 private:
  std::unique_ptr<x509_st, X509Free> cert_;
};

// Reads a certificate file, DER or PEM (at most 64 KiB).
Result<Certificate> load_certificate_file(const std::string& path);
// Reads an unencrypted PEM private key file.
Result<EcKey> load_private_key_file(const std::string& path);

// Verifies `leaf` up to one of `trusted` (the CIs) through `intermediates` (e.g. the EUM):
// signatures, validity periods at `at_unix_seconds` (now when absent), CA constraints and key
// usages. When `role` is given the leaf must carry that role's policy. kUnauthenticated naming
// the reason when the chain does not verify.
Status verify_chain(const Certificate& leaf, std::span<const Certificate> intermediates,
                    std::span<const Certificate> trusted,
                    std::optional<CertRole> role = std::nullopt,
                    std::optional<std::int64_t> at_unix_seconds = std::nullopt);

// Which certificate of an eUICC's chain a refusal concerns (SGP.22 subject codes 8.1.2 EUM
// certificate, 8.1.3 eUICC certificate).
enum class EuiccChainPart : std::uint8_t { kEum, kEuicc };

// The verdict on an eUICC's certificates: the EID when `status` is ok; else which certificate is
// refused and whether only for its validity period (SGP.22 reason 6.3 "expired", else 6.1).
struct EuiccCertificatesVerdict {
  Status status;
  std::string eid;
  EuiccChainPart faulty = EuiccChainPart::kEuicc;
  bool expired = false;
};
EuiccCertificatesVerdict check_euicc_certificates(
    const Certificate& euicc, const Certificate& eum, std::span<const Certificate> trusted,
    std::optional<std::int64_t> at_unix_seconds = std::nullopt);

// The eUICC's certificates as SGP.22 requires them: `euicc` chains through `eum`
// to one of `trusted`, the eUICC certificate has the eUICC role and a 32-digit EID as its subject
// serialNumber within the EUM's nameConstraints, the EUM certificate has the EUM role. Returns
// the EID. kUnauthenticated otherwise.
Result<std::string> verify_euicc_certificates(
    const Certificate& euicc, const Certificate& eum, std::span<const Certificate> trusted,
    std::optional<std::int64_t> at_unix_seconds = std::nullopt);

// What a certificate says about its subject.
struct CertificateProfile {
  CertRole role = CertRole::kCi;
  std::vector<std::pair<std::string, std::string>> subject;  // e.g. {"O","ACME"},{"CN","..."}
  std::vector<std::string> dns_names;                        // subjectAltName DNS (DPtls)
  std::string registered_id;    // subjectAltName registeredID OID (CI, EUM, SM-DP+); may be empty
  std::int64_t not_before = 0;  // unix seconds
  std::optional<std::int64_t> not_after;  // unix seconds; absent: 99991231235959Z
  // EUM only: the EIDs it may certify (SGP.22 nameConstraints, a permitted directoryName of its
  // O and this serialNumber prefix); empty: unconstrained.
  std::string permitted_eid_prefix;
};

// The test PKI's EUM certifies the EIDs that share the first digits of its eUICC's EID (the
// country code, issuer and EUM identifier of the EID's structure: 8 digits, as in SGP.26).
inline constexpr std::size_t kEumEidPrefixDigits = 8;

// Issues a certificate for `subject_key` signed by `issuer_key` (ECDSA-SHA256) with the role's
// extensions. `issuer` is the issuer's certificate, or nullptr for a self-signed CI (then
// `issuer_key` must be the subject's own key). A fresh random 128-bit serial number.
Result<Certificate> issue_certificate(const CertificateProfile& profile, const EcKey& subject_key,
                                      const Certificate* issuer, const EcKey& issuer_key);

// ---- the test PKI ------------------------------------------------------------------------------
struct PkiEntity {
  Certificate certificate;
  EcKey key;
};

struct TestPki {
  Curve curve = Curve::kNistP256;
  std::string eid;
  PkiEntity ci, eum, euicc, dp_auth, dp_pb, dp_tls;
};

struct TestPkiOptions {
  Curve curve = Curve::kNistP256;
  std::string eid = std::string(kDefaultTestEid);  // 32 digits, valid check digits
  std::string smdp_host = "localhost";             // DPtls subject CN and subjectAltName DNS
  std::int64_t now = 0;                            // unix seconds; 0: the current time
};

// Creates the whole test PKI in memory. kInvalidEid for a malformed EID, kValidationFailed for
// an SM-DP+ host name that is empty, longer than 253 bytes or not a DNS name.
Result<TestPki> create_test_pki(const TestPkiOptions& options);

// The files of a test PKI directory: certificates as DER and PEM, keys as PKCS#8 PEM (0600).
//   ci.der ci.pem ci.key.pem     eum.der eum.pem eum.key.pem     euicc.der euicc.pem euicc.key.pem
//   dp_auth.der ... dp_pb.der ... dp_tls.der dp_tls.pem dp_tls.key.pem
//   eid.txt (the eUICC's EID and a newline)
inline constexpr std::string_view kPkiEntityNames[] = {"ci",      "eum",   "euicc",
                                                       "dp_auth", "dp_pb", "dp_tls"};

// Writes the PKI under `dir` (created, mode 0700, when missing). kConflict when a file exists and
// `overwrite` is false (nothing is written then); kStorageError when a write fails.
Status write_test_pki(const TestPki& pki, const std::string& dir, bool overwrite);
// Reads a directory written by write_test_pki (the DER certificates and the PEM keys) and checks
// that each key matches its certificate.
Result<TestPki> load_test_pki(const std::string& dir);

}  // namespace station::rsp_crypto
