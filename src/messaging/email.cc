#include "messaging/email.h"

#include <array>
#include <ctime>
#include <vector>

#include "common/limits.h"
#include "fmt/format.h"
#include "messaging/text_coding.h"
#include "secrets/secrets.h"

namespace station::messaging {
namespace {

// RFC 5322 atext: the characters of a dot-atom besides letters and digits.
constexpr std::string_view kAtextSymbols = "!#$%&'*+-/=?^_`{|}~";
// RFC 2047: an encoded-word is at most 75 characters; "=?UTF-8?B?" + "?=" leave 63 for base64,
// which carries 45 bytes of UTF-8 in 60 characters.
constexpr std::string_view kEncodedWordStart = "=?UTF-8?B?";
constexpr std::string_view kEncodedWordEnd = "?=";
constexpr std::size_t kEncodedWordBytesMax = 45;
// RFC 2045: base64 lines are at most 76 characters.
constexpr std::size_t kBase64LineMax = 76;

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_dot_atom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (text[i + 1] == '.') return false;  // i + 1 < size: the last is not '.'
    } else if (!is_ascii_alnum(c) && kAtextSymbols.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// REQUIRES: domain is lower-case.
bool is_hostname(std::string_view domain) {
  std::size_t labels = 0;
  while (true) {
    const std::size_t dot = domain.find('.');
    const std::string_view label = domain.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!is_ascii_alnum(c) && c != '-') return false;
    }
    ++labels;
    if (dot == std::string_view::npos) {
      // A top-level domain is letters (as billing's customer check wants it too).
      return labels >= 2 && label.size() >= 2 &&
             label.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == std::string_view::npos;
    }
    domain.remove_prefix(dot + 1);
  }
}

std::string base64(std::string_view bytes) {
  return secrets::base64_encode(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

// Bytes of the UTF-8 character whose lead byte is `lead` (the text is already validated).
std::size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
}

bool is_printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

std::string rfc5322_date(std::int64_t unix_ms) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{}, {} {} {:04} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Status check_normalised(std::string_view address, std::string_view role) {
  auto normal = normalise_email_address(address);
  if (!normal.is_ok() || *normal != address) {
    return Status(ErrorCode::kValidationFailed, fmt::format("{} address is not valid", role));
  }
  return Status::ok();
}

}  // namespace

Result<std::string> normalise_email_address(std::string_view typed) {
  while (!typed.empty() && (typed.front() == ' ' || typed.front() == '\t')) typed.remove_prefix(1);
  while (!typed.empty() && (typed.back() == ' ' || typed.back() == '\t')) typed.remove_suffix(1);
  const Status invalid(ErrorCode::kValidationFailed, "not an email address (name@example.com)");
  if (typed.size() > limits::kEmailBytesMax) return invalid;
  const std::size_t at = typed.rfind('@');
  if (at == std::string_view::npos) return invalid;
  const std::string_view local = typed.substr(0, at);
  std::string domain(typed.substr(at + 1));
  for (char& c : domain) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (local.size() > 64 || !is_dot_atom(local) || !is_hostname(domain)) return invalid;
  return fmt::format("{}@{}", local, domain);
}

std::string encode_header_text(std::string_view utf8) {
  if (is_printable_ascii(utf8)) return std::string(utf8);
  std::string out;
  std::size_t word_start = 0;
  std::size_t i = 0;
  auto flush = [&] {
    if (!out.empty()) out += "\r\n ";
    out += kEncodedWordStart;
    out += base64(utf8.substr(word_start, i - word_start));
    out += kEncodedWordEnd;
    word_start = i;
  };
  while (i < utf8.size()) {
    const std::size_t length = utf8_length(static_cast<unsigned char>(utf8[i]));
    if (i + length - word_start > kEncodedWordBytesMax) flush();
    i += length;
  }
  if (i > word_start) flush();
  return out;
}

Status check_email_content(std::string_view subject, std::string_view text) {
  if (subject.empty() || subject.size() > limits::kEmailSubjectBytesMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("subject must be 1-{} bytes", limits::kEmailSubjectBytesMax));
  }
  if (subject.find_first_of("\r\n") != std::string_view::npos) {
    return Status(ErrorCode::kValidationFailed, "subject must be one line");
  }
  if (text.empty() || text.size() > limits::kEmailTextBytesMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("text must be 1-{} bytes", limits::kEmailTextBytesMax));
  }
  STATION_RETURN_IF_ERROR(utf8_to_code_points(subject).status());
  return utf8_to_code_points(text).status();
}

Result<std::string> compose_email(const EmailMessage& message) {
  STATION_RETURN_IF_ERROR(check_normalised(message.from, "from"));
  STATION_RETURN_IF_ERROR(check_normalised(message.to, "to"));
  STATION_RETURN_IF_ERROR(check_email_content(message.subject, message.text));
  if (!is_printable_ascii(message.message_id) ||
      message.message_id.find_first_of("<> ") != std::string::npos) {
    return Status(ErrorCode::kValidationFailed, "message id must be printable ASCII");
  }
  // RFC 2045 canonical text: CRLF line ends, whatever the template used.
  std::string canonical;
  canonical.reserve(message.text.size() + message.text.size() / 32);
  for (char c : message.text) {
    if (c == '\r') continue;
    if (c == '\n') canonical += '\r';
    canonical += c;
  }
  const std::string body = base64(canonical);

  std::string out = fmt::format(
      "Date: {}\r\nFrom: {}\r\nTo: {}\r\nMessage-ID: <{}>\r\nSubject: {}\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
      rfc5322_date(message.date_unix_ms), message.from, message.to, message.message_id,
      encode_header_text(message.subject));
  for (std::size_t at = 0; at < body.size(); at += kBase64LineMax) {
    out += std::string_view(body).substr(at, kBase64LineMax);
    out += "\r\n";
  }
  return out;
}

}  // namespace station::messaging
