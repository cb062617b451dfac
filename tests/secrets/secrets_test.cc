#include "secrets/secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace station::secrets {
namespace {

constexpr std::string_view kKeyA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kKeyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
constexpr std::string_view kKi = "465B5CE8B199B49FAA5F0A2EE238A6BC";

Keyring keyring_of(std::initializer_list<std::string_view> hex_keys) {
  Keyring keyring;
  for (auto hex : hex_keys) EXPECT_TRUE(keyring.add_hex(hex).is_ok());
  return keyring;
}

TEST(Base64Test, RoundTripsAndRefusesAnythingButTheAlphabetAndFinalPadding) {
  // RFC 4648 section 10 vectors.
  EXPECT_EQ(base64_encode({'f', 'o', 'o', 'b'}), "Zm9vYg==");
  EXPECT_EQ(base64_encode({'f', 'o', 'o'}), "Zm9v");
  auto decoded = base64_decode("Zm9vYmE=");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(std::string(decoded->begin(), decoded->end()), "fooba");
  for (std::string_view bad : {"", "Zm9", "Zm9v\n", " Zm9v", "Zm=v", "Z===", "Zm9vY===", "Zm*v"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

TEST(SecretsTest, SealsAndOpensWithTheRowContext) {
  Keyring keyring = keyring_of({kKeyA});
  std::string sealed = keyring.seal(kKi, "profile:8988247000000000003:ki");
  EXPECT_TRUE(sealed.starts_with("v1:" + keyring.active_id() + ":"));
  EXPECT_EQ(sealed.find(kKi), std::string::npos);
  auto opened = keyring.open(sealed, "profile:8988247000000000003:ki");
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->view(), kKi);
}

TEST(SecretsTest, EveryValueGetsItsOwnNonce) {
  Keyring keyring = keyring_of({kKeyA});
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(keyring.seal(kKi, "profile:1:ki"));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(SecretsTest, DetectsAFlippedByteAnywhereInThePayload) {
  Keyring keyring = keyring_of({kKeyA});
  std::string sealed = keyring.seal(kKi, "profile:1:ki");
  // Nonce (near the start of the payload), ciphertext, and tag (the end; skip '=' padding).
  std::size_t payload_start = sealed.rfind(':') + 1;
  for (std::size_t at : {payload_start + 2, payload_start + 20, sealed.size() - 3}) {
    std::string tampered = sealed;
    tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
    auto opened = keyring.open(tampered, "profile:1:ki");
    ASSERT_FALSE(opened.is_ok()) << "flip at " << at;
    EXPECT_EQ(opened.status().code(), ErrorCode::kInternal);
  }
}

TEST(SecretsTest, ACiphertextDoesNotOpenForAnotherRowOrField) {
  Keyring keyring = keyring_of({kKeyA});
  std::string sealed = keyring.seal(kKi, "profile:1:ki");
  EXPECT_FALSE(keyring.open(sealed, "profile:2:ki").is_ok());
  EXPECT_FALSE(keyring.open(sealed, "profile:1:opc").is_ok());
}

TEST(SecretsTest, AnUnknownKeyIdIsNotFound) {
  Keyring writer = keyring_of({kKeyA});
  Keyring reader = keyring_of({kKeyB});
  auto opened = reader.open(writer.seal(kKi, "c"), "c");
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kNotFound);
}

TEST(SecretsTest, ARelabelledKeyIdDoesNotOpen) {
  // Same key under two ids: the id is bound into the associated data.
  Keyring keyring;
  ASSERT_TRUE(keyring.add_hex(kKeyA, "old").is_ok());
  ASSERT_TRUE(keyring.add_hex(kKeyA, "new").is_ok());
  std::string sealed = keyring.seal(kKi, "c");
  ASSERT_TRUE(sealed.starts_with("v1:new:"));
  std::string relabelled = "v1:old:" + sealed.substr(7);
  EXPECT_FALSE(keyring.open(relabelled, "c").is_ok());
}

TEST(SecretsTest, MalformedValuesAreRefused) {
  Keyring keyring = keyring_of({kKeyA});
  for (std::string_view bad : {"", "v1", "v2:k:AAAA", "v1::AAAA", "v1:k!:AAAA", "v1:k:",
                               "v1:k:A", "v1:k:AAAA"}) {
    EXPECT_FALSE(keyring.open(bad, "c").is_ok()) << bad;
  }
}

TEST(SecretsTest, RotationSealsWithTheNewKeyAndOpensOldValues) {
  Keyring before = keyring_of({kKeyA});
  std::string old_value = before.seal(kKi, "c");
  Keyring after = keyring_of({kKeyA, kKeyB});
  EXPECT_NE(after.active_id(), before.active_id());
  std::string new_value = after.seal(kKi, "c");
  EXPECT_EQ(Keyring::key_id_of(new_value).value(), after.active_id());
  EXPECT_EQ(Keyring::key_id_of(old_value).value(), before.active_id());
  EXPECT_EQ(after.open(old_value, "c").value().view(), kKi);
  EXPECT_EQ(after.open(new_value, "c").value().view(), kKi);
  EXPECT_FALSE(before.open(new_value, "c").is_ok());
}

TEST(SecretsTest, EmptyAndLongPlaintexts) {
  Keyring keyring = keyring_of({kKeyA});
  EXPECT_EQ(keyring.open(keyring.seal("", "c"), "c").value().view(), "");
  std::string long_text(1000, 'x');
  EXPECT_EQ(keyring.open(keyring.seal(long_text, "c"), "c").value().view(), long_text);
}

TEST(SecretsTest, KeyIdsAreDerivedOrChecked) {
  Keyring keyring;
  EXPECT_FALSE(keyring.add_hex("abc").is_ok());
  EXPECT_FALSE(keyring.add_hex(std::string(64, 'g')).is_ok());
  EXPECT_FALSE(keyring.add_hex(kKeyA, "bad id").is_ok());
  ASSERT_TRUE(keyring.add_hex(kKeyA, "k1").is_ok());
  EXPECT_FALSE(keyring.add_hex(kKeyB, "k1").is_ok());  // one id, two keys
  Keyring derived = keyring_of({kKeyA});
  EXPECT_EQ(derived.active_id().size(), 16u);
}

TEST(SecretsTest, ParsesKeyLists) {
  auto keyring = parse_key_list(std::string(kKeyA) + ", " + std::string(kKeyB));
  ASSERT_TRUE(keyring.is_ok());
  EXPECT_EQ(keyring->active_id(), keyring_of({kKeyB}).active_id());
  EXPECT_FALSE(parse_key_list(" , ").is_ok());
  EXPECT_FALSE(parse_key_list("nothex").is_ok());
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/station-secrets-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, std::string_view content) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << content;
  }
  std::string dir_;
};

TEST_F(KeyFileTest, ReadsTextKeyFilesWithIdsAndTheLastKeyActive) {
  write("keys", "# rotation\n\nold " + std::string(kKeyA) + "\r\nnew " + std::string(kKeyB) +
                    "\n");
  auto keyring = load_key_file(dir_ + "/keys");
  ASSERT_TRUE(keyring.is_ok()) << keyring.status().to_string();
  EXPECT_EQ(keyring->active_id(), "new");
  EXPECT_TRUE(keyring->has("old"));
}

TEST_F(KeyFileTest, ReadsRawKeyFiles) {
  std::string raw(32, '\0');
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(i);
  write("raw", raw);
  auto keyring = load_key_file(dir_ + "/raw");
  ASSERT_TRUE(keyring.is_ok());
  EXPECT_EQ(keyring->active_id(), keyring_of({kKeyA}).active_id());  // kKeyA is 00..1f
}

TEST_F(KeyFileTest, RefusesBadKeyFilesNamingTheLine) {
  write("bad", "# ok\nzz\n");
  auto keyring = load_key_file(dir_ + "/bad");
  ASSERT_FALSE(keyring.is_ok());
  EXPECT_NE(keyring.status().message().find("line 2"), std::string::npos);
  EXPECT_EQ(keyring.status().message().find("zz"), std::string::npos);  // no key material
  write("empty", "# nothing\n");
  EXPECT_FALSE(load_key_file(dir_ + "/empty").is_ok());
  EXPECT_FALSE(load_key_file(dir_ + "/missing").is_ok());
}

TEST_F(KeyFileTest, CreatesTheDefaultKeyFileOnceWithMode0600) {
  KeySource source;
  source.default_key_file = dir_ + "/data/secrets.key";
  auto first = load_keyring(source);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_TRUE(first->created);
  struct stat info {};
  ASSERT_EQ(::stat(source.default_key_file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto second = load_keyring(source);
  ASSERT_TRUE(second.is_ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->keyring.active_id(), first->keyring.active_id());
}

TEST_F(KeyFileTest, AnExplicitSourceWinsOverTheDefault) {
  KeySource source;
  source.key_hex = std::string(kKeyB);
  source.default_key_file = dir_ + "/secrets.key";
  auto loaded = load_keyring(source);
  ASSERT_TRUE(loaded.is_ok());
  EXPECT_EQ(loaded->keyring.active_id(), keyring_of({kKeyB}).active_id());
  EXPECT_FALSE(std::filesystem::exists(source.default_key_file));
  source.key_file = dir_ + "/missing";
  EXPECT_FALSE(load_keyring(source).is_ok());  // an explicit file must exist
}

}  // namespace
}  // namespace station::secrets
