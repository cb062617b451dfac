// Fuzz target: an email address as a person types it into the portal's sign-in form
// (normalise_email_address), then the message composed to it: a normalised address must
// normalise to itself, stay within its limit, and compose into a 7-bit message whose headers
// have no line break the address brought in.
#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/limits.h"
#include "messaging/email.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace messaging = station::messaging;
  const std::string_view typed(reinterpret_cast<const char*>(data), size);
  auto address = messaging::normalise_email_address(typed);
  // The same bytes as a subject line, which must be encoded or refused, never passed raw.
  const std::string header = messaging::encode_header_text(typed);
  (void)header;
  if (!address.is_ok()) return 0;
  assert(address->size() <= station::limits::kEmailBytesMax);
  auto again = messaging::normalise_email_address(*address);
  assert(again.is_ok() && *again == *address);
  messaging::EmailMessage message;
  message.from = "noreply@station.example";
  message.to = *address;
  message.subject = "验证码 code";
  message.text = "123456";
  message.message_id = "msg_1@station.example";
  auto composed = messaging::compose_email(message);
  assert(composed.is_ok());
  const std::string& text = *composed;
  const std::size_t headers_end = text.find("\r\n\r\n");
  assert(headers_end != std::string::npos);
  for (std::size_t i = 0; i < text.size(); ++i) {
    assert(static_cast<unsigned char>(text[i]) < 0x80);
    // Every line break in the headers is CRLF followed by a header name or a fold.
    if (i < headers_end && text[i] == '\n') assert(i > 0 && text[i - 1] == '\r');
  }
  assert(text.find("\r\nBcc:") == std::string::npos);
  (void)again;
  return 0;
}
