#include "messaging/smtp_client.h"

#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "common/limits.h"
#include "fmt/format.h"
#include "messaging/email.h"

namespace station::messaging {
namespace {

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// The message as curl reads it for DATA.
struct Upload {
  std::string_view bytes;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, upload->bytes.size() - upload->offset);
  std::memcpy(buffer, upload->bytes.data() + upload->offset, n);
  upload->offset += n;
  return n;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

Status validate(const SmtpConfig& config) {
  std::string_view url = config.url;
  std::string_view rest;
  if (starts_with(url, "smtp://")) {
    rest = url.substr(7);
  } else if (starts_with(url, "smtps://")) {
    rest = url.substr(8);
  } else {
    return Status(ErrorCode::kValidationFailed, "smtp_url must start with smtp:// or smtps://");
  }
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.front() == ':') {
    return Status(ErrorCode::kValidationFailed, "smtp_url needs a host");
  }
  if (authority.find('@') != std::string_view::npos) {
    return Status(ErrorCode::kValidationFailed,
                  "smtp_url may not carry credentials; use smtp_username and smtp_password");
  }
  if (url.find_first_of(" \t\r\n") != std::string_view::npos) {
    return Status(ErrorCode::kValidationFailed, "smtp_url may not contain white space");
  }
  auto from = normalise_email_address(config.from);
  if (!from.is_ok() || *from != config.from) {
    return Status(ErrorCode::kValidationFailed, "smtp_from must be an address (name@example.com)");
  }
  if (config.username.empty() && !config.password.empty()) {
    return Status(ErrorCode::kValidationFailed, "smtp_password needs smtp_username");
  }
  return Status::ok();
}

SmtpClient::SmtpClient(SmtpConfig config)
    : config_(std::move(config)),
      password_(std::exchange(config_.password, std::string())),
      message_id_domain_(config_.from.substr(config_.from.rfind('@') + 1)) {
  init_curl_once();
}

Result<std::string> SmtpClient::send(const OutboxMessage& message) {
  EmailMessage email;
  email.from = config_.from;
  email.to = message.destination;
  email.subject = message.subject;
  email.text = message.text;
  email.message_id =
      fmt::format("{}@{}", format_public_id(kMessageIdPrefix, message.id), message_id_domain_);
  email.date_unix_ms = message.created_at_ms;
  STATION_ASSIGN_OR_RETURN(const std::string composed, compose_email(email));

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status(ErrorCode::kUnavailable, "curl_easy_init failed");
  const std::string from_path = fmt::format("<{}>", config_.from);
  std::unique_ptr<curl_slist, SlistDeleter> recipients(
      curl_slist_append(nullptr, fmt::format("<{}>", message.destination).c_str()));
  if (!recipients) return Status(ErrorCode::kUnavailable, "out of memory");
  Upload upload{composed};
  char error[CURL_ERROR_SIZE] = {};
  const std::string password(password_.view());

  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits::kSmtpConnectTimeoutMs));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(limits::kSmtpTransactionTimeoutMs));
  curl_easy_setopt(
      h, CURLOPT_USE_SSL,
      config_.require_tls ? static_cast<long>(CURLUSESSL_ALL) : static_cast<long>(CURLUSESSL_NONE));
  if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (!config_.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, password.c_str());
  }
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from_path.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(composed.size()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);

  const CURLcode result = curl_easy_perform(h);
  if (result == CURLE_OK) return email.message_id;
  long reply = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
  const std::string why = fmt::format("smtp: {} (reply {})",
                                      error[0] != '\0' ? error : curl_easy_strerror(result), reply);
  // curl reports a refused MAIL, RCPT or DATA as a send error: with a 5xx reply the server
  // refuses this message for good. Anything else (no connection, TLS, refused credentials, 4xx)
  // is the network's or the operator's to fix, and the message may go once it is.
  const bool permanent = result == CURLE_SEND_ERROR && reply >= 500 && reply < 600;
  return Status(permanent ? ErrorCode::kValidationFailed : ErrorCode::kUnavailable, why);
}

}  // namespace station::messaging
