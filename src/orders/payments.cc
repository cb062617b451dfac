#include "orders/payments.h"

#include <array>
#include <charconv>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

namespace station::orders {
namespace {

constexpr std::size_t kWebhookBodyBytesMax = 16 * 1024;
constexpr std::size_t kSignatureHeaderBytesMax = 256;
constexpr int kDeliveryTimeoutSeconds = 5;

std::string hex(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) out += fmt::format("{:02x}", data[i]);
  return out;
}

std::string hmac_hex(std::string_view secret, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
       &length);
  return hex(digest.data(), length);
}

Result<std::string> random_id(std::string_view prefix) {
  std::array<unsigned char, 12> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Status(ErrorCode::kInternal, "the random generator failed");
  }
  return std::string(prefix) + hex(bytes.data(), bytes.size());
}

const std::array<std::pair<PaymentEventType, std::string_view>, 3> kEventTypes = {{
    {PaymentEventType::kSucceeded, "payment_intent.succeeded"},
    {PaymentEventType::kFailed, "payment_intent.payment_failed"},
    {PaymentEventType::kRefunded, "charge.refunded"},
}};

}  // namespace

std::string_view payment_event_type_name(PaymentEventType type) {
  for (const auto& [value, name] : kEventTypes) {
    if (value == type) return name;
  }
  return "unknown";
}

std::string sign_webhook(std::string_view secret, std::int64_t unix_seconds,
                         std::string_view body) {
  std::string message = fmt::format("{}.{}", unix_seconds, body);
  return fmt::format("t={},v1={}", unix_seconds, hmac_hex(secret, message));
}

Status verify_webhook(std::string_view secret, std::string_view header, std::string_view body,
                      std::int64_t now_unix_seconds) {
  if (header.empty() || header.size() > kSignatureHeaderBytesMax) {
    return Status(ErrorCode::kWebhookSignatureInvalid, "the Station-Signature header is missing");
  }
  if (body.size() > kWebhookBodyBytesMax) {
    return Status(ErrorCode::kPayloadTooLarge, "the webhook body is too large");
  }
  // t=<digits>,v1=<64 hex>; the order is fixed, as the provider writes it.
  std::optional<std::int64_t> timestamp;
  std::string_view signature;
  std::size_t start = 0;
  while (start <= header.size()) {
    std::size_t comma = header.find(',', start);
    std::string_view part = header.substr(start, comma == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : comma - start);
    if (part.starts_with("t=")) {
      std::int64_t value = 0;
      auto digits = part.substr(2);
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (error == std::errc() && end == digits.data() + digits.size()) timestamp = value;
    } else if (part.starts_with("v1=")) {
      signature = part.substr(3);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (!timestamp || signature.size() != 64) {
    return Status(ErrorCode::kWebhookSignatureInvalid,
                  "the Station-Signature header must be t=<unix seconds>,v1=<hex HMAC-SHA256>");
  }
  std::string expected = hmac_hex(secret, fmt::format("{}.{}", *timestamp, body));
  if (CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) != 0) {
    return Status(ErrorCode::kWebhookSignatureInvalid, "the webhook signature does not match");
  }
  std::int64_t age = now_unix_seconds - *timestamp;
  if (age > kWebhookToleranceSeconds || age < -kWebhookToleranceSeconds) {
    return Status(ErrorCode::kWebhookTimestampOutOfTolerance,
                  fmt::format("the webhook was signed {} s from now; at most {} s are accepted",
                              age, kWebhookToleranceSeconds));
  }
  return Status::ok();
}

TestPaymentProvider::TestPaymentProvider(secrets::SecretString webhook_secret,
                                         TestProviderOptions options, const Clock& clock)
    : secret_(std::move(webhook_secret)), options_(std::move(options)), clock_(clock) {
  assert(!secret_.empty());
}

TestPaymentProvider::~TestPaymentProvider() { stop(); }

void TestPaymentProvider::set_webhook_port(std::uint16_t port) {
  std::lock_guard lock(mutex_);
  options_.webhook_port = port;
}

void TestPaymentProvider::start() {
  std::lock_guard lock(mutex_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this] { run(); });
}

void TestPaymentProvider::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Result<PaymentIntent> TestPaymentProvider::create_intent(const IntentRequest& request) {
  if (request.amount_minor <= 0 || request.currency.size() != 3) {
    return Status(ErrorCode::kValidationFailed, "a payment needs a positive amount and currency");
  }
  std::string token = request.card_token.empty() ? "tok_visa" : request.card_token;
  std::optional<std::string> failure;
  if (token == "tok_decline") {
    failure = "card_declined";
  } else if (token == "tok_insufficient") {
    failure = "insufficient_funds";
  } else if (token != "tok_visa" && token != "tok_timeout") {
    return Status(ErrorCode::kValidationFailed,
                  "unknown card token; testpay knows tok_visa, tok_decline, tok_insufficient "
                  "and tok_timeout");
  }
  STATION_ASSIGN_OR_RETURN(auto intent_id, random_id("pi_"));
  if (token != "tok_timeout") {
    STATION_ASSIGN_OR_RETURN(auto event_id, random_id("evt_"));
    nlohmann::json data = {{"intent_id", intent_id},
                           {"amount_minor", request.amount_minor},
                           {"currency", request.currency},
                           {"order_reference", request.order_reference}};
    if (failure) data["failure_reason"] = *failure;
    nlohmann::json event = {
        {"id", event_id},
        {"type", payment_event_type_name(failure ? PaymentEventType::kFailed
                                                 : PaymentEventType::kSucceeded)},
        {"created", clock_.now_unix_ms() / 1000},
        {"data", data}};
    STATION_RETURN_IF_ERROR(schedule(event.dump()));
  }
  return PaymentIntent{intent_id, "processing"};
}

Status TestPaymentProvider::refund(std::string_view intent_id, std::int64_t amount_minor,
                                   std::string_view currency) {
  STATION_ASSIGN_OR_RETURN(auto event_id, random_id("evt_"));
  nlohmann::json event = {{"id", event_id},
                          {"type", payment_event_type_name(PaymentEventType::kRefunded)},
                          {"created", clock_.now_unix_ms() / 1000},
                          {"data",
                           {{"intent_id", intent_id},
                            {"amount_minor", amount_minor},
                            {"currency", currency}}}};
  return schedule(event.dump());
}

Result<PaymentEvent> TestPaymentProvider::parse_webhook(std::string_view signature_header,
                                                        std::string_view body) const {
  STATION_RETURN_IF_ERROR(
      verify_webhook(secret_.view(), signature_header, body, clock_.now_unix_ms() / 1000));
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto malformed = [] {
    return Status(ErrorCode::kMalformedRequest, "the webhook body is not a payment event");
  };
  if (!json.is_object() || !json.contains("id") || !json["id"].is_string() ||
      !json.contains("type") || !json["type"].is_string() || !json.contains("data") ||
      !json["data"].is_object()) {
    return malformed();
  }
  const auto& data = json["data"];
  if (!data.contains("intent_id") || !data["intent_id"].is_string() ||
      !data.contains("amount_minor") || !data["amount_minor"].is_number_integer() ||
      !data.contains("currency") || !data["currency"].is_string()) {
    return malformed();
  }
  PaymentEvent event;
  event.event_id = json["id"].get<std::string>();
  bool known = false;
  for (const auto& [value, name] : kEventTypes) {
    if (name == json["type"].get<std::string>()) {
      event.type = value;
      known = true;
    }
  }
  if (!known || event.event_id.empty() || event.event_id.size() > 64) return malformed();
  event.intent_id = data["intent_id"].get<std::string>();
  event.amount_minor = data["amount_minor"].get<std::int64_t>();
  event.currency = data["currency"].get<std::string>();
  if (data.contains("failure_reason") && data["failure_reason"].is_string()) {
    event.failure_reason = data["failure_reason"].get<std::string>();
  }
  return event;
}

Status TestPaymentProvider::schedule(std::string body) {
  {
    std::lock_guard lock(mutex_);
    if (deliveries_.size() >= kPendingDeliveriesMax) {
      return Status(ErrorCode::kUnavailable, "the payment provider is overloaded");
    }
    deliveries_.push_back(Delivery{
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.delay_ms),
        std::move(body), 0});
  }
  wake_.notify_all();
  return Status::ok();
}

void TestPaymentProvider::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto next = std::min_element(deliveries_.begin(), deliveries_.end(),
                                 [](const Delivery& a, const Delivery& b) { return a.due < b.due; });
    if (next == deliveries_.end()) {
      wake_.wait(lock);
      continue;
    }
    if (next->due > std::chrono::steady_clock::now()) {
      wake_.wait_until(lock, next->due);
      continue;
    }
    Delivery delivery = std::move(*next);
    deliveries_.erase(next);
    lock.unlock();
    bool delivered = deliver(delivery.body);
    lock.lock();
    if (!delivered && ++delivery.attempts < kWebhookAttemptsMax && !stopping_) {
      // Back-off as processors do: 0.5 s, 1 s, 2 s, ...
      delivery.due = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(500 << (delivery.attempts - 1));
      deliveries_.push_back(std::move(delivery));
    } else if (!delivered) {
      spdlog::warn("testpay: a webhook was not accepted after {} attempts; giving up",
                   kWebhookAttemptsMax);
    }
  }
}

bool TestPaymentProvider::deliver(const std::string& body) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  std::string host;
  std::uint16_t port = 0;
  {
    std::lock_guard lock(mutex_);
    host = options_.webhook_host;
    port = options_.webhook_port;
  }
  if (port == 0) return false;
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(kDeliveryTimeoutSeconds));
    boost::asio::ip::tcp::resolver resolver(io);
    stream.connect(resolver.resolve(host, std::to_string(port)));
    http::request<http::string_body> request(http::verb::post, options_.webhook_path, 11);
    request.set(http::field::host, fmt::format("{}:{}", host, port));
    request.set(http::field::content_type, "application/json");
    request.set("Station-Signature", sign_webhook(secret_.view(), clock_.now_unix_ms() / 1000, body));
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    beast::error_code ignored;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    return response.result_int() >= 200 && response.result_int() < 300;
  } catch (const std::exception& error) {  // Beast reports by exception; this is its edge
    spdlog::debug("testpay: webhook delivery failed: {}", error.what());
    return false;
  }
}

}  // namespace station::orders
