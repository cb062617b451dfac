// upp: the Unprotected Profile Package (UPP) of one profile, in the TCA (formerly SIMalliance)
// eUICC Profile Package interoperable format, as DER. The SM-DP+ later wraps it in the Bound
// Profile Package (SCP03t segments); this module only writes the plaintext package.
//
// Every package is made from a template: a profile package as profile vendors deliver it (DER
// ProfileElements back to back), which the operator can replace with a file of their own
// (`smdp_upp_template`, docs/rsp.md). Station's built-in template is built below on der::Builder
// and then goes through the same parser as an operator's file, so one code path serves both.
// ProfileTemplate::parse() checks a template strictly once, at start-up, and notes where the
// per-profile values sit; build() then copies the template and writes into it, per profile:
//   - the header's profileType (the inventory's, else the template's) and iccid: the header is
//     re-encoded (a profile type changes its length; it holds no secret);
//   - the MF's EF_ICCID and the USIM's EF_IMSI fillFileContent (10 and 9 bytes, in place);
//   - the AKA parameters' key (Ki) and opc (OPc), 16 bytes each, in place;
//   - the pinValue/pukValue (8 bytes) of PIN1 (keyReference pinAppl1 = 1), PIN2
//     (secondPINAppl1 = 129), ADM1 (adm1 = 10), PUK1 (pukAppl1 = 1) and PUK2 (secondPUKAppl1 =
//     129), in place, wherever the template's PE-PINCodes/PE-PUKCodes define them.
// The template's own Ki, OPc, PIN and PUK values are placeholders: always overwritten, so any
// value is accepted (vendors' sample packages carry test values, and asking operators to zero them
// by hand would only invite hand-edited DER). A profile without a PIN1 or PIN2 in the inventory
// keeps the template's (the code a subscriber is told, e.g. 0000); one without a PUK1, PUK2 or
// ADM1 gets a random one per package, never stored: a code that unblocks or administers must not
// be shared by every profile, and an eSIM whose PIN is blocked is replaced by a new download.
// Every other profile element and field of the template (file system contents, security domains,
// applications, PIN attributes and retry counters) is copied unchanged.
//
// A template is refused (kValidationFailed naming the fault) unless: at most kMaxTemplateBytes of
// well-formed DER ProfileElements (context-specific, constructed); a header first (major-version,
// minor-version, profileType 1..100 bytes if present, a 10-byte iccid, eUICC-Mandatory-services
// and -GFSTEList), a PE-End last, each once; one mf with templateID id-MF whose ef-iccid is one
// 10-byte fillFileContent; one usim with templateID id-USIM whose ef-imsi is one 9-byte
// fillFileContent; one akaParameter with algoParameter Milenage, a 16-byte key and opc and the
// standard rotation and XOR constants (the inventory's Ki and OPc are for standard Milenage);
// every PE-PINCodes/PE-PUKCodes well-formed with 8-byte values and no key reference twice in one
// element. Other profile elements, known or not, are checked only as DER and copied.
//
// Types used, from PE_Definitions-3.3.1.asn (module PEDefinitions,
// AUTOMATIC TAGS: every component's tag is [n] context-specific, n its position; constructed
// where the type is a SEQUENCE, SEQUENCE OF or CHOICE):
//
//   the package  = ProfileElement ProfileElement ... (concatenated, no outer SEQUENCE)
//   ProfileElement ::= CHOICE {
//     header        [0]  ProfileHeader     A0
//     pinCodes      [2]  PE-PINCodes       A2
//     pukCodes      [3]  PE-PUKCodes       A3
//     akaParameter  [4]  PE-AKAParameter   A4
//     end           [10] PE-End            AA
//     mf            [16] PE-MF             B0
//     usim          [19] PE-USIM           B3  ... }
//   ProfileHeader ::= SEQUENCE { major-version [0] UInt8 (2), minor-version [1] UInt8 (3),
//     (version 2.3 as asked for, the interoperable-format version eUICCs most widely accept;
//     the 3.3.1 module's comment says 3.3 for its own version, and the types used here keep
//     the same tags in both),
//     profileType [2] UTF8String (SIZE (1..100)), iccid [3] OCTET STRING (SIZE (10)),
//     eUICC-Mandatory-services [5] ServicesList { usim [1] NULL, milenage [4] NULL },
//     eUICC-Mandatory-GFSTEList [6] SEQUENCE OF OBJECT IDENTIFIER (empty) }
//   PEHeader ::= SEQUENCE { mandated [0] NULL OPTIONAL (absent), identification [1] UInt15 }
//     identification numbers the PEs 1, 2, 3, ... in package order.
//   PE-MF ::= SEQUENCE { mf-header [0], templateID [1] OID id-MF 2.23.143.1.2.1, mf [2] File,
//     ef-iccid [4] File, ef-dir [5] File, ef-arr [6] File }
//   PE-USIM ::= SEQUENCE { usim-header [0], templateID [1] OID id-USIM 2.23.143.1.2.4,
//     adf-usim [2] File, ef-imsi [3] File, ef-arr [4] File, ef-ust [8] File, ef-spn [13] File,
//     ef-est [14] File, ef-acc [18] File, ef-ecc [22] File }
//   File ::= SEQUENCE OF CHOICE { doNotCreate [0] NULL, fileDescriptor [1] Fcp,
//     fillFileOffset [2] UInt16, fillFileContent [3] OCTET STRING }
//     An empty File takes the template's defaults (FCP and contents). ef-iccid and ef-imsi carry
//     fillFileContent [3]; adf-usim carries fileDescriptor [1] Fcp { dfName [4] the USIM AID }.
//   PE-AKAParameter ::= SEQUENCE { aka-header [0],
//     algoConfiguration [1] CHOICE { algoParameter [1] AlgoParameter {
//       algorithmID [0] INTEGER milenage(1), algorithmOptions [1] OCTET STRING '00'H,
//       key [2] OCTET STRING (Ki, 16 bytes), opc [3] OCTET STRING (OPc, 16 bytes) } } }
//     sqnOptions, sqnDelta, sqnAgeLimit, sqnInit: their DEFAULTs (absent, as DER requires).
//   PE-End ::= SEQUENCE { end-header [0] PEHeader }
//
// Encodings of the per-profile values:
//   ICCID (EF_ICCID, ETSI TS 102 221 section 13.2): 19 or 20 digits starting "89", BCD, two digits
//     per byte with the first digit in the low nibble; a 19-digit ICCID is padded with F.
//     89860118000000000018 -> 98 68 10 81 00 00 00 00 00 81.
//   IMSI (EF_IMSI, 3GPP TS 31.102 section 4.2.2): 9 bytes; byte 1 the number of bytes used after
//     it; byte 2 low nibble the parity/type 1001 (odd digit count) or 0001 (even), high nibble
//     digit 1; then two digits per byte, low nibble first; an unused high nibble is F, unused
//     bytes FF. 460011234567890 -> 08 49 06 10 21 43 65 87 09.
//
//   PE-PINCodes [2] ::= SEQUENCE { pin-Header [0] PEHeader, pinCodes [1] CHOICE {
//     pinconfig [0] SEQUENCE OF PINConfiguration, filePath [1] OCTET STRING } }
//   PINConfiguration ::= SEQUENCE { keyReference [0] INTEGER, pinValue [1] OCTET STRING (SIZE 8),
//     unblockingPINReference [2] INTEGER OPTIONAL, pinAttributes [3] UInt8 DEFAULT 7,
//     maxNumOfAttemps-retryNumLeft [4] UInt8 DEFAULT 51 }
//   PE-PUKCodes [3] ::= SEQUENCE { puk-Header [0] PEHeader, pukCodes [1] SEQUENCE OF
//     PUKConfiguration { keyReference [0] INTEGER, pukValue [1] OCTET STRING (SIZE 8),
//     maxNumOfAttemps-retryNumLeft [2] UInt8 DEFAULT 170 } }
//   A PIN or PUK (as ETSI TS 102 221 codes them) is its digits as ASCII, padded to 8 bytes with
//   FF: 1234 -> 31 32 33 34 FF FF FF FF. ADM1 given as 16 hex digits is the 8 bytes themselves.
//
// The built-in template: header (version 2.3, profileType "Station"), mf (ef-iccid), PE-PUKCodes
// (PUK1, PUK2), PE-PINCodes of the MF (PIN1 0000 unblocked by PUK1, ADM1), usim (adf-usim with
// the USIM AID, ef-imsi, template defaults elsewhere), PE-PINCodes of the USIM (PIN2 0000
// unblocked by PUK2), akaParameter (Milenage), end; PEs numbered 1, 2, ... after the header.
//
// Secrets: the result holds Ki, OPc and the codes in clear, so it is a secrets::SecretString (its
// buffer is wiped on destruction). They never pass through der::Builder (whose buffers are not
// wiped) nor any other buffer: the output string is sized once, filled with the template's bytes,
// and the secret bytes are decoded straight into it at the slots parse() found.
//
// Limits: ICCID 19..20 digits, IMSI 6..15 digits, profile type 1..100 UTF-8 bytes (no control
// characters), Ki and OPc exactly 32 hex digits, codes as inventory::profile_code_problem()
// allows; a template at most kMaxTemplateBytes, a package at most kMaxUppBytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "der/tlv.h"
#include "inventory/inventory.h"
#include "secrets/secrets.h"

namespace station::upp {

inline constexpr std::size_t kMaxTemplateBytes = 64 * 1024;
inline constexpr std::size_t kMaxProfileTypeBytes = 100;
// The header may grow by a profile type (and its tag and length) over the template's.
inline constexpr std::size_t kMaxUppBytes = kMaxTemplateBytes + kMaxProfileTypeBytes + 8;
inline constexpr std::size_t kIccidBcdBytes = 10;
inline constexpr std::size_t kImsiFileBytes = 9;
inline constexpr std::size_t kAkaKeyBytes = 16;
inline constexpr std::size_t kCodeValueBytes = 8;  // pinValue, pukValue

struct UppInput {
  std::string iccid;
  std::string imsi;
  const inventory::ProfileSecrets& secrets;
  std::string profile_type;  // empty: the template's
};

class ProfileTemplate {
 public:
  // Checks `package` as described above and keeps a copy; kValidationFailed naming the fault.
  static Result<ProfileTemplate> parse(der::ByteView package);
  // Station's own template (parsed once; parsing it cannot fail).
  static const ProfileTemplate& built_in();

  // The template's DER, as given.
  der::ByteView der() const { return package_; }
  // How many places the template has for `code` (0 when it defines no such PIN or PUK).
  std::size_t slots(inventory::ProfileCode code) const;

  // The package of one profile (binary DER in a string wiped on destruction). kValidationFailed
  // for a malformed ICCID, IMSI, profile type, Ki, OPc or code (the message never quotes a
  // secret); kInternal if the package would exceed kMaxUppBytes.
  Result<secrets::SecretString> build(const UppInput& input) const;

 private:
  ProfileTemplate() = default;

  der::Bytes package_;
  std::size_t header_end_ = 0;  // the header PE is package_[0, header_end_)
  // Re-encoding the header: the encoded fields before profileType, the template's profile type,
  // and the encoded fields after iccid.
  der::Bytes header_before_type_;
  std::string profile_type_;
  der::Bytes header_after_iccid_;
  // Offsets in package_ of the contents written per profile.
  std::size_t ef_iccid_at_ = 0;
  std::size_t ef_imsi_at_ = 0;
  std::size_t key_at_ = 0;
  std::size_t opc_at_ = 0;
  std::array<std::vector<std::size_t>, inventory::kProfileCodeCount> code_at_;

  friend class TemplateParser;
};

// The built-in template's DER (what ProfileTemplate::built_in() parsed), e.g. as a starting point
// for an operator's own.
der::Bytes built_in_template_der();

// EF_ICCID contents (10 bytes, see above); kValidationFailed unless 19..20 digits starting "89".
Result<der::Bytes> encode_iccid(std::string_view iccid);
// EF_IMSI contents (9 bytes, see above); kValidationFailed unless 6..15 digits.
Result<der::Bytes> encode_imsi(std::string_view imsi);

}  // namespace station::upp
