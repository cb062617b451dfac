#include "der/tlv.h"

#include <fmt/format.h>

#include <cassert>
#include <utility>

namespace station::der {
namespace {

Status malformed(std::size_t offset, std::string_view what) {
  return Status(ErrorCode::kMalformedRequest, fmt::format("DER at byte {}: {}", offset, what));
}

Status bad_content(const Tag& tag, std::string_view what) {
  return Status(ErrorCode::kMalformedRequest,
                fmt::format("DER element {}: {}", tag.to_string(), what));
}

struct Header {
  Tag tag;
  std::size_t header_size = 0;
  std::size_t length = 0;
};

// Reads one identifier and length at the start of `in` (`offset` is where `in` starts in the
// whole input, for messages) and checks that the contents fit in `in`.
Result<Header> read_header(ByteView in, std::size_t offset) {
  Header header;
  std::size_t at = 0;
  if (in.empty()) return malformed(offset, "truncated: no identifier");
  const std::uint8_t first = in[at++];
  header.tag.cls = static_cast<TagClass>(first >> 6);
  header.tag.constructed = (first & 0x20) != 0;
  if ((first & 0x1F) != 0x1F) {
    header.tag.number = first & 0x1F;
  } else {
    std::uint32_t number = 0;
    for (int groups = 0;; ++groups) {
      if (at >= in.size()) return malformed(offset, "truncated tag");
      const std::uint8_t byte = in[at++];
      if (groups == 0 && byte == 0x80) return malformed(offset, "non-minimal tag (leading 0x80)");
      if (groups == 4) return malformed(offset, "tag number too large");
      number = (number << 7) | (byte & 0x7F);
      if ((byte & 0x80) == 0) break;
    }
    if (number < 31) return malformed(offset, "non-minimal tag (high form for a number below 31)");
    if (number > kTagNumberMax) return malformed(offset, "tag number too large");
    header.tag.number = number;
  }
  if (at >= in.size()) return malformed(offset, "truncated: no length");
  const std::uint8_t len0 = in[at++];
  if (len0 < 0x80) {
    header.length = len0;
  } else if (len0 == 0x80) {
    return malformed(offset, "indefinite length (not DER)");
  } else if (len0 == 0xFF) {
    return malformed(offset, "reserved length octet 0xFF");
  } else {
    const std::size_t count = len0 & 0x7F;
    if (count > 4) return malformed(offset, "length of more than 4 bytes");
    if (in.size() - at < count) return malformed(offset, "truncated length");
    if (in[at] == 0) return malformed(offset, "non-minimal length (leading zero byte)");
    std::size_t length = 0;
    for (std::size_t i = 0; i < count; ++i) length = (length << 8) | in[at++];
    if (length < 0x80) return malformed(offset, "non-minimal length (long form below 128)");
    header.length = length;
  }
  header.header_size = at;
  if (in.size() - at < header.length) {
    return malformed(offset, fmt::format("truncated: length {} but {} bytes left", header.length,
                                         in.size() - at));
  }
  return header;
}

// Validates the elements back to back in `in`, and recursively their contents.
Status validate(ByteView in, std::size_t offset, std::size_t depth, const Limits& limits,
                std::size_t& elements) {
  std::size_t at = 0;
  while (at < in.size()) {
    if (depth > limits.max_depth) {
      return malformed(offset + at, fmt::format("nesting deeper than {}", limits.max_depth));
    }
    if (++elements > limits.max_elements) {
      return malformed(offset + at, fmt::format("more than {} elements", limits.max_elements));
    }
    auto header = read_header(in.subspan(at), offset + at);
    if (!header.is_ok()) return header.status();
    const std::size_t contents_at = at + header->header_size;
    if (header->tag.constructed) {
      STATION_RETURN_IF_ERROR(validate(in.subspan(contents_at, header->length),
                                       offset + contents_at, depth + 1, limits, elements));
    }
    at = contents_at + header->length;
  }
  return Status::ok();
}

Status check_size(ByteView input, const Limits& limits) {
  if (input.size() > limits.max_bytes) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("DER input of {} bytes exceeds the limit of {}", input.size(),
                              limits.max_bytes));
  }
  return Status::ok();
}

}  // namespace

// The first element of already validated bytes.
Element read_validated(ByteView in) {
  auto header = read_header(in, 0);
  assert(header.is_ok());
  const std::size_t total = header->header_size + header->length;
  return Element(header->tag, in.first(total), in.subspan(header->header_size, header->length));
}

std::string Tag::to_string() const {
  Bytes bytes;
  append_tag(bytes, *this);
  std::string text;
  for (std::uint8_t b : bytes) text += fmt::format("{:02X}", b);
  return text;
}

Element Children::iterator::operator*() const { return read_validated(rest_); }

Children::iterator& Children::iterator::operator++() {
  rest_ = rest_.subspan(read_validated(rest_).encoded().size());
  return *this;
}

std::size_t Children::size() const {
  std::size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

Result<Element> parse(ByteView input, const Limits& limits) {
  STATION_RETURN_IF_ERROR(check_size(input, limits));
  if (input.empty()) return malformed(0, "no element");
  auto header = read_header(input, 0);
  if (!header.is_ok()) return header.status();
  const std::size_t total = header->header_size + header->length;
  if (total != input.size()) return malformed(total, "bytes after the element");
  std::size_t elements = 0;
  STATION_RETURN_IF_ERROR(validate(input, 0, 1, limits, elements));
  return read_validated(input);
}

Result<Document> Document::parse(ByteView input, const Limits& limits) {
  STATION_RETURN_IF_ERROR(check_size(input, limits));
  std::size_t elements = 0;
  STATION_RETURN_IF_ERROR(validate(input, 0, 1, limits, elements));
  return Document(input);
}

Result<std::int64_t> Element::as_integer() const {
  if (value_.empty()) return bad_content(tag_, "empty INTEGER");
  if (value_.size() > 8) {
    return bad_content(tag_, "INTEGER beyond 64 bits");
  }
  if (value_.size() > 1 && ((value_[0] == 0x00 && (value_[1] & 0x80) == 0) ||
                            (value_[0] == 0xFF && (value_[1] & 0x80) != 0))) {
    return bad_content(tag_, "non-minimal INTEGER");
  }
  std::uint64_t bits = (value_[0] & 0x80) ? ~std::uint64_t{0} : 0;
  for (std::uint8_t b : value_) bits = (bits << 8) | b;
  return static_cast<std::int64_t>(bits);
}

Result<bool> Element::as_boolean() const {
  if (value_.size() != 1 || (value_[0] != 0x00 && value_[0] != 0xFF)) {
    return bad_content(tag_, "BOOLEAN must be one byte 00 or FF");
  }
  return value_[0] == 0xFF;
}

Status Element::as_null() const {
  if (!value_.empty()) return bad_content(tag_, "NULL with contents");
  return Status::ok();
}

Result<std::string> Element::as_utf8() const {
  std::size_t i = 0;
  while (i < value_.size()) {
    const std::uint8_t b = value_[i];
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      extra = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3;
      cp = b & 0x07;
    } else {
      return bad_content(tag_, "invalid UTF-8");
    }
    if (value_.size() - i - 1 < extra) {
      return bad_content(tag_, "truncated UTF-8");
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((value_[i + k] & 0xC0) != 0x80) {
        return bad_content(tag_, "invalid UTF-8");
      }
      cp = (cp << 6) | (value_[i + k] & 0x3F);
    }
    constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return bad_content(tag_, "invalid UTF-8");
    }
    i += extra + 1;
  }
  return std::string(value_.begin(), value_.end());
}

Result<Element::BitString> Element::as_bit_string() const {
  if (value_.empty()) return bad_content(tag_, "empty BIT STRING");
  const std::uint8_t unused = value_[0];
  if (unused > 7 || (value_.size() == 1 && unused != 0)) {
    return bad_content(tag_, "bad unused-bit count");
  }
  if (unused != 0 && (value_.back() & ((1u << unused) - 1)) != 0) {
    return bad_content(tag_, "non-zero padding bits");
  }
  return BitString{unused, value_.subspan(1)};
}

std::optional<Element> Cursor::peek() const {
  if (at_end()) return std::nullopt;
  return *at_;
}

Result<Element> Cursor::required(const Tag& tag, std::string_view what) {
  if (at_end()) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("DER: missing {} (tag {})", what, tag.to_string()));
  }
  Element element = *at_;
  if (!(element.tag() == tag)) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("DER: expected {} (tag {}), found tag {}", what, tag.to_string(),
                              element.tag().to_string()));
  }
  ++at_;
  return element;
}

std::optional<Element> Cursor::optional(const Tag& tag) {
  if (at_end()) return std::nullopt;
  Element element = *at_;
  if (!(element.tag() == tag)) return std::nullopt;
  ++at_;
  return element;
}

Result<Element> Cursor::next(std::string_view what) {
  if (at_end()) {
    return Status(ErrorCode::kMalformedRequest, fmt::format("DER: missing {}", what));
  }
  Element element = *at_;
  ++at_;
  return element;
}

Status Cursor::finish(std::string_view what) const {
  if (at_end()) return Status::ok();
  return Status(ErrorCode::kMalformedRequest,
                fmt::format("DER: unexpected tag {} in {}", (*at_).tag().to_string(), what));
}

std::size_t tag_size(const Tag& tag) {
  if (tag.number < 31) return 1;
  std::size_t n = 1;
  for (std::uint32_t v = tag.number; v != 0; v >>= 7) ++n;
  return n;
}

std::size_t length_size(std::size_t length) {
  if (length < 0x80) return 1;
  std::size_t n = 1;
  for (std::size_t v = length; v != 0; v >>= 8) ++n;
  return n;
}

void append_tag(Bytes& out, const Tag& tag) {
  assert(tag.number <= kTagNumberMax);
  const auto lead = static_cast<std::uint8_t>((static_cast<unsigned>(tag.cls) << 6) |
                                              (tag.constructed ? 0x20u : 0u));
  if (tag.number < 31) {
    out.push_back(static_cast<std::uint8_t>(lead | tag.number));
    return;
  }
  out.push_back(static_cast<std::uint8_t>(lead | 0x1F));
  for (std::size_t shift = (tag_size(tag) - 2) * 7;; shift -= 7) {
    const auto group = static_cast<std::uint8_t>((tag.number >> shift) & 0x7F);
    out.push_back(shift == 0 ? group : static_cast<std::uint8_t>(group | 0x80));
    if (shift == 0) break;
  }
}

void append_length(Bytes& out, std::size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<std::uint8_t>(length));
    return;
  }
  const std::size_t count = length_size(length) - 1;
  out.push_back(static_cast<std::uint8_t>(0x80 | count));
  for (std::size_t i = count; i-- > 0;) out.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
}

Builder& Builder::primitive(const Tag& tag, ByteView contents) {
  append_tag(out_, tag);
  append_length(out_, contents.size());
  out_.insert(out_.end(), contents.begin(), contents.end());
  return *this;
}

Builder& Builder::integer(const Tag& tag, std::int64_t value) {
  std::uint8_t bytes[8];
  auto bits = static_cast<std::uint64_t>(value);
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<std::uint8_t>(bits & 0xFF);
    bits >>= 8;
  }
  std::size_t start = 0;
  while (start < 7 && ((bytes[start] == 0x00 && (bytes[start + 1] & 0x80) == 0) ||
                       (bytes[start] == 0xFF && (bytes[start + 1] & 0x80) != 0))) {
    ++start;
  }
  return primitive(tag, ByteView(bytes + start, 8 - start));
}

Builder& Builder::boolean(const Tag& tag, bool value) {
  const std::uint8_t byte = value ? 0xFF : 0x00;
  return primitive(tag, ByteView(&byte, 1));
}

Builder& Builder::bit_string(const Tag& tag, ByteView bytes, std::uint8_t unused_bits) {
  assert(unused_bits <= 7 && (unused_bits == 0 || !bytes.empty()));
  append_tag(out_, tag);
  append_length(out_, bytes.size() + 1);
  out_.push_back(unused_bits);
  out_.insert(out_.end(), bytes.begin(), bytes.end());
  if (unused_bits != 0)
    out_.back() = static_cast<std::uint8_t>(out_.back() & (0xFF << unused_bits));
  return *this;
}

Builder& Builder::raw(ByteView encoded) {
  out_.insert(out_.end(), encoded.begin(), encoded.end());
  return *this;
}

Builder& Builder::begin(const Tag& tag) {
  assert(tag.constructed);
  append_tag(out_, tag);
  open_.push_back(out_.size());
  return *this;
}

Builder& Builder::end() {
  assert(!open_.empty());
  const std::size_t start = open_.back();
  open_.pop_back();
  Bytes length;
  append_length(length, out_.size() - start);
  out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(start), length.begin(), length.end());
  return *this;
}

Result<Bytes> Builder::finish() && {
  if (!open_.empty()) {
    return Status(ErrorCode::kInternal,
                  fmt::format("DER builder: {} constructed element(s) not closed", open_.size()));
  }
  return std::move(out_);
}

}  // namespace station::der
