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

Bytes request_of(const Tag& tag) {
  Bytes out;
  der::append_tag(out, tag);
  der::append_length(out, 0);
  return out;
}

// The contents of a TLV that must carry `tag` (e.g. the 5F37 signature objects of ES9+).
Result<Bytes> contents_of(der::ByteView tlv, const Tag& tag, std::string_view what) {
  auto element = der::parse(tlv, der::Limits{.max_bytes = 4096, .max_elements = 4, .max_depth = 2});
  if (!element.is_ok() || element->tag() != tag) {
    return Status(ErrorCode::kMalformedRequest, fmt::format("{} is not a {} TLV", what, tag.to_string()));
  }
  return Bytes(element->value().begin(), element->value().end());
}

// An ES10 answer parsed, with the tag it must carry.
Result<der::Element> answer_of(const Bytes& answer, const Tag& tag, std::string_view function) {
  auto element = der::parse(answer, kAnswerLimits);
  if (!element.is_ok() || element->tag() != tag) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("the card's {} answer is malformed", function));
  }
  return *element;
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
    case 1: return "invalidCertificate";
    case 2: return "invalidSignature";
    case 3: return "unsupportedCurve";
    case 4: return "noSessionContext";
    case 5: return "invalidOid";
    case 6: return "euiccChallengeMismatch";
    case 7: return "ciPKUnknown";
    default: return "undefinedError";
  }
}

std::string_view download_error_name(std::int64_t code) {
  switch (code) {
    case 1: return "invalidCertificate";
    case 2: return "invalidSignature";
    case 3: return "unsupportedCurve";
    case 4: return "noSessionContext";
    case 5: return "invalidTransactionId";
    default: return "undefinedError";
  }
}

Status remove_notification(Es10Channel& channel, std::int64_t sequence_number) {
  der::Builder builder;
  builder.begin(Tag::context(48, true)).integer(Tag::context(0), sequence_number).end();
  STATION_ASSIGN_OR_RETURN(auto request, std::move(builder).finish());
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request));
  STATION_ASSIGN_OR_RETURN(auto element, answer_of(answer, Tag::context(48, true),
                                                   "RemoveNotificationFromList"));
  der::Cursor cursor(element);
  STATION_ASSIGN_OR_RETURN(auto status, cursor.required(Tag::context(0), "deleteNotificationStatus"));
  STATION_ASSIGN_OR_RETURN(auto code, status.as_integer());
  if (code != 0) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("the card has no notification {} to remove", sequence_number));
  }
  return Status::ok();
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
  if (parts.second_sequence_of87) sequence(Tag::context(2, true), *parts.second_sequence_of87, false);
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
  STATION_ASSIGN_OR_RETURN(auto info1, channel.call(request_of(Tag::context(32, true))));
  STATION_ASSIGN_OR_RETURN(auto challenge_answer, channel.call(request_of(Tag::context(46, true))));
  STATION_ASSIGN_OR_RETURN(auto challenge_element,
                           answer_of(challenge_answer, Tag::context(46, true), "GetEUICCChallenge"));
  der::Cursor challenge_cursor(challenge_element);
  STATION_ASSIGN_OR_RETURN(auto challenge, challenge_cursor.required(Tag::context(0), "euiccChallenge"));
  const Bytes euicc_challenge(challenge.value().begin(), challenge.value().end());
  progress("eUICC: info and challenge read");

  Es9Client es9(http, code.smdp_address);
  STATION_ASSIGN_OR_RETURN(auto initiated, es9.initiate_authentication(euicc_challenge, info1));
  STATION_ASSIGN_OR_RETURN(auto server_signed1, rsp::decode_server_signed1(initiated.server_signed1));
  if (server_signed1.server_address != code.smdp_address) {
    return Status(ErrorCode::kUnauthenticated,
                  fmt::format("the SM-DP+ signed for address '{}', not '{}'",
                              server_signed1.server_address, code.smdp_address));
  }
  progress(fmt::format("initiateAuthentication: transaction {}", initiated.transaction_id));

  rsp::AuthenticateServerRequest authenticate;
  authenticate.server_signed1 = server_signed1;
  authenticate.server_signed1_der = initiated.server_signed1;
  STATION_ASSIGN_OR_RETURN(authenticate.server_signature1,
                           contents_of(initiated.server_signature1, Tag::application(55),
                                       "serverSignature1"));
  STATION_ASSIGN_OR_RETURN(authenticate.euicc_ci_pkid_to_be_used,
                           contents_of(initiated.euicc_ci_pkid_to_be_used, der::kOctetString,
                                       "euiccCiPKIdToBeUsed"));
  authenticate.server_certificate = initiated.server_certificate;
  authenticate.ctx_params1.matching_id = code.matching_id;
  authenticate.ctx_params1.device_info.tac = request.tac;
  STATION_ASSIGN_OR_RETURN(auto authenticate_request, rsp::encode(authenticate));
  STATION_ASSIGN_OR_RETURN(auto authenticate_answer, channel.call(authenticate_request));
  STATION_ASSIGN_OR_RETURN(auto authenticated,
                           rsp::decode_authenticate_server_response(authenticate_answer));
  if (auto* error = std::get_if<rsp::AuthenticateResponseError>(&authenticated)) {
    return Status(ErrorCode::kUnauthenticated,
                  fmt::format("the eUICC refused the SM-DP+: {} ({})",
                              authenticate_error_name(error->code), error->code));
  }
  progress("AuthenticateServer: the eUICC verified the SM-DP+");

  STATION_ASSIGN_OR_RETURN(auto client,
                           es9.authenticate_client(initiated.transaction_id, authenticate_answer));
  STATION_ASSIGN_OR_RETURN(auto metadata, rsp::decode_store_metadata_request(client.profile_metadata));
  STATION_ASSIGN_OR_RETURN(auto iccid, euicc::iccid_digits(metadata.iccid));
  progress(fmt::format("authenticateClient: profile {} ({}, {})", iccid,
                       metadata.service_provider_name, metadata.profile_name));

  rsp::PrepareDownloadRequest prepare;
  STATION_ASSIGN_OR_RETURN(prepare.smdp_signed2, rsp::decode_smdp_signed2(client.smdp_signed2));
  prepare.smdp_signed2_der = client.smdp_signed2;
  STATION_ASSIGN_OR_RETURN(prepare.smdp_signature2,
                           contents_of(client.smdp_signature2, Tag::application(55),
                                       "smdpSignature2"));
  prepare.smdp_certificate = client.smdp_certificate;
  if (prepare.smdp_signed2.cc_required) {
    if (!request.confirmation_code) {
      return invalid("the SM-DP+ asks for a confirmation code (--cc)");
    }
    STATION_ASSIGN_OR_RETURN(prepare.hash_cc,
                             hash_confirmation_code(*request.confirmation_code,
                                                    prepare.smdp_signed2.transaction_id));
  }
  STATION_ASSIGN_OR_RETURN(auto prepare_request, rsp::encode(prepare));
  STATION_ASSIGN_OR_RETURN(auto prepare_answer, channel.call(prepare_request));
  STATION_ASSIGN_OR_RETURN(auto prepared, rsp::decode_prepare_download_response(prepare_answer));
  if (auto* error = std::get_if<rsp::PrepareDownloadResponseError>(&prepared)) {
    return Status(ErrorCode::kUnauthenticated,
                  fmt::format("the eUICC refused the download: {} ({})",
                              download_error_name(error->code), error->code));
  }
  progress("PrepareDownload: one-time key generated and signed");

  STATION_ASSIGN_OR_RETURN(auto package,
                           es9.get_bound_profile_package(initiated.transaction_id, prepare_answer));
  STATION_ASSIGN_OR_RETURN(auto pieces, bound_profile_package_pieces(package));
  progress(fmt::format("getBoundProfilePackage: {} bytes in {} pieces", package.size(),
                       pieces.size()));

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
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request_of(Tag::context(45, true))));
  STATION_ASSIGN_OR_RETURN(auto element, answer_of(answer, Tag::context(45, true), "GetProfilesInfo"));
  der::Cursor cursor(element);
  STATION_ASSIGN_OR_RETURN(auto list, cursor.required(Tag::context(0, true), "profileInfoListOk"));
  std::vector<ProfileSummary> profiles;
  for (const der::Element& info : list.children()) {
    if (info.tag() != Tag::private_use(3, true)) continue;
    ProfileSummary summary;
    for (const der::Element& field : info.children()) {
      if (field.tag() == Tag::application(26)) {
        STATION_ASSIGN_OR_RETURN(summary.iccid, euicc::iccid_digits(field.value()));
      } else if (field.tag() == Tag::application(15)) {
        summary.isdp_aid = rsp_crypto::to_hex(field.value());
      } else if (field.tag() == Tag::context(112)) {
        STATION_ASSIGN_OR_RETURN(auto state, field.as_integer());
        summary.state = state == 1 ? "enabled" : "disabled";
      } else if (field.tag() == Tag::context(17)) {
        STATION_ASSIGN_OR_RETURN(summary.service_provider_name, field.as_utf8());
      } else if (field.tag() == Tag::context(18)) {
        STATION_ASSIGN_OR_RETURN(summary.profile_name, field.as_utf8());
      } else if (field.tag() == Tag::context(21)) {
        STATION_ASSIGN_OR_RETURN(summary.profile_class, field.as_integer());
      }
    }
    profiles.push_back(std::move(summary));
  }
  return profiles;
}

namespace {

// Enable (BF31), Disable (BF32) or Delete (BF33) of the profile with that ICCID.
Status change_profile(ApduTransport& card, std::string_view iccid, const Tag& tag,
                      std::string_view function, std::string_view needed_state) {
  STATION_ASSIGN_OR_RETURN(auto iccid_bcd, upp::encode_iccid(iccid));
  der::Builder builder;
  builder.begin(tag);
  if (tag == Tag::context(51, true)) {
    builder.primitive(Tag::application(26), iccid_bcd);
  } else {
    builder.begin(Tag::context(0, true)).primitive(Tag::application(26), iccid_bcd).end();
    builder.boolean(Tag::context(1), false);  // refreshFlag: no REFRESH of a virtual card
  }
  builder.end();
  STATION_ASSIGN_OR_RETURN(auto request, std::move(builder).finish());
  STATION_ASSIGN_OR_RETURN(auto channel, Es10Channel::open(card));
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request));
  STATION_ASSIGN_OR_RETURN(auto element, answer_of(answer, tag, function));
  der::Cursor cursor(element);
  STATION_ASSIGN_OR_RETURN(auto result, cursor.required(Tag::context(0), "result"));
  STATION_ASSIGN_OR_RETURN(auto code, result.as_integer());
  switch (code) {
    case 0: return Status::ok();
    case 1: return Status(ErrorCode::kNotFound, fmt::format("no profile {} on the eUICC", iccid));
    case 2:
      return Status(ErrorCode::kConflict,
                    fmt::format("{}: profile {} is not {}", function, iccid, needed_state));
    default:
      return Status(ErrorCode::kConflict, fmt::format("{} refused: {}", function, code));
  }
}

}  // namespace

Status enable_profile(ApduTransport& card, std::string_view iccid) {
  return change_profile(card, iccid, Tag::context(49, true), "EnableProfile", "disabled");
}
Status disable_profile(ApduTransport& card, std::string_view iccid) {
  return change_profile(card, iccid, Tag::context(50, true), "DisableProfile", "enabled");
}
Status delete_profile(ApduTransport& card, std::string_view iccid) {
  return change_profile(card, iccid, Tag::context(51, true), "DeleteProfile", "disabled");
}

Result<std::vector<NotificationDelivery>> process_notifications(ApduTransport& card,
                                                                const http::Client& http,
                                                                const Progress& progress) {
  STATION_ASSIGN_OR_RETURN(auto channel, Es10Channel::open(card));
  STATION_ASSIGN_OR_RETURN(auto answer, channel.call(request_of(Tag::context(40, true))));
  STATION_ASSIGN_OR_RETURN(auto element, answer_of(answer, Tag::context(40, true), "ListNotification"));
  der::Cursor cursor(element);
  STATION_ASSIGN_OR_RETURN(auto list, cursor.required(Tag::context(0, true), "notificationMetadataList"));
  std::vector<NotificationDelivery> deliveries;
  for (const der::Element& entry : list.children()) {
    if (deliveries.size() >= kMaxNotificationsPerRun) break;
    STATION_ASSIGN_OR_RETURN(auto metadata, rsp::decode_notification_metadata(entry.encoded()));
    NotificationDelivery delivery{.sequence_number = metadata.seq_number,
                                  .address = metadata.notification_address};
    for (auto [bit, name] : {std::pair{rsp::kNotificationInstall, "install"},
                             std::pair{rsp::kNotificationEnable, "enable"},
                             std::pair{rsp::kNotificationDisable, "disable"},
                             std::pair{rsp::kNotificationDelete, "delete"}}) {
      if (metadata.profile_management_operation & bit) delivery.event = name;
    }
    // RetrieveNotificationsList for this one: BF2B { A0 { 80 seq } }.
    der::Builder builder;
    builder.begin(Tag::context(43, true))
        .begin(Tag::context(0, true))
        .integer(Tag::context(0), metadata.seq_number)
        .end()
        .end();
    STATION_ASSIGN_OR_RETURN(auto retrieve, std::move(builder).finish());
    STATION_ASSIGN_OR_RETURN(auto retrieved, channel.call(retrieve));
    STATION_ASSIGN_OR_RETURN(auto retrieved_element,
                             answer_of(retrieved, Tag::context(43, true), "RetrieveNotificationsList"));
    der::Cursor retrieved_cursor(retrieved_element);
    STATION_ASSIGN_OR_RETURN(auto notifications,
                             retrieved_cursor.required(Tag::context(0, true), "notificationList"));
    if (notifications.children().size() != 1) {
      delivery.status = Status(ErrorCode::kNotFound, "the card no longer holds it");
    } else {
      const der::Element pending = *notifications.children().begin();
      const Bytes encoded(pending.encoded().begin(), pending.encoded().end());
      Es9Client es9(http, metadata.notification_address);
      delivery.status = es9.handle_notification(encoded);
      if (delivery.status.is_ok()) delivery.status = remove_notification(channel, metadata.seq_number);
    }
    progress(fmt::format("notification {} ({}) to {}: {}", delivery.sequence_number, delivery.event,
                         delivery.address,
                         delivery.status.is_ok() ? "delivered" : delivery.status.to_string()));
    deliveries.push_back(std::move(delivery));
  }
  return deliveries;
}

}  // namespace station::lpa
