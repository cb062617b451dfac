// smdp/profile_notice: what an eUICC's signed notification of a profile operation says (SGP.22
// OtherSignedNotification: the profile was enabled, disabled or deleted on the card), believed
// only once its eUICC certificate chains through its EUM certificate to a trusted CI and the
// eUICC's signature verifies over tbsOtherNotification as received. Two places read these: the
// SM-DP+ (notifications of the profiles it delivered, smdp.h) and the operator's receiver for a
// remote SM-DP+'s profiles (progress_report.h), whose profile metadata names Station as where
// such notifications go (notificationConfigurationInfo).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "der/rsp_download.h"
#include "der/rsp_notification.h"
#include "rsp_crypto/pki.h"

namespace station::smdp {

// Parsed EUM certificates by their DER, most recently used first, at most
// limits::kSmdpEumCertificatesCachedMax. Decoding a certificate costs OpenSSL about three
// signature verifications, and a few EUMs certify every eUICC. Only the parsing is kept: each
// check still verifies the whole chain, CI -> EUM -> eUICC. Thread-safe.
class EumCertificateCache {
 public:
  // The certificate of `der`: the one remembered, else parsed now.
  Result<rsp_crypto::Certificate> parse(const rsp_crypto::Bytes& der);
  // Keeps `certificate`, parsed from `der`, once a chain through it verified: certificates that
  // anyone may send do not push out the EUMs in use.
  void remember(const rsp_crypto::Bytes& der, const rsp_crypto::Certificate& certificate);

 private:
  std::mutex mutex_;
  std::list<std::pair<rsp_crypto::Bytes, rsp_crypto::Certificate>> entries_;  // GUARDED_BY(mutex_)
};

// A verified notification: which eUICC (its certified EID) did what to which profile.
struct ProfileNotice {
  std::string eid;
  std::string iccid;  // digits
  // der::rsp::kNotificationEnable, kNotificationDisable or kNotificationDelete (NotificationEvent).
  std::uint64_t operation = 0;
};

// Why a notification is not believed; each also names a metric outcome (fault_name).
enum class NoticeFault : std::uint8_t {
  kNone,
  kInvalidCertificate,  // a certificate does not parse
  kInvalidSignature,    // the chain or the eUICC's signature does not verify
  kNoIccid,             // verified, but names no profile
};
std::string_view fault_name(NoticeFault fault);  // "invalid_certificate", ...

struct CheckedNotice {
  NoticeFault fault = NoticeFault::kNone;
  ProfileNotice notice;  // when fault is kNone
};

CheckedNotice check_profile_notice(const der::rsp::OtherSignedNotification& notification,
                                   std::span<const rsp_crypto::Certificate> trusted_cis,
                                   std::int64_t now_unix_seconds, EumCertificateCache& eums);

// EF_ICCID's BCD (low nibble first, F padding) back to digits.
std::string iccid_digits(const rsp_crypto::Bytes& bcd);

}  // namespace station::smdp
