// The email codec: addresses, RFC 2047 subjects and the composed RFC 5322 message. The SMTP
// client test checks the same messages through an independent parser (Python's email package).
#include "messaging/email.h"

#include <gtest/gtest.h>

#include <string>

#include "common/limits.h"
#include "secrets/secrets.h"

namespace station::messaging {
namespace {

std::string decode_base64(std::string_view text) {
  auto bytes = secrets::base64_decode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

TEST(EmailAddress, NormalisesWhatPeopleType) {
  EXPECT_EQ(*normalise_email_address("  Li.Lei+esim@Mail.Example.CN "),
            "Li.Lei+esim@mail.example.cn");
  EXPECT_EQ(*normalise_email_address("o'brien@example.com"), "o'brien@example.com");
}

TEST(EmailAddress, RefusesWhatIsNotAnAddress) {
  for (std::string_view bad : {"",         "@",        "a@",         "@b.cn",
                               "a@b",      "a@@b.cn",  "a..b@c.cn",  ".a@c.cn",
                               "a.@c.cn",  "a b@c.cn", "a@-b.cn",    "a@b-.cn",
                               "a@b..cn",  "a@b_c.cn", "\"q\"@c.cn", "a@c.cn\r\nBcc: x@y.cn",
                               "<a@c.cn>", "李@c.cn",  "a@例子.cn",  "a@b.c",
                               "a@b.c1"}) {
    EXPECT_FALSE(normalise_email_address(bad).is_ok()) << bad;
  }
  const std::string long_local(65, 'a');
  EXPECT_FALSE(normalise_email_address(long_local + "@c.cn").is_ok());
  const std::string long_label(64, 'b');
  EXPECT_FALSE(normalise_email_address("a@" + long_label + ".cn").is_ok());
  std::string long_domain;
  while (long_domain.size() < limits::kEmailBytesMax) long_domain += "abcdefghi.";
  EXPECT_FALSE(normalise_email_address("a@" + long_domain + "cn").is_ok());
}

TEST(EmailHeader, AsciiStaysAsItIs) { EXPECT_EQ(encode_header_text("Your code"), "Your code"); }

TEST(EmailHeader, OtherTextBecomesEncodedWordsThatNeverSplitACharacter) {
  // 40 Chinese characters: 120 bytes of UTF-8, more than one encoded word carries.
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "验";
  const std::string encoded = encode_header_text(subject);
  std::string decoded;
  std::size_t words = 0;
  for (std::size_t at = 0; at < encoded.size();) {
    std::size_t end = encoded.find("\r\n ", at);
    if (end == std::string::npos) end = encoded.size();
    const std::string word = encoded.substr(at, end - at);
    EXPECT_LE(word.size(), 75U) << word;
    ASSERT_EQ(word.substr(0, 10), "=?UTF-8?B?");
    ASSERT_EQ(word.substr(word.size() - 2), "?=");
    const std::string bytes = decode_base64(word.substr(10, word.size() - 12));
    EXPECT_EQ(bytes.size() % 3, 0U) << "a character was split";
    decoded += bytes;
    ++words;
    at = end == encoded.size() ? end : end + 3;
  }
  EXPECT_GT(words, 1U);
  EXPECT_EQ(decoded, subject);
}

EmailMessage sample() {
  EmailMessage message;
  message.from = "noreply@station.example";
  message.to = "li.lei@example.cn";
  message.subject = "Station 登录验证码";
  message.text = "您的验证码是 123456。\n10 分钟内有效。\n";
  message.message_id = "msg_0S8ZVVP000000@station.example";
  message.date_unix_ms = 1'795'000'000'000;  // 2026-11-18 11:06:40 UTC, a Wednesday
  return message;
}

TEST(EmailMessage, ComposesHeadersAndABase64Body) {
  auto composed = compose_email(sample());
  ASSERT_TRUE(composed.is_ok()) << composed.status().to_string();
  const std::string& text = *composed;
  const std::size_t split = text.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos);
  const std::string headers = text.substr(0, split + 2);
  EXPECT_NE(headers.find("Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"), std::string::npos);
  EXPECT_NE(headers.find("From: noreply@station.example\r\n"), std::string::npos);
  EXPECT_NE(headers.find("To: li.lei@example.cn\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Message-ID: <msg_0S8ZVVP000000@station.example>\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(headers.find("Content-Type: text/plain; charset=UTF-8\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos);
  // Every byte 7-bit, every line at most 78 characters.
  for (char c : text) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  std::string body;
  for (std::size_t at = split + 4; at < text.size();) {
    const std::size_t end = text.find("\r\n", at);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - at, 76U);
    body += text.substr(at, end - at);
    at = end + 2;
  }
  EXPECT_EQ(decode_base64(body), "您的验证码是 123456。\r\n10 分钟内有效。\r\n");
}

TEST(EmailMessage, RefusesWhatCouldInjectHeadersOrIsNotText) {
  EmailMessage message = sample();
  message.subject = "hi\r\nBcc: someone@example.com";
  EXPECT_FALSE(compose_email(message).is_ok());
  message = sample();
  message.to = "a@b.cn\r\nBcc: x@y.cn";
  EXPECT_FALSE(compose_email(message).is_ok());
  message = sample();
  message.to = "A@B.CN";  // not normalised
  EXPECT_FALSE(compose_email(message).is_ok());
  message = sample();
  message.text = std::string(limits::kEmailTextBytesMax + 1, 'x');
  EXPECT_FALSE(compose_email(message).is_ok());
  message = sample();
  message.text = "\xe9\xaa";  // a character cut short
  EXPECT_FALSE(compose_email(message).is_ok());
  message = sample();
  message.message_id = "a>b";
  EXPECT_FALSE(compose_email(message).is_ok());
}

}  // namespace
}  // namespace station::messaging
