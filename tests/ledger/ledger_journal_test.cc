// The journal's text (ledger_journal.h): every kind of transfer and key record survives a round
// trip, an entry that a build of the previous format left behind still decodes, and damaged
// text is refused rather than misread.
#include <gtest/gtest.h>

#include <string>

#include "ledger/ledger_journal.h"

namespace station::ledger::internal {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;
constexpr Id kCash = 7'000'000'000'000'000'001;
constexpr Id kWallet = 7'000'000'000'000'000'002;
constexpr Id kFirstTransfer = 7'100'000'000'000'000'000;

Transfer transfer(Id id, TransferPhase phase, TransferState state, std::int64_t amount) {
  Transfer t;
  t.id = id;
  t.phase = phase;
  t.state = state;
  t.debit_account_id = kCash;
  t.credit_account_id = kWallet;
  t.amount_minor = amount;
  t.currency = "CNY";
  t.category = "topup";
  t.created_at_ms = kNow;
  t.idempotency_key = "key/" + std::to_string(id);
  return t;
}

JournalKey key_of(const Transfer& t, RequestShape shape, std::string fingerprint) {
  JournalKey k;
  k.key = t.idempotency_key;
  k.shape = shape;
  k.fingerprint = std::move(fingerprint);
  k.transfer_id = t.id;
  return k;
}

RequestShape shape(TransferPhase phase, Id debit, Id credit, Id pending, std::int64_t amount,
                   std::uint32_t timeout) {
  RequestShape s;
  s.phase = phase;
  s.debit_account_id = debit;
  s.credit_account_id = credit;
  s.pending_id = pending;
  s.amount_minor = amount;
  s.currency = {'C', 'N', 'Y'};
  s.timeout_seconds = timeout;
  return s;
}

// One of everything a batch can hold.
JournalEntry every_kind() {
  JournalEntry entry;
  entry.created_at_ms = kNow;
  entry.balances = {{kCash, -1'700, -300, 0}, {kWallet, 1'700, 0, 300}};

  Transfer single = transfer(kFirstTransfer, TransferPhase::kSingle, TransferState::kPosted, 1'000);
  single.reference = "order: 12 34";  // the separators of the grammar, inside a text
  single.description = "充值 top-up\n";
  single.debit_balance_after_minor = -1'000;
  single.credit_balance_after_minor = 1'000;
  Transfer pending =
      transfer(kFirstTransfer + 1, TransferPhase::kPending, TransferState::kPending, 300);
  pending.expires_at_ms = kNow + 90'000;
  Transfer post = transfer(kFirstTransfer + 5, TransferPhase::kPost, TransferState::kPosted, 700);
  post.pending_id = 6'900'000'000'000'000'000;
  post.resolved_at_ms = std::nullopt;
  post.debit_balance_after_minor = -1'700;
  post.credit_balance_after_minor = 1'700;
  Transfer expiry =
      transfer(kFirstTransfer + 9, TransferPhase::kExpire, TransferState::kExpired, 50);
  expiry.pending_id = 6'900'000'000'000'000'001;
  expiry.idempotency_key = "expire:6900000000000000001";
  entry.transfers = {single, pending, post, expiry};
  entry.resolved = {{6'900'000'000'000'000'000, TransferState::kPosted, kNow},
                    {6'900'000'000'000'000'001, TransferState::kExpired, kNow}};

  JournalKey refusal;
  refusal.key = "key/refused";
  refusal.shape = shape(TransferPhase::kSingle, kWallet, kCash, 0, 99'999, 0);
  refusal.fingerprint = "fp-refused";
  refusal.refusal = ErrorCode::kInsufficientFunds;
  refusal.refusal_detail = "account has 0 available above its floor, 99999 is needed";
  entry.keys = {
      key_of(single, shape(TransferPhase::kSingle, kCash, kWallet, 0, 1'000, 0), "fp-1"),
      refusal,  // a refusal between made keys, as a batch decides them
      key_of(pending, shape(TransferPhase::kPending, kCash, kWallet, 0, 300, 90), ""),
      // A post asking for 0 (the full amount): its shape differs from its row's.
      key_of(post, shape(TransferPhase::kPost, 0, 0, post.pending_id, 0, 0), "fp-post"),
  };
  return entry;
}

void expect_same(const Transfer& a, const Transfer& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.pending_id, b.pending_id);
  EXPECT_EQ(a.debit_account_id, b.debit_account_id);
  EXPECT_EQ(a.credit_account_id, b.credit_account_id);
  EXPECT_EQ(a.amount_minor, b.amount_minor);
  EXPECT_EQ(a.currency, b.currency);
  EXPECT_EQ(a.category, b.category);
  EXPECT_EQ(a.reference, b.reference);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.expires_at_ms, b.expires_at_ms);
  EXPECT_EQ(a.debit_balance_after_minor, b.debit_balance_after_minor);
  EXPECT_EQ(a.credit_balance_after_minor, b.credit_balance_after_minor);
  EXPECT_EQ(a.idempotency_key, b.idempotency_key);
  EXPECT_EQ(a.created_at_ms, b.created_at_ms);
  EXPECT_EQ(a.resolved_at_ms, b.resolved_at_ms);
}

void expect_same_key(const JournalKey& a, const JournalKey& b) {
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.transfer_id, b.transfer_id);
  EXPECT_EQ(a.refusal, b.refusal);
  EXPECT_EQ(a.refusal_detail, b.refusal_detail);
}

std::string encoded(const JournalEntry& entry) {
  std::string text;
  const Status status = encode_journal_entry(entry, text);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  return text;
}

TEST(LedgerJournalTest, EveryKindOfTransferAndKeySurvivesARoundTrip) {
  const JournalEntry entry = every_kind();
  auto decoded = decode_journal_entry(encoded(entry));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->created_at_ms, entry.created_at_ms);
  ASSERT_EQ(decoded->balances.size(), entry.balances.size());
  for (std::size_t i = 0; i < entry.balances.size(); ++i) {
    EXPECT_EQ(decoded->balances[i].id, entry.balances[i].id);
    EXPECT_EQ(decoded->balances[i].balance_minor, entry.balances[i].balance_minor);
    EXPECT_EQ(decoded->balances[i].pending_debit_minor, entry.balances[i].pending_debit_minor);
    EXPECT_EQ(decoded->balances[i].pending_credit_minor, entry.balances[i].pending_credit_minor);
  }
  ASSERT_EQ(decoded->transfers.size(), entry.transfers.size());
  for (std::size_t i = 0; i < entry.transfers.size(); ++i) {
    expect_same(decoded->transfers[i], entry.transfers[i]);
  }
  ASSERT_EQ(decoded->resolved.size(), entry.resolved.size());
  for (std::size_t i = 0; i < entry.resolved.size(); ++i) {
    EXPECT_EQ(decoded->resolved[i].id, entry.resolved[i].id);
    EXPECT_EQ(decoded->resolved[i].state, entry.resolved[i].state);
    EXPECT_EQ(decoded->resolved[i].resolved_at_ms, entry.resolved[i].resolved_at_ms);
  }
  // The made keys come back in their transfers' order, the refusals after them.
  ASSERT_EQ(decoded->keys.size(), entry.keys.size());
  expect_same_key(decoded->keys[0], entry.keys[0]);
  expect_same_key(decoded->keys[1], entry.keys[2]);
  expect_same_key(decoded->keys[2], entry.keys[3]);
  expect_same_key(decoded->keys[3], entry.keys[1]);
  EXPECT_EQ(decoded->weight(), entry.weight());
}

// A plain top-up costs well under half of what version 1 wrote (about 250 bytes).
TEST(LedgerJournalTest, APlainTransferTakesFewBytes) {
  JournalEntry entry;
  entry.created_at_ms = kNow;
  entry.balances = {{kCash, -1'000, 0, 0}, {kWallet, 1'000, 0, 0}};
  Transfer t = transfer(kFirstTransfer, TransferPhase::kSingle, TransferState::kPosted, 1'000);
  entry.transfers = {t};
  entry.keys = {key_of(t, shape(TransferPhase::kSingle, kCash, kWallet, 0, 1'000, 0), "")};
  const std::size_t one = encoded(entry).size();
  for (int i = 1; i < 100; ++i) {
    t.id += 1;
    t.idempotency_key = "key/" + std::to_string(t.id);
    entry.transfers.push_back(t);
    entry.keys.push_back(
        key_of(t, shape(TransferPhase::kSingle, kCash, kWallet, 0, 1'000, 0), ""));
  }
  const std::size_t per_transfer = (encoded(entry).size() - one) / 99;
  EXPECT_LT(per_transfer, 100u);
}

// Written by hand after the version 1 grammar (builds before 2026-11-30): a journal row left by
// a crash of such a build is applied by this one.
TEST(LedgerJournalTest, AnEntryOfVersionOneStillDecodes) {
  const std::string text =
      "2:j1"
      "2 1 0 1 1800000000000 "
      "7 -500 0 0 8 500 0 0 "
      "100 6:single6:posted0 7 8 500 3:CNY5:topup0:0:- -500 500 3:k-11800000000000 - "
      "3:k-16:single7 8 0 500 3:CNY0 2:fp100 0:0:";
  auto decoded = decode_journal_entry(text);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  ASSERT_EQ(decoded->transfers.size(), 1u);
  const Transfer& t = decoded->transfers[0];
  EXPECT_EQ(t.id, 100);
  EXPECT_EQ(t.debit_account_id, 7);
  EXPECT_EQ(t.credit_account_id, 8);
  EXPECT_EQ(t.amount_minor, 500);
  EXPECT_EQ(t.idempotency_key, "k-1");
  EXPECT_EQ(t.created_at_ms, kNow);
  ASSERT_EQ(decoded->keys.size(), 1u);
  EXPECT_EQ(decoded->keys[0].transfer_id, 100);
  EXPECT_EQ(decoded->keys[0].fingerprint, "fp");
  EXPECT_EQ(decoded->balances[1].balance_minor, 500);
}

TEST(LedgerJournalTest, DamagedTextIsRefused) {
  const std::string text = encoded(every_kind());
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, text.size() / 2, text.size() - 1}) {
    EXPECT_FALSE(decode_journal_entry(text.substr(0, cut)).is_ok()) << cut;
  }
  EXPECT_FALSE(decode_journal_entry(text + "1 ").is_ok());
  EXPECT_FALSE(decode_journal_entry("2:j9" + text.substr(4)).is_ok());

  // A transfer naming an account position past the list.
  JournalEntry entry;
  entry.created_at_ms = kNow;
  entry.balances = {{kCash, -1, 0, 0}, {kWallet, 1, 0, 0}};
  entry.transfers = {transfer(kFirstTransfer, TransferPhase::kSingle, TransferState::kPosted, 1)};
  std::string good = encoded(entry);
  const std::string positions = "s" "P" "- 0 1 ";
  const std::size_t at = good.find(positions);
  ASSERT_NE(at, std::string::npos) << good;
  std::string bad = good;
  bad.replace(at, positions.size(), "sP- 0 2 ");
  EXPECT_TRUE(decode_journal_entry(good).is_ok());
  EXPECT_FALSE(decode_journal_entry(bad).is_ok());
}

// What the grammar cannot say is refused when writing, so the batch is written at once instead.
TEST(LedgerJournalTest, ATransferThatDoesNotFitItsEntryIsNotEncoded) {
  JournalEntry entry;
  entry.created_at_ms = kNow;
  entry.balances = {{kCash, -1, 0, 0}};  // the wallet is missing
  entry.transfers = {transfer(kFirstTransfer, TransferPhase::kSingle, TransferState::kPosted, 1)};
  std::string text;
  EXPECT_EQ(encode_journal_entry(entry, text).code(), ErrorCode::kInternal);

  entry.balances.push_back({kWallet, 1, 0, 0});
  entry.transfers.push_back(entry.transfers.front());  // ids must grow
  EXPECT_EQ(encode_journal_entry(entry, text).code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace station::ledger::internal
