#include "upp/upp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace station::upp {
namespace {

using der::Bytes;
using der::ByteView;
using der::Tag;

constexpr char kKiHex[] = "000102030405060708090A0B0C0D0E0F";
constexpr char kOpcHex[] = "F0E1D2C3B4A5968778695A4B3C2D1E0F";

Bytes hex(std::string_view text) {
  Bytes out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    if (text[i] == ' ') {
      --i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(nibble(text[i]) * 16 + nibble(text[i + 1])));
  }
  return out;
}

Bytes to_bytes(ByteView view) { return Bytes(view.begin(), view.end()); }

ByteView view_of(const secrets::SecretString& s) { return der::as_bytes(s.view()); }

std::size_t count(ByteView haystack, const Bytes& needle) {
  std::size_t n = 0;
  auto it = haystack.begin();
  while (true) {
    it = std::search(it, haystack.end(), needle.begin(), needle.end());
    if (it == haystack.end()) return n;
    ++n;
    ++it;
  }
}

inventory::ProfileSecrets make_secrets(std::string ki = kKiHex, std::string opc = kOpcHex) {
  inventory::ProfileSecrets s;
  s.ki = secrets::SecretString(std::move(ki));
  s.opc = secrets::SecretString(std::move(opc));
  return s;
}

Result<secrets::SecretString> build(const inventory::ProfileSecrets& s,
                                    std::string iccid = "89860118000000000018",
                                    std::string imsi = "460011234567890",
                                    std::string type = "Station operational") {
  return build_upp(UppInput{std::move(iccid), std::move(imsi), s, std::move(type)});
}

// ICCID 89860118000000000018: digit pairs 89 86 01 18 00 00 00 00 00 18, each with its nibbles
// swapped (first digit in the low nibble) -> 98 68 10 81 00 00 00 00 00 81.
TEST(UppTest, IccidWorkedExample) {
  auto bcd = encode_iccid("89860118000000000018");
  ASSERT_TRUE(bcd.is_ok()) << bcd.status().message();
  EXPECT_EQ(*bcd, hex("98 68 10 81 00 00 00 00 00 81"));
}

// 19 digits 8944100000000000017: pairs 89 44 10 00 00 00 00 00 01 7F (F pads the last nibble)
// -> 98 44 01 00 00 00 00 00 10 F7.
TEST(UppTest, Iccid19DigitsPadded) {
  auto bcd = encode_iccid("8944100000000000017");
  ASSERT_TRUE(bcd.is_ok()) << bcd.status().message();
  EXPECT_EQ(*bcd, hex("98 44 01 00 00 00 00 00 10 F7"));
}

// IMSI 460011234567890 (15 digits, odd): nibbles after the length byte are
// 9 (parity 1 = odd, type 001 = IMSI), 4 6 0 0 1 1 2 3 4 5 6 7 8 9 0: 16 nibbles = 8 bytes,
// each byte low nibble first: (9,4)->49 (6,0)->06 (0,1)->10 (1,2)->21 (3,4)->43 (5,6)->65
// (7,8)->87 (9,0)->09 -> 08 49 06 10 21 43 65 87 09.
TEST(UppTest, ImsiWorkedExample) {
  auto file = encode_imsi("460011234567890");
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_EQ(*file, hex("08 49 06 10 21 43 65 87 09"));
}

// IMSI 00101123456789 (14 digits, even): nibbles 1 (parity 0, type 001), 0 0 1 0 1 1 2 3 4 5 6 7
// 8 9: 15 nibbles -> 8 bytes, the last high nibble F: (1,0)->01 (0,1)->10 (0,1)->10 (1,2)->21
// (3,4)->43 (5,6)->65 (7,8)->87 (9,F)->F9 -> 08 01 10 10 21 43 65 87 F9.
TEST(UppTest, ImsiEvenDigits) {
  auto file = encode_imsi("00101123456789");
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_EQ(*file, hex("08 01 10 10 21 43 65 87 F9"));
}

// 6 digits 001011: nibbles 1,0,0,1,0,1,1 -> 7 nibbles, 4 bytes: 01 10 10 F1; the rest FF.
TEST(UppTest, ImsiShortPaddedWithFF) {
  auto file = encode_imsi("001011");
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_EQ(*file, hex("04 01 10 10 F1 FF FF FF FF"));
}

TEST(UppTest, PackageIsASequenceOfProfileElements) {
  auto s = make_secrets();
  auto upp = build(s);
  ASSERT_TRUE(upp.is_ok()) << upp.status().message();
  ByteView bytes = view_of(*upp);
  ASSERT_LE(bytes.size(), kMaxUppBytes);

  auto document = der::Document::parse(bytes, der::Limits{});
  ASSERT_TRUE(document.is_ok()) << document.status().message();
  std::vector<Tag> tags;
  for (const der::Element& pe : document->elements()) tags.push_back(pe.tag());
  // header [0], mf [16], usim [19], akaParameter [4], end [10]: A0 B0 B3 A4 AA.
  const std::vector<Tag> expected = {Tag::context(0, true), Tag::context(16, true),
                                     Tag::context(19, true), Tag::context(4, true),
                                     Tag::context(10, true)};
  EXPECT_EQ(tags, expected);
  EXPECT_EQ(bytes[0], 0xA0);

  // Header: versions 2.3, profile type, iccid, services { usim, milenage }, empty GFSTE list.
  auto it = document->elements().begin();
  const der::Element header = *it;
  der::Cursor h(header);
  auto major = h.required(Tag::context(0), "major");
  ASSERT_TRUE(major.is_ok());
  EXPECT_EQ(to_bytes(major->value()), hex("02"));
  auto minor = h.required(Tag::context(1), "minor");
  ASSERT_TRUE(minor.is_ok());
  EXPECT_EQ(to_bytes(minor->value()), hex("03"));
  auto type = h.required(Tag::context(2), "profileType");
  ASSERT_TRUE(type.is_ok());
  EXPECT_EQ(to_bytes(type->value()), to_bytes(der::as_bytes("Station operational")));
  auto iccid = h.required(Tag::context(3), "iccid");
  ASSERT_TRUE(iccid.is_ok());
  EXPECT_EQ(to_bytes(iccid->value()), hex("98 68 10 81 00 00 00 00 00 81"));
  auto services = h.required(Tag::context(5, true), "services");
  ASSERT_TRUE(services.is_ok());
  EXPECT_EQ(to_bytes(services->encoded()), hex("A5 04 81 00 84 00"));
  auto gfste = h.required(Tag::context(6, true), "gfste");
  ASSERT_TRUE(gfste.is_ok());
  EXPECT_EQ(to_bytes(gfste->encoded()), hex("A6 00"));
  EXPECT_TRUE(h.finish("header").is_ok());

  // The MF's ef-iccid [4] holds fillFileContent [3] with the BCD ICCID.
  EXPECT_EQ(count(bytes, hex("A4 0C 83 0A 98 68 10 81 00 00 00 00 00 81")), 1u);
  // The USIM's ef-imsi [3] holds fillFileContent [3] with the EF_IMSI contents.
  EXPECT_EQ(count(bytes, hex("A3 0B 83 09 08 49 06 10 21 43 65 87 09")), 1u);
  // PE-End: end-header { identification 4 }.
  EXPECT_EQ(to_bytes(bytes.subspan(bytes.size() - 7)), hex("AA 05 A0 03 81 01 04"));
}

TEST(UppTest, KiAndOpcAppearOnceInsideTheAkaElement) {
  auto s = make_secrets();
  auto upp = build(s);
  ASSERT_TRUE(upp.is_ok()) << upp.status().message();
  ByteView bytes = view_of(*upp);
  const Bytes ki = hex(kKiHex);
  const Bytes opc = hex(kOpcHex);
  EXPECT_EQ(count(bytes, ki), 1u);
  EXPECT_EQ(count(bytes, opc), 1u);

  auto document = der::Document::parse(bytes, der::Limits{});
  ASSERT_TRUE(document.is_ok());
  std::size_t aka_seen = 0;
  for (const der::Element& pe : document->elements()) {
    if (pe.tag() != Tag::context(4, true)) {
      EXPECT_EQ(count(pe.encoded(), ki), 0u);
      EXPECT_EQ(count(pe.encoded(), opc), 0u);
      continue;
    }
    ++aka_seen;
    der::Cursor aka(pe);
    ASSERT_TRUE(aka.required(Tag::context(0, true), "header").is_ok());
    auto config = aka.required(Tag::context(1, true), "algoConfiguration");
    ASSERT_TRUE(config.is_ok());
    der::Cursor choice(*config);
    auto params = choice.required(Tag::context(1, true), "algoParameter");
    ASSERT_TRUE(params.is_ok());
    der::Cursor f(*params);
    auto algorithm = f.required(Tag::context(0), "algorithmID");
    ASSERT_TRUE(algorithm.is_ok());
    EXPECT_EQ(to_bytes(algorithm->value()), hex("01"));  // milenage(1)
    ASSERT_TRUE(f.required(Tag::context(1), "algorithmOptions").is_ok());
    auto key = f.required(Tag::context(2), "key");
    ASSERT_TRUE(key.is_ok());
    EXPECT_EQ(to_bytes(key->value()), ki);
    auto op = f.required(Tag::context(3), "opc");
    ASSERT_TRUE(op.is_ok());
    EXPECT_EQ(to_bytes(op->value()), opc);
    EXPECT_TRUE(f.finish("algoParameter").is_ok());
    EXPECT_TRUE(aka.finish("aka").is_ok());
  }
  EXPECT_EQ(aka_seen, 1u);
}

TEST(UppTest, LowerCaseHexSecretsAccepted) {
  auto s = make_secrets("000102030405060708090a0b0c0d0e0f", "f0e1d2c3b4a5968778695a4b3c2d1e0f");
  auto upp = build(s);
  ASSERT_TRUE(upp.is_ok()) << upp.status().message();
  EXPECT_EQ(count(view_of(*upp), hex(kKiHex)), 1u);
}

TEST(UppTest, BadInputsRefused) {
  auto good = make_secrets();
  const std::vector<std::string> bad_iccids = {"",
                                               "898601180000000001",
                                               "898601180000000000181",
                                               "1986011800000000001",
                                               "8986011800000000001A",
                                               "89860118000000000 18"};
  for (const auto& iccid : bad_iccids) {
    auto upp = build(good, iccid);
    ASSERT_FALSE(upp.is_ok()) << iccid;
    EXPECT_EQ(upp.status().code(), ErrorCode::kValidationFailed);
  }
  for (std::string imsi : {"", "12345", "4600112345678901", "46001123456789X", "-46001"}) {
    auto upp = build(good, "89860118000000000018", imsi);
    ASSERT_FALSE(upp.is_ok()) << imsi;
    EXPECT_EQ(upp.status().code(), ErrorCode::kValidationFailed);
  }
  for (std::string type : {std::string(), std::string(101, 'a'), std::string("a\nb"),
                           std::string("\xC3\x28"), std::string("\xC0\x80")}) {
    auto upp = build(good, "89860118000000000018", "460011234567890", type);
    ASSERT_FALSE(upp.is_ok()) << type;
    EXPECT_EQ(upp.status().code(), ErrorCode::kValidationFailed);
  }
  EXPECT_TRUE(
      build(good, "89860118000000000018", "460011234567890", std::string(100, 'a')).is_ok());

  const std::vector<std::pair<std::string, std::string>> bad_keys = {
      {"", kOpcHex},
      {"000102030405060708090A0B0C0D0E", kOpcHex},
      {"000102030405060708090A0B0C0D0E0F00", kOpcHex},
      {"000102030405060708090A0B0C0D0E0G", kOpcHex},
      {kKiHex, ""},
      {kKiHex, "F0E1D2C3B4A5968778695A4B3C2D1E0Z"}};
  for (const auto& [ki, opc] : bad_keys) {
    auto s = make_secrets(ki, opc);
    auto upp = build(s);
    ASSERT_FALSE(upp.is_ok());
    EXPECT_EQ(upp.status().code(), ErrorCode::kValidationFailed);
    // The message never carries the secret.
    if (!ki.empty()) {
      EXPECT_EQ(upp.status().message().find(ki), std::string::npos);
    }
    if (!opc.empty()) {
      EXPECT_EQ(upp.status().message().find(opc), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace station::upp
