#include "euicc/card.h"

#include <algorithm>

#include <fmt/format.h>

namespace station::euicc {
namespace {

ResponseApdu status_word(std::uint16_t sw) { return ResponseApdu{{}, sw}; }

// The FCI a SELECT of the ISD-R answers: 6F { 84 AID }.
Bytes isd_r_fci() {
  Bytes fci = {0x6F, static_cast<std::uint8_t>(2 + kIsdRAid.size()), 0x84,
               static_cast<std::uint8_t>(kIsdRAid.size())};
  fci.insert(fci.end(), kIsdRAid.begin(), kIsdRAid.end());
  return fci;
}

}  // namespace

Bytes VirtualCard::transmit(ByteView command_bytes) {
  auto command = parse_command(command_bytes);
  const ResponseApdu response = command.is_ok() ? dispatch(*command) : status_word(kSwWrongLength);
  return encode_response(response.data, response.sw);
}

void VirtualCard::reset() {
  channels_ = {};
  isd_r_.drop_session();
}

std::size_t VirtualCard::open_channels() const {
  return static_cast<std::size_t>(
      std::count_if(channels_.begin(), channels_.end(), [](const Channel& c) { return c.open; }));
}

ResponseApdu VirtualCard::dispatch(const CommandApdu& command) {
  const auto channel_number = channel_of(command.cla);
  if (!channel_number) return status_word(kSwClaNotSupported);
  if (command.ins == kInsManageChannel && !is_proprietary(command.cla)) {
    return manage_channel(command, *channel_number);
  }
  Channel& channel = channels_[*channel_number];
  // The basic channel has no applet here: the ISD-R is reached on a logical channel only.
  if (*channel_number == 0 || !channel.open) return status_word(kSwLogicalChannelNotSupported);
  // Anything but GET RESPONSE discards an unfetched answer (ISO/IEC 7816-4 behaviour).
  if (command.ins != kInsGetResponse) {
    channel.response.clear();
    channel.response_offset = 0;
  }
  if (command.ins == kInsSelect && !is_proprietary(command.cla)) return select(command, channel);
  if (command.ins == kInsGetResponse && !is_proprietary(command.cla)) {
    return get_response(command, channel);
  }
  if (command.ins == kInsStoreData && is_proprietary(command.cla)) {
    return store_data(command, channel);
  }
  return status_word(kSwInsNotSupported);
}

ResponseApdu VirtualCard::manage_channel(const CommandApdu& command, std::uint8_t channel) {
  if (command.p1 == 0x00) {  // open: the card picks the channel (P2 00)
    if (command.p2 != 0 || !command.data.empty()) return status_word(kSwWrongP1P2);
    if (open_channels() >= kMaxOpenChannels) return status_word(kSwNoMoreChannels);
    for (std::uint8_t n = 1; n <= kMaxLogicalChannel; ++n) {
      if (!channels_[n].open) {
        channels_[n] = Channel{.open = true};
        return ResponseApdu{{n}, kSwOk};
      }
    }
    return status_word(kSwNoMoreChannels);
  }
  if (command.p1 == 0x80) {  // close the channel P2 (or the CLA's)
    const std::uint8_t target = command.p2 != 0 ? command.p2 : channel;
    if (target == 0 || target > kMaxLogicalChannel || !channels_[target].open) {
      return status_word(kSwWrongP1P2);
    }
    if (channels_[target].isd_r_selected) isd_r_.drop_session();
    channels_[target] = Channel{};
    return status_word(kSwOk);
  }
  return status_word(kSwWrongP1P2);
}

ResponseApdu VirtualCard::select(const CommandApdu& command, Channel& channel) {
  if (command.p1 != 0x04) return status_word(kSwWrongP1P2);
  if (!std::equal(command.data.begin(), command.data.end(), kIsdRAid.begin(), kIsdRAid.end())) {
    channel.isd_r_selected = false;
    return status_word(kSwFileNotFound);
  }
  channel.isd_r_selected = true;
  channel.request.clear();
  channel.next_block.reset();
  // P2 0C: no FCI wanted.
  return command.p2 == 0x0C ? status_word(kSwOk) : announce(channel, isd_r_fci());
}

ResponseApdu VirtualCard::store_data(const CommandApdu& command, Channel& channel) {
  if (!channel.isd_r_selected) return status_word(kSwConditionsNotSatisfied);
  if (command.p1 != kP1MoreBlocks && command.p1 != kP1LastBlock) {
    channel.request.clear();
    channel.next_block.reset();
    return status_word(kSwWrongP1P2);
  }
  const std::uint8_t expected = channel.next_block.value_or(0);
  if (command.p2 != expected) {
    channel.request.clear();
    channel.next_block.reset();
    return status_word(command.p2 == 0 ? kSwConditionsNotSatisfied : kSwWrongP1P2);
  }
  if (channel.request.size() + command.data.size() > kMaxEs10RequestBytes) {
    channel.request.clear();
    channel.next_block.reset();
    return status_word(kSwNotEnoughMemory);
  }
  channel.request.insert(channel.request.end(), command.data.begin(), command.data.end());
  if (command.p1 == kP1MoreBlocks) {
    if (expected == 0xFF) {  // a 257th block cannot be numbered
      channel.request.clear();
      channel.next_block.reset();
      return status_word(kSwWrongP1P2);
    }
    channel.next_block = static_cast<std::uint8_t>(expected + 1);
    return status_word(kSwOk);
  }
  Bytes request = std::move(channel.request);
  channel.request.clear();
  channel.next_block.reset();
  auto answer = isd_r_.handle_es10(request);
  if (!answer.is_ok()) {
    return status_word(answer.status().code() == ErrorCode::kMalformedRequest ? kSwIncorrectData
                                                                              : kSwUnknown);
  }
  if (answer->size() > kMaxEs10ResponseBytes) return status_word(kSwUnknown);
  return announce(channel, std::move(*answer));
}

ResponseApdu VirtualCard::get_response(const CommandApdu& command, Channel& channel) {
  if (command.p1 != 0 || command.p2 != 0) return status_word(kSwWrongP1P2);
  const std::size_t left = channel.response.size() - channel.response_offset;
  if (left == 0) return status_word(kSwConditionsNotSatisfied);
  const std::size_t take = std::min(left, command.le.value_or(kMaxResponseChunk));
  const auto from = channel.response.begin() + static_cast<std::ptrdiff_t>(channel.response_offset);
  ResponseApdu response{Bytes(from, from + static_cast<std::ptrdiff_t>(take)), kSwOk};
  channel.response_offset += take;
  const std::size_t remaining = channel.response.size() - channel.response_offset;
  if (remaining == 0) {
    channel.response.clear();
    channel.response_offset = 0;
  } else {
    response.sw = static_cast<std::uint16_t>(0x6100 | std::min<std::size_t>(remaining, 0xFF));
    if (remaining >= kMaxResponseChunk) response.sw = 0x6100;
  }
  return response;
}

ResponseApdu VirtualCard::announce(Channel& channel, Bytes data) {
  if (data.empty()) return status_word(kSwOk);
  const std::size_t size = data.size();
  channel.response = std::move(data);
  channel.response_offset = 0;
  return status_word(size >= kMaxResponseChunk
                         ? 0x6100
                         : static_cast<std::uint16_t>(0x6100 | static_cast<std::uint16_t>(size)));
}

}  // namespace station::euicc
