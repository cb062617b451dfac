// Fuzz target: DER from outside (ES9+ fields, ES10 STORE DATA payloads, certificates), at the
// TLV layer (der/tlv.h): whatever parses, written again with the Builder, must give back exactly
// the input bytes (DER has one encoding per value), both as one element and as a document of
// elements back to back; the limits hold. The typed RSP decoders have their own target
// (der_rsp_fuzz.cc).
// Checks abort even in optimised builds (no assert), so the corpus replay catches them too.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "der/tlv.h"

namespace {

namespace der = station::der;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "der_tlv_fuzz: %s\n", what);
    std::abort();
  }
}

constexpr der::Limits kLimits{.max_bytes = 64 * 1024, .max_elements = 4096, .max_depth = 16};

void rebuild(const der::Element& element, der::Builder& builder, std::size_t depth,
             std::size_t& elements) {
  check(depth <= kLimits.max_depth, "depth limit not enforced");
  check(++elements <= kLimits.max_elements, "element limit not enforced");
  if (!element.constructed()) {
    builder.primitive(element.tag(), element.value());
    return;
  }
  builder.begin(element.tag());
  for (der::Element child : element.children()) rebuild(child, builder, depth + 1, elements);
  builder.end();
}

void check_tlv(der::ByteView input) {
  auto document = der::Document::parse(input, kLimits);
  auto single = der::parse(input, kLimits);
  check(input.size() <= kLimits.max_bytes || (!document.is_ok() && !single.is_ok()),
        "size limit not enforced");
  if (single.is_ok()) {
    check(document.is_ok(), "one element parses but not as a document");
    check(single->encoded().size() == input.size(), "element does not span the input");
    der::Builder builder;
    std::size_t elements = 0;
    rebuild(*single, builder, 1, elements);
    auto again = std::move(builder).finish();
    check(again.is_ok(), "builder left an element open");
    check(std::equal(again->begin(), again->end(), input.begin(), input.end()),
          "element re-encoding differs from the input");
  }
  if (document.is_ok()) {
    der::Builder builder;
    std::size_t elements = 0;
    for (der::Element element : document->elements()) rebuild(element, builder, 1, elements);
    auto again = std::move(builder).finish();
    check(again.is_ok(), "builder left an element open");
    check(std::equal(again->begin(), again->end(), input.begin(), input.end()),
          "document re-encoding differs from the input");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const der::ByteView input(data, size);
  check_tlv(input);
  return 0;
}
