#include "euicc/apdu.h"

#include <cassert>

#include <fmt/format.h>

namespace station::euicc {
namespace {

Status malformed(std::string message) {
  return Status(ErrorCode::kMalformedRequest, std::move(message));
}

}  // namespace

Result<CommandApdu> parse_command(ByteView apdu) {
  if (apdu.size() < 4) return malformed(fmt::format("APDU of {} bytes", apdu.size()));
  if (apdu.size() > kMaxApduBytes) {
    return malformed(fmt::format("APDU of {} bytes (short APDUs only)", apdu.size()));
  }
  CommandApdu command{.cla = apdu[0], .ins = apdu[1], .p1 = apdu[2], .p2 = apdu[3]};
  if (apdu.size() == 4) return command;
  if (apdu.size() == 5) {
    command.le = apdu[4] == 0 ? kMaxResponseChunk : apdu[4];
    return command;
  }
  const std::size_t lc = apdu[4];
  if (lc == 0) return malformed("extended-length APDU");
  if (apdu.size() != 5 + lc && apdu.size() != 6 + lc) {
    return malformed(fmt::format("APDU of {} bytes with Lc {}", apdu.size(), lc));
  }
  command.data.assign(apdu.begin() + 5, apdu.begin() + 5 + static_cast<std::ptrdiff_t>(lc));
  if (apdu.size() == 6 + lc) command.le = apdu.back() == 0 ? kMaxResponseChunk : apdu.back();
  return command;
}

Bytes encode_command(const CommandApdu& command) {
  assert(command.data.size() <= kMaxShortData);
  assert(!command.le || (*command.le >= 1 && *command.le <= kMaxResponseChunk));
  Bytes out = {command.cla, command.ins, command.p1, command.p2};
  if (!command.data.empty()) {
    out.push_back(static_cast<std::uint8_t>(command.data.size()));
    out.insert(out.end(), command.data.begin(), command.data.end());
  }
  if (command.le) out.push_back(static_cast<std::uint8_t>(*command.le & 0xFF));
  return out;
}

Result<ResponseApdu> parse_response(ByteView apdu) {
  if (apdu.size() < 2) return malformed(fmt::format("response APDU of {} bytes", apdu.size()));
  ResponseApdu response;
  response.data.assign(apdu.begin(), apdu.end() - 2);
  response.sw = static_cast<std::uint16_t>(apdu[apdu.size() - 2] << 8 | apdu.back());
  return response;
}

Bytes encode_response(ByteView data, std::uint16_t sw) {
  Bytes out(data.begin(), data.end());
  out.push_back(static_cast<std::uint8_t>(sw >> 8));
  out.push_back(static_cast<std::uint8_t>(sw & 0xFF));
  return out;
}

std::uint8_t cla_on_channel(std::uint8_t base, std::uint8_t channel) {
  assert(channel <= kMaxLogicalChannel);
  const std::uint8_t proprietary = base & 0x80;
  if (channel <= 3) return static_cast<std::uint8_t>(proprietary | channel);
  return static_cast<std::uint8_t>(proprietary | 0x40 | (channel - 4));
}

std::optional<std::uint8_t> channel_of(std::uint8_t cla) {
  if (cla == 0xFF) return std::nullopt;
  if ((cla & 0x40) == 0) {
    if ((cla & 0x60) != 0) return std::nullopt;  // 0x20/0x60 bits: reserved forms
    return static_cast<std::uint8_t>(cla & 0x03);
  }
  return static_cast<std::uint8_t>(4 + (cla & 0x0F));
}

bool is_proprietary(std::uint8_t cla) { return (cla & 0x80) != 0; }

Result<std::vector<CommandApdu>> store_data_commands(std::uint8_t channel, ByteView payload) {
  if (payload.empty()) return Status(ErrorCode::kValidationFailed, "empty STORE DATA payload");
  const std::size_t blocks = (payload.size() + kMaxShortData - 1) / kMaxShortData;
  if (blocks > 256) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("STORE DATA payload of {} bytes needs {} blocks (at most 256)",
                              payload.size(), blocks));
  }
  std::vector<CommandApdu> commands;
  commands.reserve(blocks);
  for (std::size_t block = 0; block < blocks; ++block) {
    const ByteView part = payload.subspan(
        block * kMaxShortData, std::min(kMaxShortData, payload.size() - block * kMaxShortData));
    commands.push_back(CommandApdu{.cla = cla_on_channel(0x80, channel),
                                   .ins = kInsStoreData,
                                   .p1 = block + 1 == blocks ? kP1LastBlock : kP1MoreBlocks,
                                   .p2 = static_cast<std::uint8_t>(block),
                                   .data = Bytes(part.begin(), part.end()),
                                   .le = kMaxResponseChunk});
  }
  return commands;
}

}  // namespace station::euicc
