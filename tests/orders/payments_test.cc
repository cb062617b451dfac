// Webhook signatures: the HMAC over timestamp and body, checked in constant time, with a
// five-minute window; and the built-in provider's parsing of what it signed.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "orders/payments.h"

namespace station::orders {
namespace {

constexpr std::string_view kSecret = "whsec_unit";
constexpr std::int64_t kNow = 1'800'000'000;

TEST(WebhookSignature, AcceptsWhatWasSignedWithinFiveMinutes) {
  std::string body = R"({"id":"evt_1"})";
  EXPECT_TRUE(verify_webhook(kSecret, sign_webhook(kSecret, kNow, body), body, kNow).is_ok());
  EXPECT_TRUE(verify_webhook(kSecret, sign_webhook(kSecret, kNow - 300, body), body, kNow).is_ok());
  EXPECT_TRUE(verify_webhook(kSecret, sign_webhook(kSecret, kNow + 300, body), body, kNow).is_ok());
}

TEST(WebhookSignature, RefusesTamperingOtherSecretsAndAge) {
  std::string body = R"({"id":"evt_1","amount_minor":100})";
  std::string header = sign_webhook(kSecret, kNow, body);
  EXPECT_EQ(verify_webhook(kSecret, header, R"({"id":"evt_1","amount_minor":900})", kNow).code(),
            ErrorCode::kWebhookSignatureInvalid);
  EXPECT_EQ(verify_webhook("other", header, body, kNow).code(),
            ErrorCode::kWebhookSignatureInvalid);
  EXPECT_EQ(verify_webhook(kSecret, sign_webhook(kSecret, kNow - 301, body), body, kNow).code(),
            ErrorCode::kWebhookTimestampOutOfTolerance);
  EXPECT_EQ(verify_webhook(kSecret, sign_webhook(kSecret, kNow + 301, body), body, kNow).code(),
            ErrorCode::kWebhookTimestampOutOfTolerance);
  // A signature moved to another timestamp no longer matches.
  std::string moved = header;
  moved.replace(2, 10, std::to_string(kNow + 1));
  EXPECT_EQ(verify_webhook(kSecret, moved, body, kNow).code(), ErrorCode::kWebhookSignatureInvalid);
  for (std::string_view bad : {"", "t=1", "v1=00", "t=abc,v1=00", "t=1800000000,v1=zz",
                               "garbage"}) {
    EXPECT_EQ(verify_webhook(kSecret, bad, body, kNow).code(), ErrorCode::kWebhookSignatureInvalid)
        << bad;
  }
}

TEST(TestPaymentProvider, ParsesOnlyWellFormedSignedEvents) {
  ManualClock clock(kNow * 1000);
  TestPaymentProvider provider(secrets::SecretString(std::string(kSecret)), {}, clock);
  std::string good =
      R"({"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"intent_id":"pi_1","amount_minor":3000,"currency":"CNY"}})";
  auto event = provider.parse_webhook(sign_webhook(kSecret, kNow, good), good);
  ASSERT_TRUE(event.is_ok()) << event.status().to_string();
  EXPECT_EQ(event->event_id, "evt_1");
  EXPECT_EQ(event->type, PaymentEventType::kSucceeded);
  EXPECT_EQ(event->intent_id, "pi_1");
  EXPECT_EQ(event->amount_minor, 3000);
  for (std::string bad : {std::string("[]"), std::string(R"({"id":"evt_1"})"),
                          std::string(R"({"id":"e","type":"nope","data":{"intent_id":"p","amount_minor":1,"currency":"CNY"}})"),
                          std::string(R"({"id":"e","type":"charge.refunded","data":{"intent_id":"p","amount_minor":1.5,"currency":"CNY"}})")}) {
    EXPECT_EQ(provider.parse_webhook(sign_webhook(kSecret, kNow, bad), bad).status().code(),
              ErrorCode::kMalformedRequest)
        << bad;
  }
}

TEST(TestPaymentProvider, KnowsItsTestCardsOnly) {
  ManualClock clock(kNow * 1000);
  TestPaymentProvider provider(secrets::SecretString(std::string(kSecret)), {}, clock);
  EXPECT_TRUE(provider.create_intent({3000, "CNY", "ord_1", "tok_visa"}).is_ok());
  EXPECT_TRUE(provider.create_intent({3000, "CNY", "ord_1", ""}).is_ok());
  EXPECT_EQ(provider.create_intent({3000, "CNY", "ord_1", "tok_free_money"}).status().code(),
            ErrorCode::kValidationFailed);
  EXPECT_EQ(provider.create_intent({0, "CNY", "ord_1", "tok_visa"}).status().code(),
            ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace station::orders
