#include "messaging/text_coding.h"

#include <array>
#include <cassert>
#include <optional>

#include "common/limits.h"
#include "fmt/format.h"

namespace station::messaging {
namespace {

constexpr char32_t kNone = 0xFFFF;
constexpr std::uint8_t kEscape = 0x1B;

// GSM 03.38 default alphabet, indexed by septet.
constexpr std::array<char32_t, 128> kGsm7Basic = {
    U'@',    U'£', U'$', U'¥', U'è', U'é', U'ù', U'ì', U'ò', U'Ç', U'\n', U'Ø', U'ø', U'\r', U'Å', U'å',
    U'Δ',    U'_', U'Φ', U'Γ', U'Λ', U'Ω', U'Π', U'Ψ', U'Σ', U'Θ', U'Ξ', kNone, U'Æ', U'æ', U'ß', U'É',
    U' ',    U'!', U'"', U'#', U'¤', U'%', U'&', U'\'', U'(', U')', U'*', U'+', U',', U'-', U'.', U'/',
    U'0',    U'1', U'2', U'3', U'4', U'5', U'6', U'7', U'8', U'9', U':', U';', U'<', U'=', U'>', U'?',
    U'¡',    U'A', U'B', U'C', U'D', U'E', U'F', U'G', U'H', U'I', U'J', U'K', U'L', U'M', U'N', U'O',
    U'P',    U'Q', U'R', U'S', U'T', U'U', U'V', U'W', U'X', U'Y', U'Z', U'Ä', U'Ö', U'Ñ', U'Ü', U'§',
    U'¿',    U'a', U'b', U'c', U'd', U'e', U'f', U'g', U'h', U'i', U'j', U'k', U'l', U'm', U'n', U'o',
    U'p',    U'q', U'r', U's', U't', U'u', U'v', U'w', U'x', U'y', U'z', U'ä', U'ö', U'ñ', U'ü', U'à',
};

struct Extension {
  std::uint8_t septet;
  char32_t character;
};
// The extension table, reached through the escape septet 0x1B.
constexpr std::array<Extension, 10> kGsm7Extension = {{
    {0x0A, U'\f'}, {0x14, U'^'}, {0x28, U'{'}, {0x29, U'}'}, {0x2F, U'\\'},
    {0x3C, U'['}, {0x3D, U'~'}, {0x3E, U']'}, {0x40, U'|'}, {0x65, U'€'},
}};

void append_utf8(std::string& out, char32_t point) {
  if (point < 0x80) {
    out.push_back(static_cast<char>(point));
  } else if (point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (point >> 6)));
    out.push_back(static_cast<char>(0x80 | (point & 0x3F)));
  } else if (point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (point & 0x3F)));
  }
}

// The septets of one character (one, or escape + one), or nothing when GSM 7-bit lacks it.
std::optional<std::string> gsm7_septets(char32_t point) {
  for (std::size_t i = 0; i < kGsm7Basic.size(); ++i) {
    if (kGsm7Basic[i] == point) return std::string(1, static_cast<char>(i));
  }
  for (const auto& extension : kGsm7Extension) {
    if (extension.character == point) {
      return std::string{static_cast<char>(kEscape), static_cast<char>(extension.septet)};
    }
  }
  return std::nullopt;
}

std::string ucs2_units(char32_t point) {
  std::string out;
  auto unit = [&out](std::uint32_t value) {
    out.push_back(static_cast<char>(value >> 8));
    out.push_back(static_cast<char>(value & 0xFF));
  };
  if (point < 0x10000) {
    unit(point);
  } else {
    const std::uint32_t offset = point - 0x10000;
    unit(0xD800 + (offset >> 10));
    unit(0xDC00 + (offset & 0x3FF));
  }
  return out;
}

}  // namespace

Result<std::u32string> utf8_to_code_points(std::string_view utf8) {
  std::u32string out;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<std::uint8_t>(utf8[i]);
    std::size_t extra = 0;
    char32_t point = 0;
    char32_t minimum = 0;
    if (lead < 0x80) {
      point = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1, point = lead & 0x1F, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, point = lead & 0x0F, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, point = lead & 0x07, minimum = 0x10000;
    } else {
      return Status(ErrorCode::kValidationFailed, "text is not valid UTF-8");
    }
    if (extra >= utf8.size() - i) return Status(ErrorCode::kValidationFailed, "text is not valid UTF-8");
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<std::uint8_t>(utf8[i + k]);
      if ((next & 0xC0) != 0x80) return Status(ErrorCode::kValidationFailed, "text is not valid UTF-8");
      point = (point << 6) | (next & 0x3F);
    }
    if (point < minimum || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF)) {
      return Status(ErrorCode::kValidationFailed, "text is not valid UTF-8");
    }
    out.push_back(point);
    i += extra + 1;
  }
  return out;
}

Result<EncodedText> encode_text(std::string_view utf8, std::uint8_t reference) {
  if (utf8.empty()) return Status(ErrorCode::kValidationFailed, "text is empty");
  if (utf8.size() > limits::kSmsTextBytesMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("text is longer than {} bytes", limits::kSmsTextBytesMax));
  }
  STATION_ASSIGN_OR_RETURN(const std::u32string points, utf8_to_code_points(utf8));

  // Each character's units, in GSM 7-bit when all have septets, else UCS-2.
  EncodedText encoded;
  std::vector<std::string> units;
  units.reserve(points.size());
  for (const char32_t point : points) {
    auto septets = gsm7_septets(point);
    if (!septets) break;
    units.push_back(std::move(*septets));
  }
  if (units.size() != points.size()) {
    encoded.data_coding = kDataCodingUcs2;
    units.clear();
    for (const char32_t point : points) units.push_back(ucs2_units(point));
  }
  const bool gsm7 = encoded.data_coding == kDataCodingGsm7;
  std::size_t total = 0;
  for (const auto& unit : units) total += unit.size();
  if (total <= (gsm7 ? kGsm7SingleSeptets : kUcs2SingleOctets)) {
    std::string whole;
    for (const auto& unit : units) whole += unit;
    encoded.segments.push_back(std::move(whole));
    return encoded;
  }

  const std::size_t capacity = gsm7 ? kGsm7SegmentSeptets : kUcs2SegmentOctets;
  std::vector<std::string> bodies(1);
  for (const auto& unit : units) {
    if (bodies.back().size() + unit.size() > capacity) bodies.emplace_back();
    bodies.back() += unit;
  }
  if (bodies.size() > limits::kSmsSegmentsMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("text needs {} SMS segments; at most {}", bodies.size(),
                              limits::kSmsSegmentsMax));
  }
  encoded.concatenated = true;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    // UDH: length 5, IEI 0x00 (concatenation, 8-bit reference), IE length 3, ref, total, seq.
    std::string segment{0x05, 0x00, 0x03, static_cast<char>(reference),
                        static_cast<char>(bodies.size()), static_cast<char>(i + 1)};
    segment += bodies[i];
    encoded.segments.push_back(std::move(segment));
  }
  return encoded;
}

Result<std::string> decode_text(std::string_view octets, std::uint8_t data_coding) {
  std::string out;
  if (data_coding == kDataCodingUcs2) {
    if (octets.size() % 2 != 0) return Status(ErrorCode::kMalformedRequest, "odd UCS-2 length");
    for (std::size_t i = 0; i < octets.size(); i += 2) {
      char32_t unit = (static_cast<std::uint8_t>(octets[i]) << 8) |
                      static_cast<std::uint8_t>(octets[i + 1]);
      if (unit >= 0xD800 && unit <= 0xDBFF && i + 3 < octets.size()) {
        const char32_t low = (static_cast<std::uint8_t>(octets[i + 2]) << 8) |
                             static_cast<std::uint8_t>(octets[i + 3]);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
          i += 2;
        }
      }
      if (unit >= 0xD800 && unit <= 0xDFFF) {
        return Status(ErrorCode::kMalformedRequest, "unpaired UTF-16 surrogate");
      }
      append_utf8(out, unit);
    }
    return out;
  }
  if (data_coding != kDataCodingGsm7) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("unsupported data_coding {:#04x}", data_coding));
  }
  for (std::size_t i = 0; i < octets.size(); ++i) {
    const auto septet = static_cast<std::uint8_t>(octets[i]);
    if (septet >= 0x80) return Status(ErrorCode::kMalformedRequest, "GSM 7-bit octet above 0x7F");
    if (septet != kEscape) {
      append_utf8(out, kGsm7Basic[septet]);
      continue;
    }
    if (++i == octets.size()) return Status(ErrorCode::kMalformedRequest, "dangling GSM escape");
    const auto extended = static_cast<std::uint8_t>(octets[i]);
    char32_t point = kNone;
    for (const auto& extension : kGsm7Extension) {
      if (extension.septet == extended) point = extension.character;
    }
    if (point == kNone) return Status(ErrorCode::kMalformedRequest, "unknown GSM escape");
    append_utf8(out, point);
  }
  return out;
}

}  // namespace station::messaging
