// smdp: Station's SM-DP+ (GSMA SGP.22 v2.x, consumer RSP): ES2+ (the operator orders a
// profile download) and ES9+ (the device's LPA fetches it), on the inventory's profiles.
//
// ES2+ (operator -> SM-DP+), one download order per profile download:
//   download_order   takes a profile (a given ICCID, or any available one of a type):
//                    profile available -> allocated (-> linked when an EID is given)
//   confirm_order    binds a Matching ID (given, or a fresh one), optionally an EID and the
//                    SHA-256 of a confirmation code; releases the profile at once when asked:
//                    allocated|linked -> confirmed (-> released)
//   release_profile  confirmed -> released: downloads may start
//   cancel_order     before download: the profile goes back to available (or unavailable)
// Station's own orders (src/orders) call the same functions through orders::Es2Port and follow
// their downloads through the ProgressListener; an operator's orders are reported to it by
// ES2+ HandleDownloadProgressInfo (progress_callbacks.h).
//
// ES9+ (LPA -> SM-DP+), one RSP session per transaction id:
//   initiate_authentication  fresh random transactionId and serverChallenge; serverSigned1
//                            signed with the DPauth key of a CI the eUICC trusts (the first of
//                            euiccCiPKIdListForVerification whose credentials are configured)
//   authenticate_client      verifies CI -> EUM -> eUICC (roles, validity) and euiccSignature1
//                            over euiccSigned1 as received; finds the download order by the
//                            Matching ID of ctxParams1, checks its EID binding and expiry, and
//                            claims it for this session (compare-and-set: of two sessions for
//                            one Matching ID only one holds it); answers smdpSigned2 +
//                            smdpSignature2 (DPpb) and the profile metadata
//   get_bound_profile_package verifies euiccSignature2 and the confirmation code
//                            (hashCc = SHA-256(SHA-256(code) || transactionId), at most
//                            cc_attempts_max wrong ones, then the order is locked); one-time
//                            ECKA key pair (fresh per session; its private key never stored),
//                            session keys by the X9.63 KDF, and the Bound Profile Package:
//                            InitialiseSecureChannel (signed with DPpb), ConfigureISDP (87) and
//                            StoreMetadata (88) as SCP03t segments, the UPP as encrypted 86
//                            segments. The profile moves released -> downloaded (compare-and-set)
//   handle_notification      ProfileInstallationResult: euiccSignPIR verified with the session's
//                            eUICC certificate; success: profile and order downloaded ->
//                            installed, else error. Other notifications: the eUICC chain and
//                            signature verified; enable -> the order is active; delete -> the
//                            profile becomes unavailable (the operator may make it available
//                            again). Unverifiable notifications change nothing (counted).
//   cancel_session           euiccCancelSessionSignature verified; the session ends and its
//                            download order is free again (unless the package was delivered)
// Session state (smdp_sessions): initiated -> authenticated -> bpp_delivered -> completed, or
// cancelled | failed; every session expires session_ttl_seconds after it began, and an expired
// one is "unknown" (8.10.1 / 3.9) to every function.
//
// Errors are SGP.22 function execution statuses (Es9Failure: subject code, reason code, and a
// message naming the cause); storage failures are Status (the binding answers 500).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "inventory/inventory.h"
#include "metrics/registry.h"
#include "orders/orders.h"
#include "rsp_crypto/pki.h"
#include "smdp/progress_callbacks.h"
#include "storage/database.h"
#include "upp/upp.h"

namespace station::smdp {

using Bytes = std::vector<std::uint8_t>;

// An SGP.22 function execution status "Failed": subject code, reason code (SGP.22 section 5.2.6
// and the function's table), the cause in words, and a short label for metrics.
struct Es9Failure {
  std::string subject_code;
  std::string reason_code;
  std::string message;
  std::string metric_reason;
};

// A function's outcome: its value, an SGP.22 failure, or an internal error (storage, a bug).
template <class T>
class Outcome {
 public:
  Outcome(T value) : state_(std::move(value)) {}             // NOLINT: implicit by design
  Outcome(Es9Failure failure) : state_(std::move(failure)) {}  // NOLINT
  Outcome(Status error) : state_(std::move(error)) {}          // NOLINT
  bool ok() const { return std::holds_alternative<T>(state_); }
  T& value() { return std::get<T>(state_); }
  const Es9Failure* failure() const { return std::get_if<Es9Failure>(&state_); }
  const Status* error() const { return std::get_if<Status>(&state_); }

 private:
  std::variant<T, Es9Failure, Status> state_;
};

struct Empty {};

// One CI the SM-DP+ trusts, with the DPauth and DPpb certificates and keys it issued.
struct CiCredentials {
  rsp_crypto::Certificate ci;
  rsp_crypto::PkiEntity dp_auth;
  rsp_crypto::PkiEntity dp_pb;
};

struct SmdpConfig {
  // host[:port] as activation codes carry it; the serverAddress the eUICC must name.
  std::string address;
  // host[:port] where eUICCs send their notifications of enabling, disabling and deleting a
  // profile it delivered (the profile metadata's notificationConfigurationInfo). Empty: this
  // SM-DP+ (`address`). An operator whose BSS is not this SM-DP+'s names its own receiver here
  // (a Station's es2_listen, progress_report.h), so that its orders follow the device.
  std::string notification_address;
  std::vector<CiCredentials> credentials;  // at least one
  // Sent in InitialiseSecureChannel and used in the key derivation (1..16 bytes).
  std::string host_id = "station-smdp";
  std::string service_provider_name = "Station";
  std::uint32_t session_ttl_seconds = 10 * 60;
  std::uint32_t download_order_ttl_seconds = 30 * 24 * 3600;
  std::uint32_t cc_attempts_max = 3;
  // What every profile package is made from (upp/upp.h): the operator's, else Station's own.
  upp::ProfileTemplate profile_template = upp::ProfileTemplate::built_in();
};

// Checks a configuration: an address, credentials whose DPauth/DPpb chain to their CI with the
// right roles and whose keys match, a host id of 1..16 bytes. kValidationFailed naming the fault.
Status check_config(const SmdpConfig& config);

// The files of one CI's credentials: certificates DER or PEM, keys unencrypted PEM.
struct CredentialFiles {
  std::string ci_certificate;
  std::string dp_auth_certificate;
  std::string dp_auth_key;
  std::string dp_pb_certificate;
  std::string dp_pb_key;
};
// The files of a `station pki init` directory (ci.der, dp_auth.der, dp_auth.key.pem, ...).
CredentialFiles credential_files_in_pki_dir(const std::string& dir);
Result<CiCredentials> load_credentials(const CredentialFiles& files);
Result<CiCredentials> load_credentials_from_pki_dir(const std::string& dir);

// ---- ES2+ ---------------------------------------------------------------------------------
struct DownloadOrderRequest {
  std::optional<std::string> iccid;         // a specific profile; else any available one
  std::optional<std::string> profile_type;  // with no ICCID: of this type (any when absent)
  std::optional<std::string> eid;           // binds the profile to one eUICC
  std::optional<Id> order_id;               // Station's order, for progress updates
  std::string requester;                    // who asked, for the record
};
struct ConfirmOrderRequest {
  std::string iccid;
  std::optional<std::string> matching_id;  // none: a fresh one
  std::optional<std::string> eid;
  // Lower-case hex SHA-256 of the confirmation code (SGP.22 ES2+ carries the hashed code).
  std::optional<std::string> confirmation_code_hash;
  bool release = true;
};
struct ConfirmOrderResult {
  std::string matching_id;
  std::string smdp_address;
  std::optional<std::string> eid;
};
enum class FinalProfileStatus : std::uint8_t { kAvailable, kUnavailable };

// ---- ES9+ ---------------------------------------------------------------------------------
struct InitiateAuthenticationResult {
  std::string transaction_id;  // upper-case hex
  Bytes server_signed1;
  Bytes server_signature1;         // the 5F37 TLV
  Bytes euicc_ci_pkid_to_be_used;  // the 04 TLV
  Bytes server_certificate;        // DER
};
struct AuthenticateClientResult {
  std::string transaction_id;
  Bytes profile_metadata;  // StoreMetadataRequest TLV
  Bytes smdp_signed2;
  Bytes smdp_signature2;   // the 5F37 TLV
  Bytes smdp_certificate;  // DPpb, DER
};
struct BoundProfilePackageResult {
  std::string transaction_id;
  Bytes bound_profile_package;
};

// What a download's progress means for the order that asked for it (Station's orders).
enum class DownloadProgress : std::uint8_t { kDownloaded, kInstalled, kEnabled, kFailed };
using ProgressListener =
    std::function<void(Id order_id, DownloadProgress progress, std::string_view cause)>;

struct SmdpDependencies {
  storage::Database& database;
  inventory::Inventory& inventory;
  IdGenerator& ids;
  const Clock& clock;
  metrics::Registry& metrics;
};

class Smdp {
 public:
  // REQUIRES: check_config(config) is ok.
  Smdp(SmdpDependencies dependencies, SmdpConfig config);
  ~Smdp();
  Smdp(const Smdp&) = delete;
  Smdp& operator=(const Smdp&) = delete;

  const SmdpConfig& config() const;
  // Called after each step of a download order that carries an order id.
  void set_progress_listener(ProgressListener listener);
  // Reports of the operator's download orders (those without an order id) go to `callbacks`
  // (ES2+ HandleDownloadProgressInfo, progress_callbacks.h); nullptr: none. `callbacks` must
  // outlive the SM-DP+ or be unset first.
  void set_progress_callbacks(ProgressCallbacks* callbacks);

  // ES2+. kNotFound (unknown ICCID / none available), kConflict (the profile is not in the
  // state the step needs), kValidationFailed (malformed field).
  Result<std::string> download_order(const DownloadOrderRequest& request);
  Result<ConfirmOrderResult> confirm_order(const ConfirmOrderRequest& request);
  Status cancel_order(std::string_view iccid, std::optional<std::string_view> matching_id,
                      FinalProfileStatus final_status, std::string_view cause);
  Status release_profile(std::string_view iccid);

  // ES9+. Inputs are the DER bytes the LPA sent (bounded by the binding).
  Outcome<InitiateAuthenticationResult> initiate_authentication(Bytes euicc_challenge,
                                                                Bytes euicc_info1,
                                                                std::string smdp_address);
  Outcome<AuthenticateClientResult> authenticate_client(std::string_view transaction_id,
                                                        const Bytes& authenticate_server_response);
  Outcome<BoundProfilePackageResult> get_bound_profile_package(
      std::string_view transaction_id, const Bytes& prepare_download_response);
  // Always answered 204 by the binding; a Status error is a storage failure.
  Status handle_notification(const Bytes& pending_notification);
  Outcome<Empty> cancel_session(std::string_view transaction_id,
                                const Bytes& cancel_session_response);

  // Deletes at most `limit` sessions that expired without holding a download order: abandoned
  // after initiateAuthentication, or refused before an order was found. Anyone may start a
  // session, so without this every unfinished initiateAuthentication would stay in the store.
  // Sessions that held an order stay: a profile's later notifications find its eUICC through
  // them. Returns how many were deleted.
  Result<std::size_t> delete_abandoned_sessions(std::size_t limit);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Station's own orders reach this SM-DP+ through the ES2+ functions above. `smdp` must outlive
// the port.
std::unique_ptr<orders::Es2Port> make_es2_port(Smdp& smdp);

}  // namespace station::smdp
