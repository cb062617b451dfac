#include "rsp_crypto/pki.h"

#include <fcntl.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "common/digits.h"
#include "rsp_crypto/internal.h"

namespace station::rsp_crypto {

using internal::bio_text;
using internal::invalid;
using internal::openssl_failure;

void X509Free::operator()(x509_st* cert) const { X509_free(cert); }

namespace {

using StoreFree = internal::OpensslFree<X509_STORE_free>;
using StoreCtxFree = internal::OpensslFree<X509_STORE_CTX_free>;
struct StackFree {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using NameFree = internal::OpensslFree<X509_NAME_free>;
using ExtFree = internal::OpensslFree<X509_EXTENSION_free>;
using PoliciesFree = internal::OpensslFree<CERTIFICATEPOLICIES_free>;

constexpr std::size_t kMaxCertificateFileBytes = 64 * 1024;
constexpr std::int64_t kDay = 24 * 3600;
constexpr std::int64_t kYear = 365 * kDay;

Result<std::string> read_file(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, "cannot open " + path);
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) {
      OPENSSL_cleanse(buffer, sizeof buffer);
      secrets::wipe(text);
      return Status(ErrorCode::kPayloadTooLarge,
                    path + " is larger than " + std::to_string(limit) + " bytes");
    }
  }
  OPENSSL_cleanse(buffer, sizeof buffer);  // it may have held a private key
  return text;
}

Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(
      X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext) return openssl_failure("extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return openssl_failure("X509_add_ext");
  return Status::ok();
}

// certificatePolicies with one policy OID (no qualifiers), built directly: the text form needs
// an OpenSSL config database.
Status add_policy(X509* cert, std::string_view oid, bool critical) {
  std::unique_ptr<CERTIFICATEPOLICIES, PoliciesFree> policies(sk_POLICYINFO_new_null());
  POLICYINFO* info = POLICYINFO_new();
  if (!policies || info == nullptr) {
    POLICYINFO_free(info);
    return openssl_failure("POLICYINFO_new");
  }
  ASN1_OBJECT_free(info->policyid);
  info->policyid = OBJ_txt2obj(std::string(oid).c_str(), 1);
  if (info->policyid == nullptr || sk_POLICYINFO_push(policies.get(), info) <= 0) {
    POLICYINFO_free(info);
    return openssl_failure("certificate policy");
  }
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(
      X509V3_EXT_i2d(NID_certificate_policies, critical ? 1 : 0, policies.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return openssl_failure("certificatePolicies");
  }
  return Status::ok();
}

// The text of the first `nid` attribute of a name; nullopt when absent.
std::optional<std::string> name_attribute(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return std::nullopt;
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
}

// SGP.22's EUM nameConstraints: one permitted directoryName subtree, the EUM's organisation and
// the prefix of the EIDs it may certify as serialNumber. Critical.
Status add_eid_name_constraint(X509* cert, const std::string& organisation,
                               const std::string& eid_prefix) {
  using NameConstraintsFree = internal::OpensslFree<NAME_CONSTRAINTS_free>;
  std::unique_ptr<NAME_CONSTRAINTS, NameConstraintsFree> constraints(NAME_CONSTRAINTS_new());
  GENERAL_SUBTREE* subtree = GENERAL_SUBTREE_new();
  X509_NAME* base = X509_NAME_new();
  if (!constraints || subtree == nullptr || base == nullptr) {
    GENERAL_SUBTREE_free(subtree);
    X509_NAME_free(base);
    return openssl_failure("NAME_CONSTRAINTS_new");
  }
  if (X509_NAME_add_entry_by_NID(base, NID_organizationName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(organisation.c_str()),
                                 static_cast<int>(organisation.size()), -1, 0) != 1 ||
      X509_NAME_add_entry_by_NID(base, NID_serialNumber, MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(eid_prefix.c_str()),
                                 static_cast<int>(eid_prefix.size()), -1, 0) != 1) {
    GENERAL_SUBTREE_free(subtree);
    X509_NAME_free(base);
    return openssl_failure("nameConstraints directoryName");
  }
  subtree->base->type = GEN_DIRNAME;
  subtree->base->d.directoryName = base;
  constraints->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  if (constraints->permittedSubtrees == nullptr ||
      sk_GENERAL_SUBTREE_push(constraints->permittedSubtrees, subtree) <= 0) {
    GENERAL_SUBTREE_free(subtree);
    return openssl_failure("nameConstraints subtree");
  }
  if (X509_add1_ext_i2d(cert, NID_name_constraints, constraints.get(), 1, X509V3_ADD_DEFAULT) !=
      1) {
    return openssl_failure("nameConstraints");
  }
  return Status::ok();
}

// Whether `euicc`'s subject lies in one of the directoryName subtrees its issuer `eum` permits,
// as SGP.22 means them: the organisation equal, the EID starting with the serialNumber prefix.
// OpenSSL's own matching compares whole attributes and so cannot express a prefix; it is told to
// leave this check to us. An EUM certificate without nameConstraints permits every EID.
Status check_eid_name_constraints(X509* euicc, X509* eum) {
  int critical = 0;
  auto* constraints = static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(eum, NID_name_constraints, &critical, nullptr));
  if (constraints == nullptr) {
    if (critical == -1) return Status::ok();  // no such extension
    ERR_clear_error();
    return Status(ErrorCode::kUnauthenticated,
                  "the EUM certificate's nameConstraints are malformed");
  }
  std::unique_ptr<NAME_CONSTRAINTS, internal::OpensslFree<NAME_CONSTRAINTS_free>> owned(
      constraints);
  if (constraints->permittedSubtrees == nullptr) return Status::ok();
  const X509_NAME* subject = X509_get_subject_name(euicc);
  const auto eid = name_attribute(subject, NID_serialNumber);
  const auto organisation = name_attribute(subject, NID_organizationName);
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees); ++i) {
    const GENERAL_SUBTREE* subtree = sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i);
    if (subtree->base->type != GEN_DIRNAME) continue;
    const X509_NAME* base = subtree->base->d.directoryName;
    const auto prefix = name_attribute(base, NID_serialNumber);
    const auto permitted_organisation = name_attribute(base, NID_organizationName);
    const bool organisation_ok = !permitted_organisation || organisation == permitted_organisation;
    const bool eid_ok = !prefix || (eid && eid->starts_with(*prefix));
    if (organisation_ok && eid_ok) return Status::ok();
  }
  return Status(ErrorCode::kUnauthenticated,
                "the eUICC certificate's EID " + eid.value_or("(none)") +
                    " is outside the range its EUM certificate permits (nameConstraints)");
}

// Lets X509_verify_cert pass a permitted-subtree violation of the leaf: check_chain checks the
// leaf against its issuer's constraints itself (check_eid_name_constraints).
int leave_leaf_name_constraints_to_check_chain(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_PERMITTED_VIOLATION &&
      X509_STORE_CTX_get_error_depth(ctx) == 0) {
    return 1;
  }
  return ok;
}

Status set_time(ASN1_TIME* field, std::optional<std::int64_t> unix_seconds) {
  if (!unix_seconds) {
    // SGP.22: the eUICC certificate has no well-defined expiration date.
    if (ASN1_TIME_set_string_X509(field, "99991231235959Z") != 1) {
      return openssl_failure("ASN1_TIME_set_string");
    }
    return Status::ok();
  }
  if (ASN1_TIME_set(field, static_cast<time_t>(*unix_seconds)) == nullptr) {
    return openssl_failure("ASN1_TIME_set");
  }
  return Status::ok();
}

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) return false;
    if (++label > 63) return false;
  }
  return label > 0 && name.back() != '-';
}

Status check_eid(std::string_view eid) {
  if (eid.size() != 2 * kEidBytes) {
    return Status(ErrorCode::kInvalidEid, "EID must be 32 digits");
  }
  if (!all_digits(eid)) return Status(ErrorCode::kInvalidEid, "EID must be decimal digits");
  if (!mod97_10_valid(eid)) {
    return Status(ErrorCode::kInvalidEid, "EID check digits are wrong (ISO/IEC 7064 MOD 97-10)");
  }
  return Status::ok();
}

// Creates `path` with `mode` (refusing an existing file unless `overwrite`) and writes `data`.
Status write_file(const std::filesystem::path& path, std::string_view data, mode_t mode,
                  bool overwrite) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    return Status(errno == EEXIST ? ErrorCode::kConflict : ErrorCode::kStorageError,
                  "cannot create " + path.string() + ": " + std::strerror(errno));
  }
  // An existing file keeps its old mode through O_TRUNC; set it explicitly.
  Status status;
  if (::fchmod(fd, mode) != 0) {
    status =
        Status(ErrorCode::kStorageError, "chmod " + path.string() + ": " + std::strerror(errno));
  }
  std::size_t written = 0;
  while (status.is_ok() && written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status =
          Status(ErrorCode::kStorageError, "write " + path.string() + ": " + std::strerror(errno));
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (status.is_ok() && ::fsync(fd) != 0) {
    status =
        Status(ErrorCode::kStorageError, "fsync " + path.string() + ": " + std::strerror(errno));
  }
  ::close(fd);
  return status;
}

const PkiEntity& entity(const TestPki& pki, std::string_view name) {
  if (name == "ci") return pki.ci;
  if (name == "eum") return pki.eum;
  if (name == "euicc") return pki.euicc;
  if (name == "dp_auth") return pki.dp_auth;
  if (name == "dp_pb") return pki.dp_pb;
  return pki.dp_tls;
}

PkiEntity& entity(TestPki& pki, std::string_view name) {
  return const_cast<PkiEntity&>(entity(static_cast<const TestPki&>(pki), name));
}

// True when the private key's public part equals the certificate's key.
bool key_matches(const Certificate& cert, const EcKey& key) {
  const int verdict = X509_check_private_key(cert.get(), key.get());
  ERR_clear_error();
  return verdict == 1;
}

}  // namespace

std::string_view role_policy_oid(CertRole role) {
  switch (role) {
    case CertRole::kCi:
      return "2.23.146.1.2.1.0";
    case CertRole::kEuicc:
      return "2.23.146.1.2.1.1";
    case CertRole::kEum:
      return "2.23.146.1.2.1.2";
    case CertRole::kDpTls:
      return "2.23.146.1.2.1.3";
    case CertRole::kDpAuth:
      return "2.23.146.1.2.1.4";
    case CertRole::kDpPb:
      return "2.23.146.1.2.1.5";
  }
  return "";
}

std::string_view role_name(CertRole role) {
  switch (role) {
    case CertRole::kCi:
      return "CI";
    case CertRole::kEuicc:
      return "eUICC";
    case CertRole::kEum:
      return "EUM";
    case CertRole::kDpTls:
      return "DPtls";
    case CertRole::kDpAuth:
      return "DPauth";
    case CertRole::kDpPb:
      return "DPpb";
  }
  return "";
}

// ---- Certificate ---------------------------------------------------------------------------

Certificate::Certificate(const Certificate& other) {
  if (other.cert_ && X509_up_ref(other.cert_.get()) == 1) cert_.reset(other.cert_.get());
}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) {
    Certificate copy(other);
    cert_ = std::move(copy.cert_);
  }
  return *this;
}

Result<Certificate> Certificate::from_der(ByteView der) {
  if (der.size() > kMaxCertificateBytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  "certificate of " + std::to_string(der.size()) + " bytes exceeds the limit");
  }
  const unsigned char* in = der.data();
  X509* raw = nullptr;
  {
    // One decode at a time in the process. OpenSSL 3.0 looks up its key decoders for every
    // certificate (no cache before 3.1), and two threads doing so at once contend on its locks:
    // on P-256 certificates, 0.35 CPU-ms each instead of 0.13, and fewer decodes per second
    // than one thread manages (bench/smdp_floor_bench, BM_EuiccCertificateDecode/threads:2).
    static std::mutex decoding;
    const std::lock_guard lock(decoding);
    raw = d2i_X509(nullptr, &in, static_cast<long>(der.size()));
  }
  Certificate cert(raw);
  if (raw == nullptr || in != der.data() + der.size()) {
    ERR_clear_error();
    return invalid("not one DER certificate");
  }
  return cert;
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  if (pem.size() > kMaxCertificateFileBytes) {
    return Status(ErrorCode::kPayloadTooLarge, "certificate PEM exceeds the limit");
  }
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_failure("BIO_new_mem_buf");
  X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    ERR_clear_error();
    return invalid("not a PEM certificate");
  }
  Certificate cert(raw);
  // Bound the DER size as from_der does.
  if (i2d_X509(raw, nullptr) > static_cast<int>(kMaxCertificateBytes)) {
    return Status(ErrorCode::kPayloadTooLarge, "certificate exceeds the limit");
  }
  return cert;
}

Result<Bytes> Certificate::der() const {
  if (empty()) return invalid("no certificate");
  const int size = i2d_X509(cert_.get(), nullptr);
  if (size <= 0) return openssl_failure("i2d_X509");
  Bytes out(static_cast<std::size_t>(size));
  unsigned char* p = out.data();
  if (i2d_X509(cert_.get(), &p) != size) return openssl_failure("i2d_X509");
  return out;
}

Result<std::string> Certificate::pem() const {
  if (empty()) return invalid("no certificate");
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) {
    return openssl_failure("PEM_write_bio_X509");
  }
  return bio_text(bio.get());
}

std::string Certificate::subject() const {
  if (empty()) return "";
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert_.get()), 0, XN_FLAG_RFC2253);
  return bio_text(bio.get());
}

std::string Certificate::subject_serial_number() const {
  if (empty()) return "";
  return name_attribute(X509_get_subject_name(cert_.get()), NID_serialNumber).value_or("");
}

Result<EcKey> Certificate::public_key() const {
  if (empty()) return invalid("no certificate");
  EVP_PKEY* key = X509_get_pubkey(cert_.get());  // a new reference
  if (key == nullptr) {
    ERR_clear_error();
    return invalid("certificate without a usable public key");
  }
  return internal::wrap_key(key, false);
}

bool Certificate::has_role(CertRole role) const {
  if (empty()) return false;
  std::unique_ptr<CERTIFICATEPOLICIES, PoliciesFree> policies(static_cast<CERTIFICATEPOLICIES*>(
      X509_get_ext_d2i(cert_.get(), NID_certificate_policies, nullptr, nullptr)));
  if (!policies) {
    ERR_clear_error();
    return false;
  }
  const std::string_view wanted = role_policy_oid(role);
  for (int i = 0; i < sk_POLICYINFO_num(policies.get()); ++i) {
    const POLICYINFO* info = sk_POLICYINFO_value(policies.get(), i);
    char oid[80];
    const int length = OBJ_obj2txt(oid, sizeof oid, info->policyid, 1);
    if (length > 0 && static_cast<std::size_t>(length) < sizeof oid &&
        std::string_view(oid, static_cast<std::size_t>(length)) == wanted) {
      return true;
    }
  }
  return false;
}

Bytes Certificate::subject_key_identifier() const {
  const ASN1_OCTET_STRING* id = empty() ? nullptr : X509_get0_subject_key_id(cert_.get());
  if (id == nullptr) return {};
  const unsigned char* data = ASN1_STRING_get0_data(id);
  return Bytes(data, data + ASN1_STRING_length(id));
}

Bytes Certificate::authority_key_identifier() const {
  const ASN1_OCTET_STRING* id = empty() ? nullptr : X509_get0_authority_key_id(cert_.get());
  if (id == nullptr) return {};
  const unsigned char* data = ASN1_STRING_get0_data(id);
  return Bytes(data, data + ASN1_STRING_length(id));
}

Result<Certificate> load_certificate_file(const std::string& path) {
  STATION_ASSIGN_OR_RETURN(std::string text, read_file(path, kMaxCertificateFileBytes));
  if (text.find("-----BEGIN") != std::string::npos) return Certificate::from_pem(text);
  return Certificate::from_der(as_bytes(text));
}

Result<EcKey> load_private_key_file(const std::string& path) {
  STATION_ASSIGN_OR_RETURN(std::string text, read_file(path, kMaxPemBytes));
  auto key = private_key_from_pem(text);
  secrets::wipe(text);
  return key;
}

// ---- verification --------------------------------------------------------------------------

namespace {

// A chain's verdict: ok, or the fault with the depth of the certificate it concerns (0: the
// leaf) and whether the fault is only a validity period.
struct ChainVerdict {
  Status status;
  int depth = 0;
  bool outside_validity = false;
};

ChainVerdict check_chain(const Certificate& leaf, std::span<const Certificate> intermediates,
                         std::span<const Certificate> trusted, std::optional<CertRole> role,
                         std::optional<std::int64_t> at_unix_seconds) {
  if (leaf.empty()) return {invalid("no certificate to verify")};
  if (trusted.empty()) return {invalid("no trusted CI certificate")};
  if (intermediates.size() + 1 > kMaxChainLength || trusted.size() > 64) {
    return {invalid("certificate chain too long")};
  }
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return {openssl_failure("X509 store")};
  for (const Certificate& root : trusted) {
    if (root.empty() || X509_STORE_add_cert(store.get(), root.get()) != 1) {
      return {openssl_failure("X509_STORE_add_cert")};
    }
  }
  for (const Certificate& cert : intermediates) {
    if (cert.empty() || sk_X509_push(untrusted.get(), cert.get()) <= 0) {
      return {openssl_failure("sk_X509_push")};
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1) {
    return {openssl_failure("X509_STORE_CTX_init")};
  }
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_X509_STRICT);
  if (at_unix_seconds) X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(*at_unix_seconds));
  X509_STORE_CTX_set_verify_cb(ctx.get(), leave_leaf_name_constraints_to_check_chain);
  const int verdict = X509_verify_cert(ctx.get());
  if (verdict != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ERR_clear_error();
    return {Status(ErrorCode::kUnauthenticated,
                   "certificate " + leaf.subject() +
                       " does not verify: " + X509_verify_cert_error_string(error)),
            depth, error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID};
  }
  // The chain verified: [0] is the leaf, [1] its issuer.
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  if (chain != nullptr && sk_X509_num(chain) >= 2) {
    Status constrained = check_eid_name_constraints(leaf.get(), sk_X509_value(chain, 1));
    if (!constrained.is_ok()) return {std::move(constrained)};
  }
  if (role && !leaf.has_role(*role)) {
    return {Status(ErrorCode::kUnauthenticated, "certificate " + leaf.subject() + " lacks the " +
                                                    std::string(role_name(*role)) + " policy " +
                                                    std::string(role_policy_oid(*role)))};
  }
  return {Status::ok()};
}

}  // namespace

Status verify_chain(const Certificate& leaf, std::span<const Certificate> intermediates,
                    std::span<const Certificate> trusted, std::optional<CertRole> role,
                    std::optional<std::int64_t> at_unix_seconds) {
  return check_chain(leaf, intermediates, trusted, role, at_unix_seconds).status;
}

EuiccCertificatesVerdict check_euicc_certificates(const Certificate& euicc, const Certificate& eum,
                                                  std::span<const Certificate> trusted,
                                                  std::optional<std::int64_t> at_unix_seconds) {
  EuiccCertificatesVerdict verdict;
  if (eum.empty() || !eum.has_role(CertRole::kEum)) {
    verdict.faulty = EuiccChainPart::kEum;
    verdict.status = Status(ErrorCode::kUnauthenticated, "EUM certificate lacks the EUM policy");
    return verdict;
  }
  const Certificate intermediates[] = {eum};
  ChainVerdict chain =
      check_chain(euicc, intermediates, trusted, CertRole::kEuicc, at_unix_seconds);
  if (!chain.status.is_ok()) {
    // Depth 0 is the eUICC certificate; above it the EUM (or the CI, which the EUM answers for).
    verdict.faulty = chain.depth == 0 ? EuiccChainPart::kEuicc : EuiccChainPart::kEum;
    verdict.expired = chain.outside_validity;
    verdict.status = std::move(chain.status);
    return verdict;
  }
  std::string eid = euicc.subject_serial_number();
  if (eid.size() != 2 * kEidBytes || eid.find_first_not_of("0123456789") != std::string::npos) {
    verdict.status = Status(ErrorCode::kUnauthenticated,
                            "eUICC certificate subject serialNumber is not a 32-digit EID");
    return verdict;
  }
  verdict.eid = std::move(eid);
  return verdict;
}

Result<std::string> verify_euicc_certificates(const Certificate& euicc, const Certificate& eum,
                                              std::span<const Certificate> trusted,
                                              std::optional<std::int64_t> at_unix_seconds) {
  EuiccCertificatesVerdict verdict = check_euicc_certificates(euicc, eum, trusted, at_unix_seconds);
  if (!verdict.status.is_ok()) return std::move(verdict.status);
  return std::move(verdict.eid);
}

// ---- issuance ------------------------------------------------------------------------------

Result<Certificate> issue_certificate(const CertificateProfile& profile, const EcKey& subject_key,
                                      const Certificate* issuer, const EcKey& issuer_key) {
  if (subject_key.empty() || issuer_key.empty() || !issuer_key.has_private()) {
    return invalid("issuing needs the subject's key and the issuer's private key");
  }
  if (profile.subject.empty() || profile.subject.size() > 8) {
    return invalid("subject must have 1-8 attributes");
  }
  Certificate cert(X509_new());
  X509* x = cert.get();
  if (x == nullptr || X509_set_version(x, X509_VERSION_3) != 1) return openssl_failure("X509_new");

  internal::BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)) == nullptr) {
    return openssl_failure("serial number");
  }

  std::unique_ptr<X509_NAME, NameFree> name(X509_NAME_new());
  if (!name) return openssl_failure("X509_NAME_new");
  for (const auto& [field, value] : profile.subject) {
    if (value.empty() || value.size() > 64)
      return invalid("subject " + field + " must be 1-64 bytes");
    if (X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      ERR_clear_error();
      return invalid("subject attribute " + field + " refused");
    }
  }
  if (X509_set_subject_name(x, name.get()) != 1 ||
      X509_set_issuer_name(
          x, issuer != nullptr ? X509_get_subject_name(issuer->get()) : name.get()) != 1) {
    return openssl_failure("X509 names");
  }
  STATION_RETURN_IF_ERROR(set_time(X509_getm_notBefore(x), profile.not_before));
  STATION_RETURN_IF_ERROR(set_time(X509_getm_notAfter(x), profile.not_after));
  if (X509_set_pubkey(x, subject_key.get()) != 1) return openssl_failure("X509_set_pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->get() : x, x, nullptr, nullptr, 0);
  X509V3_set_ctx_nodb(&ctx);
  const std::string policy(role_policy_oid(profile.role));
  STATION_RETURN_IF_ERROR(add_extension(x, &ctx, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    STATION_RETURN_IF_ERROR(add_extension(x, &ctx, NID_authority_key_identifier, "keyid:always"));
  }
  switch (profile.role) {
    case CertRole::kCi:
      STATION_RETURN_IF_ERROR(add_extension(x, &ctx, NID_basic_constraints, "critical,CA:TRUE"));
      STATION_RETURN_IF_ERROR(
          add_extension(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
      break;
    case CertRole::kEum:
      STATION_RETURN_IF_ERROR(
          add_extension(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
      STATION_RETURN_IF_ERROR(
          add_extension(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
      if (!profile.permitted_eid_prefix.empty()) {
        const auto organisation = name_attribute(name.get(), NID_organizationName);
        if (!organisation) return invalid("an EUM with an EID range needs an O attribute");
        STATION_RETURN_IF_ERROR(
            add_eid_name_constraint(x, *organisation, profile.permitted_eid_prefix));
      }
      break;
    case CertRole::kDpTls:
      STATION_RETURN_IF_ERROR(add_extension(x, &ctx, NID_key_usage, "critical,digitalSignature"));
      STATION_RETURN_IF_ERROR(
          add_extension(x, &ctx, NID_ext_key_usage, "critical,serverAuth,clientAuth"));
      break;
    case CertRole::kEuicc:
    case CertRole::kDpAuth:
    case CertRole::kDpPb:
      STATION_RETURN_IF_ERROR(add_extension(x, &ctx, NID_key_usage, "critical,digitalSignature"));
      break;
  }
  // SGP.22 marks the role policy critical; SGP.26's DPtls certificates do not.
  STATION_RETURN_IF_ERROR(add_policy(x, policy, profile.role != CertRole::kDpTls));
  std::string alt_names;
  for (const std::string& dns : profile.dns_names) {
    if (!is_dns_name(dns)) return invalid("not a DNS name: " + dns);
    alt_names += (alt_names.empty() ? "DNS:" : ",DNS:") + dns;
  }
  if (!profile.registered_id.empty()) {
    alt_names += (alt_names.empty() ? "RID:" : ",RID:") + profile.registered_id;
  }
  if (!alt_names.empty()) {
    STATION_RETURN_IF_ERROR(add_extension(x, &ctx, NID_subject_alt_name, alt_names));
  }
  if (X509_sign(x, issuer_key.get(), EVP_sha256()) <= 0) return openssl_failure("X509_sign");
  return cert;
}

// ---- the test PKI --------------------------------------------------------------------------

Result<TestPki> create_test_pki(const TestPkiOptions& options) {
  STATION_RETURN_IF_ERROR(check_eid(options.eid));
  if (!is_dns_name(options.smdp_host)) {
    return invalid("SM-DP+ host must be a DNS name of at most 253 bytes");
  }
  const std::int64_t now =
      options.now != 0 ? options.now : static_cast<std::int64_t>(std::time(nullptr));
  const std::int64_t start = now - kDay;  // tolerate clocks a little behind
  TestPki pki;
  pki.curve = options.curve;
  pki.eid = options.eid;
  for (std::string_view name : kPkiEntityNames) {
    STATION_ASSIGN_OR_RETURN(entity(pki, name).key, generate_key(options.curve));
  }
  // Test OIDs under 2.999 (the "example" arc), as the SGP.26 test certificates use.
  CertificateProfile ci{
      CertRole::kCi,
      {{"C", "XX"}, {"O", "Station Test PKI"}, {"OU", "TESTCERT"}, {"CN", "Station Test CI"}},
      {},
      "2.999.1",
      start,
      start + 35 * kYear};
  STATION_ASSIGN_OR_RETURN(pki.ci.certificate,
                           issue_certificate(ci, pki.ci.key, nullptr, pki.ci.key));

  CertificateProfile eum{CertRole::kEum,
                         {{"C", "XX"}, {"O", "Station Test EUM"}, {"CN", "Station Test EUM"}},
                         {},
                         "2.999.5",
                         start,
                         start + 30 * kYear,
                         options.eid.substr(0, kEumEidPrefixDigits)};
  STATION_ASSIGN_OR_RETURN(pki.eum.certificate,
                           issue_certificate(eum, pki.eum.key, &pki.ci.certificate, pki.ci.key));

  CertificateProfile euicc{CertRole::kEuicc,
                           {{"C", "XX"},
                            {"O", "Station Test EUM"},
                            {"serialNumber", options.eid},
                            {"CN", "Station Test eUICC"}},
                           {},
                           "",
                           start,
                           std::nullopt};
  STATION_ASSIGN_OR_RETURN(
      pki.euicc.certificate,
      issue_certificate(euicc, pki.euicc.key, &pki.eum.certificate, pki.eum.key));

  const std::vector<std::pair<std::string, std::string>> smdp_subject = {{"O", "Station"},
                                                                         {"CN", "Station SM-DP+"}};
  CertificateProfile auth{CertRole::kDpAuth, smdp_subject, {},
                          "2.999.10",        start,        start + 10 * kYear};
  STATION_ASSIGN_OR_RETURN(
      pki.dp_auth.certificate,
      issue_certificate(auth, pki.dp_auth.key, &pki.ci.certificate, pki.ci.key));
  CertificateProfile pb{CertRole::kDpPb, smdp_subject, {}, "2.999.10", start, start + 10 * kYear};
  STATION_ASSIGN_OR_RETURN(pki.dp_pb.certificate,
                           issue_certificate(pb, pki.dp_pb.key, &pki.ci.certificate, pki.ci.key));
  CertificateProfile tls{CertRole::kDpTls,
                         {{"O", "Station"}, {"CN", options.smdp_host}},
                         {options.smdp_host},
                         "2.999.10",
                         start,
                         start + 2 * kYear};
  STATION_ASSIGN_OR_RETURN(pki.dp_tls.certificate,
                           issue_certificate(tls, pki.dp_tls.key, &pki.ci.certificate, pki.ci.key));
  return pki;
}

Status write_test_pki(const TestPki& pki, const std::string& dir, bool overwrite) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  std::error_code error;
  if (!fs::exists(root, error)) {
    fs::create_directories(root, error);
    if (error) {
      return Status(ErrorCode::kStorageError, "cannot create " + dir + ": " + error.message());
    }
    ::chmod(root.c_str(), 0700);
  }
  // Prepare everything first, so that a refusal writes nothing.
  struct Output {
    fs::path path;
    std::string data;
    mode_t mode;
  };
  std::vector<Output> outputs;
  for (std::string_view name : kPkiEntityNames) {
    const PkiEntity& item = entity(pki, name);
    STATION_ASSIGN_OR_RETURN(Bytes der, item.certificate.der());
    STATION_ASSIGN_OR_RETURN(std::string pem, item.certificate.pem());
    STATION_ASSIGN_OR_RETURN(secrets::SecretString key, private_key_to_pem(item.key));
    const std::string base(name);
    outputs.push_back({root / (base + ".der"), std::string(der.begin(), der.end()), 0644});
    outputs.push_back({root / (base + ".pem"), std::move(pem), 0644});
    outputs.push_back({root / (base + ".key.pem"), std::string(key.view()), 0600});
  }
  outputs.push_back({root / "eid.txt", pki.eid + "\n", 0644});
  Status status;
  if (!overwrite) {
    for (const Output& output : outputs) {
      if (fs::exists(output.path, error)) {
        status = Status(ErrorCode::kConflict,
                        output.path.string() + " exists (use --force to overwrite)");
        break;
      }
    }
  }
  for (const Output& output : outputs) {
    if (!status.is_ok()) break;
    status = write_file(output.path, output.data, output.mode, overwrite);
  }
  for (Output& output : outputs) {
    if (output.mode == 0600) secrets::wipe(output.data);
  }
  return status;
}

Result<TestPki> load_test_pki(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  TestPki pki;
  for (std::string_view name : kPkiEntityNames) {
    const std::string base(name);
    PkiEntity& item = entity(pki, name);
    STATION_ASSIGN_OR_RETURN(item.certificate, load_certificate_file(root / (base + ".der")));
    STATION_ASSIGN_OR_RETURN(item.key, load_private_key_file(root / (base + ".key.pem")));
    if (!key_matches(item.certificate, item.key)) {
      return invalid(base + ".key.pem does not match " + base + ".der");
    }
  }
  pki.curve = pki.ci.key.curve();
  STATION_ASSIGN_OR_RETURN(std::string eid, read_file(root / "eid.txt", 64));
  while (!eid.empty() && (eid.back() == '\n' || eid.back() == '\r')) eid.pop_back();
  STATION_RETURN_IF_ERROR(check_eid(eid));
  if (pki.euicc.certificate.subject_serial_number() != eid) {
    return invalid("eid.txt does not match the eUICC certificate's serialNumber");
  }
  pki.eid = std::move(eid);
  return pki;
}

}  // namespace station::rsp_crypto
