// messaging/smtp_client: the email channel's transport, an SMTP client on libcurl (Debian's
// libcurl4-openssl-dev) rather than protocol code of our own: EHLO, STARTTLS, AUTH, MAIL, RCPT
// and DATA as curl speaks them, with certificate and host name verification.
//
// One connection per message, opened by send() on the caller's thread (the Messenger's email
// sender) and bounded by limits::kSmtpConnectTimeoutMs and limits::kSmtpTransactionTimeoutMs.
// TLS: smtps:// is TLS from the first byte; smtp:// is upgraded with STARTTLS, and a server that
// does not offer it is refused unless require_tls is off (a relay on loopback, tests).
//
// The password is never logged, and the URL may not carry credentials, so that it can be.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "messaging/messenger.h"
#include "secrets/secrets.h"

namespace station::messaging {

struct SmtpConfig {
  std::string url;       // smtp://host[:port] or smtps://host[:port]; empty: no mail server
  std::string from;      // the sender's address, also the Message-ID's domain
  std::string username;  // empty: no AUTH
  std::string password;  // never logged
  std::string ca_file;   // PEM bundle that vouches for the server; empty: the system's
  bool require_tls = true;
};

// kValidationFailed unless the URL is smtp:// or smtps:// with a host and no user information,
// the from address is a normalised address (normalise_email_address), and a password comes with
// a username.
Status validate(const SmtpConfig& config);

class SmtpClient final : public EmailTransport {
 public:
  // REQUIRES: validate(config) is ok.
  explicit SmtpClient(SmtpConfig config);
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // EmailTransport: composes the message (messaging/email.h) and hands it to the server; returns
  // its Message-ID. kValidationFailed when the server refuses it for good (a 5xx reply to MAIL,
  // RCPT or DATA), kUnavailable for anything that may pass later (no connection, TLS, 4xx,
  // timeout, refused credentials).
  Result<std::string> send(const OutboxMessage& message) override;

 private:
  SmtpConfig config_;
  secrets::SecretString password_;
  std::string message_id_domain_;
};

}  // namespace station::messaging
