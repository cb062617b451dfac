#include "lpa/lpa.h"

#include <openssl/evp.h>

#include <fmt/format.h>

#include "der/rsp.h"
#include "euicc/profile_package.h"
#include "lpa/es9_client.h"
#include "rsp_crypto/rsp_crypto.h"
#include "upp/upp.h"

namespace station::lpa {
namespace {

namespace rsp = der::rsp;
using der::Tag;

constexpr der::Limits kAnswerLimits{
    .max_bytes = kMaxEs10AnswerBytes, .max_elements = 4096, .max_depth = 16};

Status invalid(std::string message) {
  return Status(ErrorCode::kValidationFailed, std::move(message));
}

// GetEuiccInfo1Request ::= [32] SEQUENCE {}: no fields, so no codec.
const Bytes kGetEuiccInfo1Request = {0xBF, 0x20, 0x00};

// The contents of a TLV that must carry `tag` (e.g. the 5F37 signature objects of ES9+).
Result<Bytes> contents_of(der::ByteView tlv, const Tag& tag, std::string_view what) {
  auto element = der::parse(tlv, der::Limits{.max_bytes = 4096, .max_elements = 4, .max_depth = 2});
  if (!element.is_ok() || element->tag() != tag) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("{} is not a {} TLV", what, tag.to_string()));
  }
  return Bytes(element->value().begin(), element->value().end());
}

Result<Bytes> sha256(der::ByteView data) {
  Bytes digest(EVP_MAX_MD_SIZE);
  unsigned size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    return Status(ErrorCode::kInternal, "SHA-256 failed");
  }
  digest.resize(size);
  return digest;
}

// SGP.22 hashCc: SHA-256(SHA-256(confirmation code) || transactionId).
Result<Bytes> hash_confirmation_code(std::string_view code, der::ByteView transaction_id) {
  STATION_ASSIGN_OR_RETURN(auto inner, sha256(rsp_crypto::as_bytes(code)));
  inner.insert(inner.end(), transaction_id.begin(), transaction_id.end());
  return sha256(inner);
}

std::string_view authenticate_error_name(std::int64_t code) {
  switch (code) {
    case 1:
      return "invalidCertificate";
    case 2:
      return "invalidSignature";
    case 3:
      return "unsupportedCurve";
    case 4:
      return "noSessionContext";
    case 5:
      return "invalidOid";
    case 6:
      return "euiccChallengeMismatch";
    case 7:
      return "ciPKUnknown";
    default:
      return "undefinedError";
  }
}

std::string_view download_error_name(std::int64_t code) {
  switch (code) {
    case 1:
      return "invalidCertificate";
    case 2:
      return "invalidSignature";
    case 3:
      return "unsupportedCurve";
    case 4:
      return "noSessionContext";
    case 5:
      return "invalidTransactionId";
    default:
      return "undefinedError";
  }
}

Status remove_notification(Es10Channel& channel, std::int64_t sequence_number) {
  STATION_ASSIGN_OR_RETURN(
      auto request, rsp::encode(rsp::NotificationSentRequest{.seq_number = sequence_number}));
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request));
  STATION_ASSIGN_OR_RETURN(auto removed, rsp::decode_notification_sent_response(answer));
  if (removed.delete_notification_status != 0) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("the card has no notification {} to remove", sequence_number));
  }
  return Status::ok();
}

// The one pending notification with that sequence number (RetrieveNotificationsList).
Result<Bytes> retrieve_notification(Es10Channel& channel, std::int64_t sequence_number) {
  STATION_ASSIGN_OR_RETURN(
      auto request,
      rsp::encode(rsp::RetrieveNotificationsListRequest{.seq_number = sequence_number}));
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request));
  auto decoded = rsp::decode_retrieve_notifications_list_response(answer);
  if (!decoded.is_ok()) return decoded.status();
  const auto* list = std::get_if<std::vector<Bytes>>(&*decoded);
  if (list == nullptr || list->size() != 1) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("the card no longer holds notification {}", sequence_number));
  }
  return list->front();
}

// The card refused `what` with `code`: the cause the user is told. `relayed` is the SM-DP+'s
// answer to the card's error answer, a failure status that adds nothing to the card's cause.
Status card_refused(const Status& relayed, std::string_view what, std::string_view name,
                    std::int64_t code) {
  relayed.ignore();
  return Status(ErrorCode::kUnauthenticated,
                fmt::format("the eUICC refused {}: {} ({})", what, name, code));
}

// CancelSessionReason (SGP.22 ES10b CancelSession).
constexpr std::int64_t kCancelEndUserRejection = 0;
constexpr std::int64_t kCancelPostponed = 1;

// ES10b CancelSession on the card, then ES9+ cancelSession with the card's signed answer.
Status cancel_session(Es10Channel& channel, Es9Client& es9, const std::string& transaction_id,
                      std::int64_t reason) {
  STATION_ASSIGN_OR_RETURN(auto transaction, rsp_crypto::from_hex(transaction_id));
  STATION_ASSIGN_OR_RETURN(auto request, rsp::encode(rsp::CancelSessionRequest{
                                             .transaction_id = transaction, .reason = reason}));
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request));
  STATION_ASSIGN_OR_RETURN(auto decoded, rsp::decode_cancel_session_response(answer));
  if (auto* error = std::get_if<rsp::CancelSessionResponseError>(&decoded)) {
    return Status(ErrorCode::kConflict,
                  fmt::format("the card refused CancelSession: {}", error->code));
  }
  return es9.cancel_session(transaction_id, answer);
}

struct PreparedDownload {
  std::string iccid;
  Bytes answer;  // the card's PrepareDownloadResponse, ok or error
};

// Between authenticateClient and getBoundProfilePackage: the profile's metadata, the hashed
// confirmation code, and ES10b PrepareDownload. kValidationFailed when the SM-DP+ asks for a
// code the user did not give.
Result<PreparedDownload> prepare_download(Es10Channel& channel,
                                          const AuthenticateClientResult& client,
                                          const std::optional<std::string>& confirmation_code,
                                          const Progress& progress) {
  STATION_ASSIGN_OR_RETURN(auto metadata,
                           rsp::decode_store_metadata_request(client.profile_metadata));
  PreparedDownload prepared;
  STATION_ASSIGN_OR_RETURN(prepared.iccid, euicc::iccid_digits(metadata.iccid));
  progress(fmt::format("authenticateClient: profile {} ({}, {})", prepared.iccid,
                       metadata.service_provider_name, metadata.profile_name));
  rsp::PrepareDownloadRequest prepare;
  STATION_ASSIGN_OR_RETURN(prepare.smdp_signed2, rsp::decode_smdp_signed2(client.smdp_signed2));
  prepare.smdp_signed2_der = client.smdp_signed2;
  STATION_ASSIGN_OR_RETURN(
      prepare.smdp_signature2,
      contents_of(client.smdp_signature2, Tag::application(55), "smdpSignature2"));
  prepare.smdp_certificate = client.smdp_certificate;
  if (prepare.smdp_signed2.cc_required) {
    if (!confirmation_code) {
      return invalid("the SM-DP+ asks for a confirmation code (--cc)");
    }
    STATION_ASSIGN_OR_RETURN(
        prepare.hash_cc,
        hash_confirmation_code(*confirmation_code, prepare.smdp_signed2.transaction_id));
  }
  STATION_ASSIGN_OR_RETURN(auto request, rsp::encode(prepare));
  STATION_ASSIGN_OR_RETURN(prepared.answer, channel.call(request));
  return prepared;
}

}  // namespace

Result<std::vector<Bytes>> bound_profile_package_pieces(const Bytes& package) {
  STATION_ASSIGN_OR_RETURN(auto parts, rsp::decode_bound_profile_package(package));
  auto header = [](const Tag& tag, const std::vector<Bytes>& elements) {
    std::size_t length = 0;
    for (const auto& element : elements) length += element.size();
    Bytes out;
    der::append_tag(out, tag);
    der::append_length(out, length);
    return out;
  };
  std::vector<Bytes> pieces;
  // BF36's own header comes from the package as received.
  auto outer = der::parse(package, rsp::kBoundProfilePackageLimits);
  if (!outer.is_ok()) return outer.status();
  Bytes first(package.begin(), package.begin() + static_cast<std::ptrdiff_t>(outer->header_size()));
  first.insert(first.end(), parts.initialise_secure_channel_request.begin(),
               parts.initialise_secure_channel_request.end());
  pieces.push_back(std::move(first));
  auto sequence = [&](const Tag& tag, const std::vector<Bytes>& elements, bool header_alone) {
    Bytes head = header(tag, elements);
    if (header_alone || elements.empty()) {
      pieces.push_back(std::move(head));
      for (const auto& element : elements) pieces.push_back(element);
      return;
    }
    head.insert(head.end(), elements.front().begin(), elements.front().end());
    pieces.push_back(std::move(head));
    for (std::size_t i = 1; i < elements.size(); ++i) pieces.push_back(elements[i]);
  };
  sequence(Tag::context(0, true), parts.first_sequence_of87, false);
  sequence(Tag::context(1, true), parts.sequence_of88, true);
  if (parts.second_sequence_of87)
    sequence(Tag::context(2, true), *parts.second_sequence_of87, false);
  sequence(Tag::context(3, true), parts.sequence_of86, true);
  return pieces;
}

Result<ActivationCode> parse_activation_code(std::string_view text) {
  if (text.size() > kMaxActivationCodeBytes) return invalid("activation code too long");
  if (!text.starts_with("LPA:1$")) return invalid("an activation code starts with LPA:1$");
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(6);
  while (true) {
    const std::size_t dollar = rest.find('$');
    fields.push_back(rest.substr(0, dollar));
    if (dollar == std::string_view::npos) break;
    rest.remove_prefix(dollar + 1);
  }
  if (fields.size() < 2 || fields.size() > 4) {
    return invalid("an activation code is LPA:1$address$matchingId[$oid[$1]]");
  }
  ActivationCode code;
  code.smdp_address = std::string(fields[0]);
  code.matching_id = std::string(fields[1]);
  if (fields.size() >= 3) code.smdp_oid = std::string(fields[2]);
  if (fields.size() == 4) {
    if (fields[3] != "1") return invalid("the confirmation code flag is 1 or absent");
    code.confirmation_code_required = true;
  }
  STATION_ASSIGN_OR_RETURN(auto url, http::parse_url("https://" + code.smdp_address + "/"));
  (void)url;
  for (char c : code.matching_id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return invalid("a Matching ID holds letters, digits and '-' only");
    }
  }
  return code;
}

Result<DownloadOutcome> download_profile(ApduTransport& card, const http::Client& http,
                                         const DownloadRequest& request, const Progress& progress) {
  STATION_ASSIGN_OR_RETURN(auto code, parse_activation_code(request.activation_code));
  if (request.confirmation_code && request.confirmation_code->size() > kMaxConfirmationCodeBytes) {
    return invalid("confirmation code too long");
  }
  progress(fmt::format("activation code: SM-DP+ {}, Matching ID {}", code.smdp_address,
                       code.matching_id));
  STATION_ASSIGN_OR_RETURN(auto channel, Es10Channel::open(card));
  STATION_ASSIGN_OR_RETURN(auto info1, channel.call(kGetEuiccInfo1Request));
  STATION_ASSIGN_OR_RETURN(auto challenge_request, rsp::encode(rsp::GetEuiccChallengeRequest{}));
  STATION_ASSIGN_OR_RETURN(auto challenge_answer, channel.call(challenge_request));
  STATION_ASSIGN_OR_RETURN(auto challenge,
                           rsp::decode_get_euicc_challenge_response(challenge_answer));
  const Bytes& euicc_challenge = challenge.euicc_challenge;
  progress("eUICC: info and challenge read");

  Es9Client es9(http, code.smdp_address);
  STATION_ASSIGN_OR_RETURN(auto initiated, es9.initiate_authentication(euicc_challenge, info1));
  STATION_ASSIGN_OR_RETURN(auto server_signed1,
                           rsp::decode_server_signed1(initiated.server_signed1));
  if (server_signed1.server_address != code.smdp_address) {
    return Status(ErrorCode::kUnauthenticated,
                  fmt::format("the SM-DP+ signed for address '{}', not '{}'",
                              server_signed1.server_address, code.smdp_address));
  }
  progress(fmt::format("initiateAuthentication: transaction {}", initiated.transaction_id));

  rsp::AuthenticateServerRequest authenticate;
  authenticate.server_signed1 = server_signed1;
  authenticate.server_signed1_der = initiated.server_signed1;
  STATION_ASSIGN_OR_RETURN(
      authenticate.server_signature1,
      contents_of(initiated.server_signature1, Tag::application(55), "serverSignature1"));
  STATION_ASSIGN_OR_RETURN(
      authenticate.euicc_ci_pkid_to_be_used,
      contents_of(initiated.euicc_ci_pkid_to_be_used, der::kOctetString, "euiccCiPKIdToBeUsed"));
  authenticate.server_certificate = initiated.server_certificate;
  authenticate.ctx_params1.matching_id = code.matching_id;
  authenticate.ctx_params1.device_info.tac = request.tac;
  STATION_ASSIGN_OR_RETURN(auto authenticate_request, rsp::encode(authenticate));
  STATION_ASSIGN_OR_RETURN(auto authenticate_answer, channel.call(authenticate_request));
  STATION_ASSIGN_OR_RETURN(auto authenticated,
                           rsp::decode_authenticate_server_response(authenticate_answer));
  if (auto* error = std::get_if<rsp::AuthenticateResponseError>(&authenticated)) {
    // The SM-DP+ learns of the refusal as SGP.22 wants, in authenticateClient, and ends its
    // session; its answer (a failure status) adds nothing to the card's cause.
    return card_refused(
        es9.authenticate_client(initiated.transaction_id, authenticate_answer).status(),
        "the SM-DP+", authenticate_error_name(error->code), error->code);
  }
  progress("AuthenticateServer: the eUICC verified the SM-DP+");

  STATION_ASSIGN_OR_RETURN(auto client,
                           es9.authenticate_client(initiated.transaction_id, authenticate_answer));
  auto prepared = prepare_download(channel, client, request.confirmation_code, progress);
  if (!prepared.is_ok()) {
    // The LPA gives up on a session that the SM-DP+ and the card both hold: the card signs the
    // cancellation and the SM-DP+ frees the order (SGP.22 3.1.3, common cancel session).
    const std::int64_t reason = prepared.status().code() == ErrorCode::kValidationFailed
                                    ? kCancelEndUserRejection
                                    : kCancelPostponed;
    Status cancelled = cancel_session(channel, es9, initiated.transaction_id, reason);
    progress(cancelled.is_ok() ? "CancelSession: the session is cancelled on both sides"
                               : "CancelSession failed: " + cancelled.to_string());
    return prepared.status();
  }
  const std::string& iccid = prepared->iccid;
  const Bytes& prepare_answer = prepared->answer;
  STATION_ASSIGN_OR_RETURN(auto prepare_decoded,
                           rsp::decode_prepare_download_response(prepare_answer));
  if (auto* error = std::get_if<rsp::PrepareDownloadResponseError>(&prepare_decoded)) {
    // As for AuthenticateServer: the refusal goes to the SM-DP+, which ends its session.
    return card_refused(
        es9.get_bound_profile_package(initiated.transaction_id, prepare_answer).status(),
        "the download", download_error_name(error->code), error->code);
  }
  progress("PrepareDownload: one-time key generated and signed");

  STATION_ASSIGN_OR_RETURN(auto package,
                           es9.get_bound_profile_package(initiated.transaction_id, prepare_answer));
  STATION_ASSIGN_OR_RETURN(auto pieces, bound_profile_package_pieces(package));
  progress(
      fmt::format("getBoundProfilePackage: {} bytes in {} pieces", package.size(), pieces.size()));

  Bytes result;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    STATION_ASSIGN_OR_RETURN(result, channel.call(pieces[i]));
    if (!result.empty()) {
      if (i + 1 != pieces.size()) break;  // the card stopped early: an error result
    } else if (i + 1 == pieces.size()) {
      return Status(ErrorCode::kMalformedRequest, "the card gave no ProfileInstallationResult");
    }
  }
  STATION_ASSIGN_OR_RETURN(auto installation, rsp::decode_profile_installation_result(result));
  const auto& data = installation.data;
  const std::int64_t sequence_number = data.notification_metadata.seq_number;
  if (auto* error = std::get_if<rsp::ProfileInstallationError>(&data.final_result)) {
    // The SM-DP+ is told of the failure too, as SGP.22 wants.
    if (es9.handle_notification(result).is_ok()) {
      remove_notification(channel, sequence_number).ignore();
    }
    return invalid(fmt::format("the eUICC refused the profile package: command {}, reason {}",
                               error->bpp_command_id, error->error_reason));
  }
  progress(fmt::format("LoadBoundProfilePackage: profile {} installed", iccid));

  DownloadOutcome outcome{.iccid = iccid, .transaction_id = initiated.transaction_id};
  STATION_RETURN_IF_ERROR(es9.handle_notification(result));
  STATION_RETURN_IF_ERROR(remove_notification(channel, sequence_number));
  outcome.notification_delivered = true;
  progress("handleNotification: installation reported to the SM-DP+");
  return outcome;
}

Result<std::vector<ProfileSummary>> list_profiles(ApduTransport& card) {
  STATION_ASSIGN_OR_RETURN(auto channel, Es10Channel::open(card));
  STATION_ASSIGN_OR_RETURN(auto request, rsp::encode(rsp::ProfileInfoListRequest{}));
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request));
  STATION_ASSIGN_OR_RETURN(auto decoded, rsp::decode_profile_info_list_response(answer));
  if (auto* error = std::get_if<rsp::ProfileInfoListError>(&decoded)) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("the card refused GetProfilesInfo: {}", error->code));
  }
  std::vector<ProfileSummary> profiles;
  for (const auto& info : std::get<std::vector<rsp::ProfileInfo>>(decoded)) {
    ProfileSummary summary;
    if (info.iccid) {
      STATION_ASSIGN_OR_RETURN(summary.iccid, euicc::iccid_digits(*info.iccid));
    }
    if (info.isdp_aid) summary.isdp_aid = rsp_crypto::to_hex(*info.isdp_aid);
    summary.state = info.profile_state.value_or(0) == 1 ? "enabled" : "disabled";
    summary.service_provider_name = info.service_provider_name.value_or("");
    summary.profile_name = info.profile_name.value_or("");
    summary.profile_class = info.profile_class;
    profiles.push_back(std::move(summary));
  }
  return profiles;
}

namespace {

// What Enable/Disable/DeleteProfile's result code means for the LPA's caller.
Status profile_result(std::int64_t code, std::string_view function, std::string_view iccid,
                      std::string_view needed_state) {
  switch (code) {
    case 0:
      return Status::ok();
    case 1:
      return Status(ErrorCode::kNotFound, fmt::format("no profile {} on the eUICC", iccid));
    case 2:
      return Status(ErrorCode::kConflict,
                    fmt::format("{}: profile {} is not {}", function, iccid, needed_state));
    default:
      return Status(ErrorCode::kConflict, fmt::format("{} refused: {}", function, code));
  }
}

Result<rsp::ProfileIdentifier> iccid_identifier(std::string_view iccid) {
  STATION_ASSIGN_OR_RETURN(auto bcd, upp::encode_iccid(iccid));
  return rsp::ProfileIdentifier{.kind = rsp::ProfileIdentifier::Kind::kIccid, .value = bcd};
}

// One ES10c profile operation (Enable/Disable/DeleteProfile): the request for `iccid` sent to the
// ISD-R, its answer decoded by `decode` and read by profile_result.
template <typename Request, typename Decode>
Status change_profile(ApduTransport& card, std::string_view iccid, Decode decode,
                      std::string_view function, std::string_view needed_state) {
  STATION_ASSIGN_OR_RETURN(auto profile, iccid_identifier(iccid));
  STATION_ASSIGN_OR_RETURN(auto request, rsp::encode(Request{.profile = profile}));
  STATION_ASSIGN_OR_RETURN(auto channel, Es10Channel::open(card));
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request));
  STATION_ASSIGN_OR_RETURN(auto result, decode(answer));
  return profile_result(result.result, function, iccid, needed_state);
}

}  // namespace

// refreshFlag false: a virtual card has no device to REFRESH.
Status enable_profile(ApduTransport& card, std::string_view iccid) {
  return change_profile<rsp::EnableProfileRequest>(
      card, iccid, [](der::ByteView bytes) { return rsp::decode_enable_profile_response(bytes); },
      "EnableProfile", "disabled");
}

Status disable_profile(ApduTransport& card, std::string_view iccid) {
  return change_profile<rsp::DisableProfileRequest>(
      card, iccid, [](der::ByteView bytes) { return rsp::decode_disable_profile_response(bytes); },
      "DisableProfile", "enabled");
}

Status delete_profile(ApduTransport& card, std::string_view iccid) {
  return change_profile<rsp::DeleteProfileRequest>(
      card, iccid, [](der::ByteView bytes) { return rsp::decode_delete_profile_response(bytes); },
      "DeleteProfile", "disabled");
}

Result<std::vector<NotificationDelivery>> process_notifications(ApduTransport& card,
                                                                const http::Client& http,
                                                                const Progress& progress) {
  STATION_ASSIGN_OR_RETURN(auto channel, Es10Channel::open(card));
  STATION_ASSIGN_OR_RETURN(auto list_request, rsp::encode(rsp::ListNotificationRequest{}));
  STATION_ASSIGN_OR_RETURN(auto list_answer, channel.call(list_request));
  STATION_ASSIGN_OR_RETURN(auto listed, rsp::decode_list_notification_response(list_answer));
  if (auto* error = std::get_if<rsp::ListNotificationError>(&listed)) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("the card refused ListNotification: {}", error->code));
  }
  std::vector<NotificationDelivery> deliveries;
  for (const auto& metadata : std::get<std::vector<rsp::NotificationMetadata>>(listed)) {
    if (deliveries.size() >= kMaxNotificationsPerRun) break;
    NotificationDelivery delivery{.sequence_number = metadata.seq_number,
                                  .address = metadata.notification_address};
    for (auto [bit, name] : {std::pair{rsp::kNotificationInstall, "install"},
                             std::pair{rsp::kNotificationEnable, "enable"},
                             std::pair{rsp::kNotificationDisable, "disable"},
                             std::pair{rsp::kNotificationDelete, "delete"}}) {
      if (metadata.profile_management_operation & bit) delivery.event = name;
    }
    auto pending = retrieve_notification(channel, metadata.seq_number);
    delivery.status = pending.status();
    if (pending.is_ok()) {
      Es9Client es9(http, metadata.notification_address);
      delivery.status = es9.handle_notification(*pending);
      if (delivery.status.is_ok())
        delivery.status = remove_notification(channel, metadata.seq_number);
    }
    progress(fmt::format("notification {} ({}) to {}: {}", delivery.sequence_number, delivery.event,
                         delivery.address,
                         delivery.status.is_ok() ? "delivered" : delivery.status.to_string()));
    deliveries.push_back(std::move(delivery));
  }
  return deliveries;
}

}  // namespace station::lpa
