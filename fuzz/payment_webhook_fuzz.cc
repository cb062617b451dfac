// Fuzz target: payment webhooks as they arrive from outside. Input: the Station-Signature header
// value, a newline, then the body. The body is checked twice: with the header as given (the
// signature parser and its constant-time compare), and correctly signed, so the event parser
// behind the signature check sees every body too.
#include <cassert>
#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "orders/payments.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace station;
  static constexpr std::string_view kSecret = "whsec_fuzz";
  static constexpr std::int64_t kNowSeconds = 1'800'000'000;
  static ManualClock clock(kNowSeconds * 1000);
  static orders::TestPaymentProvider provider(secrets::SecretString(std::string(kSecret)), {},
                                              clock);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view header = input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  (void)provider.parse_webhook(header, body);
  auto event = provider.parse_webhook(orders::sign_webhook(kSecret, kNowSeconds, body), body);
  if (event.is_ok()) {
    assert(!event->event_id.empty() && event->event_id.size() <= 64);
  }
  return 0;
}
