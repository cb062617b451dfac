// euicc/apdu: the ISO/IEC 7816-4 APDUs by which an LPA talks to the ISD-R of an eUICC (GSMA
// SGP.22 section 5.7: ES10 functions are STORE DATA commands carrying the function's TLV), shared
// by the virtual card (card.h) and the LPA's side (lpa/card_channel.h), so that the same LPA code
// can drive a real card over PC/SC.
//
//   MANAGE CHANNEL open   00 70 00 00 01         -> channel number, 9000
//   MANAGE CHANNEL close  0c 70 80 cc            (c: the channel in the CLA, cc: the channel)
//   SELECT by AID         0c A4 04 00 Lc AID 00  -> FCI in 61xx
//   STORE DATA            8c E2 P1 P2 Lc data 00
//       P1 11 (more blocks follow) or 91 (last block); P2 the block number 00, 01, ... (at most
//       255 data bytes per block), blocks concatenated give the ES10 request TLV.
//   GET RESPONSE          0c C0 00 00 Le         -> the next Le (00: 256) bytes of the answer
// An answer longer than none is announced by 61xx (xx the bytes ready, 00 for 256 or more) and
// fetched by GET RESPONSE, as T=0 cards do; the bridge's third-party LPAs expect that too.
//
// Logical channels (ISO/IEC 7816-4 section 5.4.1): channels 1-3 in the CLA's low two bits (the
// first interindustry form), 4-19 as 0x40 | (channel - 4) (the further form). The ISD-R is only
// reached on a logical channel here, never on the basic channel 0.
//
// Only short APDUs (Lc <= 255); extended length is refused.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"

namespace station::euicc {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// SGP.22 section 2.2.3: the ISD-R's AID.
inline constexpr std::array<std::uint8_t, 16> kIsdRAid = {
    0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};

inline constexpr std::uint8_t kInsManageChannel = 0x70;
inline constexpr std::uint8_t kInsSelect = 0xA4;
inline constexpr std::uint8_t kInsStoreData = 0xE2;
inline constexpr std::uint8_t kInsGetResponse = 0xC0;
inline constexpr std::uint8_t kP1MoreBlocks = 0x11;
inline constexpr std::uint8_t kP1LastBlock = 0x91;
inline constexpr std::size_t kMaxShortData = 255;      // Lc
inline constexpr std::size_t kMaxResponseChunk = 256;  // Le 00
inline constexpr std::uint8_t kMaxLogicalChannel = 19;
inline constexpr std::size_t kMaxApduBytes = 4 + 1 + kMaxShortData + 1;

// Status words.
inline constexpr std::uint16_t kSwOk = 0x9000;
inline constexpr std::uint16_t kSwWrongLength = 0x6700;
inline constexpr std::uint16_t kSwLogicalChannelNotSupported = 0x6881;
inline constexpr std::uint16_t kSwConditionsNotSatisfied = 0x6985;
inline constexpr std::uint16_t kSwIncorrectData = 0x6A80;
inline constexpr std::uint16_t kSwNoMoreChannels = 0x6A81;
inline constexpr std::uint16_t kSwFileNotFound = 0x6A82;
inline constexpr std::uint16_t kSwNotEnoughMemory = 0x6A84;
inline constexpr std::uint16_t kSwWrongP1P2 = 0x6A86;
inline constexpr std::uint16_t kSwInsNotSupported = 0x6D00;
inline constexpr std::uint16_t kSwClaNotSupported = 0x6E00;
inline constexpr std::uint16_t kSwUnknown = 0x6F00;

struct CommandApdu {
  std::uint8_t cla = 0;
  std::uint8_t ins = 0;
  std::uint8_t p1 = 0;
  std::uint8_t p2 = 0;
  Bytes data;                     // Lc bytes (0..255)
  std::optional<std::size_t> le;  // 1..256 (the byte 00 means 256); absent: no Le
};

// A short command APDU (cases 1-4); kMalformedRequest for anything else, extended length
// included.
Result<CommandApdu> parse_command(ByteView apdu);
Bytes encode_command(const CommandApdu& command);

struct ResponseApdu {
  Bytes data;
  std::uint16_t sw = 0;
  std::uint8_t sw1() const { return static_cast<std::uint8_t>(sw >> 8); }
  std::uint8_t sw2() const { return static_cast<std::uint8_t>(sw & 0xFF); }
};
// kMalformedRequest when shorter than the two status bytes.
Result<ResponseApdu> parse_response(ByteView apdu);
Bytes encode_response(ByteView data, std::uint16_t sw);

// The CLA of `base` (0x00 interindustry, 0x80 proprietary) on logical channel 0..19.
// REQUIRES: channel <= kMaxLogicalChannel.
std::uint8_t cla_on_channel(std::uint8_t base, std::uint8_t channel);
// The logical channel a CLA names; nullopt for a CLA outside the interindustry forms (e.g. FF).
std::optional<std::uint8_t> channel_of(std::uint8_t cla);
// True when the CLA is of the proprietary class (bit 8 set), as GlobalPlatform's STORE DATA is.
bool is_proprietary(std::uint8_t cla);

// The STORE DATA commands carrying `payload` on `channel`: blocks of at most 255 bytes numbered
// from 0, the last with P1 91. kValidationFailed when the payload is empty or needs more than
// 256 blocks.
Result<std::vector<CommandApdu>> store_data_commands(std::uint8_t channel, ByteView payload);

}  // namespace station::euicc
