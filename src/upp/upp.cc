// upp: the Unprotected Profile Package of one profile (see upp.h for the format and the types).
#include "upp/upp.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cassert>
#include <optional>
#include <utility>

#include "common/digits.h"

namespace station::upp {
namespace {

using der::Builder;
using der::Bytes;
using der::ByteView;
using der::Tag;

using inventory::ProfileCode;

// ProfileElement CHOICE alternatives (AUTOMATIC TAGS: position in the CHOICE).
constexpr std::uint32_t kPeHeader = 0;
constexpr std::uint32_t kPePinCodes = 2;
constexpr std::uint32_t kPePukCodes = 3;
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

// PINKeyReferenceValue and PUKKeyReferenceValue of the codes Station fills in.
constexpr std::int64_t kPinAppl1 = 1;          // PIN1
constexpr std::int64_t kSecondPinAppl1 = 129;  // PIN2 (the USIM's local PIN)
constexpr std::int64_t kAdm1 = 10;
constexpr std::int64_t kPukAppl1 = 1;          // PUK1
constexpr std::int64_t kSecondPukAppl1 = 129;  // PUK2

std::optional<ProfileCode> pin_code_of(std::int64_t key_reference) {
  switch (key_reference) {
    case kPinAppl1:
      return ProfileCode::kPin1;
    case kSecondPinAppl1:
      return ProfileCode::kPin2;
    case kAdm1:
      return ProfileCode::kAdm1;
    default:
      return std::nullopt;
  }
}

std::optional<ProfileCode> puk_code_of(std::int64_t key_reference) {
  switch (key_reference) {
    case kPukAppl1:
      return ProfileCode::kPuk1;
    case kSecondPukAppl1:
      return ProfileCode::kPuk2;
    default:
      return std::nullopt;
  }
}

constexpr Tag ctx(std::uint32_t n) { return Tag::context(n, false); }
constexpr Tag ctx_c(std::uint32_t n) { return Tag::context(n, true); }

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

namespace {

Status refused(std::string what) {
  return Status(ErrorCode::kValidationFailed, "profile template: " + std::move(what));
}

// A DER fault found while checking the template, named as the template's.
Status refused(const Status& fault) { return refused(fault.message()); }

std::optional<der::Element> child(const der::Element& parent, const Tag& tag) {
  for (const der::Element& element : parent.children()) {
    if (element.tag() == tag) return element;
  }
  return std::nullopt;
}

// Every known PE starts with a PEHeader { mandated [0] NULL OPTIONAL, identification [1] }.
Status check_pe_header(const der::Element& pe, std::string_view what) {
  der::Cursor fields(pe);
  auto header = fields.required(ctx_c(0), "PEHeader");
  if (!header.is_ok()) return refused(fmt::format("{}: {}", what, header.status().message()));
  der::Cursor in_header(*header);
  if (auto mandated = in_header.optional(ctx(0)); mandated && !mandated->as_null().is_ok()) {
    return refused(fmt::format("{}: PEHeader mandated is not NULL", what));
  }
  auto id = in_header.required(ctx(1), "identification");
  if (!id.is_ok() || !id->as_integer().is_ok() || *id->as_integer() < 0 ||
      *id->as_integer() > 32767) {
    return refused(fmt::format("{}: PEHeader without an identification 0..32767", what));
  }
  return Status();
}

Status check_template_id(const der::Element& pe, ByteView expected, std::string_view what) {
  auto id = child(pe, ctx(1));
  if (!id ||
      !std::equal(id->value().begin(), id->value().end(), expected.begin(), expected.end())) {
    return refused(fmt::format("{} has another templateID than the one it needs", what));
  }
  return Status();
}

// The contents of the one fillFileContent [3] of File [n] in `pe`, which must be `size` bytes
// with no fillFileOffset: the place the per-profile contents go.
Result<ByteView> sole_file_content(const der::Element& pe, std::uint32_t n, std::size_t size,
                                   std::string_view what) {
  std::optional<der::Element> file;
  for (const der::Element& element : pe.children()) {
    if (element.tag() != ctx_c(n)) continue;
    if (file) return refused(fmt::format("{} is there twice", what));
    file = element;
  }
  if (!file) return refused(fmt::format("{} is missing", what));
  std::optional<ByteView> content;
  for (const der::Element& item : file->children()) {
    if (item.tag() == ctx(2)) {
      return refused(fmt::format("{} has a fillFileOffset; Station writes the file whole", what));
    }
    if (item.tag() != ctx(3)) continue;
    if (content) return refused(fmt::format("{} has two fillFileContent", what));
    content = item.value();
  }
  if (!content || content->size() != size) {
    return refused(fmt::format("{} must hold one {}-byte fillFileContent", what, size));
  }
  return *content;
}

Result<std::int64_t> small_integer(const der::Element& element, std::string_view what) {
  auto value = element.as_integer();
  if (!value.is_ok() || *value < 0 || *value > 255) {
    return refused(fmt::format("{} is not an integer 0..255", what));
  }
  return *value;
}

// Checks a PIN or PUK code against what the inventory accepts (never quoting it).
Status check_code(ProfileCode code, const secrets::SecretString& value) {
  if (auto problem = inventory::profile_code_problem(code, value.view())) {
    return Status(ErrorCode::kValidationFailed, *problem);
  }
  return Status();
}

// A code's 8 bytes at `at`: ADM1 as 16 hex digits is the bytes themselves; otherwise the digits as
// ASCII padded with FF (as ETSI TS 102 221 codes a PIN). Written straight into `out`.
void write_code(std::string& out, std::size_t at, const secrets::SecretString& value) {
  std::string_view text = value.view();
  if (text.size() == 2 * kCodeValueBytes) {
    for (std::size_t i = 0; i < kCodeValueBytes; ++i) {
      out[at + i] = static_cast<char>(hex_value(text[2 * i]) * 16 + hex_value(text[2 * i + 1]));
    }
    return;
  }
  for (std::size_t i = 0; i < kCodeValueBytes; ++i) {
    out[at + i] = i < text.size() ? text[i] : static_cast<char>(0xFF);
  }
}

// Eight random digits as ASCII at `at` (a PUK or ADM1 the inventory did not give). Bytes of 250
// and above are drawn again, so every digit is equally likely.
Status write_random_digits(std::string& out, std::size_t at) {
  std::array<unsigned char, 32> pool{};
  std::size_t written = 0;
  while (written < kCodeValueBytes) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) {
      OPENSSL_cleanse(pool.data(), pool.size());
      return Status(ErrorCode::kInternal, "no random bytes for a profile code");
    }
    for (unsigned char byte : pool) {
      if (byte >= 250 || written == kCodeValueBytes) continue;
      out[at + written++] = static_cast<char>('0' + byte % 10);
    }
  }
  OPENSSL_cleanse(pool.data(), pool.size());
  return Status();
}

bool gets_random_default(ProfileCode code) {
  return code == ProfileCode::kPuk1 || code == ProfileCode::kPuk2 || code == ProfileCode::kAdm1;
}

}  // namespace

// Walks a template once, checking it and noting the per-profile slots in the ProfileTemplate.
class TemplateParser {
 public:
  explicit TemplateParser(ByteView package) {
    out_.package_.assign(package.begin(), package.end());
  }

  Result<ProfileTemplate> run() && {
    const Bytes& package = out_.package_;
    if (package.size() > kMaxTemplateBytes) {
      return refused(fmt::format("{} bytes; at most {}", package.size(), kMaxTemplateBytes));
    }
    if (package.empty()) return refused("empty");
    auto document = der::Document::parse(
        package,
        der::Limits{.max_bytes = kMaxTemplateBytes, .max_elements = 16 * 1024, .max_depth = 16});
    if (!document.is_ok()) return refused(document.status());
    std::size_t index = 0;
    bool ended = false;
    int mf_count = 0;
    int usim_count = 0;
    int aka_count = 0;
    for (const der::Element& pe : document->elements()) {
      ++index;
      if (ended) return refused("profile elements after the PE-End");
      if (pe.tag().cls != der::TagClass::kContextSpecific || !pe.constructed()) {
        return refused(fmt::format("element {} (tag {}) is not a ProfileElement", index,
                                   pe.tag().to_string()));
      }
      const std::uint32_t n = pe.tag().number;
      if (index == 1) {
        if (n != kPeHeader) return refused("the first profile element must be the header");
        STATION_RETURN_IF_ERROR(header(pe));
        continue;
      }
      switch (n) {
        case kPeHeader:
          return refused("a second header");
        case kPeMf: {
          ++mf_count;
          STATION_ASSIGN_OR_RETURN(
              out_.ef_iccid_at_,
              filled_file(pe, "mf", kTemplateMf, 4, kIccidBcdBytes, "the mf's ef-iccid"));
          break;
        }
        case kPeUsim: {
          ++usim_count;
          STATION_ASSIGN_OR_RETURN(
              out_.ef_imsi_at_,
              filled_file(pe, "usim", kTemplateUsim, 3, kImsiFileBytes, "the usim's ef-imsi"));
          break;
        }
        case kPeAkaParameter:
          ++aka_count;
          STATION_RETURN_IF_ERROR(aka(pe));
          break;
        case kPePinCodes:
          STATION_RETURN_IF_ERROR(pin_codes(pe));
          break;
        case kPePukCodes:
          STATION_RETURN_IF_ERROR(puk_codes(pe));
          break;
        case kPeEnd:
          STATION_RETURN_IF_ERROR(check_pe_header(pe, "PE-End"));
          ended = true;
          break;
        default:
          break;  // any other profile element is the template's own, copied as it is
      }
    }
    if (!ended) return refused("the last profile element must be a PE-End");
    if (mf_count != 1) return refused("it must have exactly one mf");
    if (usim_count != 1) return refused("it must have exactly one usim");
    if (aka_count != 1) return refused("it must have exactly one akaParameter");
    return std::move(out_);
  }

 private:
  std::size_t at(ByteView part) const {
    return static_cast<std::size_t>(part.data() - out_.package_.data());
  }

  Status header(const der::Element& pe) {
    out_.header_end_ = pe.encoded().size();
    der::Cursor fields(pe);
    auto fault = [](const Status& status) { return refused("header: " + status.message()); };
    auto major = fields.required(ctx(0), "major-version");
    if (!major.is_ok()) return fault(major.status());
    STATION_RETURN_IF_ERROR(small_integer(*major, "header major-version").status());
    auto minor = fields.required(ctx(1), "minor-version");
    if (!minor.is_ok()) return fault(minor.status());
    STATION_RETURN_IF_ERROR(small_integer(*minor, "header minor-version").status());
    out_.header_before_type_.assign(major->encoded().begin(), major->encoded().end());
    out_.header_before_type_.insert(out_.header_before_type_.end(), minor->encoded().begin(),
                                    minor->encoded().end());
    if (auto type = fields.optional(ctx(2))) {
      auto text = type->as_utf8();
      if (!text.is_ok() || !check_profile_type(*text).is_ok()) {
        return refused(fmt::format("header profileType must be 1..{} bytes of UTF-8 text",
                                   kMaxProfileTypeBytes));
      }
      out_.profile_type_ = std::move(*text);
    }
    auto iccid = fields.required(ctx(3), "iccid");
    if (!iccid.is_ok()) return fault(iccid.status());
    if (iccid->value().size() != kIccidBcdBytes) return refused("header iccid is not 10 bytes");
    const std::size_t after_iccid = at(iccid->encoded()) + iccid->encoded().size();
    fields.optional(ctx(4));  // pol
    for (auto [n, what] :
         {std::pair{5u, "eUICC-Mandatory-services"}, std::pair{6u, "eUICC-Mandatory-GFSTEList"}}) {
      auto list = fields.required(ctx_c(n), what);
      if (!list.is_ok()) return fault(list.status());
    }
    // What follows iccid (pol, services, the GFSTE list and any later field) is kept as encoded.
    out_.header_after_iccid_.assign(
        out_.package_.begin() + static_cast<std::ptrdiff_t>(after_iccid),
        out_.package_.begin() + static_cast<std::ptrdiff_t>(out_.header_end_));
    return Status();
  }

  // Where a file-system PE (mf, usim) gets its per-profile contents: it must have `template_id`
  // and a File [n] with one fillFileContent of `size` bytes.
  Result<std::size_t> filled_file(const der::Element& pe, std::string_view what,
                                  ByteView template_id, std::uint32_t n, std::size_t size,
                                  std::string_view file) {
    STATION_RETURN_IF_ERROR(check_pe_header(pe, what));
    STATION_RETURN_IF_ERROR(check_template_id(pe, template_id, what));
    STATION_ASSIGN_OR_RETURN(ByteView content, sole_file_content(pe, n, size, file));
    return at(content);
  }

  Status aka(const der::Element& pe) {
    STATION_RETURN_IF_ERROR(check_pe_header(pe, "akaParameter"));
    auto configuration = child(pe, ctx_c(1));
    auto parameters = configuration ? child(*configuration, ctx_c(1)) : std::nullopt;
    if (!parameters) return refused("akaParameter must have an algoParameter");
    der::Cursor fields(*parameters);
    auto algorithm = fields.required(ctx(0), "algorithmID");
    auto options = fields.required(ctx(1), "algorithmOptions");
    auto key = fields.required(ctx(2), "key");
    auto opc = fields.required(ctx(3), "opc");
    if (!algorithm.is_ok() || !algorithm->as_integer().is_ok() ||
        *algorithm->as_integer() != kAlgorithmMilenage) {
      return refused("akaParameter must use Milenage (algorithmID 1)");
    }
    if (!options.is_ok() || options->value().size() != 1) {
      return refused("akaParameter algorithmOptions must be 1 byte");
    }
    if (!key.is_ok() || !opc.is_ok() || key->value().size() != kAkaKeyBytes ||
        opc->value().size() != kAkaKeyBytes) {
      return refused("akaParameter must have a 16-byte key and opc");
    }
    if (!fields.at_end()) {
      return refused("akaParameter must use the standard Milenage rotation and XOR constants");
    }
    out_.key_at_ = at(key->value());
    out_.opc_at_ = at(opc->value());
    return Status();
  }

  // The SEQUENCE OF of PINConfiguration or PUKConfiguration: keyReference [0], value [1] of 8
  // bytes, then the optional fields; notes the slots of the codes Station fills in.
  Status code_list(const der::Element& list, std::string_view what,
                   std::optional<ProfileCode> (*code_of)(std::int64_t)) {
    std::vector<std::int64_t> references;
    for (const der::Element& entry : list.children()) {
      if (entry.tag() != der::kSequence) return refused(fmt::format("{}: not a SEQUENCE", what));
      der::Cursor fields(entry);
      auto reference = fields.required(ctx(0), "keyReference");
      auto value = fields.required(ctx(1), "value");
      if (!reference.is_ok() || !value.is_ok() || value->value().size() != kCodeValueBytes) {
        return refused(fmt::format("{}: each needs a keyReference and an 8-byte value", what));
      }
      STATION_ASSIGN_OR_RETURN(std::int64_t key_reference,
                               small_integer(*reference, fmt::format("{} keyReference", what)));
      if (std::find(references.begin(), references.end(), key_reference) != references.end()) {
        return refused(fmt::format("{}: keyReference {} twice", what, key_reference));
      }
      references.push_back(key_reference);
      if (auto code = code_of(key_reference)) {
        out_.code_at_[static_cast<std::size_t>(*code)].push_back(at(value->value()));
      }
    }
    if (references.empty()) return refused(fmt::format("{}: no codes", what));
    return Status();
  }

  Status pin_codes(const der::Element& pe) {
    STATION_RETURN_IF_ERROR(check_pe_header(pe, "PE-PINCodes"));
    auto choice = child(pe, ctx_c(1));
    if (!choice) return refused("PE-PINCodes without pinCodes");
    auto list = child(*choice, ctx_c(0));
    if (!list) return Status();  // filePath: the PINs of another directory, nothing to fill
    return code_list(*list, "PE-PINCodes", pin_code_of);
  }

  Status puk_codes(const der::Element& pe) {
    STATION_RETURN_IF_ERROR(check_pe_header(pe, "PE-PUKCodes"));
    auto list = child(pe, ctx_c(1));
    if (!list) return refused("PE-PUKCodes without pukCodes");
    return code_list(*list, "PE-PUKCodes", puk_code_of);
  }

  ProfileTemplate out_;
};

Result<ProfileTemplate> ProfileTemplate::parse(ByteView package) {
  return TemplateParser(package).run();
}

const ProfileTemplate& ProfileTemplate::built_in() {
  static const ProfileTemplate parsed = [] {
    auto result = parse(built_in_template_der());
    assert(result.is_ok());
    return std::move(result).value();
  }();
  return parsed;
}

std::size_t ProfileTemplate::slots(ProfileCode code) const {
  return code_at_[static_cast<std::size_t>(code)].size();
}

Result<secrets::SecretString> ProfileTemplate::build(const UppInput& input) const {
  STATION_ASSIGN_OR_RETURN(Bytes iccid, encode_iccid(input.iccid));
  STATION_ASSIGN_OR_RETURN(Bytes imsi, encode_imsi(input.imsi));
  const std::string& type = input.profile_type.empty() ? profile_type_ : input.profile_type;
  if (!type.empty()) STATION_RETURN_IF_ERROR(check_profile_type(type));
  STATION_RETURN_IF_ERROR(check_key_hex(input.secrets.ki, "Ki"));
  STATION_RETURN_IF_ERROR(check_key_hex(input.secrets.opc, "OPc"));
  for (std::size_t i = 0; i < inventory::kProfileCodeCount; ++i) {
    if (const auto& code = input.secrets.codes[i]) {
      STATION_RETURN_IF_ERROR(check_code(static_cast<ProfileCode>(i), *code));
    }
  }

  Builder header;
  header.begin(ctx_c(kPeHeader)).raw(header_before_type_);
  if (!type.empty()) header.primitive(ctx(2), type);
  header.primitive(ctx(3), iccid).raw(header_after_iccid_).end();
  STATION_ASSIGN_OR_RETURN(Bytes new_header, std::move(header).finish());

  const std::size_t body_bytes = package_.size() - header_end_;
  const std::size_t total = new_header.size() + body_bytes;
  if (total > kMaxUppBytes) {
    return Status(ErrorCode::kInternal,
                  fmt::format("profile package of {} bytes exceeds {}", total, kMaxUppBytes));
  }
  // Sized once, so the secrets written below are never left behind in a reallocated buffer.
  std::string out;
  out.reserve(total);
  out.append(reinterpret_cast<const char*>(new_header.data()), new_header.size());
  out.append(reinterpret_cast<const char*>(package_.data() + header_end_), body_bytes);
  assert(out.size() == total);
  // Slots are offsets in the template; the body moved by the header's change of size.
  auto slot = [&](std::size_t template_at) {
    return template_at - header_end_ + new_header.size();
  };

  std::copy(iccid.begin(), iccid.end(),
            out.begin() + static_cast<std::ptrdiff_t>(slot(ef_iccid_at_)));
  std::copy(imsi.begin(), imsi.end(), out.begin() + static_cast<std::ptrdiff_t>(slot(ef_imsi_at_)));
  write_key(out, slot(key_at_), input.secrets.ki);
  write_key(out, slot(opc_at_), input.secrets.opc);
  for (std::size_t i = 0; i < inventory::kProfileCodeCount; ++i) {
    const std::vector<std::size_t>& slots = code_at_[i];
    if (slots.empty()) continue;
    const std::size_t first = slot(slots.front());
    if (const auto& value = input.secrets.codes[i]) {
      write_code(out, first, *value);
    } else if (gets_random_default(static_cast<ProfileCode>(i))) {
      if (Status drawn = write_random_digits(out, first); !drawn.is_ok()) {
        secrets::wipe(out);
        return drawn;
      }
    } else {
      continue;  // a PIN the inventory does not give: the template's
    }
    // One code per profile, wherever the template defines it.
    for (std::size_t k = 1; k < slots.size(); ++k) {
      std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(first), kCodeValueBytes,
                  out.begin() + static_cast<std::ptrdiff_t>(slot(slots[k])));
    }
  }
  // Moved, not copied: the one buffer that held the secrets is now wiped on destruction.
  return secrets::SecretString(std::move(out));
}

Bytes built_in_template_der() {
  // Placeholders: Station writes every one of these per profile (see upp.h).
  const Bytes no_iccid(kIccidBcdBytes, 0xFF);
  const Bytes no_imsi(kImsiFileBytes, 0xFF);
  const std::array<std::uint8_t, kAkaKeyBytes> no_key{};
  const std::array<std::uint8_t, kCodeValueBytes> pin_0000 = {'0',  '0',  '0',  '0',
                                                              0xFF, 0xFF, 0xFF, 0xFF};
  const std::array<std::uint8_t, kCodeValueBytes> no_code = {'0', '0', '0', '0',
                                                             '0', '0', '0', '0'};
  std::int64_t id = 0;
  Builder b;

  // ProfileHeader
  b.begin(ctx_c(kPeHeader))
      .integer(ctx(0), 2)  // major-version
      .integer(ctx(1), 3)  // minor-version
      .primitive(ctx(2), "Station")
      .primitive(ctx(3), no_iccid)
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
  default_file(b, 2);           // mf
  filled_file(b, 4, no_iccid);  // ef-iccid
  default_file(b, 5);           // ef-dir
  default_file(b, 6);           // ef-arr
  b.end();

  // PE-PUKCodes: PUK1 and PUK2, before the PINs that name them.
  b.begin(ctx_c(kPePukCodes));
  pe_header(b, ++id);
  b.begin(ctx_c(1));
  for (std::int64_t reference : {kPukAppl1, kSecondPukAppl1}) {
    b.begin(der::kSequence).integer(ctx(0), reference).primitive(ctx(1), ByteView(no_code)).end();
  }
  b.end().end();

  // PE-PINCodes of the MF: PIN1 (0000 unless the inventory gives one) unblocked by PUK1; ADM1.
  b.begin(ctx_c(kPePinCodes));
  pe_header(b, ++id);
  b.begin(ctx_c(1)).begin(ctx_c(0));
  b.begin(der::kSequence)
      .integer(ctx(0), kPinAppl1)
      .primitive(ctx(1), ByteView(pin_0000))
      .integer(ctx(2), kPukAppl1)
      .end();
  b.begin(der::kSequence).integer(ctx(0), kAdm1).primitive(ctx(1), ByteView(no_code)).end();
  b.end().end().end();

  // PE-USIM
  b.begin(ctx_c(kPeUsim));
  pe_header(b, ++id);
  b.primitive(ctx(1), kTemplateUsim);
  b.begin(ctx_c(2))                           // adf-usim File
      .begin(ctx_c(1))                        // fileDescriptor Fcp
      .primitive(ctx(4), ByteView(kUsimAid))  // dfName
      .end()
      .end();
  filled_file(b, 3, no_imsi);  // ef-imsi
  default_file(b, 4);          // ef-arr
  default_file(b, 8);          // ef-ust
  default_file(b, 13);         // ef-spn
  default_file(b, 14);         // ef-est
  default_file(b, 18);         // ef-acc
  default_file(b, 22);         // ef-ecc
  b.end();

  // PE-PINCodes of the USIM: PIN2 (0000 unless the inventory gives one) unblocked by PUK2.
  b.begin(ctx_c(kPePinCodes));
  pe_header(b, ++id);
  b.begin(ctx_c(1)).begin(ctx_c(0));
  b.begin(der::kSequence)
      .integer(ctx(0), kSecondPinAppl1)
      .primitive(ctx(1), ByteView(pin_0000))
      .integer(ctx(2), kSecondPukAppl1)
      .end();
  b.end().end().end();

  // PE-AKAParameter
  b.begin(ctx_c(kPeAkaParameter));
  pe_header(b, ++id);
  b.begin(ctx_c(1))     // algoConfiguration
      .begin(ctx_c(1))  // algoParameter
      .integer(ctx(0), kAlgorithmMilenage)
      .primitive(ctx(1), ByteView(&kAlgorithmOptions, 1))
      .primitive(ctx(2), ByteView(no_key))  // key
      .primitive(ctx(3), ByteView(no_key))  // opc
      .end()
      .end();
  b.end();

  // PE-End
  b.begin(ctx_c(kPeEnd));
  pe_header(b, ++id);
  b.end();

  auto encoded = std::move(b).finish();
  assert(encoded.is_ok());
  return std::move(encoded).value();
}

}  // namespace station::upp
