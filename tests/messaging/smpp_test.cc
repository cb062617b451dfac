#include "messaging/smpp.h"

#include <gtest/gtest.h>

#include <string>

#include "common/limits.h"

namespace station::messaging::smpp {
namespace {

constexpr std::size_t kMax = limits::kSmppPduBytesMax;

// Big-endian helpers to write the spec's field order by hand.
std::string u32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}
std::string cstr(std::string_view s) { return std::string(s) + '\0'; }
std::string with_length(const std::string& after_length) {
  return u32(static_cast<std::uint32_t>(after_length.size() + 4)) + after_length;
}

TEST(SmppCodec, BindTransceiverHasTheSpecLayout) {
  Pdu pdu{command::kBindTransceiver, status::kOk, 1, Bind{"station", "secret", "esme"}};
  const std::string expected =
      with_length(u32(0x00000009) + u32(0) + u32(1) + cstr("station") + cstr("secret") +
                  cstr("esme") + "\x34" + std::string(1, '\0') + std::string(1, '\0') + cstr(""));
  EXPECT_EQ(encode(pdu), expected);
  auto decoded = decode(expected, kMax);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, pdu);
}

TEST(SmppCodec, SubmitSmHasTheSpecLayout) {
  ShortMessage m;
  m.source_addr_ton = 5;
  m.source_addr = "Station";
  m.dest_addr_ton = 1;
  m.dest_addr_npi = 1;
  m.destination_addr = "8613800138000";
  m.registered_delivery = kRegisteredDeliveryFinal;
  m.data_coding = 0x08;
  m.short_message = std::string("\x4f\x60\x59\x7d", 4);  // 你好 in UCS-2
  Pdu pdu{command::kSubmitSm, status::kOk, 7, m};
  std::string body = cstr("") + "\x05" + std::string(1, '\0') + cstr("Station") + "\x01\x01" +
                     cstr("8613800138000") + std::string(3, '\0') + cstr("") + cstr("") +
                     "\x01" + std::string(1, '\0') + "\x08" + std::string(1, '\0') + "\x04" +
                     std::string("\x4f\x60\x59\x7d", 4);
  const std::string expected = with_length(u32(4) + u32(0) + u32(7) + body);
  EXPECT_EQ(encode(pdu), expected);
  auto decoded = decode(expected, kMax);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, pdu);
}

TEST(SmppCodec, HeaderOnlyPdusRoundTrip) {
  for (std::uint32_t id : {command::kEnquireLink, command::kEnquireLinkResp, command::kUnbind,
                           command::kUnbindResp, command::kGenericNack}) {
    Pdu pdu{id, id == command::kGenericNack ? status::kInvalidCommandId : status::kOk, 42, NoBody{}};
    const std::string bytes = encode(pdu);
    EXPECT_EQ(bytes, u32(16) + u32(id) + u32(pdu.command_status) + u32(42));
    auto decoded = decode(bytes, kMax);
    ASSERT_TRUE(decoded.is_ok());
    EXPECT_EQ(*decoded, pdu);
  }
}

TEST(SmppCodec, ResponsesRoundTrip) {
  for (const Pdu& pdu : {Pdu{command::kBindTransceiverResp, status::kOk, 1, BindResp{"smsc"}},
                         Pdu{command::kBindTransmitterResp, status::kOk, 2, BindResp{"smsc"}},
                         Pdu{command::kSubmitSmResp, status::kOk, 3, MessageIdResp{"abc123"}},
                         Pdu{command::kDeliverSmResp, status::kOk, 4, MessageIdResp{""}}}) {
    auto decoded = decode(encode(pdu), kMax);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, pdu);
  }
  // A refused submit may come back as a bare header.
  auto refused = decode(u32(16) + u32(command::kSubmitSmResp) + u32(status::kThrottled) + u32(9),
                        kMax);
  ASSERT_TRUE(refused.is_ok());
  EXPECT_EQ(refused->command_status, status::kThrottled);
}

TEST(SmppCodec, DeliverSmReceiptWithTlvRoundTrips) {
  ShortMessage m;
  m.source_addr = "8613800138000";
  m.destination_addr = "Station";
  m.esm_class = kEsmClassDeliveryReceipt;
  m.short_message =
      "id:abc123 sub:001 dlvrd:001 submit date:2611250300 done date:2611250301 stat:DELIVRD "
      "err:000 text:Your eSIM";
  m.receipted_message_id = "abc123";
  Pdu pdu{command::kDeliverSm, status::kOk, 5, m};
  auto decoded = decode(encode(pdu), kMax);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, pdu);
  const auto& got = std::get<ShortMessage>(decoded->body);
  ASSERT_TRUE(is_delivery_receipt(got));
  auto receipt = parse_delivery_receipt(got.short_message);
  ASSERT_TRUE(receipt.is_ok());
  EXPECT_EQ(receipt->message_id, "abc123");
  EXPECT_EQ(receipt->stat, "DELIVRD");
  EXPECT_EQ(receipt->err, "000");
  EXPECT_TRUE(receipt->delivered());
  EXPECT_TRUE(receipt->is_final());
}

TEST(SmppCodec, ReceiptParsingRefusesNonReceipts) {
  EXPECT_FALSE(parse_delivery_receipt("hello").is_ok());
  EXPECT_FALSE(parse_delivery_receipt("id: stat:DELIVRD").is_ok());
  EXPECT_FALSE(parse_delivery_receipt("id:1 sub:1").is_ok());
  auto failed = parse_delivery_receipt("id:7 stat:UNDELIV err:011");
  ASSERT_TRUE(failed.is_ok());
  EXPECT_FALSE(failed->delivered());
  EXPECT_TRUE(failed->is_final());
  EXPECT_FALSE(parse_delivery_receipt("id:7 stat:ACCEPTD")->is_final());
}

TEST(SmppCodec, StrictDecoding) {
  const std::string enquire = u32(16) + u32(command::kEnquireLink) + u32(0) + u32(1);
  // command_length below the header, beyond the bound, or not the PDU's size.
  EXPECT_FALSE(decode(u32(15) + enquire.substr(4), kMax).is_ok());
  EXPECT_FALSE(decode(u32(kMax + 1) + enquire.substr(4), kMax).is_ok());
  EXPECT_FALSE(decode(enquire + "x", kMax).is_ok());
  EXPECT_FALSE(decode(enquire.substr(0, 12), kMax).is_ok());
  // A body on a bodiless PDU, and an unknown command id.
  EXPECT_FALSE(decode(with_length(u32(command::kEnquireLink) + u32(0) + u32(1) + "x"), kMax).is_ok());
  EXPECT_FALSE(decode(with_length(u32(0x00000099) + u32(0) + u32(1)), kMax).is_ok());
  // system_id without its NUL within 16 octets.
  EXPECT_FALSE(decode(with_length(u32(command::kBindTransceiverResp) + u32(0) + u32(1) +
                                  std::string(20, 'a') + '\0'),
                      kMax)
                   .is_ok());
  // A C-octet string that runs to the end of the PDU.
  EXPECT_FALSE(
      decode(with_length(u32(command::kSubmitSmResp) + u32(0) + u32(1) + "abc"), kMax).is_ok());
  // sm_length beyond the octets present.
  Pdu pdu{command::kSubmitSm, status::kOk, 1, ShortMessage{}};
  std::get<ShortMessage>(pdu.body).short_message = "hi";
  std::string bytes = encode(pdu);
  bytes.pop_back();
  bytes[3] = static_cast<char>(bytes.size());
  EXPECT_FALSE(decode(bytes, kMax).is_ok());
}

TEST(SmppCodec, ReadCommandLengthChecksBounds) {
  const std::string ok = u32(100);
  auto bytes = [](const std::string& s) {
    return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(*read_command_length(bytes(ok), kMax), 100U);
  const std::string small = u32(3);
  const std::string huge = u32(0xFFFFFFFF);
  EXPECT_FALSE(read_command_length(bytes(small), kMax).is_ok());
  EXPECT_FALSE(read_command_length(bytes(huge), kMax).is_ok());
}

}  // namespace
}  // namespace station::messaging::smpp
