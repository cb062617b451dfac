// The APDU face of the virtual eUICC: channels, SELECT, STORE DATA chaining and GET RESPONSE,
// driven both by raw APDUs and by the LPA's Es10Channel (which a real card would see too).
#include "euicc/card.h"

#include <gtest/gtest.h>

#include "euicc/apdu.h"
#include "lpa/card_channel.h"
#include "rsp_crypto/rsp_crypto.h"

namespace station::euicc {
namespace {

Bytes hex(std::string_view text) { return *rsp_crypto::from_hex(text); }

// Answers every request with its bytes reversed, and counts what it saw.
class ReversingIsdR final : public Es10Handler {
 public:
  Result<Bytes> handle_es10(ByteView request) override {
    ++requests;
    last_request.assign(request.begin(), request.end());
    if (request.size() == 1 && request[0] == 0xEE) return Status(ErrorCode::kMalformedRequest, "x");
    return Bytes(request.rbegin(), request.rend());
  }
  void drop_session() override { ++dropped; }
  int requests = 0;
  int dropped = 0;
  Bytes last_request;
};

Bytes payload_of(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return out;
}

TEST(ApduTest, ParsesTheFourCasesAndRefusesExtendedLength) {
  auto case1 = parse_command(hex("00700080"));
  ASSERT_TRUE(case1.is_ok());
  EXPECT_FALSE(case1->le.has_value());
  auto case2 = parse_command(hex("00C0000000"));
  ASSERT_TRUE(case2.is_ok());
  EXPECT_EQ(*case2->le, 256u);
  auto case4 = parse_command(hex("81E2910003BF2E0000"));
  ASSERT_TRUE(case4.is_ok());
  EXPECT_EQ(case4->data, hex("BF2E00"));
  EXPECT_EQ(*case4->le, 256u);
  EXPECT_EQ(encode_command(*case4), hex("81E2910003BF2E0000"));
  EXPECT_FALSE(parse_command(hex("80E2")).is_ok());
  EXPECT_FALSE(parse_command(hex("80E291000001FF")).is_ok());  // extended length
  EXPECT_FALSE(parse_command(hex("80E2910003BF2E")).is_ok());  // Lc beyond the data
}

TEST(ApduTest, LogicalChannelsInBothClaForms) {
  for (std::uint8_t channel = 0; channel <= kMaxLogicalChannel; ++channel) {
    EXPECT_EQ(channel_of(cla_on_channel(0x80, channel)), channel);
    EXPECT_EQ(channel_of(cla_on_channel(0x00, channel)), channel);
  }
  EXPECT_EQ(cla_on_channel(0x80, 1), 0x81);
  EXPECT_EQ(cla_on_channel(0x00, 4), 0x40);
  EXPECT_EQ(cla_on_channel(0x80, 19), 0xCF);
  EXPECT_FALSE(channel_of(0xFF).has_value());
}

TEST(ApduTest, StoreDataBlocksAreNumberedAndTheLastIsMarked) {
  auto commands = store_data_commands(2, payload_of(600));
  ASSERT_TRUE(commands.is_ok());
  ASSERT_EQ(commands->size(), 3u);
  EXPECT_EQ((*commands)[0].cla, 0x82);
  EXPECT_EQ((*commands)[0].p1, kP1MoreBlocks);
  EXPECT_EQ((*commands)[1].p2, 1);
  EXPECT_EQ((*commands)[2].p1, kP1LastBlock);
  EXPECT_EQ((*commands)[2].data.size(), 600u - 2 * 255);
  EXPECT_FALSE(store_data_commands(1, {}).is_ok());
}

TEST(VirtualCardTest, TheLpaChannelCarriesLongRequestsAndAnswers) {
  ReversingIsdR isd_r;
  VirtualCard card(isd_r);
  lpa::VirtualCardTransport transport(card);
  for (std::size_t size : {1u, 255u, 256u, 511u, 3000u, 16u * 1024}) {
    auto channel = lpa::Es10Channel::open(transport);
    ASSERT_TRUE(channel.is_ok()) << channel.status().to_string();
    const Bytes request = payload_of(size);
    auto answer = channel->call(request);
    ASSERT_TRUE(answer.is_ok()) << size << ": " << answer.status().to_string();
    EXPECT_EQ(isd_r.last_request, request);
    EXPECT_EQ(*answer, Bytes(request.rbegin(), request.rend()));
  }
  // Every channel was closed again, dropping the session each time.
  EXPECT_EQ(isd_r.dropped, 6);
}

TEST(VirtualCardTest, RefusesWhatARealIsdRWouldRefuse) {
  ReversingIsdR isd_r;
  VirtualCard card(isd_r);
  // STORE DATA on the basic channel, or on a channel not opened.
  EXPECT_EQ(card.transmit(hex("80E2910003BF2E0000")), hex("6881"));
  EXPECT_EQ(card.transmit(hex("81E2910003BF2E0000")), hex("6881"));
  EXPECT_EQ(card.transmit(hex("0070000001")), hex("019000"));
  // Before SELECT of the ISD-R; a SELECT of another AID.
  EXPECT_EQ(card.transmit(hex("81E2910003BF2E0000")), hex("6985"));
  EXPECT_EQ(card.transmit(hex("01A4040003A0000000")), hex("6A82"));
  EXPECT_EQ(card.transmit(hex("01A4040C10A0000005591010FFFFFFFF8900000100")), hex("9000"));
  // A block out of sequence drops the partial request; the next sequence starts afresh.
  EXPECT_EQ(card.transmit(hex("81E2110001AA00")), hex("9000"));
  EXPECT_EQ(card.transmit(hex("81E2910201BB00")), hex("6A86"));
  EXPECT_EQ(card.transmit(hex("81E2910101BB00")), hex("6A86"));
  EXPECT_EQ(card.transmit(hex("81E2910002AABB00")), hex("6102"));
  EXPECT_EQ(card.transmit(hex("01C0000002")), hex("BBAA9000"));
  EXPECT_EQ(card.transmit(hex("01C0000002")), hex("6985"));  // nothing left
  EXPECT_EQ(isd_r.requests, 1);
  // A malformed ES10 request is 6A80; an unknown instruction 6D00; a bad CLA 6E00.
  EXPECT_EQ(card.transmit(hex("81E2910001EE00")), hex("6A80"));
  EXPECT_EQ(card.transmit(hex("81CA000000")), hex("6D00"));
  EXPECT_EQ(card.transmit(hex("FFE2910001EE00")), hex("6E00"));
  EXPECT_EQ(card.transmit(hex("80")), hex("6700"));
  // At most kMaxOpenChannels channels.
  for (std::size_t i = 1; i < kMaxOpenChannels; ++i) {
    EXPECT_EQ(card.transmit(hex("0070000001")).back(), 0x00);
  }
  EXPECT_EQ(card.transmit(hex("0070000001")), hex("6A81"));
  card.reset();
  EXPECT_EQ(card.transmit(hex("0070000001")), hex("019000"));
}

TEST(VirtualCardTest, ARequestBeyondTheLimitIsRefusedWithoutReachingTheIsdR) {
  ReversingIsdR isd_r;
  VirtualCard card(isd_r);
  lpa::VirtualCardTransport transport(card);
  auto channel = lpa::Es10Channel::open(transport);
  ASSERT_TRUE(channel.is_ok());
  auto answer = channel->call(payload_of(kMaxEs10RequestBytes + 1));
  EXPECT_FALSE(answer.is_ok());
  EXPECT_EQ(isd_r.requests, 0);
}

}  // namespace
}  // namespace station::euicc
