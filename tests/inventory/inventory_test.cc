#include "inventory/inventory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/limits.h"
#include "storage/migrated_store_test.h"
#include "storage/scratch_database.h"

namespace station::inventory {
namespace {

using storage::testing::Engine;

constexpr std::string_view kKeyA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kKeyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
constexpr std::string_view kKi = "465b5ce8b199b49faa5f0a2ee238a6bc";
constexpr std::string_view kOpc = "CD63CB71954A9F4E48A5994E37A02BAF";
constexpr std::int64_t kStartMs = 1'800'000'000'000;

// An ICCID of 19 digits: "8988247" + the 11-digit serial + the Luhn check digit.
std::string iccid(int serial) {
  std::string body = fmt::format("8988247{:011d}", serial);
  int sum = 0;
  bool doubled = true;  // the digit left of the check digit is doubled
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    int digit = *it - '0';
    if (doubled) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
    doubled = !doubled;
  }
  return body + std::to_string((10 - sum % 10) % 10);
}

std::string imsi(int serial) { return fmt::format("460001{:09d}", serial); }

std::string csv_of(int first, int count, std::string_view profile_type = "") {
  std::string text = profile_type.empty() ? "iccid,imsi,ki,opc\n" : "iccid,imsi,ki,opc,profile_type\n";
  for (int i = first; i < first + count; ++i) {
    text += fmt::format("{},{},{},{}", iccid(i), imsi(i), kKi, kOpc);
    text += profile_type.empty() ? "\n" : fmt::format(",{}\n", profile_type);
  }
  return text;
}

secrets::Keyring keyring_of(std::string_view hex_keys) {
  auto keyring = secrets::parse_key_list(hex_keys);
  EXPECT_TRUE(keyring.is_ok());
  return std::move(keyring).value();
}

std::vector<std::size_t> problem_lines(const ImportOutcome& outcome) {
  std::vector<std::size_t> lines;
  for (const auto& p : outcome.problems) lines.push_back(p.line);
  return lines;
}

TEST(IccidTest, ChecksLengthDigitsAndTheLuhnDigit) {
  EXPECT_TRUE(is_valid_iccid(iccid(1)));
  EXPECT_TRUE(is_valid_iccid("89860012345678901238"));  // 20 digits
  EXPECT_TRUE(is_valid_iccid("898600123456789016"));  // 18 digits
  std::string wrong = iccid(1);
  wrong.back() = wrong.back() == '9' ? '0' : static_cast<char>(wrong.back() + 1);
  EXPECT_FALSE(is_valid_iccid(wrong));
  EXPECT_FALSE(is_valid_iccid("89882470000000003"));      // 17 digits
  EXPECT_FALSE(is_valid_iccid("898824700000000000000"));  // 21 digits
  EXPECT_FALSE(is_valid_iccid("8988247000000000000F"));
}

TEST(StateMachineTest, AllowsTheJourneyAndCancellationButNoShortcuts) {
  using enum ProfileState;
  const ProfileState journey[] = {kAvailable, kAllocated, kLinked,   kConfirmed,
                                  kReleased,  kDownloaded, kInstalled};
  for (std::size_t i = 0; i + 1 < std::size(journey); ++i) {
    EXPECT_TRUE(transition_allowed(journey[i], journey[i + 1])) << i;
    if (i > 0) {
      EXPECT_FALSE(transition_allowed(journey[i + 1], journey[i])) << i;
    }
  }
  EXPECT_TRUE(transition_allowed(kAllocated, kAvailable));
  EXPECT_TRUE(transition_allowed(kLinked, kAvailable));
  EXPECT_TRUE(transition_allowed(kReleased, kAvailable));
  EXPECT_FALSE(transition_allowed(kDownloaded, kAvailable));  // it is on a device now
  EXPECT_FALSE(transition_allowed(kInstalled, kAvailable));
  EXPECT_FALSE(transition_allowed(kAvailable, kInstalled));
  EXPECT_FALSE(transition_allowed(kAvailable, kAvailable));
  EXPECT_TRUE(transition_allowed(kDownloaded, kError));
  EXPECT_FALSE(transition_allowed(kAvailable, kError));
  EXPECT_TRUE(transition_allowed(kAvailable, kUnavailable));
  EXPECT_TRUE(transition_allowed(kUnavailable, kAvailable));
  for (std::size_t i = 0; i < kProfileStateCount; ++i) {
    auto state = static_cast<ProfileState>(i);
    EXPECT_EQ(parse_profile_state(profile_state_name(state)), state);
  }
  EXPECT_FALSE(parse_profile_state("sold").has_value());
}

class InventoryTest : public storage::testing::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    inventory_ = std::make_unique<Inventory>(database(), keyring_, clock_);
  }

  ImportOutcome import(std::string_view text) {
    auto outcome = inventory_->import_csv(text);
    EXPECT_TRUE(outcome.is_ok()) << outcome.status().to_string();
    return outcome.is_ok() ? std::move(outcome).value() : ImportOutcome{};
  }

  std::int64_t count(ProfileState state) {
    auto stats = inventory_->stats();
    EXPECT_TRUE(stats.is_ok());
    return stats.is_ok() ? (*stats)[static_cast<std::size_t>(state)] : -1;
  }

  std::int64_t total() {
    auto stats = inventory_->stats();
    EXPECT_TRUE(stats.is_ok());
    std::int64_t sum = 0;
    for (auto n : *stats) sum += n;
    return sum;
  }

  std::vector<std::string> sealed_column(std::string_view column) {
    auto connection = database().acquire();
    EXPECT_TRUE(connection.is_ok());
    auto rows = (*connection)->query(fmt::format("SELECT {} FROM profiles ORDER BY iccid", column));
    EXPECT_TRUE(rows.is_ok());
    std::vector<std::string> out;
    for (const auto& row : *rows) out.push_back(row.text_or(0, ""));
    return out;
  }

  ManualClock clock_{kStartMs};
  secrets::Keyring keyring_ = keyring_of(kKeyA);
  std::unique_ptr<Inventory> inventory_;
};

TEST_P(InventoryTest, ImportsProfilesWithTheirSecretsSealed) {
  ImportOutcome outcome = import(csv_of(1, 3));
  EXPECT_TRUE(outcome.problems.empty()) << outcome.problems[0].reason;
  EXPECT_EQ(outcome.imported, 3u);
  EXPECT_EQ(count(ProfileState::kAvailable), 3);

  auto profile = inventory_->get(iccid(2));
  ASSERT_TRUE(profile.is_ok());
  EXPECT_EQ(profile->imsi, imsi(2));
  EXPECT_EQ(profile->state, ProfileState::kAvailable);
  EXPECT_EQ(profile->created_at_ms, kStartMs);

  for (const auto& sealed : sealed_column("ki_sealed")) {
    EXPECT_TRUE(sealed.starts_with("v1:" + keyring_.active_id() + ":"));
    EXPECT_EQ(sealed.find("465B5CE8"), std::string::npos);
    EXPECT_EQ(sealed.find("465b5ce8"), std::string::npos);
  }
  auto secrets = inventory_->read_secrets(iccid(2));
  ASSERT_TRUE(secrets.is_ok()) << secrets.status().to_string();
  EXPECT_EQ(secrets->ki.view(), "465B5CE8B199B49FAA5F0A2EE238A6BC");  // normalised upper case
  EXPECT_EQ(secrets->opc.view(), kOpc);
  for (const auto& code : secrets->codes) EXPECT_FALSE(code.has_value());

  auto events = inventory_->events(iccid(2));
  ASSERT_TRUE(events.is_ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_FALSE((*events)[0].from_state.has_value());
  EXPECT_EQ((*events)[0].cause, "import");
}

TEST_P(InventoryTest, TakesOptionalColumnsInAnyOrderAndCase) {
  std::string text = "PUK1,iccid,Ki,opc,imsi,pin1,profile_type\r\n";
  text += fmt::format("12345678,{},{},{},{},1234,consumer\r\n", iccid(1), kKi, kOpc, imsi(1));
  text += fmt::format(",\"{}\",{},{},{},,iot\r\n", iccid(2), kKi, kOpc, imsi(2));
  ImportOutcome outcome = import(text);
  ASSERT_TRUE(outcome.problems.empty()) << outcome.problems[0].reason;
  EXPECT_EQ(outcome.imported, 2u);
  auto first = inventory_->read_secrets(iccid(1));
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->code(ProfileCode::kPin1)->view(), "1234");
  EXPECT_EQ(first->code(ProfileCode::kPuk1)->view(), "12345678");
  auto second = inventory_->read_secrets(iccid(2));
  ASSERT_TRUE(second.is_ok());
  EXPECT_FALSE(second->code(ProfileCode::kPin1).has_value());
  EXPECT_EQ(inventory_->get(iccid(2))->profile_type, "iot");
}

// PIN2, PUK2 and ADM1 (migration 17) are sealed per row and field like Ki and OPc; ADM1 is 8
// digits or a 16-hex-digit key, normalised upper case. A bad code refuses the batch without
// quoting the code.
TEST_P(InventoryTest, SealsEveryPinAndPukCode) {
  std::string text = "iccid,imsi,ki,opc,pin1,puk1,pin2,puk2,adm1\n";
  text += fmt::format("{},{},{},{},0000,11112222,98765,33334444,0a1b2c3d4e5f6a7b\n", iccid(1),
                      imsi(1), kKi, kOpc);
  text += fmt::format("{},{},{},{},,,,,55556666\n", iccid(2), imsi(2), kKi, kOpc);
  ImportOutcome outcome = import(text);
  ASSERT_TRUE(outcome.problems.empty()) << outcome.problems[0].reason;
  auto first = inventory_->read_secrets(iccid(1));
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->code(ProfileCode::kPin1)->view(), "0000");
  EXPECT_EQ(first->code(ProfileCode::kPuk1)->view(), "11112222");
  EXPECT_EQ(first->code(ProfileCode::kPin2)->view(), "98765");
  EXPECT_EQ(first->code(ProfileCode::kPuk2)->view(), "33334444");
  EXPECT_EQ(first->code(ProfileCode::kAdm1)->view(), "0A1B2C3D4E5F6A7B");
  auto second = inventory_->read_secrets(iccid(2));
  ASSERT_TRUE(second.is_ok());
  EXPECT_FALSE(second->code(ProfileCode::kPin2).has_value());
  EXPECT_EQ(second->code(ProfileCode::kAdm1)->view(), "55556666");
  for (std::string_view column : {"pin2_sealed", "puk2_sealed", "adm1_sealed"}) {
    for (const auto& sealed : sealed_column(column)) {
      if (sealed.empty()) continue;  // NULL: none given
      EXPECT_TRUE(sealed.starts_with("v1:" + keyring_.active_id() + ":")) << column;
      EXPECT_EQ(sealed.find("3333"), std::string::npos);
    }
  }

  std::string bad = "iccid,imsi,ki,opc,pin2,puk2,adm1\n";
  bad += fmt::format("{},{},{},{},123,98761234,55556666\n", iccid(3), imsi(3), kKi, kOpc);
  bad += fmt::format("{},{},{},{},1234,9876123,55556666\n", iccid(4), imsi(4), kKi, kOpc);
  bad += fmt::format("{},{},{},{},1234,98761234,5555666X\n", iccid(5), imsi(5), kKi, kOpc);
  outcome = import(bad);
  EXPECT_EQ(outcome.imported, 0u);
  EXPECT_EQ(problem_lines(outcome), (std::vector<std::size_t>{2, 3, 4}));
  for (const auto& p : outcome.problems) {
    EXPECT_EQ(p.reason.find("9876123"), std::string::npos) << p.reason;
    EXPECT_EQ(p.reason.find("5555666"), std::string::npos) << p.reason;
  }
  EXPECT_NE(outcome.problems[0].reason.find("PIN2"), std::string::npos);
  EXPECT_NE(outcome.problems[1].reason.find("PUK2"), std::string::npos);
  EXPECT_NE(outcome.problems[2].reason.find("ADM1"), std::string::npos);
}

TEST_P(InventoryTest, RefusesTheWholeBatchNamingEveryBadLine) {
  std::string bad_luhn = iccid(3);
  bad_luhn.back() = bad_luhn.back() == '9' ? '0' : static_cast<char>(bad_luhn.back() + 1);
  std::string text = "iccid,imsi,ki,opc\n";
  text += fmt::format("{},{},{},{}\n", iccid(1), imsi(1), kKi, kOpc);        // line 2: good
  text += fmt::format("{},{},{},{}\n", bad_luhn, imsi(3), kKi, kOpc);        // 3: Luhn
  text += fmt::format("{},{},{},{}\n", "12345", imsi(4), kKi, kOpc);         // 4: length
  text += fmt::format("{},{},{},{}\n", iccid(5), "46000", kKi, kOpc);        // 5: IMSI
  text += fmt::format("{},{},{},{}\n", iccid(6), imsi(6), "XYZ", kOpc);      // 6: Ki
  text += fmt::format("{},{},{},{}\n", iccid(7), imsi(7), kKi, std::string(31, 'a'));  // 7: OPc
  text += fmt::format("{},{},{},{}\n", iccid(1), imsi(8), kKi, kOpc);        // 8: duplicate
  text += fmt::format("{},{},{}\n", iccid(9), imsi(9), kKi);                 // 9: short row
  text += fmt::format("{},{},{},{}\n", iccid(10), imsi(10), kKi, kOpc);      // 10: good
  ImportOutcome outcome = import(text);
  EXPECT_EQ(outcome.imported, 0u);
  EXPECT_EQ(problem_lines(outcome), (std::vector<std::size_t>{3, 4, 5, 6, 7, 8, 9}));
  EXPECT_NE(outcome.problems[0].reason.find("Luhn"), std::string::npos);
  EXPECT_NE(outcome.problems[5].reason.find("line 2"), std::string::npos);
  for (const auto& p : outcome.problems) {
    EXPECT_EQ(p.reason.find("465b5ce8"), std::string::npos) << p.reason;  // never the Ki
  }
  EXPECT_EQ(total(), 0);
}

TEST_P(InventoryTest, RefusesICCIDsAlreadyInTheStore) {
  ASSERT_EQ(import(csv_of(1, 2)).imported, 2u);
  ImportOutcome outcome = import(csv_of(2, 3));  // iccid(2) is line 2
  EXPECT_EQ(outcome.imported, 0u);
  EXPECT_EQ(problem_lines(outcome), (std::vector<std::size_t>{2}));
  EXPECT_NE(outcome.problems[0].reason.find("already"), std::string::npos);
  EXPECT_EQ(total(), 2);
}

TEST_P(InventoryTest, RefusesBadHeadersAndFiles) {
  ImportOutcome unknown = import(fmt::format("iccid,imsi,ki,opc,colour\n{},{},{},{},red\n",
                                             iccid(1), imsi(1), kKi, kOpc));
  EXPECT_EQ(problem_lines(unknown), (std::vector<std::size_t>{1}));
  EXPECT_NE(unknown.problems[0].reason.find("colour"), std::string::npos);
  EXPECT_EQ(problem_lines(import("iccid,imsi,ki\n")), (std::vector<std::size_t>{1}));
  EXPECT_EQ(problem_lines(import("iccid,imsi,ki,opc,ki\n")), (std::vector<std::size_t>{1}));
  EXPECT_EQ(import("").problems.size(), 1u);
  EXPECT_EQ(import("iccid,imsi,ki,opc\n").problems.size(), 1u);
  ImportOutcome syntax = import("iccid,imsi,ki,opc\n\"unclosed\n");
  ASSERT_EQ(syntax.problems.size(), 1u);
  EXPECT_NE(syntax.problems[0].reason.find("line 2"), std::string::npos);
  EXPECT_EQ(total(), 0);
}

TEST_P(InventoryTest, ListsAtMostTheBoundOfProblems) {
  std::string text = "iccid,imsi,ki,opc\n";
  for (std::size_t i = 0; i < limits::kProfileImportProblemsMax + 5; ++i) text += "1,2,3,4\n";
  ImportOutcome outcome = import(text);
  EXPECT_EQ(outcome.problems.size(), limits::kProfileImportProblemsMax);
  EXPECT_TRUE(outcome.problems_truncated);
}

TEST_P(InventoryTest, SecretsCannotBeSwappedBetweenRows) {
  ASSERT_EQ(import(csv_of(1, 2)).imported, 2u);
  auto ki = sealed_column("ki_sealed");
  auto connection = database().acquire();
  ASSERT_TRUE(connection.is_ok());
  const storage::Value params[] = {ki[1], iccid(1)};
  ASSERT_TRUE(
      (*connection)->execute("UPDATE profiles SET ki_sealed = ? WHERE iccid = ?", params).is_ok());
  auto secrets = inventory_->read_secrets(iccid(1));
  ASSERT_FALSE(secrets.is_ok());
  EXPECT_EQ(secrets.status().code(), ErrorCode::kInternal);
  EXPECT_TRUE(inventory_->read_secrets(iccid(2)).is_ok());
}

TEST_P(InventoryTest, ReadsValuesSealedBeforeAKeyRotation) {
  ASSERT_EQ(import(csv_of(1, 1)).imported, 1u);
  secrets::Keyring rotated = keyring_of(fmt::format("{},{}", kKeyA, kKeyB));
  Inventory after(database(), rotated, clock_);
  ASSERT_EQ(after.import_csv(csv_of(2, 1)).value().imported, 1u);
  auto ki = sealed_column("ki_sealed");
  EXPECT_EQ(secrets::Keyring::key_id_of(ki[0]).value(), keyring_.active_id());
  EXPECT_EQ(secrets::Keyring::key_id_of(ki[1]).value(), rotated.active_id());
  EXPECT_EQ(after.read_secrets(iccid(1)).value().opc.view(), kOpc);
  EXPECT_EQ(after.read_secrets(iccid(2)).value().opc.view(), kOpc);
  auto unknown_key = inventory_->read_secrets(iccid(2));  // the old keyring lacks key B
  ASSERT_FALSE(unknown_key.is_ok());
  EXPECT_EQ(unknown_key.status().code(), ErrorCode::kNotFound);
}

TEST_P(InventoryTest, MovesAlongTheJourneyRecordingEachStep) {
  using enum ProfileState;
  ASSERT_EQ(import(csv_of(1, 1)).imported, 1u);
  const std::string id = iccid(1);
  for (ProfileState to : {kAllocated, kLinked, kConfirmed, kReleased, kDownloaded, kInstalled}) {
    clock_.advance_ms(1'000);
    Status moved = inventory_->transition(id, to, fmt::format("to {}", profile_state_name(to)));
    ASSERT_TRUE(moved.is_ok()) << moved.to_string();
  }
  EXPECT_EQ(inventory_->get(id)->state, kInstalled);
  EXPECT_EQ(inventory_->get(id)->updated_at_ms, kStartMs + 6'000);
  auto events = inventory_->events(id);
  ASSERT_TRUE(events.is_ok());
  ASSERT_EQ(events->size(), 7u);
  EXPECT_EQ((*events)[3].from_state, kLinked);
  EXPECT_EQ((*events)[3].to_state, kConfirmed);
  EXPECT_EQ((*events)[3].cause, "to confirmed");
  EXPECT_EQ((*events)[3].at_ms, kStartMs + 3'000);
}

TEST_P(InventoryTest, RefusesForbiddenEdgesStaleExpectationsAndUnknownProfiles) {
  using enum ProfileState;
  ASSERT_EQ(import(csv_of(1, 1)).imported, 1u);
  const std::string id = iccid(1);
  EXPECT_EQ(inventory_->transition(id, kInstalled, "skip").code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(inventory_->transition(id, kAllocated, kLinked, "stale").code(),
            ErrorCode::kConflict);
  EXPECT_EQ(inventory_->transition(iccid(2), kUnavailable, "x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(inventory_->transition(id, kUnavailable, "").code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(count(kAvailable), 1);
  ASSERT_TRUE(inventory_->transition(id, kAvailable, kUnavailable, "damaged batch").is_ok());
  EXPECT_EQ(count(kUnavailable), 1);
  EXPECT_EQ(inventory_->events(id)->size(), 2u);
}

TEST_P(InventoryTest, AllocatesByTypeAndReportsAnEmptyPool) {
  ASSERT_EQ(import(csv_of(1, 1, "consumer")).imported, 1u);
  ASSERT_EQ(import(csv_of(2, 1, "iot")).imported, 1u);
  auto iot = inventory_->allocate_one("iot", "order 1");
  ASSERT_TRUE(iot.is_ok()) << iot.status().to_string();
  EXPECT_EQ(iot->iccid, iccid(2));
  EXPECT_EQ(iot->state, ProfileState::kAllocated);
  EXPECT_EQ(inventory_->allocate_one("iot", "order 2").status().code(), ErrorCode::kNotFound);
  auto any = inventory_->allocate_one(std::nullopt, "order 3");
  ASSERT_TRUE(any.is_ok());
  EXPECT_EQ(any->iccid, iccid(1));
  EXPECT_EQ(inventory_->allocate_one(std::nullopt, "order 4").status().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(count(ProfileState::kAllocated), 2);
  // Cancelled: back in the pool, and allocatable again.
  ASSERT_TRUE(inventory_->transition(iccid(2), ProfileState::kAvailable, "order 1 cancelled")
                  .is_ok());
  EXPECT_EQ(inventory_->allocate_one("iot", "order 5").value().iccid, iccid(2));
}

TEST_P(InventoryTest, ConcurrentAllocationsNeverShareAProfile) {
  constexpr int kProfiles = 40;
  constexpr int kThreads = 6;
  ASSERT_EQ(import(csv_of(1, kProfiles)).imported, static_cast<std::size_t>(kProfiles));
  std::vector<std::vector<std::string>> taken(kThreads);
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (true) {
        auto profile = inventory_->allocate_one(std::nullopt, fmt::format("thread {}", t));
        if (!profile.is_ok()) {
          if (profile.status().code() != ErrorCode::kNotFound) {
            failures[t] = profile.status().to_string();
          }
          return;
        }
        taken[t].push_back(profile->iccid);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> unique;
  std::size_t handed_out = 0;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], "") << "thread " << t;
    handed_out += taken[t].size();
    unique.insert(taken[t].begin(), taken[t].end());
  }
  EXPECT_EQ(handed_out, static_cast<std::size_t>(kProfiles));
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kProfiles));
  EXPECT_EQ(count(ProfileState::kAllocated), kProfiles);
}

INSTANTIATE_TEST_SUITE_P(Engines, InventoryTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::inventory
