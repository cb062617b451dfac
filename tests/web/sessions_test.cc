// Sessions, CSRF tokens, portal accounts and one-time sign-in codes on both storages.
#include "web/sessions.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <thread>

#include "auth/api_keys.h"
#include "storage/migrated_store_test.h"
#include "storage/scratch_database.h"
#include "support/customer_rows.h"
#include "web/accounts.h"
#include "web/sign_in_codes.h"
#include "web/sweeper.h"

namespace station::web {
namespace {

using storage::Value;
using storage::testing::Engine;

constexpr std::int64_t kStartMs = 1'800'000'000'000;

class WebStoreTest : public storage::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    sessions_ = std::make_unique<Sessions>(database(), clock_);
    codes_ = std::make_unique<SignInCodes>(database(), ids_, clock_);
  }

  // Every text stored in the portal's tables, to check what is (not) kept.
  std::string stored_text() {
    auto connection = database().acquire();
    EXPECT_TRUE(connection.is_ok());
    std::string out;
    for (auto sql : {"SELECT id_hash, csrf_token FROM web_sessions",
                     "SELECT destination, code_hash FROM web_login_codes"}) {
      auto rows = (*connection)->query(sql);
      EXPECT_TRUE(rows.is_ok());
      for (const auto& row : *rows) out += row.text_at(0) + "|" + row.text_at(1) + "|";
    }
    return out;
  }

  Id add_customer() { return testing::insert_customer_row(database(), ids_, kStartMs); }

  ManualClock clock_{kStartMs};
  IdGenerator ids_{clock_};
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<SignInCodes> codes_;
};

TEST_P(WebStoreTest, ASessionIsFoundByItsCookieAndStoredOnlyAsAHash) {
  auto session = sessions_->create(PrincipalKind::kCustomer, Id{42});
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  EXPECT_EQ(session->cookie_value.size(), 64u);
  EXPECT_EQ(session->csrf_token.size(), 64u);
  auto found = sessions_->find(session->cookie_value);
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->kind, PrincipalKind::kCustomer);
  EXPECT_EQ((*found)->principal_id, Id{42});
  EXPECT_EQ((*found)->csrf_token, session->csrf_token);
  std::string stored = stored_text();
  EXPECT_EQ(stored.find(session->cookie_value), std::string::npos);
  EXPECT_NE(stored.find(auth::sha256_hex(session->cookie_value)), std::string::npos);
  // Unknown and malformed ids find nothing.
  EXPECT_FALSE(sessions_->find(std::string(64, 'a'))->has_value());
  EXPECT_FALSE(sessions_->find("x' OR 1=1 --")->has_value());
}

TEST_P(WebStoreTest, SessionsExpire) {
  auto visitor = sessions_->create(PrincipalKind::kVisitor, std::nullopt);
  auto customer = sessions_->create(PrincipalKind::kCustomer, Id{7});
  ASSERT_TRUE(visitor.is_ok() && customer.is_ok());
  clock_.advance_ms(SessionSettings{}.visitor_lifetime_ms + 1);
  EXPECT_FALSE(sessions_->find(visitor->cookie_value)->has_value());
  EXPECT_TRUE(sessions_->find(customer->cookie_value)->has_value());
  clock_.advance_ms(SessionSettings{}.signed_in_lifetime_ms);
  EXPECT_FALSE(sessions_->find(customer->cookie_value)->has_value());
}

TEST_P(WebStoreTest, SigningInReplacesTheSessionAndItsToken) {
  auto visitor = sessions_->create(PrincipalKind::kVisitor, std::nullopt);
  ASSERT_TRUE(visitor.is_ok());
  auto signed_in = sessions_->replace(visitor->cookie_value, PrincipalKind::kCustomer, Id{9});
  ASSERT_TRUE(signed_in.is_ok());
  EXPECT_NE(signed_in->cookie_value, visitor->cookie_value);
  EXPECT_NE(signed_in->csrf_token, visitor->csrf_token);
  EXPECT_FALSE(sessions_->find(visitor->cookie_value)->has_value());  // no fixation
  EXPECT_TRUE(sessions_->find(signed_in->cookie_value)->has_value());
  ASSERT_TRUE(sessions_->destroy(signed_in->cookie_value).is_ok());
  EXPECT_FALSE(sessions_->find(signed_in->cookie_value)->has_value());
}

TEST_P(WebStoreTest, CsrfTokensMustMatchExactly) {
  auto session = sessions_->create(PrincipalKind::kVisitor, std::nullopt);
  ASSERT_TRUE(session.is_ok());
  EXPECT_TRUE(Sessions::csrf_matches(*session, session->csrf_token));
  EXPECT_FALSE(Sessions::csrf_matches(*session, ""));
  EXPECT_FALSE(Sessions::csrf_matches(*session, session->csrf_token.substr(1)));
  std::string flipped = session->csrf_token;
  flipped[0] = flipped[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(Sessions::csrf_matches(*session, flipped));
  auto other = sessions_->create(PrincipalKind::kVisitor, std::nullopt);
  EXPECT_FALSE(Sessions::csrf_matches(*session, other->csrf_token));
}

TEST_P(WebStoreTest, ARightCodeWorksOnceAndIsNeverStored) {
  auto issued = codes_->issue("+8613800138000", "127.0.0.1", std::string("李雷"));
  ASSERT_TRUE(issued.is_ok()) << issued.status().to_string();
  EXPECT_EQ(issued->code.size(), 6u);
  EXPECT_EQ(stored_text().find(issued->code), std::string::npos);
  auto verified = codes_->verify(issued->challenge_id, issued->code);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(verified->destination, "+8613800138000");
  EXPECT_EQ(verified->signup_name, "李雷");
  auto again = codes_->verify(issued->challenge_id, issued->code);
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kNotFound);
}

TEST_P(WebStoreTest, WrongCodesAreLimitedThenTheChallengeIsDead) {
  auto issued = codes_->issue("+8613800138000", "127.0.0.1", std::nullopt);
  ASSERT_TRUE(issued.is_ok());
  std::string wrong = issued->code == "000000" ? "111111" : "000000";
  const std::int64_t max = CodeSettings{}.attempts_max;
  for (std::int64_t i = 1; i < max; ++i) {
    auto result = codes_->verify(issued->challenge_id, wrong);
    ASSERT_FALSE(result.is_ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kValidationFailed) << i;
  }
  auto last = codes_->verify(issued->challenge_id, wrong);
  EXPECT_EQ(last.status().code(), ErrorCode::kTooManyRequests);
  // Even the right code no longer works.
  auto right = codes_->verify(issued->challenge_id, issued->code);
  EXPECT_EQ(right.status().code(), ErrorCode::kTooManyRequests);
}

TEST_P(WebStoreTest, CodesExpire) {
  auto issued = codes_->issue("+8613800138000", "127.0.0.1", std::nullopt);
  ASSERT_TRUE(issued.is_ok());
  clock_.advance_ms(CodeSettings{}.lifetime_ms);
  EXPECT_EQ(codes_->verify(issued->challenge_id, issued->code).status().code(),
            ErrorCode::kNotFound);
}

TEST_P(WebStoreTest, CodesAreRateLimitedPerDestinationAndPerRequester) {
  CodeSettings settings;
  for (std::int64_t i = 0; i < settings.per_destination_max; ++i) {
    ASSERT_TRUE(codes_->issue("+8613800138000", "10.0.0.1", std::nullopt).is_ok()) << i;
  }
  EXPECT_EQ(codes_->issue("+8613800138000", "10.0.0.2", std::nullopt).status().code(),
            ErrorCode::kTooManyRequests);
  // One requester probing many numbers.
  for (std::int64_t i = settings.per_destination_max; i < settings.per_requester_max; ++i) {
    ASSERT_TRUE(
        codes_->issue("+86139000000" + std::to_string(10 + i), "10.0.0.1", std::nullopt).is_ok())
        << i;
  }
  EXPECT_EQ(codes_->issue("+8613900000000", "10.0.0.1", std::nullopt).status().code(),
            ErrorCode::kTooManyRequests);
  // The window passes.
  clock_.advance_ms(settings.window_ms + 1);
  EXPECT_TRUE(codes_->issue("+8613800138000", "10.0.0.1", std::nullopt).is_ok());
}

TEST_P(WebStoreTest, ExpiredSessionsAreDeletedInBoundedBatches) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sessions_->create(PrincipalKind::kVisitor, {}).is_ok());
  auto customer = sessions_->create(PrincipalKind::kCustomer, add_customer());
  ASSERT_TRUE(customer.is_ok());
  EXPECT_EQ(*sessions_->delete_expired(10), 0U);  // all live
  clock_.advance_ms(SessionSettings{}.visitor_lifetime_ms + 1);
  EXPECT_EQ(*sessions_->delete_expired(2), 2U);
  EXPECT_EQ(*sessions_->delete_expired(2), 1U);
  EXPECT_EQ(*sessions_->delete_expired(2), 0U);
  // The signed-in session lives longer and is untouched.
  EXPECT_TRUE(sessions_->find(customer->cookie_value)->has_value());
}

TEST_P(WebStoreTest, SpentCodesGoOnlyOnceTheyNoLongerCountTowardsTheRateLimit) {
  CodeSettings settings;
  for (std::int64_t i = 0; i < settings.per_destination_max; ++i) {
    ASSERT_TRUE(codes_->issue("a@example.cn", "10.0.0.1", std::nullopt).is_ok());
  }
  clock_.advance_ms(settings.lifetime_ms + 1);  // expired, but still in the window
  EXPECT_EQ(*codes_->delete_spent(100), 0U);
  EXPECT_EQ(codes_->issue("a@example.cn", "10.0.0.2", std::nullopt).status().code(),
            ErrorCode::kTooManyRequests);
  clock_.advance_ms(settings.window_ms);
  EXPECT_EQ(*codes_->delete_spent(3), 3U);
  EXPECT_EQ(*codes_->delete_spent(3), 2U);
  EXPECT_EQ(*codes_->delete_spent(3), 0U);
}

TEST_P(WebStoreTest, TheSweeperRunsOnItsOwn) {
  ASSERT_TRUE(sessions_->create(PrincipalKind::kVisitor, {}).is_ok());
  ASSERT_TRUE(codes_->issue("+8613800138000", "10.0.0.1", std::nullopt).is_ok());
  clock_.advance_ms(24 * 3600 * 1000);
  Sweeper sweeper(*sessions_, *codes_);
  sweeper.start(5);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!stored_text().empty() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sweeper.stop();
  EXPECT_EQ(stored_text(), "");
}

TEST_P(WebStoreTest, AccountsTieOneLoginToOneCustomer) {
  Accounts accounts(database(), clock_);
  Id customer = add_customer();
  ASSERT_TRUE(accounts.create({customer, "+8613800138000", Language::kZhCn, true}).is_ok());
  EXPECT_EQ(accounts.create({customer, "+8613800138001", Language::kEn, true}).code(),
            ErrorCode::kConflict);
  Id other = add_customer();
  EXPECT_EQ(accounts.create({other, "+8613800138000", Language::kEn, true}).code(),
            ErrorCode::kConflict);
  auto found = accounts.find_by_login("+8613800138000");
  ASSERT_TRUE(found.is_ok() && found->has_value());
  EXPECT_EQ((*found)->customer_id, customer);
  ASSERT_TRUE(accounts.update_preferences(customer, Language::kEn, false).is_ok());
  auto updated = accounts.get(customer);
  ASSERT_TRUE(updated.is_ok());
  EXPECT_EQ(updated->language, Language::kEn);
  EXPECT_FALSE(updated->notify_sms);
  EXPECT_EQ(accounts.get(other).status().code(), ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, WebStoreTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

TEST(PhoneTest, TypedNumbersBecomeE164) {
  EXPECT_EQ(normalise_phone("+86 138-0013-8000").value(), "+8613800138000");
  EXPECT_EQ(normalise_phone("13800138000").value(), "+8613800138000");
  EXPECT_EQ(normalise_phone("+1 (415) 555-0100").value(), "+14155550100");
  for (std::string_view bad :
       {"", "+", "12345", "+0123456789", "phone", "+86 138 0013 8000 1234 5", "++8613800138000"}) {
    EXPECT_FALSE(normalise_phone(bad).is_ok()) << bad;
  }
}

}  // namespace
}  // namespace station::web
