// lpa/stdio_bridge: the host side of the line-delimited JSON stdio protocol by which a
// third-party LPA process (e.g. lpac's stdio drivers; ../shared/rsp/lpa-stdio-schema.json) asks
// for APDU exchanges with a card and for its HTTP requests to be carried:
//
//   {"type":"apdu","payload":{"func":"connect|disconnect|logic_channel_open|logic_channel_close|
//                                     transmit","param":HEX}}
//       -> {"type":"apdu","payload":{"ecode":N,"data":HEX}}
//      logic_channel_open's param is the AID to select; ecode is the channel opened (negative on
//      failure). transmit's param is a command APDU; data the response APDU with its status word.
//   {"type":"http","payload":{"url":URL,"tx":HEX,"headers":["Name: value",...]}}
//       -> {"type":"http","payload":{"rcode":N,"rx":HEX}}   (rcode 0 when nothing came back)
//
// The LPA writes these lines to its stdout, mixed with its own output; a line that is not one of
// them is the LPA's output and is passed through. HTTP requests go over verified HTTPS only
// (http/client.h), so the LPA cannot reach an SM-DP+ the trust store does not vouch for.
//
// Limits: a line of at most kMaxBridgeLineBytes; APDUs within the card's limits; HTTP bodies
// within the client's.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/client.h"
#include "lpa/card_channel.h"

namespace station::lpa {

inline constexpr std::size_t kMaxBridgeLineBytes = 1024 * 1024;
inline constexpr std::size_t kMaxBridgeHeaders = 32;

class StdioBridge {
 public:
  StdioBridge(ApduTransport& card, const http::Client& http) : card_(card), http_(http) {}

  // The answer line (without newline) to one line the LPA wrote, or nullopt when the line is the
  // LPA's own output. A malformed request of the protocol is answered with ecode/rcode -1.
  std::optional<std::string> handle_line(std::string_view line);

 private:
  std::string apdu(std::string_view func, std::string_view param);
  std::string http(const std::string& url, std::string_view tx_hex,
                   const std::vector<std::string>& headers);

  ApduTransport& card_;
  const http::Client& http_;
};

}  // namespace station::lpa
