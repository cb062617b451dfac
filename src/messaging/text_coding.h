// messaging/text_coding: how a UTF-8 text becomes SMS short_message octets.
//
// A text that the GSM 03.38 default alphabet (with its extension table) can carry is sent as
// data_coding 0x00, one septet per octet (unpacked, as SMPP carries it); anything else, Chinese
// included, as UCS-2 (data_coding 0x08, big-endian UTF-16). A text longer than one SMS is split
// into segments, each prefixed by a concatenation UDH with an 8-bit reference (IEI 0x00), and
// submitted with the esm_class UDHI bit. Escape pairs and surrogate pairs are never split.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace station::messaging {

inline constexpr std::uint8_t kDataCodingGsm7 = 0x00;
inline constexpr std::uint8_t kDataCodingUcs2 = 0x08;

// Units per SMS: septets for GSM 7-bit, octets for UCS-2; less the 6-octet UDH when split.
inline constexpr std::size_t kGsm7SingleSeptets = 160;
inline constexpr std::size_t kGsm7SegmentSeptets = 153;
inline constexpr std::size_t kUcs2SingleOctets = 140;
inline constexpr std::size_t kUcs2SegmentOctets = 134;

struct EncodedText {
  std::uint8_t data_coding = kDataCodingGsm7;
  bool concatenated = false;          // segments start with a UDH: set esm_class UDHI
  std::vector<std::string> segments;  // short_message payloads, each at most 140 octets
};

// The text in GSM 7-bit when every character has a default-alphabet or extension-table septet,
// else UCS-2; split when it does not fit one SMS. `reference` is the concatenation reference
// shared by the segments. Fails on invalid UTF-8, an empty text, or more than
// limits::kSmsSegmentsMax segments.
Result<EncodedText> encode_text(std::string_view utf8, std::uint8_t reference);

// The code points of a UTF-8 text; kValidationFailed for invalid UTF-8 (overlong forms,
// surrogates and values beyond U+10FFFF included). The email channel checks its texts with it.
Result<std::u32string> utf8_to_code_points(std::string_view utf8);

// Back to UTF-8 (segments without their UDH); for receipts, logs and tests.
Result<std::string> decode_text(std::string_view octets, std::uint8_t data_coding);

}  // namespace station::messaging
