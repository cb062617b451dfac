#include "smdp/profile_notice.h"

#include "common/limits.h"

namespace station::smdp {

Result<rsp_crypto::Certificate> EumCertificateCache::parse(const rsp_crypto::Bytes& der) {
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == der) {
        entries_.splice(entries_.begin(), entries_, it);
        return it->second;
      }
    }
  }
  return rsp_crypto::Certificate::from_der(der);
}

void EumCertificateCache::remember(const rsp_crypto::Bytes& der,
                                   const rsp_crypto::Certificate& certificate) {
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) {
    if (entry.first == der) return;
  }
  entries_.emplace_front(der, certificate);
  if (entries_.size() > limits::kSmdpEumCertificatesCachedMax) entries_.pop_back();
}

std::string_view fault_name(NoticeFault fault) {
  switch (fault) {
    case NoticeFault::kNone:
      return "verified";
    case NoticeFault::kInvalidCertificate:
      return "invalid_certificate";
    case NoticeFault::kInvalidSignature:
      return "invalid_signature";
    case NoticeFault::kNoIccid:
      return "no_iccid";
  }
  return "invalid_signature";
}

CheckedNotice check_profile_notice(const der::rsp::OtherSignedNotification& notification,
                                   std::span<const rsp_crypto::Certificate> trusted_cis,
                                   std::int64_t now_unix_seconds, EumCertificateCache& eums) {
  auto euicc = rsp_crypto::Certificate::from_der(notification.euicc_certificate);
  auto eum = eums.parse(notification.eum_certificate);
  if (!euicc.is_ok() || !eum.is_ok()) return {NoticeFault::kInvalidCertificate, {}};
  auto eid = rsp_crypto::verify_euicc_certificates(*euicc, *eum, trusted_cis, now_unix_seconds);
  if (!eid.is_ok()) return {NoticeFault::kInvalidSignature, {}};
  eums.remember(notification.eum_certificate, *eum);
  auto euicc_key = euicc->public_key();
  if (!euicc_key.is_ok() || !rsp_crypto::verify(*euicc_key, notification.tbs_other_notification_der,
                                                notification.euicc_notification_signature)
                                 .is_ok()) {
    return {NoticeFault::kInvalidSignature, {}};
  }
  const auto& metadata = notification.tbs_other_notification;
  if (!metadata.iccid) return {NoticeFault::kNoIccid, {}};
  return {NoticeFault::kNone, ProfileNotice{std::move(*eid), iccid_digits(*metadata.iccid),
                                            metadata.profile_management_operation}};
}

std::string iccid_digits(const rsp_crypto::Bytes& bcd) {
  std::string digits;
  for (std::uint8_t byte : bcd) {
    for (int nibble : {byte & 0x0F, byte >> 4}) {
      if (nibble <= 9) digits.push_back(static_cast<char>('0' + nibble));
    }
  }
  return digits;
}

}  // namespace station::smdp
