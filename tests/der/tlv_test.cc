#include "der/tlv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "der_test_util.h"

namespace station::der {
namespace {

using test_util::from_hex;
using test_util::to_hex;

// Writes a parsed tree again with the Builder: DER has one encoding, so this must give the input.
void rebuild(const Element& element, Builder& builder) {
  if (!element.constructed()) {
    builder.primitive(element.tag(), element.value());
    return;
  }
  builder.begin(element.tag());
  for (Element child : element.children()) rebuild(child, builder);
  builder.end();
}

Bytes reencode(const Element& element) {
  Builder builder;
  rebuild(element, builder);
  auto out = std::move(builder).finish();
  EXPECT_TRUE(out.is_ok());
  return out.is_ok() ? std::move(out).value() : Bytes{};
}

Result<Element> parse_hex(const Bytes& bytes, const Limits& limits = {}) {
  return parse(bytes, limits);
}

TEST(DerTagTest, ReadsMultiByteTagsOfEveryClass) {
  struct Case {
    std::string_view encoding;
    Tag tag;
  };
  const Case cases[] = {
      {"BF2000", Tag::context(32, true)},      // EUICCInfo1
      {"BF3800", Tag::context(56, true)},      // AuthenticateServerResponse
      {"5F4900", Tag::application(73)},        // a public key
      {"7F2100", Tag::application(33, true)},  // a GP certificate
      {"5F3700", Tag::application(55)},        // a signature
      {"DF1F00", Tag::private_use(31)},        // smallest high-form number
      {"9F7F00", Tag::context(127)},           // largest two-byte tag
      {"9F810000", Tag::context(128)},         // three-byte tag
      {"1E00", Tag::universal(30)},            // largest low-form number
      {"3000", kSequence},
      {"FFFFFFFF7F00", Tag::private_use(kTagNumberMax, true)},
  };
  for (const auto& c : cases) {
    Bytes bytes = from_hex(c.encoding);
    auto element = parse_hex(bytes);
    ASSERT_TRUE(element.is_ok()) << c.encoding << ": " << element.status().to_string();
    EXPECT_EQ(element->tag(), c.tag) << c.encoding;
    EXPECT_EQ(element->tag().to_string() + "00", c.encoding);
    EXPECT_EQ(tag_size(c.tag) + 1, bytes.size());
    EXPECT_EQ(reencode(*element), bytes);
  }
}

TEST(DerTagTest, RefusesNonMinimalAndOversizedTags) {
  for (std::string_view bad : {
           "9F1E00",           // high form for 30
           "9F0000",           // high form for 0
           "9F800100",         // leading 0x80 group
           "9F8FFFFFFFFF00",   // five groups
           "9F90808080 0000",  // above 2^28 - 1
           "9F",               // truncated
           "9F81",             // truncated mid-tag
       }) {
    const Bytes bytes = from_hex(bad);
    auto element = parse_hex(bytes);
    EXPECT_FALSE(element.is_ok()) << bad;
    if (!element.is_ok()) {
      EXPECT_EQ(element.status().code(), ErrorCode::kMalformedRequest);
    }
  }
}

TEST(DerLengthTest, ReadsShortAndLongForms) {
  for (std::size_t length : {0u, 1u, 127u, 128u, 255u, 256u, 65535u, 65536u, 70000u}) {
    Builder builder;
    Bytes contents(length, 0xA5);
    builder.octets(contents);
    Bytes bytes = std::move(builder).finish().value();
    EXPECT_EQ(bytes.size(), 1 + length_size(length) + length);
    auto element = parse_hex(bytes, Limits{.max_bytes = 1 << 20});
    ASSERT_TRUE(element.is_ok()) << length << ": " << element.status().to_string();
    EXPECT_EQ(element->value().size(), length);
    EXPECT_EQ(element->header_size(), 1 + length_size(length));
  }
  EXPECT_EQ(
      to_hex(parse_hex(from_hex("0481 80" + std::string(256, 'A'))).value().encoded().first(3)),
      "048180");
}

TEST(DerLengthTest, RefusesNonMinimalIndefiniteAndReservedLengths) {
  struct Case {
    std::string_view bytes;
    std::string_view why;
  };
  const Case cases[] = {
      {"04 81 05 0102030405", "non-minimal"},  // long form below 128
      {"04 82 0080", "leading zero"},          // leading zero length byte
      {"04 80 0000", "indefinite"},
      {"30 80 0400 0000", "indefinite"},
      {"04 FF", "reserved"},
      {"04 85 0100000000", "more than 4 bytes"},
      {"04 82 01", "truncated length"},
      {"04 05 01020304", "truncated"},
      {"30 03 04 02 01", "truncated"},    // child runs past its parent
      {"04 00 00", "after the element"},  // trailing byte
      {"04", "no length"},
      {"", "no element"},
  };
  for (const auto& c : cases) {
    const Bytes bytes = from_hex(c.bytes);
    auto element = parse_hex(bytes);
    ASSERT_FALSE(element.is_ok()) << c.bytes;
    EXPECT_EQ(element.status().code(), ErrorCode::kMalformedRequest);
    EXPECT_NE(element.status().message().find(c.why), std::string::npos)
        << c.bytes << ": " << element.status().message();
  }
}

TEST(DerLimitsTest, NestingDepthIsBounded) {
  auto nested = [](std::size_t depth) {
    Builder builder;
    for (std::size_t i = 0; i < depth; ++i) builder.begin(kSequence);
    builder.null();
    for (std::size_t i = 0; i < depth; ++i) builder.end();
    return std::move(builder).finish().value();
  };
  const Limits limits{.max_depth = 8};
  EXPECT_TRUE(parse(nested(7), limits).is_ok());  // 7 SEQUENCEs and the NULL: depth 8
  auto too_deep = parse(nested(8), limits);
  ASSERT_FALSE(too_deep.is_ok());
  EXPECT_NE(too_deep.status().message().find("nesting"), std::string::npos);
  // Deep input does not exhaust the stack: refused at the limit, whatever its depth.
  EXPECT_FALSE(parse(nested(5000), Limits{.max_bytes = 1 << 20}).is_ok());
}

TEST(DerLimitsTest, ElementCountAndSizeAreBounded) {
  Builder builder;
  builder.begin(kSequence);
  for (int i = 0; i < 99; ++i) builder.null();
  builder.end();
  Bytes bytes = std::move(builder).finish().value();
  EXPECT_TRUE(parse(bytes, Limits{.max_elements = 100}).is_ok());
  auto too_many = parse(bytes, Limits{.max_elements = 99});
  ASSERT_FALSE(too_many.is_ok());
  EXPECT_NE(too_many.status().message().find("elements"), std::string::npos);

  EXPECT_TRUE(parse(bytes, Limits{.max_bytes = bytes.size()}).is_ok());
  auto too_big = parse(bytes, Limits{.max_bytes = bytes.size() - 1});
  ASSERT_FALSE(too_big.is_ok());
  EXPECT_NE(too_big.status().message().find("exceeds the limit"), std::string::npos);
}

TEST(DerDocumentTest, ParsesElementsBackToBack) {
  Bytes bytes = from_hex("8001 01 A1 03 020105 5A 00");
  auto document = Document::parse(bytes, {});
  ASSERT_TRUE(document.is_ok()) << document.status().to_string();
  std::vector<std::string> tags;
  for (Element e : document->elements()) tags.push_back(e.tag().to_string());
  EXPECT_EQ(tags, (std::vector<std::string>{"80", "A1", "5A"}));
  EXPECT_EQ(document->elements().size(), 3u);
  EXPECT_TRUE(Document::parse({}, {}).is_ok());
  EXPECT_FALSE(Document::parse(from_hex("8001 01 A1 03 0201"), {}).is_ok());
}

TEST(DerValueTest, IntegersAreMinimalTwosComplement) {
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{127}, std::int64_t{128}, std::int64_t{-1},
        std::int64_t{-128}, std::int64_t{-129}, std::int64_t{256}, INT64_MAX, INT64_MIN}) {
    Builder builder;
    builder.integer(v);
    Bytes bytes = std::move(builder).finish().value();
    auto element = parse(bytes, {});
    ASSERT_TRUE(element.is_ok());
    auto back = element->as_integer();
    ASSERT_TRUE(back.is_ok()) << v << ": " << back.status().to_string();
    EXPECT_EQ(*back, v);
  }
  Builder b;
  b.integer(128).integer(-129);
  EXPECT_EQ(to_hex(std::move(b).finish().value()), "020200800202FF7F");
  for (std::string_view bad : {"0200", "02020001", "0202FF80", "0209010000000000000000"}) {
    const Bytes bytes = from_hex(bad);
    auto element = parse_hex(bytes);
    ASSERT_TRUE(element.is_ok()) << bad;
    EXPECT_FALSE(element->as_integer().is_ok()) << bad;
  }
}

TEST(DerValueTest, BooleanNullUtf8AndBitString) {
  EXPECT_TRUE(parse_hex(from_hex("0101FF")).value().as_boolean().value());
  EXPECT_FALSE(parse_hex(from_hex("010100")).value().as_boolean().value());
  EXPECT_FALSE(parse_hex(from_hex("010101")).value().as_boolean().is_ok());
  EXPECT_TRUE(parse_hex(from_hex("0500")).value().as_null().is_ok());
  EXPECT_FALSE(parse_hex(from_hex("050100")).value().as_null().is_ok());

  EXPECT_EQ(parse_hex(from_hex("0C 06 E69D8EE99BB7")).value().as_utf8().value(), "李雷");
  for (std::string_view bad : {"0C01FF", "0C02C0AF", "0C03EDA080", "0C02E69D", "0C0480808080"}) {
    EXPECT_FALSE(parse_hex(from_hex(bad)).value().as_utf8().is_ok()) << bad;
  }

  const Bytes bit_bytes = from_hex("0302 06 C0");
  auto bits = parse_hex(bit_bytes).value().as_bit_string();
  ASSERT_TRUE(bits.is_ok());
  EXPECT_EQ(bits->unused_bits, 6);
  EXPECT_EQ(to_hex(bits->bytes), "C0");
  EXPECT_FALSE(parse_hex(from_hex("0302 06 C1")).value().as_bit_string().is_ok());  // padding set
  EXPECT_FALSE(parse_hex(from_hex("0301 01")).value().as_bit_string().is_ok());     // no bytes
  EXPECT_FALSE(parse_hex(from_hex("0302 08 00")).value().as_bit_string().is_ok());
  Builder b;
  b.bit_string(kBitString, from_hex("FF"), 3);
  EXPECT_EQ(to_hex(std::move(b).finish().value()), "030203F8");
}

TEST(DerCursorTest, WalksASequenceWithOptionalAndExtensionComponents) {
  // BF39 { 81 euiccChallenge, 83 smdpAddress, BF20 {...}, 99 unknown extension }
  Builder builder;
  builder.begin(Tag::context(57, true))
      .primitive(Tag::context(1), from_hex("00112233445566778899AABBCCDDEEFF"))
      .primitive(Tag::context(3), "smdp.example.com")
      .begin(Tag::context(32, true))
      .primitive(Tag::context(2), from_hex("020200"))
      .end()
      .primitive(Tag::context(25), from_hex("01"))
      .end();
  EXPECT_EQ(builder.open(), 0u);
  Bytes bytes = std::move(builder).finish().value();
  EXPECT_EQ(to_hex(ByteView(bytes).first(4)), "BF392F81");

  auto top = parse(bytes, {});
  ASSERT_TRUE(top.is_ok()) << top.status().to_string();
  Cursor cursor(*top);
  EXPECT_TRUE(cursor.required(Tag::context(1), "euiccChallenge").is_ok());
  EXPECT_FALSE(cursor.optional(Tag::context(2)).has_value());
  auto address = cursor.required(Tag::context(3), "smdpAddress");
  ASSERT_TRUE(address.is_ok());
  EXPECT_EQ(address->as_utf8().value(), "smdp.example.com");
  auto missing = cursor.required(Tag::context(33, true), "euiccInfo2");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("found tag BF20"), std::string::npos);
  EXPECT_TRUE(cursor.required(Tag::context(32, true), "euiccInfo1").is_ok());
  EXPECT_FALSE(cursor.finish("InitiateAuthenticationRequest").is_ok());
  cursor.skip_extensions();
  EXPECT_TRUE(cursor.finish("InitiateAuthenticationRequest").is_ok());
  EXPECT_FALSE(cursor.next("anything").is_ok());
}

TEST(DerBuilderTest, UnclosedElementIsAnError) {
  Builder builder;
  builder.begin(kSequence);
  EXPECT_EQ(std::move(builder).finish().status().code(), ErrorCode::kInternal);
}

TEST(DerBuilderTest, LengthsAcrossTheLongFormBoundaryAreBackpatched) {
  Builder builder;
  builder.begin(kSequence).begin(Tag::context(0, true));
  builder.octets(Bytes(200, 1));
  builder.end().raw(from_hex("0500")).end();
  Bytes bytes = std::move(builder).finish().value();
  EXPECT_EQ(to_hex(ByteView(bytes).first(9)), "3081D0A081CB0481C8");
  auto top = parse(bytes, {});
  ASSERT_TRUE(top.is_ok()) << top.status().to_string();
  EXPECT_EQ(reencode(*top), bytes);
}

// The SGP.26 test certificates (X.509, DER) parse as TLV trees end to end and re-encode to the
// same bytes.
TEST(DerRealDataTest, Sgp26CertificatesParseEndToEnd) {
  const std::filesystem::path certs = std::filesystem::path(STATION_RSP_SHARED_DIR) / "certs";
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(certs)) {
    if (entry.path().extension() != ".der") continue;
    std::ifstream file(entry.path(), std::ios::binary);
    Bytes bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    auto top = parse(bytes, {});
    ASSERT_TRUE(top.is_ok()) << entry.path() << ": " << top.status().to_string();
    EXPECT_EQ(top->tag(), kSequence);
    EXPECT_EQ(reencode(*top), bytes) << entry.path();
    if (entry.path().filename().string().starts_with("CERT_")) {
      // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
      Cursor cursor(*top);
      auto tbs = cursor.required(kSequence, "tbsCertificate");
      ASSERT_TRUE(tbs.is_ok()) << entry.path();
      EXPECT_TRUE(cursor.required(kSequence, "signatureAlgorithm").is_ok());
      auto signature = cursor.required(kBitString, "signatureValue");
      ASSERT_TRUE(signature.is_ok());
      EXPECT_TRUE(signature->as_bit_string().is_ok());
      EXPECT_TRUE(cursor.finish("Certificate").is_ok());
      // version [0] EXPLICIT INTEGER v3(2)
      Cursor fields(*tbs);
      auto version = fields.required(Tag::context(0, true), "version");
      ASSERT_TRUE(version.is_ok());
      EXPECT_EQ((*version->children().begin()).as_integer().value(), 2);
    }
    ++files;
  }
  EXPECT_GE(files, 16u);
}

}  // namespace
}  // namespace station::der
