// orders/payments: card payments through a payment provider, and the provider's webhooks.
//
// A card payment is asynchronous, as with every real processor: create_intent() starts it and
// returns at once; the outcome (succeeded, failed) arrives later as a webhook, and so does a
// refund's. Webhooks are signed: the header
//
//   Station-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// is checked in constant time, and a delivery whose timestamp is more than five minutes from
// now is refused, so a captured webhook cannot be replayed later. A redelivered event (same
// event id) is recognised by the orders domain, which records each event id once.
//
// TestPaymentProvider ("testpay") is the built-in provider for development and tests. It runs in
// the server process but behaves like a remote processor: it answers create_intent() at once,
// then after a delay POSTs the signed webhook over real HTTP to the configured URL, retrying
// with back-off until it gets a 2xx (at most kWebhookAttemptsMax times). The card token decides
// the outcome, like a processor's test cards:
//   tok_visa (or none)  succeeds        tok_decline       fails: card_declined
//   tok_insufficient    fails: insufficient_funds         tok_timeout  never answers
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/clock.h"
#include "common/result.h"
#include "secrets/secrets.h"

namespace station::orders {

inline constexpr std::int64_t kWebhookToleranceSeconds = 300;
inline constexpr std::string_view kSignatureHeader = "station-signature";

enum class PaymentEventType : std::uint8_t { kSucceeded, kFailed, kRefunded };
std::string_view payment_event_type_name(PaymentEventType type);

struct PaymentEvent {
  std::string event_id;  // the provider's; unique per event, repeated on redelivery
  PaymentEventType type = PaymentEventType::kSucceeded;
  std::string intent_id;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string failure_reason;  // kFailed only
};

struct IntentRequest {
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string order_reference;  // shown on the processor's side, e.g. the public order id
  std::string card_token;
};

struct PaymentIntent {
  std::string intent_id;
  std::string status;  // "processing": the outcome comes by webhook
};

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  virtual std::string_view name() const = 0;
  virtual Result<PaymentIntent> create_intent(const IntentRequest& request) = 0;
  // Starts a refund of a succeeded intent; a kRefunded event follows.
  virtual Status refund(std::string_view intent_id, std::int64_t amount_minor,
                        std::string_view currency) = 0;
  // Checks the signature and age of a webhook delivery and parses it.
  // kWebhookSignatureInvalid / kWebhookTimestampOutOfTolerance / kMalformedRequest.
  virtual Result<PaymentEvent> parse_webhook(std::string_view signature_header,
                                             std::string_view body) const = 0;
};

// The header value for `body` signed at `unix_seconds`.
std::string sign_webhook(std::string_view secret, std::int64_t unix_seconds,
                         std::string_view body);
// Checks a header value against the body: signature, then age against `now_unix_seconds`.
Status verify_webhook(std::string_view secret, std::string_view header, std::string_view body,
                      std::int64_t now_unix_seconds);

struct TestProviderOptions {
  std::string webhook_host = "127.0.0.1";
  std::uint16_t webhook_port = 0;
  std::string webhook_path = "/v1/payments/webhooks/testpay";
  std::uint32_t delay_ms = 1'500;  // from create_intent()/refund() to the first delivery
};

class TestPaymentProvider final : public PaymentProvider {
 public:
  static constexpr int kWebhookAttemptsMax = 6;
  static constexpr std::size_t kPendingDeliveriesMax = 10'000;

  // The webhook secret is the provider's; Station holds the same one to verify.
  TestPaymentProvider(secrets::SecretString webhook_secret, TestProviderOptions options,
                      const Clock& clock);
  ~TestPaymentProvider() override;

  // Where webhooks go; the server's port is known only once it listens.
  void set_webhook_port(std::uint16_t port);
  void start();
  void stop();

  std::string_view name() const override { return "testpay"; }
  Result<PaymentIntent> create_intent(const IntentRequest& request) override;
  Status refund(std::string_view intent_id, std::int64_t amount_minor,
                std::string_view currency) override;
  Result<PaymentEvent> parse_webhook(std::string_view signature_header,
                                     std::string_view body) const override;

 private:
  struct Delivery {
    std::chrono::steady_clock::time_point due;
    std::string body;
    int attempts = 0;
  };
  Status schedule(std::string body);
  void run();
  bool deliver(const std::string& body);

  secrets::SecretString secret_;
  TestProviderOptions options_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Delivery> deliveries_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;            // GUARDED_BY(mutex_)
  std::thread worker_;
};

}  // namespace station::orders
