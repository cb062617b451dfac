#include "euicc/profile_package.h"

#include <fmt/format.h>

namespace station::euicc {
namespace {

using der::Tag;

constexpr std::uint32_t kPeHeader = 0;
constexpr std::uint32_t kPeAkaParameter = 4;
constexpr std::uint32_t kPeEnd = 10;
constexpr std::uint32_t kPeUsim = 19;
constexpr std::size_t kAkaKeyBytes = 16;

constexpr Tag ctx(std::uint32_t n) { return Tag::context(n); }
constexpr Tag ctx_c(std::uint32_t n) { return Tag::context(n, true); }

Status malformed(std::string what) {
  return Status(ErrorCode::kMalformedRequest, "profile package: " + std::move(what));
}

// The element with `tag` among the direct children of `parent`.
std::optional<der::Element> child(const der::Element& parent, const Tag& tag) {
  for (const der::Element& element : parent.children()) {
    if (element.tag() == tag) return element;
  }
  return std::nullopt;
}

// fillFileContent [3] of the File [n] in `pe`.
std::optional<der::Element> file_content(const der::Element& pe, std::uint32_t n) {
  auto file = child(pe, ctx_c(n));
  if (!file) return std::nullopt;
  return child(*file, ctx(3));
}

}  // namespace

Result<std::string> iccid_digits(der::ByteView bcd) {
  if (bcd.size() != 10) return malformed("ICCID is not 10 bytes");
  std::string digits;
  bool padding = false;
  for (std::uint8_t byte : bcd) {
    for (std::uint8_t nibble :
         {static_cast<std::uint8_t>(byte & 0x0F), static_cast<std::uint8_t>(byte >> 4)}) {
      if (nibble == 0x0F) {
        padding = true;
      } else if (nibble > 9 || padding) {
        return malformed("ICCID is not BCD digits");
      } else {
        digits.push_back(static_cast<char>('0' + nibble));
      }
    }
  }
  if (digits.size() < 18) return malformed("ICCID too short");
  return digits;
}

Result<std::string> imsi_digits(der::ByteView file) {
  if (file.size() != 9 || file[0] < 1 || file[0] > 8) return malformed("EF_IMSI is not 9 bytes");
  std::string digits;
  const std::size_t nibbles = std::size_t{file[0]} * 2;
  for (std::size_t n = 1; n < nibbles; ++n) {  // nibble 0 is the parity/type
    const std::uint8_t byte = file[1 + n / 2];
    const std::uint8_t nibble = n % 2 == 0 ? (byte & 0x0F) : (byte >> 4);
    if (nibble == 0x0F && n + 1 == nibbles) break;  // even digit count: last nibble unused
    if (nibble > 9) return malformed("EF_IMSI is not BCD digits");
    digits.push_back(static_cast<char>('0' + nibble));
  }
  const bool odd = (file[1] & 0x08) != 0;
  if (digits.size() < 6 || (digits.size() % 2 == 1) != odd) {
    return malformed("EF_IMSI length and parity disagree");
  }
  return digits;
}

Result<ProfileContents> read_profile_package(der::ByteView package) {
  auto document = der::Document::parse(package, kProfilePackageLimits);
  if (!document.is_ok()) return malformed(document.status().message());
  std::optional<std::string> iccid;
  std::optional<std::string> imsi;
  std::optional<der::Element> key;
  std::optional<der::Element> opc;
  bool ended = false;
  for (const der::Element& pe : document->elements()) {
    if (ended) return malformed("profile elements after PE-End");
    if (pe.tag() == ctx_c(kPeHeader)) {
      if (iccid) return malformed("two profile headers");
      auto bcd = child(pe, ctx(3));
      if (!bcd) return malformed("the header has no ICCID");
      STATION_ASSIGN_OR_RETURN(iccid, iccid_digits(bcd->value()));
    } else if (pe.tag() == ctx_c(kPeUsim)) {
      auto content = file_content(pe, 3);  // ef-imsi
      if (!content) return malformed("the USIM has no EF_IMSI contents");
      STATION_ASSIGN_OR_RETURN(imsi, imsi_digits(content->value()));
    } else if (pe.tag() == ctx_c(kPeAkaParameter)) {
      auto configuration = child(pe, ctx_c(1));
      auto parameters = configuration ? child(*configuration, ctx_c(1)) : std::nullopt;
      if (!parameters) return malformed("AKA parameters without algoParameter");
      key = child(*parameters, ctx(2));
      opc = child(*parameters, ctx(3));
      if (!key || !opc || key->value().size() != kAkaKeyBytes ||
          opc->value().size() != kAkaKeyBytes) {
        return malformed("AKA parameters without a 16-byte key and OPc");
      }
    } else if (pe.tag() == ctx_c(kPeEnd)) {
      ended = true;
    }
  }
  if (!iccid) return malformed("no profile header");
  if (!imsi) return malformed("no USIM with an IMSI");
  if (!key) return malformed("no AKA parameters");
  if (!ended) return malformed("no PE-End");
  return ProfileContents{
      .iccid = std::move(*iccid),
      .imsi = std::move(*imsi),
      .ki = rsp_crypto::SecretBytes(der::Bytes(key->value().begin(), key->value().end())),
      .opc = rsp_crypto::SecretBytes(der::Bytes(opc->value().begin(), opc->value().end()))};
}

}  // namespace station::euicc
