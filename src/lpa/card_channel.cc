#include "lpa/card_channel.h"

#include <fmt/format.h>

namespace station::lpa {
namespace {

Status refused(std::string_view what, std::uint16_t sw) {
  return Status(ErrorCode::kUnavailable, fmt::format("the card refused {}: {:04X}", what, sw));
}

}  // namespace

Result<Es10Channel> Es10Channel::open(ApduTransport& transport) {
  const euicc::CommandApdu open_channel{
      .cla = 0x00, .ins = euicc::kInsManageChannel, .p1 = 0x00, .p2 = 0x00, .le = 1};
  STATION_ASSIGN_OR_RETURN(auto raw, transport.transmit(euicc::encode_command(open_channel)));
  STATION_ASSIGN_OR_RETURN(auto opened, euicc::parse_response(raw));
  if (opened.sw != euicc::kSwOk || opened.data.size() != 1 || opened.data[0] == 0 ||
      opened.data[0] > euicc::kMaxLogicalChannel) {
    return refused("MANAGE CHANNEL", opened.sw);
  }
  Es10Channel channel(transport, opened.data[0]);
  const euicc::CommandApdu select{.cla = euicc::cla_on_channel(0x00, channel.channel_),
                                  .ins = euicc::kInsSelect,
                                  .p1 = 0x04,
                                  .p2 = 0x00,
                                  .data = Bytes(euicc::kIsdRAid.begin(), euicc::kIsdRAid.end()),
                                  .le = euicc::kMaxResponseChunk};
  STATION_ASSIGN_OR_RETURN(auto selected, channel.exchange(select));
  if (selected.sw != euicc::kSwOk) return refused("SELECT ISD-R", selected.sw);
  return channel;
}

Es10Channel::~Es10Channel() {
  if (channel_ == 0) return;
  const euicc::CommandApdu close{.cla = euicc::cla_on_channel(0x00, channel_),
                                 .ins = euicc::kInsManageChannel,
                                 .p1 = 0x80,
                                 .p2 = channel_};
  transport_->transmit(euicc::encode_command(close)).status().ignore();  // best effort
}

Result<euicc::ResponseApdu> Es10Channel::exchange(const euicc::CommandApdu& command) {
  STATION_ASSIGN_OR_RETURN(auto raw, transport_->transmit(euicc::encode_command(command)));
  STATION_ASSIGN_OR_RETURN(auto response, euicc::parse_response(raw));
  Bytes data = std::move(response.data);
  // 61xx: more data waits; fetch it.
  while (response.sw1() == 0x61) {
    const std::size_t chunk = response.sw2() == 0 ? euicc::kMaxResponseChunk : response.sw2();
    const euicc::CommandApdu get_response{
        .cla = euicc::cla_on_channel(0x00, channel_), .ins = euicc::kInsGetResponse, .le = chunk};
    STATION_ASSIGN_OR_RETURN(raw, transport_->transmit(euicc::encode_command(get_response)));
    STATION_ASSIGN_OR_RETURN(response, euicc::parse_response(raw));
    if (data.size() + response.data.size() > kMaxEs10AnswerBytes) {
      return Status(ErrorCode::kPayloadTooLarge, "the card's answer is beyond the limit");
    }
    data.insert(data.end(), response.data.begin(), response.data.end());
  }
  response.data = std::move(data);
  return response;
}

Result<Bytes> Es10Channel::call(ByteView request) {
  STATION_ASSIGN_OR_RETURN(auto commands, euicc::store_data_commands(channel_, request));
  for (std::size_t i = 0; i < commands.size(); ++i) {
    STATION_ASSIGN_OR_RETURN(auto response, exchange(commands[i]));
    if (response.sw != euicc::kSwOk) return refused("STORE DATA", response.sw);
    if (i + 1 == commands.size()) return std::move(response.data);
    if (!response.data.empty()) {
      return Status(ErrorCode::kMalformedRequest, "the card answered a STORE DATA block early");
    }
  }
  return Bytes();
}

}  // namespace station::lpa
