// euicc/profile_package: what the virtual eUICC reads from an Unprotected Profile Package (the
// TCA eUICC Profile Package interoperable format that upp/upp.h writes; its header comment lists
// the types and tags): the ICCID of the ProfileHeader, the IMSI of the USIM's EF_IMSI and the
// Milenage Ki and OPc of the AKA parameters. Other profile elements (PIN and PUK codes, and the
// rest of an operator's template: file systems, security domains, applications, elements of later
// versions of the format) are walked over, each still well-formed DER within
// kProfilePackageLimits; a package without a header, a USIM IMSI, AKA keys or a PE-End is
// refused, as a card would refuse to install it.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"
#include "der/tlv.h"
#include "rsp_crypto/rsp_crypto.h"

namespace station::euicc {

inline constexpr std::size_t kMaxProfilePackageBytes = 512 * 1024;
inline constexpr der::Limits kProfilePackageLimits{
    .max_bytes = kMaxProfilePackageBytes, .max_elements = 64 * 1024, .max_depth = 16};

struct ProfileContents {
  std::string iccid;            // digits
  std::string imsi;             // digits
  rsp_crypto::SecretBytes ki;   // 16 bytes
  rsp_crypto::SecretBytes opc;  // 16 bytes
};

// kMalformedRequest naming what is missing or malformed (never a key's value).
Result<ProfileContents> read_profile_package(der::ByteView package);

// The digits of an ICCID coded as EF_ICCID (10 bytes, low nibble first, F padding);
// kMalformedRequest for a non-digit nibble before the padding.
Result<std::string> iccid_digits(der::ByteView bcd);
// The digits of an EF_IMSI (9 bytes: length, parity nibble, digits); kMalformedRequest otherwise.
Result<std::string> imsi_digits(der::ByteView file);

}  // namespace station::euicc
