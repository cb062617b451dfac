// euicc/euicc: the ES10 functions of the virtual eUICC's ISD-R (GSMA SGP.22 section 5.7), the
// card side of a profile download and of local profile management. Requests and answers are the
// ES10 TLVs (typed codecs of der/rsp.h); card.h carries them in APDUs.
//
// Profile download (SGP.22 3.1.3), what the card checks at each step:
//   GetEUICCChallenge      a fresh random 16-byte challenge; starts a new session.
//   AuthenticateServer     CERT.DPauth chains to a trusted CI (role DPauth, validity), the CI
//                          named by euiccCiPKIdToBeUsed is one of the card's, serverSignature1
//                          verifies over serverSigned1 exactly as received, and its euiccChallenge
//                          is the session's. Answers euiccSigned1 (transactionId, serverAddress,
//                          serverChallenge, EUICCInfo2, ctxParams1 as received) signed with
//                          SK.EUICC.ECDSA, with CERT.EUICC and CERT.EUM; or an
//                          AuthenticateResponseError (invalidCertificate, invalidSignature,
//                          euiccChallengeMismatch, ciPKUnknown, noSessionContext).
//   PrepareDownload        CERT.DPpb chains to the same CI (role DPpb), smdpSignature2 verifies
//                          over smdpSigned2 || euiccSignature1 (its 5F37 TLV), the transaction
//                          is the session's, a hashCc is present exactly when ccRequiredFlag says
//                          so; then a one-time key pair otPK/otSK.EUICC.ECKA, and euiccSigned2
//                          signed over euiccSigned2 || smdpSignature2 (5F37 TLV).
//   LoadBoundProfilePackage  segment by segment, as the LPA sends them (SGP.22 2.5.5):
//                          BF36 header + InitialiseSecureChannelRequest: smdpSign verifies under
//                          CERT.DPpb over its signed part || euiccOtpk (5F49 TLV), the
//                          transaction is the session's, CRT AES-128; ShS = ECKA(otSK.EUICC,
//                          otPK.DP), session keys by the X9.63 KDF (rsp_crypto.h);
//                          A0 + '87': ConfigureISDP (MAC checked, decrypted);
//                          A1, '88'...: StoreMetadata (MAC checked), concatenated;
//                          A2 + '87' (optional): ReplaceSessionKeys, a new SCP03t state;
//                          A3, '86'...: the profile (MAC checked, decrypted), concatenated;
//                          after the last byte the package promised, the profile is parsed
//                          (profile_package.h), its ICCID must equal the metadata's and be new on
//                          the card, and it is installed disabled. Any failure ends the session
//                          and answers a ProfileInstallationResult with errorResult (the command
//                          and reason); success answers one with successResult. Either is signed
//                          with SK.EUICC.ECDSA and kept as a pending notification for the SM-DP+.
// A tampered segment fails its MAC and is refused before anything is decrypted.
//
// Local management (ES10c): GetProfilesInfo, EnableProfile (the enabled one is disabled first),
// DisableProfile, DeleteProfile (disabled profiles only), GetEID; every change is saved and
// leaves a signed notification (OtherSignedNotification) for the addresses the profile's metadata
// names for that event, else for the SM-DP+ that installed it.
// Notifications (ES10b): ListNotification, RetrieveNotificationsList, RemoveNotificationFromList.
// CancelSession (ES10b): after AuthenticateServer or PrepareDownload, for the session's
// transactionId only: EuiccCancelSessionSigned (transactionId, the SM-DP+ OID of CERT.DPauth,
// reason) signed with SK.EUICC.ECDSA, and the session ends; else invalidTransactionId.
//
// The state (state.h) is saved after every change, before the answer leaves the card.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "euicc/card.h"
#include "euicc/state.h"
#include "rsp_crypto/pki.h"

namespace station::der::rsp {
struct ProfileIdentifier;
}

namespace station::euicc {

class Euicc final : public Es10Handler {
 public:
  // REQUIRES: `state` and `clock` outlive the Euicc.
  Euicc(StateFile& state, const Clock& clock);
  ~Euicc() override;

  Result<Bytes> handle_es10(ByteView request) override;
  void drop_session() override;

 private:
  struct Session;
  enum class BppCommand : std::int64_t;
  enum class BppError : std::int64_t;
  // Why a Bound Profile Package was refused: ProfileInstallationResult's errorResult.
  struct BppFailure {
    BppCommand command;
    BppError reason;
  };

  std::int64_t now_seconds() const;
  // The card's trusted CIs and its own signing key are opened from the state on first use and
  // kept, as a card holds them ready: opening them (unsealing the key, OpenSSL 3's decoders)
  // costs more than the verifications and signatures they serve.
  Result<std::span<const rsp_crypto::Certificate>> trusted_cis();
  Result<std::vector<std::vector<std::uint8_t>>> ci_pkids();
  Result<Bytes> sign(ByteView data);

  Result<Bytes> get_euicc_challenge();
  Result<Bytes> euicc_info1();
  Result<Bytes> euicc_info2();
  Result<Bytes> authenticate_server(ByteView request);
  Result<Bytes> prepare_download(ByteView request);
  // ES10b CancelSession: signs EuiccCancelSessionSigned for the current session and ends it.
  Result<Bytes> cancel_session(ByteView request);
  Result<Bytes> load_bound_profile_package(ByteView request);
  // One piece of the package; nullopt when it was taken.
  std::optional<BppFailure> load_step(ByteView request);
  std::optional<BppFailure> initialise_secure_channel(ByteView element);
  std::optional<BppFailure> replace_session_keys(ByteView request);
  // Ends the session: installs the profile unless `failure`, answers the signed
  // ProfileInstallationResult and keeps it as a notification.
  Result<Bytes> finish_installation(std::optional<BppFailure> failure);
  // Installs the session's profile into `profile` (not yet on the card's list).
  std::optional<BppFailure> install_profile(Session& session, InstalledProfile& profile);

  InstalledProfile* find_profile(const der::rsp::ProfileIdentifier& id);
  Result<Bytes> euicc_data(ByteView request);
  Result<Bytes> profiles_info(ByteView request);
  Result<Bytes> enable_profile(ByteView request);
  Result<Bytes> disable_profile(ByteView request);
  Result<Bytes> delete_profile(ByteView request);
  // Signs and keeps a notification of `event` for the profile's address for it (if any).
  Status add_notification(const InstalledProfile& profile, NotificationEvent event);
  void keep_notification(PendingNotification notification);
  Result<Bytes> list_notification(ByteView request);
  Result<Bytes> retrieve_notifications_list(ByteView request);
  Result<Bytes> remove_notification(ByteView request);

  StateFile& state_;
  const Clock& clock_;
  std::unique_ptr<Session> session_;
  std::optional<std::vector<rsp_crypto::Certificate>> trusted_cis_;
  std::optional<rsp_crypto::EcKey> signing_key_;
};

}  // namespace station::euicc
