// upp: the Unprotected Profile Package of one profile (see upp.h for the format and the types).
#include "upp/upp.h"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <utility>

namespace station::upp {
namespace {

using der::Builder;
using der::Bytes;
using der::ByteView;
using der::Tag;

// ProfileElement CHOICE alternatives (AUTOMATIC TAGS: position in the CHOICE).
constexpr std::uint32_t kPeHeader = 0;
constexpr std::uint32_t kPeAkaParameter = 4;
constexpr std::uint32_t kPeEnd = 10;
constexpr std::uint32_t kPeMf = 16;
constexpr std::uint32_t kPeUsim = 19;

// Template OIDs (TCA eUICC Profile Package, templates annex): id-MF 2.23.143.1.2.1 and
// id-USIM 2.23.143.1.2.4, as OBJECT IDENTIFIER contents: 2*40+23 = 0x67, 143 = 81 0F, 1, 2, n.
constexpr std::array<std::uint8_t, 6> kTemplateMf = {0x67, 0x81, 0x0F, 0x01, 0x02, 0x01};
constexpr std::array<std::uint8_t, 6> kTemplateUsim = {0x67, 0x81, 0x0F, 0x01, 0x02, 0x04};

// The USIM AID: RID A000000087 (3GPP), application code 1002 (USIM), then FF FF FF FF 89 07 09 00
// 00 (country/provider/proprietary fields as the common test profiles use them).
constexpr std::array<std::uint8_t, 16> kUsimAid = {0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xFF,
                                                   0xFF, 0xFF, 0xFF, 0x89, 0x07, 0x09, 0x00, 0x00};

constexpr std::uint8_t kAlgorithmMilenage = 1;
constexpr std::uint8_t kAlgorithmOptions = 0x00;

constexpr Tag ctx(std::uint32_t n) { return Tag::context(n, false); }
constexpr Tag ctx_c(std::uint32_t n) { return Tag::context(n, true); }

bool all_digits(std::string_view text) {
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Checks without copying: the message names the field, never the value.
Status check_key_hex(const secrets::SecretString& value, std::string_view what) {
  std::string_view hex = value.view();
  bool ok = hex.size() == 2 * kAkaKeyBytes;
  for (char c : hex) ok = ok && hex_value(c) >= 0;
  if (!ok) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("{} must be {} hex digits", what, 2 * kAkaKeyBytes));
  }
  return Status();
}

// Decodes the (checked) hex straight into `out` at `at`, so no other buffer holds the bytes.
void write_key(std::string& out, std::size_t at, const secrets::SecretString& value) {
  std::string_view hex = value.view();
  for (std::size_t i = 0; i < kAkaKeyBytes; ++i) {
    out[at + i] = static_cast<char>(hex_value(hex[2 * i]) * 16 + hex_value(hex[2 * i + 1]));
  }
}

Status check_profile_type(std::string_view type) {
  if (type.empty() || type.size() > kMaxProfileTypeBytes) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("profile type must be 1..{} bytes", kMaxProfileTypeBytes));
  }
  for (char c : type) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) {
      return Status(ErrorCode::kValidationFailed, "profile type has a control character");
    }
  }
  Builder probe;
  probe.utf8(type);
  auto encoded = std::move(probe).finish();
  if (!encoded.is_ok()) return encoded.status();
  auto element = der::parse(*encoded, der::Limits{});
  if (!element.is_ok()) return element.status();
  if (!element->as_utf8().is_ok()) {
    return Status(ErrorCode::kValidationFailed, "profile type is not valid UTF-8");
  }
  return Status();
}

void pe_header(Builder& b, std::int64_t identification) {
  b.begin(ctx_c(0)).integer(ctx(1), identification).end();
}

// A File with the template's defaults.
void default_file(Builder& b, std::uint32_t n) { b.begin(ctx_c(n)).end(); }

// A File whose contents are given: fillFileContent [3].
void filled_file(Builder& b, std::uint32_t n, ByteView contents) {
  b.begin(ctx_c(n)).primitive(ctx(3), contents).end();
}

}  // namespace

Result<Bytes> encode_iccid(std::string_view iccid) {
  if (iccid.size() < 19 || iccid.size() > 20 || !all_digits(iccid) || !iccid.starts_with("89")) {
    return Status(ErrorCode::kValidationFailed, "ICCID must be 19 or 20 digits starting with 89");
  }
  Bytes out(kIccidBcdBytes, 0xFF);
  for (std::size_t i = 0; i < iccid.size(); ++i) {
    auto digit = static_cast<std::uint8_t>(iccid[i] - '0');
    std::uint8_t& byte = out[i / 2];
    if (i % 2 == 0) {
      byte = static_cast<std::uint8_t>((byte & 0xF0) | digit);
    } else {
      byte = static_cast<std::uint8_t>((byte & 0x0F) | (digit << 4));
    }
  }
  return out;
}

Result<Bytes> encode_imsi(std::string_view imsi) {
  if (imsi.size() < 6 || imsi.size() > 15 || !all_digits(imsi)) {
    return Status(ErrorCode::kValidationFailed, "IMSI must be 6 to 15 digits");
  }
  // Nibbles after the length byte: the parity/type nibble, then the digits.
  const std::size_t nibbles = imsi.size() + 1;
  const std::size_t used = (nibbles + 1) / 2;
  Bytes out(kImsiFileBytes, 0xFF);
  out[0] = static_cast<std::uint8_t>(used);
  const std::uint8_t parity = imsi.size() % 2 == 1 ? 0x9 : 0x1;
  for (std::size_t n = 0; n < nibbles; ++n) {
    auto value = static_cast<std::uint8_t>(n == 0 ? parity : imsi[n - 1] - '0');
    std::uint8_t& byte = out[1 + n / 2];
    if (n % 2 == 0) {
      byte = static_cast<std::uint8_t>((byte & 0xF0) | value);
    } else {
      byte = static_cast<std::uint8_t>((byte & 0x0F) | (value << 4));
    }
  }
  return out;
}

Result<secrets::SecretString> build_upp(const UppInput& input) {
  STATION_ASSIGN_OR_RETURN(Bytes iccid, encode_iccid(input.iccid));
  STATION_ASSIGN_OR_RETURN(Bytes imsi, encode_imsi(input.imsi));
  STATION_RETURN_IF_ERROR(check_profile_type(input.profile_type));
  STATION_RETURN_IF_ERROR(check_key_hex(input.secrets.ki, "Ki"));
  STATION_RETURN_IF_ERROR(check_key_hex(input.secrets.opc, "OPc"));

  const std::array<std::uint8_t, kAkaKeyBytes> placeholder{};
  std::int64_t id = 0;
  Builder b;

  // ProfileHeader
  b.begin(ctx_c(kPeHeader))
      .integer(ctx(0), 2)  // major-version
      .integer(ctx(1), 3)  // minor-version
      .primitive(ctx(2), input.profile_type)
      .primitive(ctx(3), iccid)
      .begin(ctx_c(5))  // eUICC-Mandatory-services
      .null(ctx(1))     // usim
      .null(ctx(4))     // milenage
      .end()
      .begin(ctx_c(6))  // eUICC-Mandatory-GFSTEList: none
      .end()
      .end();

  // PE-MF
  b.begin(ctx_c(kPeMf));
  pe_header(b, ++id);
  b.primitive(ctx(1), kTemplateMf);
  default_file(b, 2);        // mf
  filled_file(b, 4, iccid);  // ef-iccid
  default_file(b, 5);        // ef-dir
  default_file(b, 6);        // ef-arr
  b.end();

  // PE-USIM
  b.begin(ctx_c(kPeUsim));
  pe_header(b, ++id);
  b.primitive(ctx(1), kTemplateUsim);
  b.begin(ctx_c(2))                           // adf-usim File
      .begin(ctx_c(1))                        // fileDescriptor Fcp
      .primitive(ctx(4), ByteView(kUsimAid))  // dfName
      .end()
      .end();
  filled_file(b, 3, imsi);  // ef-imsi
  default_file(b, 4);       // ef-arr
  default_file(b, 8);       // ef-ust
  default_file(b, 13);      // ef-spn
  default_file(b, 14);      // ef-est
  default_file(b, 18);      // ef-acc
  default_file(b, 22);      // ef-ecc
  b.end();

  // PE-AKAParameter: Ki and OPc as zero placeholders, filled in below.
  b.begin(ctx_c(kPeAkaParameter));
  pe_header(b, ++id);
  b.begin(ctx_c(1))     // algoConfiguration
      .begin(ctx_c(1))  // algoParameter
      .integer(ctx(0), kAlgorithmMilenage)
      .primitive(ctx(1), ByteView(&kAlgorithmOptions, 1))
      .primitive(ctx(2), ByteView(placeholder))  // key
      .primitive(ctx(3), ByteView(placeholder))  // opc
      .end()
      .end();
  b.end();

  // PE-End
  b.begin(ctx_c(kPeEnd));
  pe_header(b, ++id);
  b.end();

  STATION_ASSIGN_OR_RETURN(Bytes package, std::move(b).finish());
  if (package.size() > kMaxUppBytes) {
    return Status(ErrorCode::kInternal, fmt::format("profile package of {} bytes exceeds {}",
                                                    package.size(), kMaxUppBytes));
  }

  // Locate the key and opc contents in what was written.
  der::Limits limits;
  limits.max_bytes = kMaxUppBytes;
  STATION_ASSIGN_OR_RETURN(der::Document document, der::Document::parse(package, limits));
  std::optional<std::size_t> key_at;
  std::optional<std::size_t> opc_at;
  for (const der::Element& pe : document.elements()) {
    if (pe.tag() != ctx_c(kPeAkaParameter)) continue;
    der::Cursor aka(pe);
    STATION_RETURN_IF_ERROR(aka.required(ctx_c(0), "aka-header").status());
    STATION_ASSIGN_OR_RETURN(der::Element config, aka.required(ctx_c(1), "algoConfiguration"));
    der::Cursor choice(config);
    STATION_ASSIGN_OR_RETURN(der::Element params, choice.required(ctx_c(1), "algoParameter"));
    der::Cursor fields(params);
    STATION_RETURN_IF_ERROR(fields.required(ctx(0), "algorithmID").status());
    STATION_RETURN_IF_ERROR(fields.required(ctx(1), "algorithmOptions").status());
    STATION_ASSIGN_OR_RETURN(der::Element key, fields.required(ctx(2), "key"));
    STATION_ASSIGN_OR_RETURN(der::Element opc, fields.required(ctx(3), "opc"));
    if (key.value().size() != kAkaKeyBytes || opc.value().size() != kAkaKeyBytes) {
      return Status(ErrorCode::kInternal, "AKA placeholders have the wrong size");
    }
    key_at = static_cast<std::size_t>(key.value().data() - package.data());
    opc_at = static_cast<std::size_t>(opc.value().data() - package.data());
  }
  if (!key_at || !opc_at) {
    return Status(ErrorCode::kInternal, "AKA parameters not found in the profile package");
  }

  std::string out(reinterpret_cast<const char*>(package.data()), package.size());
  write_key(out, *key_at, input.secrets.ki);
  write_key(out, *opc_at, input.secrets.opc);
  return secrets::SecretString(std::move(out));
}

}  // namespace station::upp
