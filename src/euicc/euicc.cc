#include "euicc/euicc.h"

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "der/rsp.h"
#include "euicc/profile_package.h"
#include "rsp_crypto/pki.h"
#include "rsp_crypto/rsp_crypto.h"
#include "upp/upp.h"

namespace station::euicc {
namespace {

namespace rsp = der::rsp;
using der::Tag;
using rsp_crypto::Certificate;
using rsp_crypto::EcKey;

constexpr std::size_t kChallengeBytes = 16;
constexpr der::Limits kEs10Limits{
    .max_bytes = kMaxEs10RequestBytes, .max_elements = 2048, .max_depth = 16};
// Versions the card reports (EUICCInfo1/2): SGP.22 v2.2.0, profile package v2.3.
const der::Bytes kSvn = {0x02, 0x02, 0x00};

// ES10 request tags (SGP.22 section 5.7).
constexpr Tag kPrepareDownload = Tag::context(33, true);            // BF21
constexpr Tag kGetEuiccInfo1 = Tag::context(32, true);              // BF20
constexpr Tag kGetEuiccInfo2 = Tag::context(34, true);              // BF22
constexpr Tag kListNotification = Tag::context(40, true);           // BF28
constexpr Tag kRetrieveNotificationsList = Tag::context(43, true);  // BF2B
constexpr Tag kProfileInfoList = Tag::context(45, true);            // BF2D
constexpr Tag kGetEuiccChallenge = Tag::context(46, true);          // BF2E
constexpr Tag kNotificationSent = Tag::context(48, true);           // BF30
constexpr Tag kEnableProfile = Tag::context(49, true);              // BF31
constexpr Tag kDisableProfile = Tag::context(50, true);             // BF32
constexpr Tag kDeleteProfile = Tag::context(51, true);              // BF33
constexpr Tag kBoundProfilePackage = Tag::context(54, true);        // BF36
constexpr Tag kAuthenticateServer = Tag::context(56, true);         // BF38
constexpr Tag kGetEuiccData = Tag::context(62, true);               // BF3E
constexpr Tag kCancelSession = Tag::context(65, true);              // BF41

// AuthenticateErrorCode / DownloadErrorCode values.
constexpr std::int64_t kInvalidCertificate = 1;
constexpr std::int64_t kInvalidSignature = 2;
constexpr std::int64_t kNoSessionContext = 4;
constexpr std::int64_t kInvalidTransactionId = 5;  // DownloadErrorCode
constexpr std::int64_t kEuiccChallengeMismatch = 6;
constexpr std::int64_t kCiPkUnknown = 7;
constexpr std::int64_t kUndefinedError = 127;

// BppCommandId and ErrorReason of a ProfileInstallationResult's errorResult.
}  // namespace

enum class Euicc::BppCommand : std::int64_t {
  kInitialiseSecureChannel = 0,
  kConfigureIsdp = 1,
  kStoreMetadata = 2,
  kReplaceSessionKeys = 4,
  kLoadProfileElements = 5,
};
enum class Euicc::BppError : std::int64_t {
  kIncorrectInputValues = 1,
  kInvalidSignature = 2,
  kInvalidTransactionId = 3,
  kUnsupportedCrtValues = 4,
  kUnsupportedRemoteOperationType = 5,
  kScp03tStructureError = 7,
  kScp03tSecurityError = 8,
  kIccidAlreadyExists = 9,
  kInsufficientMemory = 10,
  kPeProcessingError = 12,
  kIccidMismatch = 13,
  kUnknownError = 127,
};

namespace {

Status malformed(std::string message) {
  return Status(ErrorCode::kMalformedRequest, std::move(message));
}

// The 5F37 TLV of a plain signature, as SGP.22 signs it into the next message.
der::Bytes signature_tlv(der::ByteView signature) {
  der::Builder builder;
  builder.primitive(Tag::application(55), signature);
  auto out = std::move(builder).finish();
  assert(out.is_ok());
  return std::move(*out);
}

der::Bytes concat(der::ByteView a, der::ByteView b) {
  der::Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// A BER length read by hand: the BPP's outer headers arrive without their contents.
struct Header {
  Tag tag;
  std::size_t length = 0;
  std::size_t size = 0;  // identifier and length octets
};
// The identifier and length octets at the start of `bytes`, for the one- and two-byte tags of the
// BPP (A0..A3, BF36); kMalformedRequest otherwise.
Result<Header> read_header(der::ByteView bytes) {
  if (bytes.size() < 2) return malformed("truncated header");
  Header header;
  std::size_t at = 0;
  const std::uint8_t first = bytes[at++];
  header.tag.cls = static_cast<der::TagClass>(first >> 6);
  header.tag.constructed = (first & 0x20) != 0;
  header.tag.number = first & 0x1F;
  if (header.tag.number == 0x1F) {
    const std::uint8_t next = bytes[at++];
    if ((next & 0x80) != 0 || next < 0x1F) return malformed("unexpected tag");
    header.tag.number = next;
  }
  if (at >= bytes.size()) return malformed("truncated header");
  const std::uint8_t length_byte = bytes[at++];
  if (length_byte < 0x80) {
    header.length = length_byte;
  } else {
    const std::size_t count = length_byte & 0x7F;
    if (count == 0 || count > 3 || at + count > bytes.size()) return malformed("bad length");
    if (bytes[at] == 0) return malformed("non-minimal length");
    for (std::size_t i = 0; i < count; ++i) header.length = header.length << 8 | bytes[at++];
    if (header.length < 0x80 ||
        (count > 1 && header.length < (std::size_t{1} << (8 * (count - 1))))) {
      return malformed("non-minimal length");
    }
  }
  header.size = at;
  return header;
}

// The registeredID of a certificate's subjectAltName (the SM-DP+'s OID), dotted; empty if none.
std::string registered_id(const Certificate& certificate) {
  std::string oid;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return oid;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && oid.empty(); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_RID) continue;
    char text[128];
    const int size = OBJ_obj2txt(text, sizeof text, name->d.registeredID, /*no_name=*/1);
    if (size > 0 && static_cast<std::size_t>(size) < sizeof text) oid.assign(text, size);
  }
  GENERAL_NAMES_free(names);
  return oid;
}

}  // namespace

// What one download session keeps, in memory only.
struct Euicc::Session {
  enum class Stage {
    kChallenged,      // GetEUICCChallenge answered
    kAuthenticated,   // AuthenticateServer answered
    kPrepared,        // PrepareDownload answered
    kConfigureIsdp,   // InitialiseSecureChannel done; A0 + '87' next
    kMoreConfigure,   // inside A0
    kMetadataHeader,  // A1 next
    kMetadata,        // inside A1
    kAfterMetadata,   // A2 + '87' or A3 next
    kReplaceKeys,     // inside A2
    kProfileHeader,   // A3 next
    kProfile,         // inside A3
    kComplete,        // every byte of the package received
  };
  Stage stage = Stage::kChallenged;
  der::Bytes euicc_challenge;
  der::Bytes transaction_id;
  std::string server_address;
  der::Bytes euicc_signature1_tlv;
  Certificate dp_pb;
  der::Bytes smdp_signature2_tlv;
  EcKey one_time_key;  // otSK.EUICC.ECKA
  der::Bytes euicc_otpk;
  // LoadBoundProfilePackage.
  std::size_t package_left = 0;   // bytes of BF36's contents not yet received
  std::size_t sequence_left = 0;  // bytes of the current A0..A3 not yet received
  std::optional<rsp_crypto::Scp03tState> scp;
  der::Bytes metadata;  // StoreMetadataRequest, as the '88' segments carry it
  std::optional<rsp::StoreMetadataRequest> store_metadata;
  der::Bytes profile;  // the decrypted profile package so far (holds Ki/OPc: wiped)
  std::string smdp_oid;

  ~Session() {
    if (!profile.empty()) OPENSSL_cleanse(profile.data(), profile.size());
  }
};

Euicc::Euicc(StateFile& state, const Clock& clock) : state_(state), clock_(clock) {}
Euicc::~Euicc() = default;

void Euicc::drop_session() { session_.reset(); }

Result<Bytes> Euicc::handle_es10(ByteView request) {
  // A Bound Profile Package arrives in pieces that are not whole TLVs (a header alone, or a
  // header and the first element of its contents).
  const bool loading = session_ && session_->stage >= Session::Stage::kConfigureIsdp;
  if (loading || (request.size() >= 2 && request[0] == 0xBF && request[1] == 0x36)) {
    return load_bound_profile_package(request);
  }
  auto parsed = der::parse(request, kEs10Limits);
  if (!parsed.is_ok()) return malformed("ES10 request: " + parsed.status().message());
  const Tag& tag = parsed->tag();
  if (tag == kGetEuiccChallenge) return get_euicc_challenge();
  if (tag == kGetEuiccInfo1) return euicc_info1();
  if (tag == kGetEuiccInfo2) return euicc_info2();
  if (tag == kAuthenticateServer) return authenticate_server(request);
  if (tag == kPrepareDownload) return prepare_download(request);
  if (tag == kListNotification) return list_notification(request);
  if (tag == kRetrieveNotificationsList) return retrieve_notifications_list(request);
  if (tag == kNotificationSent) return remove_notification(request);
  if (tag == kProfileInfoList) return profiles_info(request);
  if (tag == kEnableProfile) return enable_profile(request);
  if (tag == kDisableProfile) return disable_profile(request);
  if (tag == kDeleteProfile) return delete_profile(request);
  if (tag == kGetEuiccData) return euicc_data(request);
  if (tag == kCancelSession) return cancel_session(request);
  return malformed(fmt::format("ES10 function {} is not supported", tag.to_string()));
}

std::int64_t Euicc::now_seconds() const { return clock_.now_unix_ms() / 1000; }

Result<std::span<const Certificate>> Euicc::trusted_cis() {
  if (!trusted_cis_) {
    std::vector<Certificate> cis;
    for (const auto& der : state_.state().ci_certificates) {
      STATION_ASSIGN_OR_RETURN(auto ci, Certificate::from_der(der));
      cis.push_back(std::move(ci));
    }
    trusted_cis_ = std::move(cis);
  }
  return std::span<const Certificate>(*trusted_cis_);
}

Result<der::Bytes> Euicc::sign(der::ByteView data) {
  if (!signing_key_) {
    STATION_ASSIGN_OR_RETURN(signing_key_, state_.private_key());
  }
  return rsp_crypto::sign(*signing_key_, data);
}

Result<std::vector<der::Bytes>> Euicc::ci_pkids() {
  STATION_ASSIGN_OR_RETURN(auto cis, trusted_cis());
  std::vector<der::Bytes> ids;
  for (const auto& ci : cis) ids.push_back(ci.subject_key_identifier());
  return ids;
}

Result<Bytes> Euicc::get_euicc_challenge() {
  session_ = std::make_unique<Session>();
  session_->euicc_challenge.resize(kChallengeBytes);
  if (RAND_bytes(session_->euicc_challenge.data(), kChallengeBytes) != 1) {
    session_.reset();
    return Status(ErrorCode::kInternal, "the random generator failed");
  }
  return rsp::encode(rsp::GetEuiccChallengeResponse{.euicc_challenge = session_->euicc_challenge});
}

Result<Bytes> Euicc::euicc_info1() {
  STATION_ASSIGN_OR_RETURN(auto ids, ci_pkids());
  return rsp::encode(
      rsp::EuiccInfo1{.svn = kSvn, .ci_pkids_for_verification = ids, .ci_pkids_for_signing = ids});
}

Result<Bytes> Euicc::euicc_info2() {
  STATION_ASSIGN_OR_RETURN(auto ids, ci_pkids());
  rsp::EuiccInfo2 info;
  info.profile_version = {0x02, 0x03, 0x00};
  info.svn = kSvn;
  info.euicc_firmware_ver = {0x01, 0x00, 0x00};
  // ETSI TS 102 226 TLVs: installed applications, free non-volatile memory, free RAM.
  info.ext_card_resource = {0x81, 0x01, 0x00, 0x82, 0x03, 0x08, 0x00, 0x00, 0x83, 0x02, 0x20, 0x00};
  info.uicc_capability = rsp::kUiccCapabilityUsimSupport | rsp::kUiccCapabilityAkaMilenage;
  info.globalplatform_version = der::Bytes{0x02, 0x03, 0x00};
  info.rsp_capability = rsp::kRspCapabilityAdditionalProfile;
  info.ci_pkids_for_verification = ids;
  info.ci_pkids_for_signing = ids;
  info.euicc_category = 1;  // basicEuicc
  info.pp_version = {0x00, 0x00, 0x01};
  return rsp::encode(info);
}

Result<Bytes> Euicc::authenticate_server(ByteView request) {
  auto decoded = rsp::decode_authenticate_server_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  const auto& server_signed1 = decoded->server_signed1;
  auto refuse = [&](std::int64_t code) -> Result<Bytes> {
    session_.reset();
    return rsp::encode(rsp::AuthenticateServerResponse(rsp::AuthenticateResponseError{
        .transaction_id = server_signed1.transaction_id, .code = code}));
  };
  if (!session_ || session_->stage != Session::Stage::kChallenged) return refuse(kNoSessionContext);
  STATION_ASSIGN_OR_RETURN(auto cis, trusted_cis());
  const bool ci_known = std::any_of(cis.begin(), cis.end(), [&](const Certificate& ci) {
    return ci.subject_key_identifier() == decoded->euicc_ci_pkid_to_be_used;
  });
  if (!ci_known) return refuse(kCiPkUnknown);
  auto dp_auth = Certificate::from_der(decoded->server_certificate);
  if (!dp_auth.is_ok() ||
      !rsp_crypto::verify_chain(*dp_auth, {}, cis, rsp_crypto::CertRole::kDpAuth, now_seconds())
           .is_ok()) {
    return refuse(kInvalidCertificate);
  }
  STATION_ASSIGN_OR_RETURN(auto dp_auth_key, dp_auth->public_key());
  if (!rsp_crypto::verify(dp_auth_key, decoded->server_signed1_der, decoded->server_signature1)
           .is_ok()) {
    return refuse(kInvalidSignature);
  }
  if (server_signed1.euicc_challenge != session_->euicc_challenge) {
    return refuse(kEuiccChallengeMismatch);
  }
  STATION_ASSIGN_OR_RETURN(auto info2, euicc_info2());
  STATION_ASSIGN_OR_RETURN(auto signed1, rsp::encode(rsp::EuiccSigned1{
                                             .transaction_id = server_signed1.transaction_id,
                                             .server_address = server_signed1.server_address,
                                             .server_challenge = server_signed1.server_challenge,
                                             .euicc_info2 = info2,
                                             .ctx_params1 = decoded->ctx_params1_der}));
  STATION_ASSIGN_OR_RETURN(auto signature, sign(signed1));
  session_->transaction_id = server_signed1.transaction_id;
  session_->server_address = server_signed1.server_address;
  session_->smdp_oid = registered_id(*dp_auth);  // what a signed cancellation names
  session_->euicc_signature1_tlv = signature_tlv(signature);
  session_->stage = Session::Stage::kAuthenticated;
  rsp::AuthenticateResponseOk ok;
  ok.euicc_signed1_der = std::move(signed1);
  ok.euicc_signature1 = std::move(signature);
  ok.euicc_certificate = state_.state().euicc_certificate;
  ok.eum_certificate = state_.state().eum_certificate;
  return rsp::encode(rsp::AuthenticateServerResponse(std::move(ok)));
}

Result<Bytes> Euicc::prepare_download(ByteView request) {
  auto decoded = rsp::decode_prepare_download_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  const auto& signed2 = decoded->smdp_signed2;
  auto refuse = [&](std::int64_t code) -> Result<Bytes> {
    session_.reset();
    return rsp::encode(rsp::PrepareDownloadResponse(
        rsp::PrepareDownloadResponseError{.transaction_id = signed2.transaction_id, .code = code}));
  };
  if (!session_ || session_->stage != Session::Stage::kAuthenticated) {
    return refuse(kNoSessionContext);
  }
  STATION_ASSIGN_OR_RETURN(auto cis, trusted_cis());
  auto dp_pb = Certificate::from_der(decoded->smdp_certificate);
  if (!dp_pb.is_ok() ||
      !rsp_crypto::verify_chain(*dp_pb, {}, cis, rsp_crypto::CertRole::kDpPb, now_seconds())
           .is_ok()) {
    return refuse(kInvalidCertificate);
  }
  if (signed2.transaction_id != session_->transaction_id) return refuse(kInvalidTransactionId);
  STATION_ASSIGN_OR_RETURN(auto dp_pb_key, dp_pb->public_key());
  if (!rsp_crypto::verify(dp_pb_key,
                          concat(decoded->smdp_signed2_der, session_->euicc_signature1_tlv),
                          decoded->smdp_signature2)
           .is_ok()) {
    return refuse(kInvalidSignature);
  }
  // The confirmation code's hash travels exactly when the SM-DP+ asked for one.
  if (signed2.cc_required != decoded->hash_cc.has_value()) return refuse(kUndefinedError);
  STATION_ASSIGN_OR_RETURN(auto key, rsp_crypto::generate_key(dp_pb_key.curve()));
  STATION_ASSIGN_OR_RETURN(auto point, rsp_crypto::public_point(key));
  STATION_ASSIGN_OR_RETURN(auto euicc_signed2,
                           rsp::encode(rsp::EuiccSigned2{.transaction_id = signed2.transaction_id,
                                                         .euicc_otpk = point,
                                                         .hash_cc = decoded->hash_cc}));
  const der::Bytes smdp_signature2_tlv = signature_tlv(decoded->smdp_signature2);
  STATION_ASSIGN_OR_RETURN(auto signature, sign(concat(euicc_signed2, smdp_signature2_tlv)));
  session_->dp_pb = std::move(*dp_pb);
  session_->smdp_signature2_tlv = smdp_signature2_tlv;
  session_->one_time_key = std::move(key);
  session_->euicc_otpk = std::move(point);
  session_->stage = Session::Stage::kPrepared;
  rsp::PrepareDownloadResponseOk ok;
  ok.euicc_signed2_der = std::move(euicc_signed2);
  ok.euicc_signature2 = std::move(signature);
  return rsp::encode(rsp::PrepareDownloadResponse(std::move(ok)));
}

Result<Bytes> Euicc::cancel_session(ByteView request) {
  auto decoded = rsp::decode_cancel_session_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  // Only a session the SM-DP+ has authenticated, and whose package is not being loaded, can be
  // cancelled (SGP.22 5.7.14); anything else is not this card's current transaction.
  const bool cancellable = session_ && (session_->stage == Session::Stage::kAuthenticated ||
                                        session_->stage == Session::Stage::kPrepared);
  if (!cancellable || decoded->transaction_id != session_->transaction_id) {
    return rsp::encode(
        rsp::CancelSessionResponse(rsp::CancelSessionResponseError{.code = kInvalidTransactionId}));
  }
  rsp::CancelSessionResponseOk ok;
  ok.euicc_cancel_session_signed =
      rsp::EuiccCancelSessionSigned{.transaction_id = session_->transaction_id,
                                    .smdp_oid = session_->smdp_oid,
                                    .reason = decoded->reason};
  STATION_ASSIGN_OR_RETURN(ok.euicc_cancel_session_signed_der,
                           rsp::encode(ok.euicc_cancel_session_signed));
  STATION_ASSIGN_OR_RETURN(ok.euicc_cancel_session_signature,
                           sign(ok.euicc_cancel_session_signed_der));
  session_.reset();
  return rsp::encode(rsp::CancelSessionResponse(std::move(ok)));
}

Result<Bytes> Euicc::load_bound_profile_package(ByteView request) {
  if (!session_ || session_->stage < Session::Stage::kPrepared) {
    return malformed("LoadBoundProfilePackage without a prepared download");
  }
  const auto failure = load_step(request);
  if (failure) return finish_installation(failure);
  if (session_->stage != Session::Stage::kComplete) return Bytes();  // more segments to come
  return finish_installation(std::nullopt);
}

std::optional<Euicc::BppFailure> Euicc::load_step(ByteView request) {
  using Stage = Session::Stage;
  Session& s = *session_;
  auto fail = [](BppCommand command, BppError reason) {
    return std::optional<BppFailure>(BppFailure{command, reason});
  };
  // Every piece counts against the lengths the package and its current sequence announced.
  auto consume = [&s](std::size_t size, bool in_sequence) {
    if (size > s.package_left || (in_sequence && size > s.sequence_left)) return false;
    s.package_left -= size;
    if (in_sequence) s.sequence_left -= size;
    return true;
  };
  // A header of `tag` at the start of the piece; `alone` when nothing may follow it.
  auto header_of = [&](const Tag& tag, bool alone) -> std::optional<Header> {
    auto header = read_header(request);
    if (!header.is_ok() || header->tag != tag || (alone && header->size != request.size())) {
      return std::nullopt;
    }
    return *header;
  };

  switch (s.stage) {
    case Stage::kPrepared: {
      auto header = header_of(kBoundProfilePackage, false);
      if (!header || header->length < request.size() - header->size) {
        return fail(BppCommand::kInitialiseSecureChannel, BppError::kScp03tStructureError);
      }
      s.package_left = header->length;
      const ByteView element = request.subspan(header->size);
      consume(element.size(), false);
      return initialise_secure_channel(element);
    }
    case Stage::kConfigureIsdp: {
      auto header = header_of(Tag::context(0, true), false);
      // firstSequenceOf87 holds the one ConfigureISDP segment.
      if (!header || header->length != request.size() - header->size ||
          !consume(request.size(), false)) {
        return fail(BppCommand::kConfigureIsdp, BppError::kScp03tStructureError);
      }
      auto plain = rsp_crypto::unprotect_segment(*s.scp, 0x87, request.subspan(header->size));
      if (!plain.is_ok()) {
        return fail(BppCommand::kConfigureIsdp, plain.status().code() == ErrorCode::kUnauthenticated
                                                    ? BppError::kScp03tSecurityError
                                                    : BppError::kScp03tStructureError);
      }
      auto configure = rsp::decode_configure_isdp_request(plain->view());
      if (!configure.is_ok())
        return fail(BppCommand::kConfigureIsdp, BppError::kIncorrectInputValues);
      if (configure->dp_oid) s.smdp_oid = *configure->dp_oid;
      s.stage = Stage::kMetadataHeader;
      return std::nullopt;
    }
    case Stage::kMetadataHeader: {
      auto header = header_of(Tag::context(1, true), true);
      if (!header || !consume(request.size(), false) || header->length > s.package_left) {
        return fail(BppCommand::kStoreMetadata, BppError::kScp03tStructureError);
      }
      s.sequence_left = header->length;
      s.stage = Stage::kMetadata;
      return std::nullopt;
    }
    case Stage::kMetadata: {
      if (!consume(request.size(), true)) {
        return fail(BppCommand::kStoreMetadata, BppError::kScp03tStructureError);
      }
      auto data = rsp_crypto::verify_mac_segment(*s.scp, 0x88, request);
      if (!data.is_ok()) {
        return fail(BppCommand::kStoreMetadata, data.status().code() == ErrorCode::kUnauthenticated
                                                    ? BppError::kScp03tSecurityError
                                                    : BppError::kScp03tStructureError);
      }
      if (s.metadata.size() + data->size() > rsp::kStoreMetadataRequestLimits.max_bytes) {
        return fail(BppCommand::kStoreMetadata, BppError::kIncorrectInputValues);
      }
      s.metadata.insert(s.metadata.end(), data->begin(), data->end());
      if (s.sequence_left > 0) return std::nullopt;
      auto metadata = rsp::decode_store_metadata_request(s.metadata);
      if (!metadata.is_ok())
        return fail(BppCommand::kStoreMetadata, BppError::kIncorrectInputValues);
      s.store_metadata = std::move(*metadata);
      s.stage = Stage::kAfterMetadata;
      return std::nullopt;
    }
    case Stage::kAfterMetadata:
      if (header_of(Tag::context(2, true), false)) return replace_session_keys(request);
      s.stage = Stage::kProfileHeader;
      [[fallthrough]];
    case Stage::kProfileHeader: {
      auto header = header_of(Tag::context(3, true), true);
      if (!header || !consume(request.size(), false) || header->length != s.package_left ||
          header->length == 0) {
        return fail(BppCommand::kLoadProfileElements, BppError::kScp03tStructureError);
      }
      s.sequence_left = header->length;
      s.stage = Stage::kProfile;
      return std::nullopt;
    }
    case Stage::kProfile: {
      if (!consume(request.size(), true)) {
        return fail(BppCommand::kLoadProfileElements, BppError::kScp03tStructureError);
      }
      auto plain = rsp_crypto::unprotect_segment(*s.scp, 0x86, request);
      if (!plain.is_ok()) {
        return fail(BppCommand::kLoadProfileElements,
                    plain.status().code() == ErrorCode::kUnauthenticated
                        ? BppError::kScp03tSecurityError
                        : BppError::kScp03tStructureError);
      }
      if (s.profile.size() + plain->size() > kMaxProfilePackageBytes) {
        return fail(BppCommand::kLoadProfileElements, BppError::kInsufficientMemory);
      }
      // Reserve once, so growing never leaves a copy of profile data behind unwiped.
      if (s.profile.capacity() < kMaxProfilePackageBytes)
        s.profile.reserve(kMaxProfilePackageBytes);
      s.profile.insert(s.profile.end(), plain->view().begin(), plain->view().end());
      if (s.sequence_left == 0) s.stage = Stage::kComplete;
      return std::nullopt;
    }
    default:
      return fail(BppCommand::kLoadProfileElements, BppError::kUnknownError);
  }
}

std::optional<Euicc::BppFailure> Euicc::initialise_secure_channel(ByteView element) {
  constexpr BppCommand kCommand = BppCommand::kInitialiseSecureChannel;
  Session& s = *session_;
  auto request = rsp::decode_initialise_secure_channel_request(element);
  if (!request.is_ok()) return BppFailure{kCommand, BppError::kIncorrectInputValues};
  if (request->remote_op_id != 1) {
    return BppFailure{kCommand, BppError::kUnsupportedRemoteOperationType};
  }
  if (request->transaction_id != s.transaction_id) {
    return BppFailure{kCommand, BppError::kInvalidTransactionId};
  }
  const auto& crt = request->control_ref_template;
  if (crt.key_type != rsp_crypto::kKeyTypeAes || crt.key_len != rsp_crypto::kKeyLengthAes128) {
    return BppFailure{kCommand, BppError::kUnsupportedCrtValues};
  }
  der::Builder otpk;
  otpk.primitive(Tag::application(73), s.euicc_otpk);
  auto otpk_tlv = std::move(otpk).finish();
  auto dp_pb_key = s.dp_pb.public_key();
  if (!otpk_tlv.is_ok() || !dp_pb_key.is_ok() ||
      !rsp_crypto::verify(*dp_pb_key, concat(request->signed_part, *otpk_tlv), request->smdp_sign)
           .is_ok()) {
    return BppFailure{kCommand, BppError::kInvalidSignature};
  }
  auto smdp_otpk = rsp_crypto::public_key_from_point(s.one_time_key.curve(), request->smdp_otpk);
  if (!smdp_otpk.is_ok()) return BppFailure{kCommand, BppError::kIncorrectInputValues};
  auto shared = rsp_crypto::shared_secret(s.one_time_key, *smdp_otpk);
  auto eid = rsp_crypto::eid_bytes(state_.state().eid);
  if (!shared.is_ok() || !eid.is_ok()) return BppFailure{kCommand, BppError::kUnknownError};
  auto keys = rsp_crypto::derive_session_keys(shared->view(), crt.host_id, *eid);
  if (!keys.is_ok()) return BppFailure{kCommand, BppError::kUnsupportedCrtValues};
  s.scp.emplace(*keys);
  s.one_time_key = EcKey();  // used once: the session keys are all that is needed now
  if (s.smdp_oid.empty()) s.smdp_oid = registered_id(s.dp_pb);
  s.stage = Session::Stage::kConfigureIsdp;
  return std::nullopt;
}

std::optional<Euicc::BppFailure> Euicc::replace_session_keys(ByteView request) {
  constexpr BppCommand kCommand = BppCommand::kReplaceSessionKeys;
  Session& s = *session_;
  auto header = read_header(request);
  if (!header.is_ok() || header->length != request.size() - header->size ||
      request.size() > s.package_left) {
    return BppFailure{kCommand, BppError::kScp03tStructureError};
  }
  s.package_left -= request.size();
  auto plain = rsp_crypto::unprotect_segment(*s.scp, 0x87, request.subspan(header->size));
  if (!plain.is_ok()) {
    return BppFailure{kCommand, plain.status().code() == ErrorCode::kUnauthenticated
                                    ? BppError::kScp03tSecurityError
                                    : BppError::kScp03tStructureError};
  }
  auto replace = rsp::decode_replace_session_keys_request(plain->view());
  if (!replace.is_ok() || replace->initial_mac_chaining_value.size() != rsp_crypto::kAesKeyBytes ||
      replace->ppk_enc.size() != rsp_crypto::kAesKeyBytes ||
      replace->ppk_cmac.size() != rsp_crypto::kAesKeyBytes) {
    return BppFailure{kCommand, BppError::kIncorrectInputValues};
  }
  rsp_crypto::SessionKeys keys;
  std::copy(replace->initial_mac_chaining_value.begin(), replace->initial_mac_chaining_value.end(),
            keys.initial_mac_chaining_value.begin());
  std::copy(replace->ppk_enc.begin(), replace->ppk_enc.end(), keys.s_enc.begin());
  std::copy(replace->ppk_cmac.begin(), replace->ppk_cmac.end(), keys.s_mac.begin());
  OPENSSL_cleanse(replace->ppk_enc.data(), replace->ppk_enc.size());
  OPENSSL_cleanse(replace->ppk_cmac.data(), replace->ppk_cmac.size());
  s.scp.emplace(keys);
  s.stage = Session::Stage::kProfileHeader;
  return std::nullopt;
}

namespace {

// The ISD-P AID of the n-th profile installed: the SGP.22 examples' A0000005591010FFFFFFFF8900
// prefix, then 00 n 00 (unique on this card; n counts up, never reused).
der::Bytes isdp_aid(std::uint32_t n) {
  der::Bytes aid = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00};
  aid.push_back(static_cast<std::uint8_t>(n >> 16));
  aid.push_back(static_cast<std::uint8_t>(n >> 8));
  aid.push_back(static_cast<std::uint8_t>(n));
  return aid;
}

std::uint64_t event_bit(NotificationEvent event) {
  return std::uint64_t{1} << static_cast<unsigned>(event);
}

std::string secret_context(std::string_view iccid, std::string_view field) {
  return fmt::format("profile:{}:{}", iccid, field);
}

// simaResponse of a successful installation: EUICCResponse { peStatus { status ok } }.
const der::Bytes kSimaResponseOk = {0x30, 0x07, 0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00};

}  // namespace

Result<Bytes> Euicc::finish_installation(std::optional<BppFailure> failure) {
  std::unique_ptr<Session> session = std::move(session_);  // the session ends here either way
  EuiccState& state = state_.mutable_state();
  std::optional<InstalledProfile> installed;
  if (!failure) {
    installed.emplace();
    failure = install_profile(*session, *installed);
    if (failure) installed.reset();
  }
  std::string iccid;
  if (installed) {
    iccid = installed->iccid;
  } else if (session->store_metadata) {
    if (auto digits = iccid_digits(session->store_metadata->iccid); digits.is_ok()) iccid = *digits;
  }
  rsp::NotificationMetadata metadata{
      .seq_number = state.next_sequence_number,
      .profile_management_operation = event_bit(NotificationEvent::kInstall),
      .notification_address = session->server_address};
  if (session->store_metadata) metadata.iccid = session->store_metadata->iccid;
  rsp::ProfileInstallationResultData data{.transaction_id = session->transaction_id,
                                          .notification_metadata = metadata};
  if (!session->smdp_oid.empty()) data.smdp_oid = session->smdp_oid;
  if (failure) {
    data.final_result =
        rsp::ProfileInstallationError{.bpp_command_id = static_cast<std::int64_t>(failure->command),
                                      .error_reason = static_cast<std::int64_t>(failure->reason)};
  } else {
    data.final_result = rsp::ProfileInstallationSuccess{.aid = installed->isdp_aid,
                                                        .sima_response = kSimaResponseOk};
  }
  STATION_ASSIGN_OR_RETURN(auto data_der, rsp::encode(data));
  STATION_ASSIGN_OR_RETURN(auto signature, sign(data_der));
  rsp::ProfileInstallationResult result;
  result.data_der = std::move(data_der);
  result.euicc_sign_pir = std::move(signature);
  STATION_ASSIGN_OR_RETURN(auto encoded, rsp::encode(result));
  keep_notification(PendingNotification{.sequence_number = state.next_sequence_number++,
                                        .event = NotificationEvent::kInstall,
                                        .iccid = iccid,
                                        .address = session->server_address,
                                        .encoded = encoded});
  if (installed) state.profiles.push_back(std::move(*installed));
  STATION_RETURN_IF_ERROR(state_.save());
  return encoded;
}

std::optional<Euicc::BppFailure> Euicc::install_profile(Session& session,
                                                        InstalledProfile& profile) {
  constexpr BppCommand kCommand = BppCommand::kLoadProfileElements;
  auto contents = read_profile_package(session.profile);
  if (!contents.is_ok()) return BppFailure{kCommand, BppError::kPeProcessingError};
  auto metadata_iccid = iccid_digits(session.store_metadata->iccid);
  if (!metadata_iccid.is_ok() || *metadata_iccid != contents->iccid) {
    return BppFailure{kCommand, BppError::kIccidMismatch};
  }
  EuiccState& state = state_.mutable_state();
  for (const auto& installed : state.profiles) {
    if (installed.iccid == contents->iccid)
      return BppFailure{kCommand, BppError::kIccidAlreadyExists};
  }
  if (state.profiles.size() >= kMaxProfiles) {
    return BppFailure{kCommand, BppError::kInsufficientMemory};
  }
  const auto& metadata = *session.store_metadata;
  profile.iccid = contents->iccid;
  profile.isdp_aid = isdp_aid(state.next_isdp_number++);
  profile.service_provider_name = metadata.service_provider_name;
  profile.profile_name = metadata.profile_name;
  profile.profile_class = metadata.profile_class.value_or(2);
  profile.imsi = contents->imsi;
  auto text = [](const rsp_crypto::SecretBytes& bytes) {
    return std::string_view(reinterpret_cast<const char*>(bytes.view().data()), bytes.size());
  };
  profile.sealed_ki =
      state_.keyring().seal(text(contents->ki), secret_context(profile.iccid, "ki"));
  profile.sealed_opc =
      state_.keyring().seal(text(contents->opc), secret_context(profile.iccid, "opc"));
  profile.notification_addresses.emplace_back(NotificationEvent::kInstall, session.server_address);
  for (auto event :
       {NotificationEvent::kEnable, NotificationEvent::kDisable, NotificationEvent::kDelete}) {
    std::string address = session.server_address;
    for (const auto& configuration : metadata.notification_configuration_info.value_or(
             std::vector<rsp::NotificationConfiguration>{})) {
      if ((configuration.profile_management_operation & event_bit(event)) != 0) {
        address = configuration.notification_address;
      }
    }
    profile.notification_addresses.emplace_back(event, address);
  }
  return std::nullopt;
}

InstalledProfile* Euicc::find_profile(const rsp::ProfileIdentifier& id) {
  for (auto& profile : state_.mutable_state().profiles) {
    if (id.kind == rsp::ProfileIdentifier::Kind::kIsdpAid) {
      if (profile.isdp_aid == id.value) return &profile;
    } else if (auto digits = iccid_digits(id.value); digits.is_ok() && *digits == profile.iccid) {
      return &profile;
    }
  }
  return nullptr;
}

Result<Bytes> Euicc::euicc_data(ByteView request) {
  auto decoded = rsp::decode_get_euicc_data_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  if (decoded->tag_list != 0x5A) return malformed("GetEuiccData: only the EID (5A) is known");
  STATION_ASSIGN_OR_RETURN(auto eid, rsp_crypto::eid_bytes(state_.state().eid));
  return rsp::encode(rsp::GetEuiccDataResponse{.eid = std::move(eid)});
}

Result<Bytes> Euicc::profiles_info(ByteView request) {
  auto decoded = rsp::decode_profile_info_list_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  std::vector<rsp::ProfileInfo> infos;
  const InstalledProfile* wanted =
      decoded->search_profile ? find_profile(*decoded->search_profile) : nullptr;
  for (const auto& profile : state_.state().profiles) {
    if (decoded->search_profile && wanted != &profile) continue;
    if (decoded->search_profile_class && *decoded->search_profile_class != profile.profile_class) {
      continue;
    }
    STATION_ASSIGN_OR_RETURN(auto iccid, upp::encode_iccid(profile.iccid));
    infos.push_back(rsp::ProfileInfo{.iccid = std::move(iccid),
                                     .isdp_aid = profile.isdp_aid,
                                     .profile_state = profile.enabled ? 1 : 0,
                                     .service_provider_name = profile.service_provider_name,
                                     .profile_name = profile.profile_name,
                                     .profile_class = profile.profile_class});
  }
  return rsp::encode(rsp::ProfileInfoListResponse(std::move(infos)));
}

namespace {

// Result codes of Enable/Disable/DeleteProfile.
constexpr std::int64_t kProfileOk = 0;
constexpr std::int64_t kProfileNotFound = 1;
constexpr std::int64_t kProfileWrongState = 2;

}  // namespace

Result<Bytes> Euicc::enable_profile(ByteView request) {
  auto decoded = rsp::decode_enable_profile_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  InstalledProfile* profile = find_profile(decoded->profile);
  if (profile == nullptr) return rsp::encode(rsp::EnableProfileResponse{kProfileNotFound});
  if (profile->enabled) return rsp::encode(rsp::EnableProfileResponse{kProfileWrongState});
  // One profile is enabled at a time: the enabled one is disabled first, and says so.
  for (auto& other : state_.mutable_state().profiles) {
    if (other.enabled) {
      other.enabled = false;
      STATION_RETURN_IF_ERROR(add_notification(other, NotificationEvent::kDisable));
    }
  }
  profile->enabled = true;
  STATION_RETURN_IF_ERROR(add_notification(*profile, NotificationEvent::kEnable));
  STATION_RETURN_IF_ERROR(state_.save());
  return rsp::encode(rsp::EnableProfileResponse{kProfileOk});
}

Result<Bytes> Euicc::disable_profile(ByteView request) {
  auto decoded = rsp::decode_disable_profile_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  InstalledProfile* profile = find_profile(decoded->profile);
  if (profile == nullptr) return rsp::encode(rsp::DisableProfileResponse{kProfileNotFound});
  if (!profile->enabled) return rsp::encode(rsp::DisableProfileResponse{kProfileWrongState});
  profile->enabled = false;
  STATION_RETURN_IF_ERROR(add_notification(*profile, NotificationEvent::kDisable));
  STATION_RETURN_IF_ERROR(state_.save());
  return rsp::encode(rsp::DisableProfileResponse{kProfileOk});
}

Result<Bytes> Euicc::delete_profile(ByteView request) {
  auto decoded = rsp::decode_delete_profile_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  InstalledProfile* profile = find_profile(decoded->profile);
  if (profile == nullptr) return rsp::encode(rsp::DeleteProfileResponse{kProfileNotFound});
  if (profile->enabled) return rsp::encode(rsp::DeleteProfileResponse{kProfileWrongState});
  STATION_RETURN_IF_ERROR(add_notification(*profile, NotificationEvent::kDelete));
  std::erase_if(state_.mutable_state().profiles,
                [&](const InstalledProfile& p) { return &p == profile; });
  STATION_RETURN_IF_ERROR(state_.save());
  return rsp::encode(rsp::DeleteProfileResponse{kProfileOk});
}

Status Euicc::add_notification(const InstalledProfile& profile, NotificationEvent event) {
  EuiccState& state = state_.mutable_state();
  std::string address;
  for (const auto& [configured, where] : profile.notification_addresses) {
    if (configured == event) address = where;
  }
  if (address.empty()) return Status::ok();  // nobody asked to be told
  STATION_ASSIGN_OR_RETURN(auto iccid, upp::encode_iccid(profile.iccid));
  rsp::NotificationMetadata metadata{.seq_number = state.next_sequence_number,
                                     .profile_management_operation = event_bit(event),
                                     .notification_address = address,
                                     .iccid = iccid};
  STATION_ASSIGN_OR_RETURN(auto metadata_der, rsp::encode(metadata));
  STATION_ASSIGN_OR_RETURN(auto signature, sign(metadata_der));
  rsp::OtherSignedNotification notification;
  notification.tbs_other_notification_der = std::move(metadata_der);
  notification.euicc_notification_signature = std::move(signature);
  notification.euicc_certificate = state.euicc_certificate;
  notification.eum_certificate = state.eum_certificate;
  STATION_ASSIGN_OR_RETURN(auto encoded,
                           rsp::encode(rsp::PendingNotification(std::move(notification))));
  keep_notification(PendingNotification{.sequence_number = state.next_sequence_number++,
                                        .event = event,
                                        .iccid = profile.iccid,
                                        .address = address,
                                        .encoded = std::move(encoded)});
  return Status::ok();
}

void Euicc::keep_notification(PendingNotification notification) {
  auto& notifications = state_.mutable_state().notifications;
  // A bounded list: the oldest gives way, as a card's full notification store would.
  if (notifications.size() >= kMaxPendingNotifications) notifications.erase(notifications.begin());
  notifications.push_back(std::move(notification));
}

Result<Bytes> Euicc::list_notification(ByteView request) {
  auto decoded = rsp::decode_list_notification_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  std::vector<rsp::NotificationMetadata> list;
  for (const auto& notification : state_.state().notifications) {
    if (decoded->profile_management_operation &&
        (*decoded->profile_management_operation & event_bit(notification.event)) == 0) {
      continue;
    }
    rsp::NotificationMetadata metadata{
        .seq_number = notification.sequence_number,
        .profile_management_operation = event_bit(notification.event),
        .notification_address = notification.address};
    if (!notification.iccid.empty()) {
      STATION_ASSIGN_OR_RETURN(metadata.iccid, upp::encode_iccid(notification.iccid));
    }
    list.push_back(std::move(metadata));
  }
  return rsp::encode(rsp::ListNotificationResponse(std::move(list)));
}

Result<Bytes> Euicc::retrieve_notifications_list(ByteView request) {
  auto decoded = rsp::decode_retrieve_notifications_list_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  std::vector<Bytes> list;
  for (const auto& notification : state_.state().notifications) {
    if (decoded->seq_number && notification.sequence_number != *decoded->seq_number) continue;
    if (decoded->profile_management_operation &&
        (*decoded->profile_management_operation & event_bit(notification.event)) == 0) {
      continue;
    }
    list.push_back(notification.encoded);
  }
  // SGP.22: a search that finds nothing answers noResultAvailable.
  if (list.empty() && (decoded->seq_number || decoded->profile_management_operation)) {
    return rsp::encode(
        rsp::RetrieveNotificationsListResponse(rsp::RetrieveNotificationsListError{.code = 1}));
  }
  return rsp::encode(rsp::RetrieveNotificationsListResponse(std::move(list)));
}

Result<Bytes> Euicc::remove_notification(ByteView request) {
  auto decoded = rsp::decode_notification_sent_request(request);
  if (!decoded.is_ok()) return malformed(decoded.status().message());
  const auto removed = std::erase_if(
      state_.mutable_state().notifications,
      [&](const PendingNotification& n) { return n.sequence_number == decoded->seq_number; });
  constexpr std::int64_t kOk = 0, kNothingToDelete = 1;
  if (removed == 0) return rsp::encode(rsp::NotificationSentResponse{kNothingToDelete});
  STATION_RETURN_IF_ERROR(state_.save());
  return rsp::encode(rsp::NotificationSentResponse{kOk});
}

}  // namespace station::euicc
