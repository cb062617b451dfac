// lpa/lpa: what the Local Profile Assistant does for its user (GSMA SGP.22 section 3): download a
// profile from an SM-DP+ into the eUICC, list and switch the profiles on it, and deliver the
// eUICC's notifications. It reaches the card only through APDUs (card_channel.h) and the SM-DP+
// only over verified HTTPS (es9_client.h).
//
// A download, step by step (SGP.22 3.1.3), each reported through `progress`:
//   1. the activation code  LPA:1$<SM-DP+ address>$<Matching ID>[$<OID>[$<CC required 1>]]
//   2. ES10b GetEUICCInfo1 and GetEUICCChallenge
//   3. ES9+ initiateAuthentication; the LPA checks that serverSigned1 names the address it called
//   4. ES10b AuthenticateServer (the card verifies the SM-DP+); ES9+ authenticateClient
//   5. ES10b PrepareDownload (with hashCc = SHA-256(SHA-256(code) || transactionId) when the
//      SM-DP+ asks for a confirmation code); ES9+ getBoundProfilePackage
//   6. ES10b LoadBoundProfilePackage, one STORE DATA sequence per piece (SGP.22 2.5.5): BF36
//      header + InitialiseSecureChannel, A0 header + '87', A1 header, each '88', [A2 header +
//      '87'], A3 header, each '86'; the card answers the last with ProfileInstallationResult
//   7. ES9+ handleNotification with that result, then ES10b RemoveNotificationFromList.
// A refusal by the SM-DP+ names its subject and reason codes; one by the card names its error
// code. When the card refuses AuthenticateServer or PrepareDownload, its error answer goes to the
// SM-DP+ in the next ES9+ call (authenticateClient / getBoundProfilePackage carry either
// choice), which ends the session there: the card has no session left to sign a cancellation.
// When the LPA itself gives up between authenticateClient and getBoundProfilePackage (no
// confirmation code given, unreadable metadata), it cancels on both sides: ES10b CancelSession
// (endUserRejection, or postponed), then ES9+ cancelSession with the card's signed answer.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "http/client.h"
#include "lpa/card_channel.h"

namespace station::lpa {

inline constexpr std::size_t kMaxActivationCodeBytes = 255;
inline constexpr std::size_t kMaxConfirmationCodeBytes = 32;
inline constexpr std::size_t kMaxNotificationsPerRun = 64;

struct ActivationCode {
  std::string smdp_address;  // host[:port]
  std::string matching_id;   // may be empty (SGP.22 allows it for default SM-DP+ flows)
  std::string smdp_oid;      // optional
  bool confirmation_code_required = false;
};
// kValidationFailed naming what is wrong.
Result<ActivationCode> parse_activation_code(std::string_view text);

using Progress = std::function<void(std::string_view step)>;

struct DownloadRequest {
  std::string activation_code;
  std::optional<std::string> confirmation_code;
  Bytes tac = {0x35, 0x29, 0x06, 0x11, 0x00, 0x00, 0x00, 0x00};  // DeviceInfo tac (Octet8)
};

struct DownloadOutcome {
  std::string iccid;
  std::string transaction_id;
  bool notification_delivered = false;
};

// Downloads and installs one profile. kConflict when the SM-DP+ refused (its codes in the
// message), kUnauthenticated when the card refused the SM-DP+'s certificates or signatures,
// kValidationFailed when the card refused the package, kUnavailable for transport failures.
Result<DownloadOutcome> download_profile(ApduTransport& card, const http::Client& http,
                                         const DownloadRequest& request, const Progress& progress);

// The pieces in which the LPA hands a Bound Profile Package to the card, one ES10b
// LoadBoundProfilePackage (STORE DATA sequence) each (SGP.22 2.5.5; see step 6 above).
Result<std::vector<Bytes>> bound_profile_package_pieces(const Bytes& package);

struct ProfileSummary {
  std::string iccid;
  std::string state;  // "enabled" or "disabled"
  std::string service_provider_name;
  std::string profile_name;
  std::int64_t profile_class = 2;
  std::string isdp_aid;  // hex
};
Result<std::vector<ProfileSummary>> list_profiles(ApduTransport& card);

// kNotFound for an unknown ICCID, kConflict when the profile is not in the needed state.
Status enable_profile(ApduTransport& card, std::string_view iccid);
Status disable_profile(ApduTransport& card, std::string_view iccid);
Status delete_profile(ApduTransport& card, std::string_view iccid);

struct NotificationDelivery {
  std::int64_t sequence_number = 0;
  std::string event;
  std::string address;
  Status status;
};
// Sends every pending notification to its SM-DP+ and removes those delivered from the card.
Result<std::vector<NotificationDelivery>> process_notifications(ApduTransport& card,
                                                                const http::Client& http,
                                                                const Progress& progress);

}  // namespace station::lpa
