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
  return ProfileTemplate::built_in().build(
      UppInput{std::move(iccid), std::move(imsi), s, std::move(type)});
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
  // header [0], mf [16], pukCodes [3], pinCodes [2], usim [19], pinCodes [2], akaParameter [4],
  // end [10]: A0 B0 A3 A2 B3 A2 A4 AA.
  const std::vector<Tag> expected = {Tag::context(0, true),  Tag::context(16, true),
                                     Tag::context(3, true),  Tag::context(2, true),
                                     Tag::context(19, true), Tag::context(2, true),
                                     Tag::context(4, true),  Tag::context(10, true)};
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
  // PE-End: end-header { identification 7 }.
  EXPECT_EQ(to_bytes(bytes.subspan(bytes.size() - 7)), hex("AA 05 A0 03 81 01 07"));
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
  for (std::string type : {std::string(101, 'a'), std::string("a\nb"), std::string("\xC3\x28"),
                           std::string("\xC0\x80")}) {
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

// ---- PIN and PUK codes ----------------------------------------------------------------------

using inventory::ProfileCode;

void set_code(inventory::ProfileSecrets& s, ProfileCode code, std::string value) {
  s.codes[static_cast<std::size_t>(code)] = secrets::SecretString(std::move(value));
}

// Worked encodings of PE-PUKCodes and the two PE-PINCodes of the built-in template (PE numbers 2,
// 3 and 5). A code is its digits in ASCII padded to 8 bytes with FF; ADM1 as 16 hex digits is the
// bytes themselves; keyReference 129 (secondPINAppl1/secondPUKAppl1) is the INTEGER 00 81.
TEST(UppTest, PinAndPukCodesKnownAnswer) {
  auto s = make_secrets();
  set_code(s, ProfileCode::kPin1, "1234");
  set_code(s, ProfileCode::kPuk1, "12345678");
  set_code(s, ProfileCode::kPin2, "98765");
  set_code(s, ProfileCode::kPuk2, "87654321");
  set_code(s, ProfileCode::kAdm1, "0A1B2C3D4E5F6A7B");
  auto upp = build(s);
  ASSERT_TRUE(upp.is_ok()) << upp.status().message();
  ByteView bytes = view_of(*upp);
  // pukCodes { header 2, { {pukAppl1, '3132333435363738'}, {secondPUKAppl1, '3837363534333231'} } }
  EXPECT_EQ(count(bytes, hex("A3 26 A0 03 81 01 02 A1 1F"
                             "30 0D 80 01 01 81 08 31 32 33 34 35 36 37 38"
                             "30 0E 80 02 00 81 81 08 38 37 36 35 34 33 32 31")),
            1u);
  // pinCodes { header 3, pinconfig { {pinAppl1, '31323334FFFFFFFF', pukAppl1},
  //                                  {adm1, '0A1B2C3D4E5F6A7B'} } }
  EXPECT_EQ(count(bytes, hex("A2 2A A0 03 81 01 03 A1 23 A0 21"
                             "30 10 80 01 01 81 08 31 32 33 34 FF FF FF FF 82 01 01"
                             "30 0D 80 01 0A 81 08 0A 1B 2C 3D 4E 5F 6A 7B")),
            1u);
  // pinCodes { header 5, pinconfig { {secondPINAppl1, '3938373635FFFFFF', secondPUKAppl1} } }
  EXPECT_EQ(count(bytes, hex("A2 1D A0 03 81 01 05 A1 16 A0 14"
                             "30 12 80 02 00 81 81 08 39 38 37 36 35 FF FF FF 82 02 00 81")),
            1u);
}

// Without codes in the inventory, PIN1 and PIN2 are the template's (0000 in the built-in one),
// while PUK1, PUK2 and ADM1 are eight random digits drawn per package.
TEST(UppTest, MissingCodesKeepThePinsAndDrawThePuks) {
  auto s = make_secrets();
  auto first = build(s);
  auto second = build(s);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  auto value_after = [](ByteView bytes, const Bytes& prefix) {
    auto it = std::search(bytes.begin(), bytes.end(), prefix.begin(), prefix.end());
    EXPECT_NE(it, bytes.end());
    return std::string(it + static_cast<std::ptrdiff_t>(prefix.size()),
                       it + static_cast<std::ptrdiff_t>(prefix.size() + kCodeValueBytes));
  };
  const Bytes pin1 = hex("30 10 80 01 01 81 08");
  const Bytes puk1 = hex("30 0D 80 01 01 81 08");
  const Bytes adm1 = hex("80 01 0A 81 08");
  const Bytes pin2 = hex("30 12 80 02 00 81 81 08");
  for (const auto* upp : {&*first, &*second}) {
    EXPECT_EQ(value_after(view_of(*upp), pin1), "0000\xFF\xFF\xFF\xFF");
    EXPECT_EQ(value_after(view_of(*upp), pin2), "0000\xFF\xFF\xFF\xFF");
    for (const Bytes* drawn : {&puk1, &adm1}) {
      std::string value = value_after(view_of(*upp), *drawn);
      EXPECT_TRUE(
          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }));
    }
  }
  EXPECT_NE(value_after(view_of(*first), puk1), value_after(view_of(*second), puk1));
  EXPECT_NE(value_after(view_of(*first), adm1), value_after(view_of(*second), adm1));
}

TEST(UppTest, BadCodesRefusedWithoutQuotingThem) {
  for (auto [code, value] :
       {std::pair{ProfileCode::kPin1, "123"}, std::pair{ProfileCode::kPuk1, "1234567"},
        std::pair{ProfileCode::kAdm1, "0A1B2C3D4E5F6A7G"}}) {
    auto s = make_secrets();
    set_code(s, code, value);
    auto upp = build(s);
    ASSERT_FALSE(upp.is_ok()) << value;
    EXPECT_EQ(upp.status().code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(upp.status().message().find(value), std::string::npos);
  }
}

// ---- templates ------------------------------------------------------------------------------

// The encoded profile elements of a package, in order.
std::vector<Bytes> elements_of(ByteView package) {
  auto document = der::Document::parse(package, der::Limits{});
  EXPECT_TRUE(document.is_ok());
  std::vector<Bytes> out;
  for (const der::Element& pe : document->elements()) out.push_back(to_bytes(pe.encoded()));
  return out;
}

Bytes joined(const std::vector<Bytes>& elements) {
  Bytes out;
  for (const Bytes& e : elements) out.insert(out.end(), e.begin(), e.end());
  return out;
}

Bytes encoded(der::Builder&& builder) {
  auto out = std::move(builder).finish();
  EXPECT_TRUE(out.is_ok());
  return *out;
}

constexpr Tag ctx(std::uint32_t n) { return Tag::context(n); }
constexpr Tag ctx_c(std::uint32_t n) { return Tag::context(n, true); }

const Bytes kIdMf = hex("67 81 0F 01 02 01");
const Bytes kIdUsim = hex("67 81 0F 01 02 04");

// A vendor-style template: header 3.3 without a profileType, a nonStandard PE and an unknown
// extension PE, an MF whose ef-iccid has its own FCP, PINs by filePath, a USIM, AKA parameters
// with sqnOptions and a sample key, end. Positions: 0 header, 1 mf, 2 nonStandard, 3 usim,
// 4 pinCodes, 5 aka, 6 extension, 7 end.
std::vector<Bytes> vendor_template() {
  std::vector<Bytes> pes;
  der::Builder header;
  header.begin(ctx_c(0))
      .integer(ctx(0), 3)
      .integer(ctx(1), 3)
      .primitive(ctx(3), hex("98 10 32 54 76 98 10 32 54 F6"))
      .begin(ctx_c(5))
      .null(ctx(1))
      .end()
      .begin(ctx_c(6))
      .end()
      .end();
  pes.push_back(encoded(std::move(header)));
  der::Builder mf;
  mf.begin(ctx_c(16))
      .begin(ctx_c(0))
      .integer(ctx(1), 1)
      .end()
      .primitive(ctx(1), kIdMf)
      .begin(ctx_c(2))
      .end()
      .begin(ctx_c(4))
      .begin(ctx_c(1))
      .primitive(ctx(2), hex("2F E2"))
      .end()
      .primitive(ctx(3), Bytes(10, 0x11))
      .end()
      .end();
  pes.push_back(encoded(std::move(mf)));
  der::Builder non_standard;
  non_standard.begin(ctx_c(9))
      .begin(ctx_c(0))
      .integer(ctx(1), 2)
      .end()
      .primitive(ctx(1), hex("2A 03"))
      .primitive(ctx(2), hex("CA FE"))
      .end();
  pes.push_back(encoded(std::move(non_standard)));
  der::Builder usim;
  usim.begin(ctx_c(19))
      .begin(ctx_c(0))
      .integer(ctx(1), 3)
      .end()
      .primitive(ctx(1), kIdUsim)
      .begin(ctx_c(3))
      .primitive(ctx(3), Bytes(9, 0x22))
      .end()
      .end();
  pes.push_back(encoded(std::move(usim)));
  der::Builder pins;
  pins.begin(ctx_c(2))
      .begin(ctx_c(0))
      .integer(ctx(1), 4)
      .end()
      .begin(ctx_c(1))
      .primitive(ctx(1), hex("7F F1"))
      .end()
      .end();
  pes.push_back(encoded(std::move(pins)));
  der::Builder aka;
  aka.begin(ctx_c(4))
      .begin(ctx_c(0))
      .integer(ctx(1), 5)
      .end()
      .begin(ctx_c(1))
      .begin(ctx_c(1))
      .integer(ctx(0), 1)
      .primitive(ctx(1), hex("00"))
      .primitive(ctx(2), hex("000102030405060708090A0B0C0D0E0F"))
      .primitive(ctx(3), hex("000102030405060708090A0B0C0D0E0F"))
      .end()
      .end()
      .primitive(ctx(2), hex("0A"))
      .end();
  pes.push_back(encoded(std::move(aka)));
  der::Builder extension;
  extension.begin(ctx_c(40)).primitive(ctx(0), hex("01")).end();
  pes.push_back(encoded(std::move(extension)));
  der::Builder end;
  end.begin(ctx_c(10)).begin(ctx_c(0)).integer(ctx(1), 6).end().end();
  pes.push_back(encoded(std::move(end)));
  return pes;
}

TEST(UppTemplateTest, BuiltInTemplateIsParsedLikeAnyOther) {
  const Bytes der = built_in_template_der();
  EXPECT_EQ(to_bytes(ProfileTemplate::built_in().der()), der);
  auto parsed = ProfileTemplate::parse(der);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  for (ProfileCode code : {ProfileCode::kPin1, ProfileCode::kPuk1, ProfileCode::kPin2,
                           ProfileCode::kPuk2, ProfileCode::kAdm1}) {
    EXPECT_EQ(parsed->slots(code), 1u);
  }
}

// Only the per-profile values change; every other byte of a vendor's template is kept, its
// unknown elements included; the header gains the inventory's profile type or keeps none.
TEST(UppTemplateTest, VendorTemplateFilledInPlace) {
  const std::vector<Bytes> pes = vendor_template();
  auto parsed = ProfileTemplate::parse(joined(pes));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->slots(ProfileCode::kPin1), 0u);
  auto s = make_secrets();
  set_code(s, ProfileCode::kPuk1, "12345678");  // no slot for it: not written anywhere
  for (std::string type : {"", "vendor type"}) {
    auto upp = parsed->build(UppInput{"89860118000000000018", "460011234567890", s, type});
    ASSERT_TRUE(upp.is_ok()) << upp.status().message();
    std::vector<Bytes> out = elements_of(view_of(*upp));
    ASSERT_EQ(out.size(), pes.size());
    const Bytes expected_header =
        type.empty()
            ? hex("A0 18 80 01 03 81 01 03 83 0A 98 68 10 81 00 00 00 00 00 81 A5 02 81 00 A6 00")
            : hex("A0 25 80 01 03 81 01 03 82 0B 76 65 6E 64 6F 72 20 74 79 70 65"
                  "83 0A 98 68 10 81 00 00 00 00 00 81 A5 02 81 00 A6 00");
    EXPECT_EQ(out[0], expected_header);
    EXPECT_EQ(count(out[1], hex("A4 12 A1 04 82 02 2F E2 83 0A 98 68 10 81 00 00 00 00 00 81")),
              1u);
    EXPECT_EQ(count(out[3], hex("A3 0B 83 09 08 49 06 10 21 43 65 87 09")), 1u);
    EXPECT_EQ(count(out[5], hex(kKiHex)), 1u);
    EXPECT_EQ(count(out[5], hex(kOpcHex)), 1u);
    EXPECT_EQ(count(view_of(*upp), hex("3132333435363738")), 0u);
    for (std::size_t i : {2u, 4u, 6u, 7u}) EXPECT_EQ(out[i], pes[i]) << i;
  }
}

TEST(UppTemplateTest, WrongStructuresRefused) {
  const std::vector<Bytes> good = vendor_template();
  ASSERT_TRUE(ProfileTemplate::parse(joined(good)).is_ok());
  auto without = [&](std::size_t i) {
    auto pes = good;
    pes.erase(pes.begin() + static_cast<std::ptrdiff_t>(i));
    return joined(pes);
  };
  auto with_at = [&](std::size_t i, Bytes pe) {
    auto pes = good;
    pes.insert(pes.begin() + static_cast<std::ptrdiff_t>(i), std::move(pe));
    return joined(pes);
  };
  auto replaced = [&](std::size_t i, Bytes pe) {
    auto pes = good;
    pes[i] = std::move(pe);
    return joined(pes);
  };
  auto usim_with_imsi = [](Bytes file) {
    der::Builder b;
    b.begin(ctx_c(19))
        .begin(ctx_c(0))
        .integer(ctx(1), 3)
        .end()
        .primitive(ctx(1), kIdUsim)
        .raw(file)
        .end();
    return encoded(std::move(b));
  };
  auto aka_with = [](std::int64_t algorithm, std::size_t key_bytes, bool rotation) {
    der::Builder b;
    b.begin(ctx_c(4))
        .begin(ctx_c(0))
        .integer(ctx(1), 5)
        .end()
        .begin(ctx_c(1))
        .begin(ctx_c(1))
        .integer(ctx(0), algorithm)
        .primitive(ctx(1), hex("00"))
        .primitive(ctx(2), Bytes(key_bytes, 0))
        .primitive(ctx(3), Bytes(16, 0));
    if (rotation) b.primitive(ctx(4), hex("4000204060"));
    b.end().end().end();
    return encoded(std::move(b));
  };
  auto pins_with = [](std::vector<std::pair<std::int64_t, std::size_t>> entries) {
    der::Builder b;
    b.begin(ctx_c(2)).begin(ctx_c(0)).integer(ctx(1), 4).end().begin(ctx_c(1)).begin(ctx_c(0));
    for (auto [reference, size] : entries) {
      b.begin(der::kSequence).integer(ctx(0), reference).primitive(ctx(1), Bytes(size, 0x30)).end();
    }
    b.end().end().end();
    return encoded(std::move(b));
  };
  der::Builder universal;
  universal.begin(der::kSequence).end();

  const std::vector<std::pair<std::string, Bytes>> cases = {
      {"empty", {}},
      {"not DER", hex("A0 05 01")},
      {"too large", Bytes(kMaxTemplateBytes + 1, 0)},
      {"header not first",
       [&] {
         auto p = good;
         std::swap(p[0], p[1]);
         return joined(p);
       }()},
      {"no header", without(0)},
      {"two headers", with_at(1, good[0])},
      {"no mf", without(1)},
      {"two mf", with_at(2, good[1])},
      {"no usim", without(3)},
      {"no aka", without(5)},
      {"two aka", with_at(5, good[5])},
      {"no end", without(7)},
      {"after end",
       [&] {
         auto p = good;
         p.push_back(good[2]);
         return joined(p);
       }()},
      {"universal element", with_at(2, encoded(std::move(universal)))},
      {"wrong usim templateID",
       replaced(3,
                [&] {
                  Bytes pe = good[3];
                  pe[std::search(pe.begin(), pe.end(), kIdUsim.begin(), kIdUsim.end()) -
                     pe.begin() + 5] = 5;
                  return pe;
                }())},
      {"short ef-imsi", replaced(3, usim_with_imsi(hex("A3 0A 83 08 00 00 00 00 00 00 00 00")))},
      {"ef-imsi offset",
       replaced(3, usim_with_imsi(hex("A3 0E 82 01 00 83 09 00 00 00 00 00 00 00 00 00")))},
      {"no ef-imsi content", replaced(3, usim_with_imsi(hex("A3 00")))},
      {"tuak", replaced(5, aka_with(2, 16, false))},
      {"short key", replaced(5, aka_with(1, 15, false))},
      {"rotation constants", replaced(5, aka_with(1, 16, true))},
      {"7-byte pin", with_at(4, pins_with({{1, 7}}))},
      {"pin twice", with_at(4, pins_with({{1, 8}, {1, 8}}))},
      {"no pins", with_at(4, pins_with({}))},
  };
  for (const auto& [name, bytes] : cases) {
    auto parsed = ProfileTemplate::parse(bytes);
    ASSERT_FALSE(parsed.is_ok()) << name;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kValidationFailed) << name;
    EXPECT_TRUE(parsed.status().message().starts_with("profile template: "))
        << name << ": " << parsed.status().message();
  }
  // A well-formed PIN list is taken: PIN1 and ADM1 slots, any other reference copied as it is.
  auto parsed = ProfileTemplate::parse(with_at(4, pins_with({{1, 8}, {10, 8}, {2, 8}})));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->slots(ProfileCode::kPin1), 1u);
  EXPECT_EQ(parsed->slots(ProfileCode::kAdm1), 1u);
}

}  // namespace
}  // namespace station::upp
