#include "messaging/messenger.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>

#include "common/limits.h"
#include "storage/migrated_store_test.h"
#include "storage/scratch_database.h"

namespace station::messaging {
namespace {

using storage::testing::Engine;

constexpr std::int64_t kStartMs = 1'795'000'000'000;

// Answers each submit from a script: an SMSC id, or a refusal.
class ScriptedTransport final : public SmsTransport {
 public:
  bool ready() const override { return link_up; }
  Result<std::string> submit(const OutboxMessage& message) override {
    submitted.push_back(message);
    if (answers.empty()) return std::string("smsc-") + std::to_string(submitted.size());
    Result<std::string> answer = answers.front();
    answers.pop_front();
    return answer;
  }
  std::deque<Result<std::string>> answers;
  std::vector<OutboxMessage> submitted;
  bool link_up = true;
};

// Answers each email from a script: accepted (its Message-ID), or a refusal.
class ScriptedMailServer final : public EmailTransport {
 public:
  Result<std::string> send(const OutboxMessage& message) override {
    sent.push_back(message);
    if (answers.empty()) return "mid-" + std::to_string(sent.size()) + "@example.com";
    Result<std::string> answer = answers.front();
    answers.pop_front();
    return answer;
  }
  std::deque<Result<std::string>> answers;
  std::vector<OutboxMessage> sent;
};

class MessengerTest : public storage::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    messenger_ = std::make_unique<Messenger>(database(), ids_, clock_);
  }

  OutboxMessage enqueue(std::string_view text, std::string_view language = "en") {
    auto message = messenger_->enqueue("+8613800138000", text, language, std::nullopt);
    EXPECT_TRUE(message.is_ok()) << message.status().to_string();
    return message.is_ok() ? *message : OutboxMessage{};
  }
  MessageState state_of(Id id) {
    auto message = messenger_->get(id);
    EXPECT_TRUE(message.is_ok());
    return message.is_ok() ? message->state : MessageState::kUndeliverable;
  }

  ManualClock clock_{kStartMs};
  IdGenerator ids_{clock_};
  std::unique_ptr<Messenger> messenger_;
};

TEST_P(MessengerTest, WithoutAnSmscMessagesStayQueuedInTheOutbox) {
  const OutboxMessage first = enqueue("Your eSIM activation code: LPA:1$x$y");
  clock_.advance_ms(5);
  const OutboxMessage second = enqueue("您的 eSIM 激活码：LPA:1$x$y", "zh-CN");
  EXPECT_EQ(first.destination, "8613800138000");
  auto listed = messenger_->list(10);
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 2U);
  EXPECT_EQ((*listed)[0].id, second.id);  // newest first
  EXPECT_EQ((*listed)[0].text, "您的 eSIM 激活码：LPA:1$x$y");
  EXPECT_EQ((*listed)[0].language, "zh-CN");
  EXPECT_EQ((*listed)[1].state, MessageState::kQueued);
  EXPECT_EQ((*listed)[1].attempts, 0);
  EXPECT_EQ(messenger_->list(1)->size(), 1U);
  EXPECT_FALSE(messenger_->list(0).is_ok());
  EXPECT_FALSE(messenger_->list(limits::kPageSizeMax + 1).is_ok());
}

TEST_P(MessengerTest, RefusesBadDestinationsAndTexts) {
  EXPECT_FALSE(messenger_->enqueue("12ab5678", "hi", "en", std::nullopt).is_ok());
  EXPECT_FALSE(messenger_->enqueue("123", "hi", "en", std::nullopt).is_ok());
  EXPECT_FALSE(messenger_->enqueue(std::string(21, '1'), "hi", "en", std::nullopt).is_ok());
  EXPECT_FALSE(messenger_->enqueue("8613800138000", "", "en", std::nullopt).is_ok());
  EXPECT_FALSE(messenger_->enqueue("8613800138000", "\xff", "en", std::nullopt).is_ok());
  EXPECT_TRUE(messenger_->list(10)->empty());
}

TEST_P(MessengerTest, SubmitsQueuedMessagesAndReceiptsSettleThem) {
  const OutboxMessage delivered = enqueue("one");
  const OutboxMessage failed = enqueue("two");
  ScriptedTransport transport;
  auto sent = messenger_->send_queued(transport);
  ASSERT_TRUE(sent.is_ok());
  EXPECT_EQ(*sent, 2U);
  ASSERT_EQ(transport.submitted.size(), 2U);
  EXPECT_EQ(transport.submitted[0].id, delivered.id);  // oldest first
  auto after = messenger_->get(delivered.id);
  EXPECT_EQ(after->state, MessageState::kSubmitted);
  EXPECT_EQ(after->smsc_message_id, "smsc-1");
  EXPECT_EQ(after->attempts, 1);
  EXPECT_EQ(*messenger_->send_queued(transport), 0U);  // nothing left queued

  ASSERT_TRUE(messenger_->record_receipt({"smsc-1", "DELIVRD", "000"}).is_ok());
  ASSERT_TRUE(messenger_->record_receipt({"smsc-2", "UNDELIV", "011"}).is_ok());
  ASSERT_TRUE(messenger_->record_receipt({"unknown", "DELIVRD", "000"}).is_ok());
  EXPECT_EQ(state_of(delivered.id), MessageState::kDelivered);
  EXPECT_EQ(state_of(failed.id), MessageState::kFailed);
  EXPECT_EQ(messenger_->get(failed.id)->error, "UNDELIV err:011");
  // A repeated or late receipt does not move a settled message.
  ASSERT_TRUE(messenger_->record_receipt({"smsc-1", "UNDELIV", "001"}).is_ok());
  EXPECT_EQ(state_of(delivered.id), MessageState::kDelivered);
}

TEST_P(MessengerTest, AReceiptThatOvertakesItsSubmissionIsAppliedLater) {
  const OutboxMessage message = enqueue("fast receipt");
  ASSERT_TRUE(messenger_->record_receipt({"smsc-1", "DELIVRD", "000"}).is_ok());
  EXPECT_EQ(state_of(message.id), MessageState::kQueued);
  ScriptedTransport transport;
  EXPECT_EQ(*messenger_->send_queued(transport), 1U);
  EXPECT_EQ(state_of(message.id), MessageState::kDelivered);
}

TEST_P(MessengerTest, TransientFailuresRetryThenGiveUp) {
  const OutboxMessage message = enqueue("retry me");
  ScriptedTransport transport;
  for (std::int64_t i = 0; i < limits::kSmsSubmitAttemptsMax; ++i) {
    transport.answers.push_back(Status(ErrorCode::kUnavailable, "not bound"));
  }
  for (std::int64_t i = 1; i < limits::kSmsSubmitAttemptsMax; ++i) {
    EXPECT_EQ(*messenger_->send_queued(transport), 0U);
    EXPECT_EQ(state_of(message.id), MessageState::kQueued);
    EXPECT_EQ(messenger_->get(message.id)->attempts, i);
  }
  EXPECT_EQ(*messenger_->send_queued(transport), 0U);
  EXPECT_EQ(state_of(message.id), MessageState::kUndeliverable);
  EXPECT_EQ(messenger_->get(message.id)->error, "not bound");
}

TEST_P(MessengerTest, ALinkThatIsDownCostsNoAttempts) {
  const OutboxMessage message = enqueue("wait for the link");
  ScriptedTransport transport;
  transport.link_up = false;
  for (std::int64_t i = 0; i < 2 * limits::kSmsSubmitAttemptsMax; ++i) {
    EXPECT_EQ(*messenger_->send_queued(transport), 0U);
  }
  EXPECT_EQ(messenger_->get(message.id)->attempts, 0);
  transport.link_up = true;
  EXPECT_EQ(*messenger_->send_queued(transport), 1U);
}

TEST_P(MessengerTest, PermanentRefusalIsUndeliverableAtOnce) {
  const OutboxMessage refused = enqueue("bad");
  const OutboxMessage next = enqueue("good");
  ScriptedTransport transport;
  transport.answers.push_back(Status(ErrorCode::kValidationFailed, "invalid destination"));
  EXPECT_EQ(*messenger_->send_queued(transport), 1U);
  EXPECT_EQ(state_of(refused.id), MessageState::kUndeliverable);
  EXPECT_EQ(state_of(next.id), MessageState::kSubmitted);
}

TEST_P(MessengerTest, EmailIsQueuedOnItsOwnChannel) {
  auto email = messenger_->enqueue_email(" Li.Lei@Example.COM ", "登录验证码", "验证码 123456\n",
                                         "zh-CN", std::nullopt);
  ASSERT_TRUE(email.is_ok()) << email.status().to_string();
  EXPECT_EQ(email->destination, "Li.Lei@example.com");
  const OutboxMessage sms = enqueue("an sms");
  auto stored = messenger_->get(email->id);
  ASSERT_TRUE(stored.is_ok());
  EXPECT_EQ(stored->channel, Channel::kEmail);
  EXPECT_EQ(stored->subject, "登录验证码");
  EXPECT_EQ(stored->text, "验证码 123456\n");
  EXPECT_EQ(messenger_->get(sms.id)->channel, Channel::kSms);

  // Each sender takes only its own channel's rows.
  ScriptedTransport smsc;
  EXPECT_EQ(*messenger_->send_queued(smsc), 1U);
  ASSERT_EQ(smsc.submitted.size(), 1U);
  EXPECT_EQ(smsc.submitted[0].id, sms.id);
  ScriptedMailServer mail;
  EXPECT_EQ(*messenger_->send_queued_email(mail), 1U);
  ASSERT_EQ(mail.sent.size(), 1U);
  EXPECT_EQ(mail.sent[0].id, email->id);
  EXPECT_EQ(state_of(email->id), MessageState::kSubmitted);
  EXPECT_EQ(messenger_->get(email->id)->smsc_message_id, "mid-1@example.com");
}

TEST_P(MessengerTest, RefusesBadEmail) {
  EXPECT_FALSE(messenger_->enqueue_email("no-at-sign", "s", "t", "en", std::nullopt).is_ok());
  EXPECT_FALSE(messenger_->enqueue_email("a@b.cn", "", "t", "en", std::nullopt).is_ok());
  EXPECT_FALSE(messenger_->enqueue_email("a@b.cn", "two\nlines", "t", "en", std::nullopt).is_ok());
  EXPECT_FALSE(messenger_->enqueue_email("a@b.cn", "s", "", "en", std::nullopt).is_ok());
  EXPECT_FALSE(messenger_->enqueue_email("a@b.cn", "s", "\xff", "en", std::nullopt).is_ok());
  EXPECT_TRUE(messenger_->list(10)->empty());
}

TEST_P(MessengerTest, FailedEmailWaitsLongerEachTimeThenGivesUp) {
  auto email = messenger_->enqueue_email("a@b.cn", "s", "t", "en", std::nullopt);
  ASSERT_TRUE(email.is_ok());
  ScriptedMailServer mail;
  for (std::int64_t i = 0; i < limits::kEmailSendAttemptsMax; ++i) {
    mail.answers.push_back(Status(ErrorCode::kUnavailable, "connection refused"));
  }
  std::int64_t wait_ms = limits::kEmailRetryBaseMs;
  for (std::int64_t attempt = 1; attempt < limits::kEmailSendAttemptsMax; ++attempt) {
    EXPECT_EQ(*messenger_->send_queued_email(mail), 0U);
    EXPECT_EQ(mail.sent.size(), static_cast<std::size_t>(attempt));
    auto row = messenger_->get(email->id);
    EXPECT_EQ(row->state, MessageState::kQueued);
    EXPECT_EQ(row->attempts, attempt);
    EXPECT_EQ(row->next_attempt_at_ms, clock_.now_unix_ms() + wait_ms);
    // Not before its time.
    clock_.advance_ms(wait_ms - 1);
    EXPECT_EQ(*messenger_->send_queued_email(mail), 0U);
    EXPECT_EQ(mail.sent.size(), static_cast<std::size_t>(attempt));
    clock_.advance_ms(1);
    wait_ms = std::min(wait_ms * 2, limits::kEmailRetryMaxMs);
  }
  EXPECT_EQ(*messenger_->send_queued_email(mail), 0U);
  EXPECT_EQ(state_of(email->id), MessageState::kUndeliverable);
  EXPECT_EQ(messenger_->get(email->id)->error, "connection refused");
}

TEST_P(MessengerTest, EmailRefusedForGoodIsUndeliverableAtOnce) {
  auto refused = messenger_->enqueue_email("gone@b.cn", "s", "t", "en", std::nullopt);
  auto next = messenger_->enqueue_email("here@b.cn", "s", "t", "en", std::nullopt);
  ScriptedMailServer mail;
  mail.answers.push_back(Status(ErrorCode::kValidationFailed, "550 no such user"));
  EXPECT_EQ(*messenger_->send_queued_email(mail), 1U);
  EXPECT_EQ(state_of(refused->id), MessageState::kUndeliverable);
  EXPECT_EQ(state_of(next->id), MessageState::kSubmitted);
}

INSTANTIATE_TEST_SUITE_P(Engines, MessengerTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::messaging
