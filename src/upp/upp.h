// upp: the Unprotected Profile Package (UPP) of one profile, in the TCA (formerly SIMalliance)
// eUICC Profile Package interoperable format, as DER. The SM-DP+ later wraps it in the Bound
// Profile Package (SCP03t segments); this module only writes the plaintext package.
//
// asn1c cannot compile the PEDefinitions module together with the RSP module, so the encoding is
// hand-written on der::Builder. Types used, from PE_Definitions-3.3.1.asn (module PEDefinitions,
// AUTOMATIC TAGS: every component's tag is [n] context-specific, n its position; constructed
// where the type is a SEQUENCE, SEQUENCE OF or CHOICE):
//
//   the package  = ProfileElement ProfileElement ... (concatenated, no outer SEQUENCE)
//   ProfileElement ::= CHOICE {
//     header        [0]  ProfileHeader     A0
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
// Secrets: the result holds Ki and OPc in clear, so it is a secrets::SecretString (its buffer is
// wiped on destruction). Ki and OPc never pass through der::Builder (whose buffers are not
// wiped): the package is built with zero placeholders, and the secret bytes are written into the
// SecretString's own buffer afterwards, at the offsets of the key and opc elements.
//
// Limits: ICCID 19..20 digits, IMSI 6..15 digits, profile type 1..100 UTF-8 bytes (no control
// characters), Ki and OPc exactly 32 hex digits; the package is at most kMaxUppBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "der/tlv.h"
#include "inventory/inventory.h"
#include "secrets/secrets.h"

namespace station::upp {

inline constexpr std::size_t kMaxUppBytes = 4096;
inline constexpr std::size_t kIccidBcdBytes = 10;
inline constexpr std::size_t kImsiFileBytes = 9;
inline constexpr std::size_t kMaxProfileTypeBytes = 100;
inline constexpr std::size_t kAkaKeyBytes = 16;

struct UppInput {
  std::string iccid;
  std::string imsi;
  const inventory::ProfileSecrets& secrets;
  std::string profile_type;
};

// The package's DER bytes (binary, held in a string whose buffer is wiped on destruction).
// kValidationFailed for a malformed ICCID, IMSI, profile type, Ki or OPc (the message never
// contains Ki or OPc).
Result<secrets::SecretString> build_upp(const UppInput& input);

// EF_ICCID contents (10 bytes, see above); kValidationFailed unless 19..20 digits starting "89".
Result<der::Bytes> encode_iccid(std::string_view iccid);
// EF_IMSI contents (9 bytes, see above); kValidationFailed unless 6..15 digits.
Result<der::Bytes> encode_imsi(std::string_view imsi);

}  // namespace station::upp
