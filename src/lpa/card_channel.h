// lpa/card_channel: how the LPA reaches the ISD-R of an eUICC — only through APDUs (euicc/apdu.h),
// so a PC/SC reader or a bridge to another process can stand in for the virtual card.
//
// An Es10Channel opens a logical channel, selects the ISD-R, and sends each ES10 request TLV as
// STORE DATA blocks; a 61xx answer is collected with GET RESPONSE up to kMaxEs10AnswerBytes.
#pragma once

#include <cstdint>
#include <memory>

#include "common/result.h"
#include "euicc/apdu.h"
#include "euicc/card.h"

namespace station::lpa {

using euicc::Bytes;
using euicc::ByteView;

inline constexpr std::size_t kMaxEs10AnswerBytes = euicc::kMaxEs10ResponseBytes;

// Carries one command APDU to a card and brings back its response APDU (data || SW1 SW2).
class ApduTransport {
 public:
  virtual ~ApduTransport() = default;
  virtual Result<Bytes> transmit(ByteView command) = 0;
};

// The virtual eUICC in this process.
class VirtualCardTransport final : public ApduTransport {
 public:
  explicit VirtualCardTransport(euicc::VirtualCard& card) : card_(card) {}
  Result<Bytes> transmit(ByteView command) override { return card_.transmit(command); }

 private:
  euicc::VirtualCard& card_;
};

class Es10Channel {
 public:
  // MANAGE CHANNEL open and SELECT of the ISD-R. kUnavailable when the card refuses either.
  static Result<Es10Channel> open(ApduTransport& transport);
  Es10Channel(Es10Channel&& other) noexcept
      : transport_(other.transport_), channel_(std::exchange(other.channel_, 0)) {}
  Es10Channel& operator=(Es10Channel&&) = delete;
  ~Es10Channel();

  // One ES10 function: the request TLV out, the answer TLV back (empty when the card answers
  // 9000 alone). kUnavailable naming the status word when the card refuses the command.
  Result<Bytes> call(ByteView request);

 private:
  Es10Channel(ApduTransport& transport, std::uint8_t channel)
      : transport_(&transport), channel_(channel) {}
  Result<euicc::ResponseApdu> exchange(const euicc::CommandApdu& command);

  ApduTransport* transport_;
  std::uint8_t channel_ = 0;  // 0: closed (moved from)
};

}  // namespace station::lpa
