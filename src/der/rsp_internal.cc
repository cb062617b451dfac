#include "der/rsp_internal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "ber_decoder.h"
#include "constraints.h"

namespace station::der::rsp::internal {

Status malformed(std::string_view what, std::string_view why) {
  return Status(ErrorCode::kMalformedRequest, fmt::format("{}: {}", what, why));
}

Status invalid(std::string_view what, std::string_view why) {
  return Status(ErrorCode::kValidationFailed, fmt::format("{}: {}", what, why));
}

Result<Element> decode_checked(asn_TYPE_descriptor_t& type, void** slot, ByteView der,
                               const Limits& limits, const Tag& tag, std::string_view what) {
  auto top = parse(der, limits);
  if (!top.is_ok()) return malformed(what, top.status().message());
  // asn1c compares tags without their constructed bit; the outermost one is checked here.
  if (!(top->tag() == tag)) {
    return malformed(
        what, fmt::format("tag {} where {} belongs", top->tag().to_string(), tag.to_string()));
  }
  // No codec context: asn1c then bounds its own recursion (30,000 bytes of stack). That bound
  // matters: asn1c ignores the constructed bit of identifiers, so it parses as TLVs contents that
  // the strict check saw as primitive (e.g. 9F38 where BF38 belongs), where tlv.h's depth and
  // length rules have not looked.
  const asn_dec_rval_t result = ber_decode(nullptr, &type, slot, der.data(), der.size());
  if (result.code != RC_OK) return malformed(what, fmt::format("not a valid {}", type.name));
  if (result.consumed != der.size()) return malformed(what, "bytes after the value");
  char why[256];
  std::size_t why_size = sizeof(why);
  if (asn_check_constraints(&type, *slot, why, &why_size) != 0) {
    return malformed(what, std::string_view(why, why_size));
  }
  return top;
}

Status check_part(ByteView der, const Tag& tag, std::string_view what) {
  auto element = parse(der, kEncodeCheckLimits);
  if (!element.is_ok()) return invalid(what, element.status().message());
  if (!(element->tag() == tag)) {
    return invalid(
        what, fmt::format("tag {} where {} belongs", element->tag().to_string(), tag.to_string()));
  }
  return Status::ok();
}

Result<Bytes> components_before(const Element& parent, const Tag& end, std::string_view what) {
  for (Element child : parent.children()) {
    if (child.tag() == end) {
      const auto offset = static_cast<std::size_t>(child.encoded().data() - parent.value().data());
      return copy(parent.value().first(offset));
    }
  }
  return malformed(what, fmt::format("no {} component", end.to_string()));
}

Bytes octets_of(const OCTET_STRING_t& source) {
  if (source.buf == nullptr) return {};
  return Bytes(source.buf, source.buf + source.size);
}

std::string text_of(const OCTET_STRING_t& source) {
  if (source.buf == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(source.buf), source.size);
}

std::optional<Bytes> optional_octets(const OCTET_STRING_t* source) {
  if (source == nullptr) return std::nullopt;
  return octets_of(*source);
}

std::optional<std::string> optional_text(const OCTET_STRING_t* source) {
  if (source == nullptr) return std::nullopt;
  return text_of(*source);
}

Result<std::int64_t> integer_of(const INTEGER_t& source, std::string_view what) {
  static_assert(sizeof(long) == sizeof(std::int64_t));
  long value = 0;
  if (asn_INTEGER2long(&source, &value) != 0) {
    return Status(ErrorCode::kMalformedRequest, fmt::format("{} beyond 64 bits", what));
  }
  return static_cast<std::int64_t>(value);
}

Result<std::optional<std::int64_t>> optional_integer(const INTEGER_t* source,
                                                     std::string_view what) {
  if (source == nullptr) return std::optional<std::int64_t>();
  STATION_ASSIGN_OR_RETURN(std::int64_t value, integer_of(*source, what));
  return std::optional<std::int64_t>(value);
}

Result<std::uint64_t> named_bits_of(const BIT_STRING_t& source, std::string_view what) {
  std::uint64_t bits = 0;
  const auto size = static_cast<std::size_t>(source.size);
  for (std::size_t i = 0; source.buf != nullptr && i < size; ++i) {
    std::uint8_t byte = source.buf[i];
    if (i + 1 == size) byte = static_cast<std::uint8_t>(byte & (0xFF << source.bits_unused));
    if (byte == 0) continue;
    if (i >= 8) {
      return Status(ErrorCode::kMalformedRequest, fmt::format("{}: a bit beyond 63 is set", what));
    }
    for (int j = 0; j < 8; ++j) {
      if ((byte & (0x80 >> j)) != 0) bits |= std::uint64_t{1} << (8 * i + static_cast<unsigned>(j));
    }
  }
  return bits;
}

Result<std::optional<std::uint64_t>> optional_named_bits(const BIT_STRING_t* source,
                                                         std::string_view what) {
  if (source == nullptr) return std::optional<std::uint64_t>();
  STATION_ASSIGN_OR_RETURN(std::uint64_t bits, named_bits_of(*source, what));
  return std::optional<std::uint64_t>(bits);
}

Bytes copy(ByteView bytes) { return Bytes(bytes.begin(), bytes.end()); }

Result<std::string> oid_to_text(ByteView contents, std::string_view what) {
  if (contents.empty() || (contents.back() & 0x80) != 0) {
    return Status(ErrorCode::kMalformedRequest, fmt::format("{}: truncated OID", what));
  }
  std::string text;
  std::uint64_t arc = 0;
  bool first = true;
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const std::uint8_t byte = contents[i];
    const bool starts_arc = i == 0 || (contents[i - 1] & 0x80) == 0;
    if ((starts_arc && byte == 0x80) || arc > (UINT64_MAX >> 7)) {
      return Status(ErrorCode::kMalformedRequest, fmt::format("{}: bad OID arc", what));
    }
    arc = (arc << 7) | (byte & 0x7F);
    if ((byte & 0x80) != 0) continue;
    if (first) {  // the first two arcs share one number: 40 * first + second
      const std::uint64_t top = arc < 80 ? arc / 40 : 2;
      text = fmt::format("{}.{}", top, arc - 40 * top);
      first = false;
    } else {
      text += fmt::format(".{}", arc);
    }
    arc = 0;
  }
  return text;
}

Result<Bytes> oid_from_text(std::string_view dotted, std::string_view what) {
  std::vector<std::uint64_t> arcs;
  std::size_t at = 0;
  while (at <= dotted.size()) {
    const std::size_t dot = std::min(dotted.find('.', at), dotted.size());
    const std::string_view digits = dotted.substr(at, dot - at);
    std::uint64_t arc = 0;
    if (digits.empty() || digits.size() > 19 || (digits.size() > 1 && digits[0] == '0')) {
      return invalid(what, "not a dotted OID");
    }
    for (char c : digits) {
      if (c < '0' || c > '9') return invalid(what, "not a dotted OID");
      arc = arc * 10 + static_cast<std::uint64_t>(c - '0');
    }
    arcs.push_back(arc);
    at = dot + 1;
  }
  if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) ||
      arcs[1] > UINT64_MAX - 80) {
    return invalid(what, "not a dotted OID");
  }
  arcs[1] += 40 * arcs[0];
  Bytes out;
  for (std::size_t i = 1; i < arcs.size(); ++i) {
    std::uint8_t groups[10];
    std::size_t n = 0;
    for (std::uint64_t v = arcs[i];; v >>= 7) {
      groups[n++] = static_cast<std::uint8_t>(v & 0x7F);
      if (v < 0x80) break;
    }
    while (n > 0) {
      --n;
      out.push_back(static_cast<std::uint8_t>(groups[n] | (n > 0 ? 0x80 : 0)));
    }
  }
  return out;
}

void append_named_bits(Builder& builder, const Tag& tag, std::uint64_t bits) {
  if (bits == 0) {
    builder.bit_string(tag, ByteView{}, 0);
    return;
  }
  unsigned highest = 63;
  while ((bits & (std::uint64_t{1} << highest)) == 0) --highest;
  Bytes bytes(highest / 8 + 1, 0);
  for (unsigned n = 0; n <= highest; ++n) {
    if ((bits & (std::uint64_t{1} << n)) != 0) {
      bytes[n / 8] = static_cast<std::uint8_t>(bytes[n / 8] | (0x80 >> (n % 8)));
    }
  }
  builder.bit_string(tag, bytes, static_cast<std::uint8_t>(7 - highest % 8));
}

void append_optional(Builder& builder, const Tag& tag, const std::optional<Bytes>& value) {
  if (value.has_value()) builder.primitive(tag, *value);
}

void append_optional(Builder& builder, const Tag& tag, const std::optional<std::string>& value) {
  if (value.has_value()) builder.primitive(tag, *value);
}

void append_optional(Builder& builder, const Tag& tag, const std::optional<std::int64_t>& value) {
  if (value.has_value()) builder.integer(tag, *value);
}

void append_octets_list(Builder& builder, const Tag& tag, const std::vector<Bytes>& items) {
  builder.begin(tag);
  for (const Bytes& item : items) builder.octets(item);
  builder.end();
}

}  // namespace station::der::rsp::internal
