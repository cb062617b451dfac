// messaging: SMS delivery for Station.
//
// Three layers, outside in:
//  - smpp.h (this file): the SMPP 3.4 codec. Pure functions from bytes to PDUs and back; the
//    decoder is strict (command_length bounds, C-octet strings bounded and NUL-terminated,
//    short_message within sm_length) because its input comes from a remote SMSC.
//  - text_coding.h: picks GSM 7-bit or UCS-2 for a UTF-8 text and splits long texts into
//    concatenated segments (UDH, 8-bit reference).
//  - templates.h: the message texts in zh-CN and en.
//
// Field order and sizes follow the SMPP v3.4 specification (issue 1.2), section 4.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.h"

namespace station::messaging::smpp {

inline constexpr std::size_t kHeaderBytes = 16;
inline constexpr std::uint8_t kInterfaceVersion = 0x34;

namespace command {
inline constexpr std::uint32_t kGenericNack = 0x80000000;
inline constexpr std::uint32_t kBindTransmitter = 0x00000002;
inline constexpr std::uint32_t kBindTransmitterResp = 0x80000002;
inline constexpr std::uint32_t kBindTransceiver = 0x00000009;
inline constexpr std::uint32_t kBindTransceiverResp = 0x80000009;
inline constexpr std::uint32_t kSubmitSm = 0x00000004;
inline constexpr std::uint32_t kSubmitSmResp = 0x80000004;
inline constexpr std::uint32_t kDeliverSm = 0x00000005;
inline constexpr std::uint32_t kDeliverSmResp = 0x80000005;
inline constexpr std::uint32_t kUnbind = 0x00000006;
inline constexpr std::uint32_t kUnbindResp = 0x80000006;
inline constexpr std::uint32_t kEnquireLink = 0x00000015;
inline constexpr std::uint32_t kEnquireLinkResp = 0x80000015;
}  // namespace command

namespace status {
inline constexpr std::uint32_t kOk = 0x00000000;
inline constexpr std::uint32_t kInvalidCommandLength = 0x00000002;
inline constexpr std::uint32_t kInvalidCommandId = 0x00000003;
inline constexpr std::uint32_t kSystemError = 0x00000008;
inline constexpr std::uint32_t kThrottled = 0x00000058;
}  // namespace status

// esm_class bits used here (spec 5.2.12).
inline constexpr std::uint8_t kEsmClassUdhIndicator = 0x40;
inline constexpr std::uint8_t kEsmClassDeliveryReceipt = 0x04;
inline constexpr std::uint8_t kEsmClassMessageTypeMask = 0x3C;
// registered_delivery: ask for a receipt on final success or failure.
inline constexpr std::uint8_t kRegisteredDeliveryFinal = 0x01;

// Mandatory C-octet string sizes, NUL included (spec section 4).
inline constexpr std::size_t kSystemIdMax = 16;
inline constexpr std::size_t kPasswordMax = 9;
inline constexpr std::size_t kSystemTypeMax = 13;
inline constexpr std::size_t kAddressRangeMax = 41;
inline constexpr std::size_t kServiceTypeMax = 6;
inline constexpr std::size_t kAddressMax = 21;
inline constexpr std::size_t kTimeMax = 17;
inline constexpr std::size_t kMessageIdMax = 65;
inline constexpr std::size_t kShortMessageMax = 254;

// bind_transmitter / bind_transceiver (and bind_receiver, same layout).
struct Bind {
  std::string system_id;
  std::string password;
  std::string system_type;
  std::uint8_t interface_version = kInterfaceVersion;
  std::uint8_t addr_ton = 0;
  std::uint8_t addr_npi = 0;
  std::string address_range;
  friend bool operator==(const Bind&, const Bind&) = default;
};

// bind_*_resp. The body is empty when the bind is refused (command_status != 0).
struct BindResp {
  std::string system_id;
  friend bool operator==(const BindResp&, const BindResp&) = default;
};

// submit_sm and deliver_sm share one body layout.
struct ShortMessage {
  std::string service_type;
  std::uint8_t source_addr_ton = 0;
  std::uint8_t source_addr_npi = 0;
  std::string source_addr;
  std::uint8_t dest_addr_ton = 0;
  std::uint8_t dest_addr_npi = 0;
  std::string destination_addr;
  std::uint8_t esm_class = 0;
  std::uint8_t protocol_id = 0;
  std::uint8_t priority_flag = 0;
  std::string schedule_delivery_time;
  std::string validity_period;
  std::uint8_t registered_delivery = 0;
  std::uint8_t replace_if_present_flag = 0;
  std::uint8_t data_coding = 0;
  std::uint8_t sm_default_msg_id = 0;
  std::string short_message;  // raw octets, at most kShortMessageMax
  // Optional TLV receipted_message_id (0x001E) of a delivery receipt; other TLVs are skipped.
  std::optional<std::string> receipted_message_id;
  friend bool operator==(const ShortMessage&, const ShortMessage&) = default;
};

// submit_sm_resp / deliver_sm_resp. Empty body allowed when command_status != 0.
struct MessageIdResp {
  std::string message_id;
  friend bool operator==(const MessageIdResp&, const MessageIdResp&) = default;
};

// enquire_link, unbind, their responses and generic_nack carry no body.
struct NoBody {
  friend bool operator==(const NoBody&, const NoBody&) = default;
};

using Body = std::variant<NoBody, Bind, BindResp, ShortMessage, MessageIdResp>;

struct Pdu {
  std::uint32_t command_id = 0;
  std::uint32_t command_status = status::kOk;
  std::uint32_t sequence_number = 0;
  Body body;
  friend bool operator==(const Pdu&, const Pdu&) = default;
};

// The PDU's wire form. REQUIRES: the body type fits command_id and every field is within its
// bound (asserted: building an out-of-bounds PDU is a bug in the caller).
std::string encode(const Pdu& pdu);

// Reads command_length from the first four bytes and checks it against [kHeaderBytes, max_bytes],
// so a reader knows how much more to read before decode(). REQUIRES: header.size() >= 4.
Result<std::uint32_t> read_command_length(std::span<const std::uint8_t> header,
                                          std::size_t max_bytes);

// Decodes exactly one whole PDU (command_length must equal bytes.size()). Unknown command ids are
// an error whose caller answers generic_nack (spec 3.3).
Result<Pdu> decode(std::span<const std::uint8_t> bytes, std::size_t max_bytes);
inline Result<Pdu> decode(std::string_view bytes, std::size_t max_bytes) {
  return decode(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                max_bytes);
}

// The response command id of a request (id | 0x80000000).
inline constexpr std::uint32_t response_id(std::uint32_t request_id) {
  return request_id | 0x80000000U;
}
inline constexpr bool is_response(std::uint32_t command_id) {
  return (command_id & 0x80000000U) != 0;
}
// True for the command ids this codec decodes.
bool is_known_command(std::uint32_t command_id);

// A delivery receipt's short_message text (spec Appendix B):
// "id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
//  err:E text:...". Only id and stat are required.
struct DeliveryReceipt {
  std::string message_id;
  std::string stat;  // DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD
  std::string err;
  bool delivered() const { return stat == "DELIVRD"; }
  // True when no later receipt will change the outcome.
  bool is_final() const { return stat != "ACCEPTD" && stat != "ENROUTE"; }
};
inline bool is_delivery_receipt(const ShortMessage& message) {
  return (message.esm_class & kEsmClassMessageTypeMask) == kEsmClassDeliveryReceipt;
}
Result<DeliveryReceipt> parse_delivery_receipt(std::string_view text);

}  // namespace station::messaging::smpp
