// euicc/card: the APDU face of the virtual eUICC — logical channels, SELECT of the ISD-R, STORE
// DATA reassembly and GET RESPONSE (apdu.h describes the commands) — in front of the ES10
// functions (Es10Handler, implemented by Euicc in euicc.h).
//
// Limits: a reassembled ES10 request is at most kMaxEs10RequestBytes (a Bound Profile Package
// arrives one segment per request, each at most 1020 bytes; the largest other request is
// AuthenticateServer with a certificate); an answer at most kMaxEs10ResponseBytes; at most
// kMaxOpenChannels logical channels open at once. A STORE DATA block out of sequence, or a new
// sequence started before the previous one finished, is refused (6A86 / 6985) and drops the
// partial request.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/result.h"
#include "euicc/apdu.h"

namespace station::euicc {

inline constexpr std::size_t kMaxEs10RequestBytes = 16 * 1024;
inline constexpr std::size_t kMaxEs10ResponseBytes = 64 * 1024;
inline constexpr std::size_t kMaxOpenChannels = 4;

// The ES10 functions of an ISD-R: one request TLV in, its answer TLV out (possibly empty, as
// for the intermediate steps of LoadBoundProfilePackage). kMalformedRequest when the request is
// not a well-formed ES10 command (the card answers 6A80); other failures answer 6F00.
class Es10Handler {
 public:
  virtual ~Es10Handler() = default;
  virtual Result<Bytes> handle_es10(ByteView request) = 0;
  // The card was reset or the ISD-R's channel closed: an unfinished session is dropped.
  virtual void drop_session() = 0;
};

class VirtualCard {
 public:
  explicit VirtualCard(Es10Handler& isd_r) : isd_r_(isd_r) {}

  // One command APDU in, one response APDU (data || SW1 SW2) out; never fails: errors are status
  // words.
  Bytes transmit(ByteView command);
  // A cold reset: every logical channel closes, the ES10 session is dropped.
  void reset();

 private:
  struct Channel {
    bool open = false;
    bool isd_r_selected = false;
    Bytes request;                           // STORE DATA blocks received so far
    std::optional<std::uint8_t> next_block;  // the P2 expected next; nullopt: none pending
    Bytes response;                          // the answer not yet fetched
    std::size_t response_offset = 0;
  };

  ResponseApdu dispatch(const CommandApdu& command);
  ResponseApdu manage_channel(const CommandApdu& command, std::uint8_t channel);
  ResponseApdu select(const CommandApdu& command, Channel& channel);
  ResponseApdu store_data(const CommandApdu& command, Channel& channel);
  ResponseApdu get_response(const CommandApdu& command, Channel& channel);
  // Keeps `data` for GET RESPONSE and answers 61xx (9000 when empty).
  static ResponseApdu announce(Channel& channel, Bytes data);
  std::size_t open_channels() const;

  Es10Handler& isd_r_;
  std::array<Channel, kMaxLogicalChannel + 1> channels_{};
};

}  // namespace station::euicc
