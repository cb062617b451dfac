// The console's parts below HTTP: staff accounts on both storages (scrypt hashes with a salt
// each, the same answer for an unknown name and a wrong password, the account lockout and its
// end, the per-address limit, a new password clearing a lockout) and the multipart/form-data
// parser the profile import reads.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>

#include "auth/staff.h"
#include "storage/migrated_store_test.h"
#include "storage/scratch_database.h"
#include "web/multipart.h"

namespace station::web {
namespace {

using auth::StaffAccounts;
using auth::StaffRole;
using storage::testing::Engine;

constexpr std::int64_t kStartMs = 1'800'000'000'000;
constexpr std::string_view kPassword = "correct horse battery";

class StaffStoreTest : public storage::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auth::StaffSettings settings;
    settings.cost.log2_n = 10;
    settings.requester_failures_max = 8;
    staff_ = std::make_unique<StaffAccounts>(database(), ids_, clock_, settings);
  }

  std::string stored_hash(std::string_view username) {
    auto connection = database().acquire();
    EXPECT_TRUE(connection.is_ok());
    const storage::Value name[] = {std::string(username)};
    auto rows =
        (*connection)->query("SELECT password_hash FROM staff_users WHERE username = ?", name);
    EXPECT_TRUE(rows.is_ok() && rows->size() == 1);
    return rows.is_ok() && rows->size() == 1 ? (*rows)[0].text_at(0) : "";
  }

  ManualClock clock_{kStartMs};
  IdGenerator ids_{clock_};
  std::unique_ptr<StaffAccounts> staff_;
};

TEST_P(StaffStoreTest, PasswordsAreSaltedScryptHashes) {
  auto alice = staff_->create("alice", StaffRole::kAdmin, kPassword);
  ASSERT_TRUE(alice.is_ok()) << alice.status().to_string();
  ASSERT_TRUE(staff_->create("bob", StaffRole::kSupport, kPassword).is_ok());
  std::string hash = stored_hash("alice");
  EXPECT_TRUE(hash.starts_with("scrypt$10$8$1$")) << hash;
  EXPECT_EQ(hash.find(kPassword), std::string::npos);
  EXPECT_NE(hash, stored_hash("bob")) << "the same password hashes apart under another salt";
  EXPECT_TRUE(auth::password_matches(hash, kPassword));
  EXPECT_FALSE(auth::password_matches(hash, "correct horse batterY"));
  EXPECT_FALSE(auth::password_matches("scrypt$40$8$1$00$00", kPassword)) << "bounded cost";
  EXPECT_FALSE(auth::password_matches("plain", kPassword));

  EXPECT_EQ(staff_->create("alice", StaffRole::kFinance, kPassword).status().code(),
            ErrorCode::kConflict);
  EXPECT_EQ(staff_->create("Alice!", StaffRole::kFinance, kPassword).status().code(),
            ErrorCode::kValidationFailed);
  EXPECT_EQ(staff_->create("carol", StaffRole::kFinance, "short").status().code(),
            ErrorCode::kValidationFailed);

  auto signed_in = staff_->sign_in("alice", kPassword, "127.0.0.1");
  ASSERT_TRUE(signed_in.is_ok());
  EXPECT_EQ(signed_in->id, alice->id);
  EXPECT_EQ(signed_in->role, StaffRole::kAdmin);
  EXPECT_EQ(signed_in->actor(), "staff:alice");
  EXPECT_TRUE(signed_in->allows(auth::Permission::kPlansWrite));
  auto bob = staff_->get(staff_->sign_in("bob", kPassword, "127.0.0.1")->id);
  ASSERT_TRUE(bob.is_ok());
  EXPECT_FALSE(bob->allows(auth::Permission::kPlansWrite));
  EXPECT_FALSE(bob->allows(auth::Permission::kProfilesImport));
  EXPECT_TRUE(bob->allows(auth::Permission::kIdentityReview));
}

TEST_P(StaffStoreTest, WrongPasswordsLockTheAccountForAWhile) {
  ASSERT_TRUE(staff_->create("alice", StaffRole::kAdmin, kPassword).is_ok());
  EXPECT_EQ(staff_->sign_in("nobody", kPassword, "10.0.0.1").status().code(),
            ErrorCode::kUnauthenticated);
  for (int attempt = 1; attempt <= 5; ++attempt) {
    EXPECT_EQ(staff_->sign_in("alice", "wrong password!", "10.0.0.1").status().code(),
              attempt < 5 ? ErrorCode::kUnauthenticated : ErrorCode::kTooManyRequests)
        << attempt;
  }
  EXPECT_EQ(staff_->sign_in("alice", kPassword, "10.0.0.2").status().code(),
            ErrorCode::kTooManyRequests);
  clock_.advance_ms(staff_->settings().lockout_ms + 1);
  EXPECT_TRUE(staff_->sign_in("alice", kPassword, "10.0.0.2").is_ok());
  // A right password resets the count: four more wrong ones do not lock.
  for (int attempt = 1; attempt <= 4; ++attempt) {
    EXPECT_EQ(staff_->sign_in("alice", "wrong password!", "10.0.0.3").status().code(),
              ErrorCode::kUnauthenticated);
  }
  EXPECT_TRUE(staff_->sign_in("alice", kPassword, "10.0.0.3").is_ok());
}

TEST_P(StaffStoreTest, AnAddressWithTooManyFailuresIsRefusedBeforeAnyPasswordCheck) {
  ASSERT_TRUE(staff_->create("alice", StaffRole::kAdmin, kPassword).is_ok());
  // Spread over unknown names, so no account locks.
  for (int attempt = 0; attempt < 8; ++attempt) {
    EXPECT_EQ(staff_->sign_in(fmt::format("guess{}", attempt), "x", "10.9.9.9").status().code(),
              ErrorCode::kUnauthenticated);
  }
  EXPECT_EQ(staff_->sign_in("alice", kPassword, "10.9.9.9").status().code(),
            ErrorCode::kTooManyRequests);
  EXPECT_TRUE(staff_->sign_in("alice", kPassword, "10.0.0.1").is_ok()) << "other addresses";
  clock_.advance_ms(staff_->settings().requester_window_ms + 1);
  EXPECT_TRUE(staff_->sign_in("alice", kPassword, "10.9.9.9").is_ok());
}

TEST_P(StaffStoreTest, ANewPasswordClearsTheLockout) {
  ASSERT_TRUE(staff_->create("alice", StaffRole::kAdmin, kPassword).is_ok());
  for (int attempt = 0; attempt < 5; ++attempt) {
    (void)staff_->sign_in("alice", "wrong password!", "10.0.0.1");
  }
  ASSERT_TRUE(staff_->set_password("alice", "another long password").is_ok());
  EXPECT_EQ(staff_->sign_in("alice", kPassword, "10.0.0.2").status().code(),
            ErrorCode::kUnauthenticated);
  EXPECT_TRUE(staff_->sign_in("alice", "another long password", "10.0.0.2").is_ok());
  EXPECT_EQ(staff_->set_password("nobody", "another long password").code(), ErrorCode::kNotFound);
  auto users = staff_->list();
  ASSERT_TRUE(users.is_ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ(users->front().username, "alice");
}

INSTANTIATE_TEST_SUITE_P(Engines, StaffStoreTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

constexpr std::string_view kType = "multipart/form-data; boundary=----b0undary";

TEST(MultipartTest, ReadsFieldsAndFilesAsABrowserSendsThem) {
  const std::string body =
      "------b0undary\r\n"
      "Content-Disposition: form-data; name=\"csrf\"\r\n\r\n"
      "abc\r\n"
      "------b0undary\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"pool \\\"1\\\".csv\"\r\n"
      "Content-Type: text/csv\r\n\r\n"
      "iccid,imsi\r\n1,2\r\n\r\n"
      "------b0undary--\r\n";
  auto parts = parse_multipart_form(kType, body);
  ASSERT_TRUE(parts.is_ok()) << parts.status().to_string();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ(find_part(*parts, "csrf")->body, "abc");
  const FormPart* file = find_part(*parts, "file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->filename.value_or(""), "pool \"1\".csv");
  EXPECT_EQ(file->content_type, "text/csv");
  EXPECT_EQ(file->body, "iccid,imsi\r\n1,2\r\n");
  EXPECT_EQ(find_part(*parts, "other"), nullptr);
  EXPECT_FALSE(find_part(*parts, "csrf")->filename.has_value());
}

TEST(MultipartTest, RefusesWhatIsNotAWellFormedForm) {
  EXPECT_EQ(parse_multipart_form("application/x-www-form-urlencoded", "a=b").status().code(),
            ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(parse_multipart_form("multipart/form-data", "").status().code(),
            ErrorCode::kUnsupportedMediaType);
  const std::string part = "------b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx";
  for (const std::string& body :
       {std::string("junk"), part, part + "\r\n------b0undary",
        std::string("------b0undary\r\nContent-Type: text/plain\r\n\r\nx\r\n------b0undary--"),
        std::string("------b0undary\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n"
                    "------b0undary--"),
        "------b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\nX: " +
            std::string(kMultipartHeaderBytesMax, 'x') + "\r\n\r\nx\r\n------b0undary--"}) {
    EXPECT_EQ(parse_multipart_form(kType, body).status().code(), ErrorCode::kMalformedRequest)
        << body.substr(0, 80);
  }
  std::string many;
  for (std::size_t i = 0; i <= kMultipartPartsMax; ++i) {
    many += "------b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n";
  }
  EXPECT_EQ(parse_multipart_form(kType, many + "------b0undary--").status().code(),
            ErrorCode::kMalformedRequest);
}

}  // namespace
}  // namespace station::web
