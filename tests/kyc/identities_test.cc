#include "kyc/identities.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "auth/audit.h"
#include "storage/migrated_store_test.h"
#include "storage/scratch_database.h"
#include "support/customer_rows.h"

namespace station::kyc {
namespace {

using storage::testing::Engine;
using storage::Value;

constexpr std::string_view kKeyA =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kKeyB =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
constexpr std::int64_t kStartMs = 1'800'000'000'000;  // 2027-01-15

secrets::Keyring keyring_of(std::string_view hex_keys) {
  auto keyring = secrets::parse_key_list(hex_keys);
  EXPECT_TRUE(keyring.is_ok());
  return std::move(keyring).value();
}

IdentitySubmission passport(Id customer, std::string number = "E12345678") {
  IdentitySubmission submission;
  submission.customer_id = customer;
  submission.document_type = DocumentType::kPassport;
  submission.document_number = std::move(number);
  submission.full_name = "李雷";
  submission.date_of_birth = "1990-02-28";
  submission.nationality = "CN";
  return submission;
}

TEST(KycNamesTest, StatesAndDocumentTypesRoundTrip) {
  for (auto state : {IdentityState::kPending, IdentityState::kVerified, IdentityState::kRejected}) {
    EXPECT_EQ(parse_identity_state(identity_state_name(state)), state);
  }
  EXPECT_EQ(identity_state_name(IdentityState::kPending), "pending");
  EXPECT_FALSE(parse_identity_state("approved").has_value());
  for (auto type : {DocumentType::kPassport, DocumentType::kNationalId,
                    DocumentType::kDrivingLicence}) {
    EXPECT_EQ(parse_document_type(document_type_name(type)), type);
  }
  EXPECT_EQ(document_type_name(DocumentType::kDrivingLicence), "driving_licence");
  EXPECT_FALSE(parse_document_type("visa").has_value());
}

TEST(KycFieldsTest, DocumentNumbersAreNormalised) {
  EXPECT_EQ(normalise_document_number("e1234-5678").value(), "E12345678");
  EXPECT_EQ(normalise_document_number(" 11010519491231002x ").value(), "11010519491231002X");
  EXPECT_EQ(normalise_document_number("ab1").status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(normalise_document_number("AB12/34").status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(normalise_document_number(std::string(33, '1')).status().code(),
            ErrorCode::kValidationFailed);
  EXPECT_TRUE(normalise_document_number(std::string(32, '1')).is_ok());
  EXPECT_EQ(normalise_document_number("- - -").status().code(), ErrorCode::kValidationFailed);
}

TEST(KycFieldsTest, DatesAreRealCalendarDates) {
  EXPECT_TRUE(is_date("1990-02-28"));
  EXPECT_TRUE(is_date("2000-02-29"));  // divisible by 400
  EXPECT_FALSE(is_date("1900-02-29"));  // divisible by 100
  EXPECT_TRUE(is_date("2024-02-29"));
  EXPECT_FALSE(is_date("2023-02-29"));
  EXPECT_FALSE(is_date("1990-04-31"));
  EXPECT_FALSE(is_date("1990-13-01"));
  EXPECT_FALSE(is_date("1990-00-10"));
  EXPECT_FALSE(is_date("1899-12-31"));
  EXPECT_FALSE(is_date("1990-2-28"));
  EXPECT_FALSE(is_date("1990/02/28"));
  EXPECT_FALSE(is_date("19900228"));
}

TEST(KeyedHashTest, IsDeterministicPerKeyAndPurpose) {
  auto a = keyring_of(kKeyA);
  auto b = keyring_of(kKeyB);
  auto ha = a.keyed_hash(a.active_id(), kDocumentHashPurpose, "passport:E12345678");
  ASSERT_TRUE(ha.is_ok());
  EXPECT_EQ(ha->size(), 64U);
  EXPECT_EQ(*ha, a.keyed_hash(a.active_id(), kDocumentHashPurpose, "passport:E12345678").value());
  EXPECT_NE(*ha, b.keyed_hash(b.active_id(), kDocumentHashPurpose, "passport:E12345678").value());
  EXPECT_NE(*ha, a.keyed_hash(a.active_id(), "other", "passport:E12345678").value());
  EXPECT_NE(*ha, a.keyed_hash(a.active_id(), kDocumentHashPurpose, "passport:E12345679").value());
  EXPECT_EQ(a.keyed_hash("nokey", kDocumentHashPurpose, "x").status().code(), ErrorCode::kNotFound);
}

class IdentitiesTest : public storage::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    identities_ = std::make_unique<Identities>(database(), keyring_, ids_, clock_);
  }

  // A customer row with its wallet account, as billing would write them.
  Id add_customer() { return testing::insert_customer_row(database(), ids_, kStartMs); }

  std::vector<auth::AuditEntry> audit() {
    auto connection = database().acquire();
    EXPECT_TRUE(connection.is_ok());
    auto entries = auth::list_audit_entries(**connection, 200);
    EXPECT_TRUE(entries.is_ok());
    return entries.is_ok() ? std::move(entries).value() : std::vector<auth::AuditEntry>{};
  }

  // Every text value stored in identities, to check what is (not) kept.
  std::string stored_text() {
    auto connection = database().acquire();
    EXPECT_TRUE(connection.is_ok());
    auto rows = (*connection)->query(
        "SELECT document_hash, document_key_id, document_last4, full_name, date_of_birth, "
        "nationality FROM identities");
    EXPECT_TRUE(rows.is_ok());
    std::string out;
    for (const auto& row : *rows) {
      for (std::size_t i = 0; i < row.size(); ++i) out += row.text_at(i) + "|";
    }
    for (const auto& entry : audit()) out += entry.detail + "|";
    return out;
  }

  ManualClock clock_{kStartMs};
  IdGenerator ids_{clock_};
  secrets::Keyring keyring_ = keyring_of(kKeyA);
  std::unique_ptr<Identities> identities_;
};

TEST_P(IdentitiesTest, SubmitStoresAKeyedHashAndTheLastFourOnly) {
  Id customer = add_customer();
  EXPECT_EQ(identities_->state(customer).value(), std::nullopt);
  auto submitted =
      identities_->submit(passport(customer, "e1234-5678"), Actor{"key:App12345", "r1"});
  ASSERT_TRUE(submitted.is_ok()) << submitted.status().to_string();
  EXPECT_EQ(submitted->state, IdentityState::kPending);
  EXPECT_EQ(submitted->document_last4, "5678");
  EXPECT_EQ(submitted->document_key_id, keyring_.active_id());
  EXPECT_EQ(submitted->document_hash,
            keyring_.keyed_hash(keyring_.active_id(), kDocumentHashPurpose, "passport:E12345678")
                .value());
  EXPECT_EQ(submitted->submitted_at_ms, kStartMs);
  EXPECT_EQ(identities_->state(customer).value(), IdentityState::kPending);

  auto read = identities_->get(customer);
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read->full_name, "李雷");
  EXPECT_EQ(read->date_of_birth, "1990-02-28");
  EXPECT_EQ(read->nationality, "CN");
  EXPECT_EQ(read->document_hash, submitted->document_hash);
  EXPECT_FALSE(read->reviewed_at_ms.has_value());

  std::string stored = stored_text();
  EXPECT_EQ(stored.find("12345678"), std::string::npos) << stored;
  EXPECT_EQ(stored.find("E1234"), std::string::npos) << stored;

  auto entries = audit();
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0].action, "identity.submit");
  EXPECT_EQ(entries[0].actor, "key:App12345");
  EXPECT_EQ(entries[0].target, format_public_id("cus", customer));
}

TEST_P(IdentitiesTest, SubmitChecksTheFieldsAndTheCustomer) {
  Id customer = add_customer();
  auto code = [&](IdentitySubmission submission) {
    return identities_->submit(submission).status().code();
  };
  const auto bad = ErrorCode::kValidationFailed;
  auto s = passport(customer);
  s.document_number = "12";
  EXPECT_EQ(code(s), bad);
  s = passport(customer);
  s.full_name = "";
  EXPECT_EQ(code(s), bad);
  s.full_name = std::string(201, 'x');
  EXPECT_EQ(code(s), bad);
  s = passport(customer);
  s.date_of_birth = "1990-02-30";
  EXPECT_EQ(code(s), bad);
  s.date_of_birth = "2027-01-16";  // tomorrow
  EXPECT_EQ(code(s), bad);
  s = passport(customer);
  s.nationality = "cn";
  EXPECT_EQ(code(s), bad);
  s.nationality = "XX";
  EXPECT_EQ(code(s), bad);
  EXPECT_EQ(code(passport(customer + 1'000'000)), ErrorCode::kNotFound);
  EXPECT_EQ(identities_->state(customer).value(), std::nullopt);
  EXPECT_TRUE(audit().empty());

  secrets::Keyring no_keys;
  Identities without_keys(database(), no_keys, ids_, clock_);
  EXPECT_EQ(without_keys.submit(passport(customer)).status().code(), ErrorCode::kInternal);
}

TEST_P(IdentitiesTest, PendingGoesToVerifiedOnceAndOnlyOnce) {
  Id customer = add_customer();
  ASSERT_TRUE(identities_->submit(passport(customer)).is_ok());
  EXPECT_EQ(identities_->submit(passport(customer)).status().code(), ErrorCode::kConflict);
  clock_.advance_ms(60'000);
  auto approved = identities_->approve(customer, Actor{"key:Support1", "r2"});
  ASSERT_TRUE(approved.is_ok()) << approved.status().to_string();
  EXPECT_EQ(approved->state, IdentityState::kVerified);
  EXPECT_EQ(approved->reviewed_by, "key:Support1");
  EXPECT_EQ(approved->reviewed_at_ms, kStartMs + 60'000);
  EXPECT_EQ(identities_->state(customer).value(), IdentityState::kVerified);
  EXPECT_EQ(identities_->approve(customer).status().code(), ErrorCode::kConflict);
  EXPECT_EQ(identities_->reject(customer, "too late").status().code(), ErrorCode::kConflict);
  EXPECT_EQ(identities_->submit(passport(customer)).status().code(), ErrorCode::kConflict);
  EXPECT_EQ(identities_->approve(add_customer()).status().code(), ErrorCode::kNotFound);
  auto read = identities_->get(customer);
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read->state, IdentityState::kVerified);
  EXPECT_EQ(read->reviewed_by, "key:Support1");
  auto entries = audit();
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].action, "identity.approve");
}

TEST_P(IdentitiesTest, ARejectedCustomerMaySubmitAgain) {
  Id customer = add_customer();
  ASSERT_TRUE(identities_->submit(passport(customer)).is_ok());
  EXPECT_EQ(identities_->reject(customer, "").status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(identities_->reject(customer, std::string(501, 'x')).status().code(),
            ErrorCode::kValidationFailed);
  auto rejected = identities_->reject(customer, "the photo page is unreadable");
  ASSERT_TRUE(rejected.is_ok()) << rejected.status().to_string();
  EXPECT_EQ(rejected->state, IdentityState::kRejected);
  EXPECT_EQ(rejected->rejection_reason, "the photo page is unreadable");
  EXPECT_EQ(identities_->get(customer)->rejection_reason, "the photo page is unreadable");

  clock_.advance_ms(1'000);
  auto again = passport(customer, "G98765432");
  again.document_type = DocumentType::kNationalId;
  auto resubmitted = identities_->submit(again);
  ASSERT_TRUE(resubmitted.is_ok()) << resubmitted.status().to_string();
  auto read = identities_->get(customer);
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read->state, IdentityState::kPending);
  EXPECT_EQ(read->document_type, DocumentType::kNationalId);
  EXPECT_EQ(read->document_last4, "5432");
  EXPECT_TRUE(read->rejection_reason.empty());
  EXPECT_TRUE(read->reviewed_by.empty());
  EXPECT_FALSE(read->reviewed_at_ms.has_value());
  EXPECT_EQ(read->submitted_at_ms, kStartMs + 1'000);
  ASSERT_TRUE(identities_->approve(customer).is_ok());
  auto actions = audit();
  ASSERT_EQ(actions.size(), 4U);
  EXPECT_EQ(actions[1].action, "identity.submit");
  EXPECT_EQ(actions[2].action, "identity.reject");
  EXPECT_NE(actions[2].detail.find("unreadable"), std::string::npos);
}

TEST_P(IdentitiesTest, ListIsTheQueueOldestFirst) {
  Id first = add_customer();
  Id second = add_customer();
  Id third = add_customer();
  ASSERT_TRUE(identities_->submit(passport(second)).is_ok());
  clock_.advance_ms(10);
  ASSERT_TRUE(identities_->submit(passport(first)).is_ok());
  clock_.advance_ms(10);
  ASSERT_TRUE(identities_->submit(passport(third)).is_ok());
  ASSERT_TRUE(identities_->approve(first).is_ok());

  auto pending = identities_->list(IdentityState::kPending, 50);
  ASSERT_TRUE(pending.is_ok());
  ASSERT_EQ(pending->size(), 2U);
  EXPECT_EQ((*pending)[0].customer_id, second);
  EXPECT_EQ((*pending)[1].customer_id, third);
  auto all = identities_->list(std::nullopt, 2);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[1].customer_id, first);
  auto verified = identities_->list(IdentityState::kVerified, 50);
  ASSERT_TRUE(verified.is_ok());
  ASSERT_EQ(verified->size(), 1U);
  EXPECT_EQ(identities_->list(std::nullopt, 0).status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(identities_->list(std::nullopt, kIdentitiesListedMax + 1).status().code(),
            ErrorCode::kValidationFailed);
}

TEST_P(IdentitiesTest, HashesKeepTheirKeyIdAcrossARotation) {
  Id before = add_customer();
  ASSERT_TRUE(identities_->submit(passport(before)).is_ok());
  secrets::Keyring rotated = keyring_of(std::string(kKeyA) + "," + std::string(kKeyB));
  Identities after_rotation(database(), rotated, ids_, clock_);
  Id after = add_customer();
  auto submitted = after_rotation.submit(passport(after));
  ASSERT_TRUE(submitted.is_ok());
  auto old_row = identities_->get(before);
  ASSERT_TRUE(old_row.is_ok());
  EXPECT_EQ(old_row->document_key_id, keyring_.active_id());
  EXPECT_EQ(submitted->document_key_id, rotated.active_id());
  EXPECT_NE(old_row->document_hash, submitted->document_hash);
  // The old hash is still checkable with the key it names.
  EXPECT_EQ(rotated.keyed_hash(old_row->document_key_id, kDocumentHashPurpose, "passport:E12345678")
                .value(),
            old_row->document_hash);
}

TEST_P(IdentitiesTest, TwoReviewersCannotBothDecide) {
  Id customer = add_customer();
  ASSERT_TRUE(identities_->submit(passport(customer)).is_ok());
  std::atomic<int> decided{0};
  std::vector<std::thread> reviewers;
  for (int i = 0; i < 4; ++i) {
    reviewers.emplace_back([&, i] {
      auto outcome = i % 2 == 0 ? identities_->approve(customer)
                                : identities_->reject(customer, "mismatch");
      if (outcome.is_ok()) {
        ++decided;
      } else {
        EXPECT_EQ(outcome.status().code(), ErrorCode::kConflict) << outcome.status().to_string();
      }
    });
  }
  for (auto& reviewer : reviewers) reviewer.join();
  EXPECT_EQ(decided.load(), 1);
  EXPECT_EQ(audit().size(), 2U);
}

INSTANTIATE_TEST_SUITE_P(Engines, IdentitiesTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::kyc
