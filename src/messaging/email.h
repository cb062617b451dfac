// messaging/email: what the email channel sends, as bytes. Pure (no I/O), so the fuzz target
// links it alone.
//
// An address is checked and normalised (normalise_email_address) before it is stored; a
// message is composed as RFC 5322 text: the subject as RFC 2047 encoded-words (base64 of UTF-8)
// when it is not plain ASCII, and a text/plain; charset=UTF-8 body in base64 (RFC 2045), so
// Chinese reaches any mail server that speaks 7-bit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace station::messaging {

// An address a person typed, as Station stores and sends to it: surrounding spaces dropped,
// the domain lower-cased. kValidationFailed unless it is local@domain with a dot-atom local part
// (RFC 5322 atext and dots, no quoted strings, at most 64 bytes), a domain of LDH labels (each
// 1-63 characters, at least two, the last of letters only), and at most limits::kEmailBytesMax
// bytes in all.
Result<std::string> normalise_email_address(std::string_view typed);

struct EmailMessage {
  std::string from;        // a normalised address
  std::string to;          // a normalised address
  std::string subject;     // UTF-8, one line
  std::string text;        // UTF-8; "\n" line ends
  std::string message_id;  // without angle brackets: "msg_...@domain"
  std::int64_t date_unix_ms = 0;
};

// The subject as one header value: itself when printable ASCII, else RFC 2047 "B" encoded-words
// of UTF-8, each at most 75 characters and never splitting a character, folded with CRLF SP.
std::string encode_header_text(std::string_view utf8);

// The whole message, CRLF line ends. kValidationFailed when an address is not normalised, the
// subject is empty, too long, has a line break or is not UTF-8, or the text is empty, longer
// than limits::kEmailTextBytesMax or not UTF-8.
Result<std::string> compose_email(const EmailMessage& message);

// Checks subject and text as compose_email would, so the outbox refuses at once what it could
// never send.
Status check_email_content(std::string_view subject, std::string_view text);

}  // namespace station::messaging
