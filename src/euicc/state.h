// euicc/state: what a virtual eUICC keeps between runs, in one JSON file.
//
// The file holds the eUICC's identity (EID, its certificate and its EUM's, the trusted CI
// certificates, its private key), the installed profiles and the pending notifications. It is
// written atomically (a temporary file in the same folder, fsync, rename, fsync of the folder)
// with mode 0600, so a crash leaves the old or the new state, never a mix.
//
// Secrets at rest: the eUICC's private key and each profile's Ki and OPc are sealed with
// AES-256-GCM (secrets::Keyring, bound to their field by the associated data) under a key kept
// in a second file, FILE.key (mode 0600, created with a fresh random key with the state). A copy
// of the state file alone reveals no secret; both files together do, as a card's memory would.
// Nothing else in the file is secret (certificates, ICCID, IMSI, notifications).
//
// Session state (the one-time key, the session keys, a half-loaded package) is never written:
// as on a card, it lives in memory for one download and is gone on reset.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "rsp_crypto/pki.h"
#include "secrets/secrets.h"

namespace station::euicc {

inline constexpr std::size_t kMaxStateFileBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxProfiles = 32;
inline constexpr std::size_t kMaxPendingNotifications = 64;

// SGP.22 NotificationEvent bit numbers.
enum class NotificationEvent : std::uint8_t {
  kInstall = 0,
  kEnable = 1,
  kDisable = 2,
  kDelete = 3
};
std::string_view event_name(NotificationEvent event);

struct InstalledProfile {
  std::string iccid;  // digits, as in the ICCID (19 or 20)
  std::vector<std::uint8_t> isdp_aid;
  bool enabled = false;
  std::string service_provider_name;
  std::string profile_name;
  std::int64_t profile_class = 2;  // test(0), provisioning(1), operational(2)
  std::string imsi;                // digits, from EF_IMSI
  std::string sealed_ki;           // secrets::Keyring::seal, context "profile:<iccid>:ki"
  std::string sealed_opc;          // context "profile:<iccid>:opc"
  // Where notifications of each event go (SGP.22 notificationConfigurationInfo); the SM-DP+
  // that installed the profile for the install notification.
  std::vector<std::pair<NotificationEvent, std::string>> notification_addresses;
};

struct PendingNotification {
  std::int64_t sequence_number = 0;
  NotificationEvent event = NotificationEvent::kInstall;
  std::string iccid;
  std::string address;                // the SM-DP+ to send it to
  std::vector<std::uint8_t> encoded;  // the PendingNotification TLV, signed
};

struct EuiccState {
  std::string eid;
  std::vector<std::uint8_t> euicc_certificate;             // DER
  std::vector<std::uint8_t> eum_certificate;               // DER
  std::vector<std::vector<std::uint8_t>> ci_certificates;  // DER, the CIs trusted
  std::string sealed_private_key;                          // PKCS#8 PEM sealed, context "euicc:key"
  std::int64_t next_sequence_number = 1;
  std::uint32_t next_isdp_number = 1;
  std::vector<InstalledProfile> profiles;
  std::vector<PendingNotification> notifications;
};

// The state file and the keyring that seals its secrets.
class StateFile {
 public:
  // Creates FILE (and FILE.key) for the eUICC of a test PKI directory (`station pki init`).
  // kConflict when FILE exists.
  static Result<StateFile> create(const std::string& path, const std::string& pki_dir);
  // Opens an existing FILE. kNotFound when it does not exist; kValidationFailed when it is not a
  // state file.
  static Result<StateFile> open(const std::string& path);

  const EuiccState& state() const { return state_; }
  EuiccState& mutable_state() { return state_; }
  const secrets::Keyring& keyring() const { return *keyring_; }
  // The eUICC's private key (SK.EUICC.ECDSA), opened from the state.
  Result<rsp_crypto::EcKey> private_key() const;
  const std::string& path() const { return path_; }
  // Writes the state atomically.
  Status save() const;

 private:
  StateFile(std::string path, EuiccState state, std::unique_ptr<secrets::Keyring> keyring)
      : path_(std::move(path)), state_(std::move(state)), keyring_(std::move(keyring)) {}
  std::string path_;
  EuiccState state_;
  std::unique_ptr<secrets::Keyring> keyring_;
};

// The state as JSON text and back (exposed for tests and the fuzz target).
std::string state_to_json(const EuiccState& state);
Result<EuiccState> state_from_json(std::string_view text);

}  // namespace station::euicc
