// der/tlv: a strict BER-TLV reader and writer in the DER subset, for the SM-DP+ (ES9+ DER fields),
// ES10 STORE DATA payloads and the eUICC.
//
// Encoding (X.690 section 8.1 with the DER rules of section 10):
//
//   element   = identifier length contents
//   identifier: bits 8-7 class (universal 00, application 01, context-specific 10, private 11),
//               bit 6 constructed, bits 5-1 the tag number, or 11111 followed by the number in
//               base 128, most significant group first, bit 8 set on every byte but the last
//               (SGP.22 uses such tags: BF20 = [32] constructed, 5F49 = [APPLICATION 73], 7F21).
//   length    : 0..127 in one byte; else 0x81..0x84 followed by 1..4 big-endian bytes.
//
// What the reader refuses (each with kMalformedRequest and a message naming the offset):
//   - the indefinite length (0x80) and the reserved length byte 0xFF;
//   - non-minimal lengths (long form for a value below 128, leading zero length bytes);
//   - non-minimal tags (high-tag-number form for a number below 31, a leading 0x80 group) and tag
//     numbers above 2^28 - 1;
//   - a length running past the end of its parent, or bytes left over after the last element;
//   - input beyond Limits::max_bytes, more than Limits::max_elements elements in all, nesting
//     deeper than Limits::max_depth (the outermost element is depth 1).
// A constructed element's contents are parsed as elements in turn, down to the primitive leaves,
// so a parsed tree is valid everywhere and walking it cannot fail. Content rules of particular
// universal types (INTEGER minimal, BOOLEAN 00/FF, ...) are checked by the value accessors, not
// by the TLV layer, because implicit tagging hides the universal type from it.
//
// Views: Element points into the caller's bytes, which must outlive it; it is what signatures are
// verified over (Element::encoded() is exactly the bytes received). Builder writes DER; it
// computes every length itself, so what it writes is always well formed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace station::der {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

enum class TagClass : std::uint8_t {
  kUniversal = 0,
  kApplication = 1,
  kContextSpecific = 2,
  kPrivate = 3,
};

inline constexpr std::uint32_t kTagNumberMax = (1u << 28) - 1;

struct Tag {
  TagClass cls = TagClass::kUniversal;
  bool constructed = false;
  std::uint32_t number = 0;

  static constexpr Tag universal(std::uint32_t n, bool constructed = false) {
    return {TagClass::kUniversal, constructed, n};
  }
  static constexpr Tag application(std::uint32_t n, bool constructed = false) {
    return {TagClass::kApplication, constructed, n};
  }
  static constexpr Tag context(std::uint32_t n, bool constructed = false) {
    return {TagClass::kContextSpecific, constructed, n};
  }
  static constexpr Tag private_use(std::uint32_t n, bool constructed = false) {
    return {TagClass::kPrivate, constructed, n};
  }

  // The identifier octets in hex, as SGP.22 writes tags ("BF20", "5F37", "30").
  std::string to_string() const;
  friend constexpr bool operator==(const Tag&, const Tag&) = default;
};

// Universal tags used by the RSP types.
inline constexpr Tag kBoolean = Tag::universal(1);
inline constexpr Tag kInteger = Tag::universal(2);
inline constexpr Tag kBitString = Tag::universal(3);
inline constexpr Tag kOctetString = Tag::universal(4);
inline constexpr Tag kNull = Tag::universal(5);
inline constexpr Tag kObjectIdentifier = Tag::universal(6);
inline constexpr Tag kEnumerated = Tag::universal(10);
inline constexpr Tag kUtf8String = Tag::universal(12);
inline constexpr Tag kSequence = Tag::universal(16, true);
inline constexpr Tag kSet = Tag::universal(17, true);

struct Limits {
  std::size_t max_bytes = 64 * 1024;  // the whole input
  std::size_t max_elements = 4096;    // elements in the whole tree, leaves included
  std::size_t max_depth = 16;         // nesting; the outermost element is depth 1
};

class Element;

// The direct children of a constructed element (or the top-level elements of a parse), in order.
class Children {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Element;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Element;

    iterator() = default;
    Element operator*() const;
    iterator& operator++();
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const iterator& a, const iterator& b) {
      return a.rest_.data() == b.rest_.data() && a.rest_.size() == b.rest_.size();
    }

   private:
    friend class Children;
    explicit iterator(ByteView rest) : rest_(rest) {}
    ByteView rest_;
  };

  iterator begin() const { return iterator(contents_); }
  iterator end() const { return iterator(contents_.subspan(contents_.size())); }
  bool empty() const { return contents_.empty(); }
  std::size_t size() const;

 private:
  friend class Element;
  friend class Document;
  explicit Children(ByteView contents) : contents_(contents) {}
  ByteView contents_;
};

// One element of a validated tree: a view into the parsed bytes.
class Element {
 public:
  const Tag& tag() const { return tag_; }
  bool constructed() const { return tag_.constructed; }
  // The whole TLV, exactly as received.
  ByteView encoded() const { return encoded_; }
  // The contents octets (V).
  ByteView value() const { return value_; }
  std::size_t header_size() const { return encoded_.size() - value_.size(); }
  // Empty for a primitive element.
  Children children() const { return Children(tag_.constructed ? value_ : ByteView{}); }

  // Contents as a universal type would hold them; each checks the DER content rules and fails
  // with kMalformedRequest. The tag is not checked (implicit tagging); callers check it.
  Result<std::int64_t> as_integer() const;  // two's complement, minimal, fits in int64
  Result<bool> as_boolean() const;          // 00 or FF
  Result<std::string> as_utf8() const;      // well-formed UTF-8 (no overlongs, no surrogates)
  Status as_null() const;                   // empty contents
  // BIT STRING: the unused-bit count (0..7; 0 when empty) and the bytes; DER wants the unused
  // bits zero.
  struct BitString {
    std::uint8_t unused_bits = 0;
    ByteView bytes;
  };
  Result<BitString> as_bit_string() const;

 private:
  friend class Children;
  friend Result<Element> parse(ByteView, const Limits&);
  friend class Document;
  friend Element read_validated(ByteView);
  Element(Tag tag, ByteView encoded, ByteView value)
      : tag_(tag), encoded_(encoded), value_(value) {}
  Tag tag_;
  ByteView encoded_;
  ByteView value_;
};

// Exactly one element spanning the whole input, validated end to end.
Result<Element> parse(ByteView input, const Limits& limits);

// Zero or more elements back to back spanning the whole input (a STORE DATA payload, a profile
// package's sequence of profile elements), validated end to end; `limits` apply to the whole.
class Document {
 public:
  static Result<Document> parse(ByteView input, const Limits& limits);
  Children elements() const { return Children(input_); }

 private:
  explicit Document(ByteView input) : input_(input) {}
  ByteView input_;
};

// Walks the children of a constructed element in order, for hand-written decoders of SEQUENCEs:
// required and optional components by tag; components after the known ones are left for
// skip_extensions() (the RSP module has EXTENSIBILITY IMPLIED).
class Cursor {
 public:
  explicit Cursor(const Element& parent) : children_(parent.children()), at_(children_.begin()) {}

  bool at_end() const { return at_ == children_.end(); }
  std::optional<Element> peek() const;
  // The next child, which must carry `tag`; `what` names the component in the error.
  Result<Element> required(const Tag& tag, std::string_view what);
  // The next child if it carries `tag`, else nothing (and the cursor stays).
  std::optional<Element> optional(const Tag& tag);
  // Any next child.
  Result<Element> next(std::string_view what);
  // Skips what is left (unknown extensions).
  void skip_extensions() { at_ = children_.end(); }
  // Fails if anything is left.
  Status finish(std::string_view what) const;

 private:
  Children children_;
  Children::iterator at_;
};

// Identifier and length octets, for callers that frame by hand.
void append_tag(Bytes& out, const Tag& tag);
void append_length(Bytes& out, std::size_t length);
std::size_t tag_size(const Tag& tag);
std::size_t length_size(std::size_t length);

// Writes DER. Constructed elements are opened with begin() and closed with end(); their lengths
// are filled in when they close.
class Builder {
 public:
  Builder& primitive(const Tag& tag, ByteView contents);
  Builder& primitive(const Tag& tag, std::string_view contents) {
    return primitive(tag, as_bytes(contents));
  }
  Builder& integer(const Tag& tag, std::int64_t value);
  Builder& integer(std::int64_t value) { return integer(kInteger, value); }
  Builder& boolean(const Tag& tag, bool value);
  Builder& octets(ByteView contents) { return primitive(kOctetString, contents); }
  Builder& utf8(std::string_view text) { return primitive(kUtf8String, text); }
  Builder& null(const Tag& tag = kNull) { return primitive(tag, ByteView{}); }
  // A BIT STRING whose last `unused_bits` bits (0..7) are padding; they are written as zero.
  Builder& bit_string(const Tag& tag, ByteView bytes, std::uint8_t unused_bits);
  // Already encoded elements (e.g. a certificate, or signed data exactly as received). The caller
  // vouches for them; parse() them first if they come from outside.
  Builder& raw(ByteView encoded);

  Builder& begin(const Tag& tag);  // REQUIRES: tag.constructed
  Builder& end();

  std::size_t open() const { return open_.size(); }
  std::size_t size() const { return out_.size(); }
  // The encoding; fails (kInternal) if a begin() was not closed.
  Result<Bytes> finish() &&;

 private:
  Bytes out_;
  std::vector<std::size_t> open_;  // offsets of the contents of open constructed elements
};

}  // namespace station::der
