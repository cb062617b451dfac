// Fuzz target: multipart/form-data bodies as the console's profile import reads them (a fixed
// boundary, then whatever bytes), checking the parser's bounds on whatever parsed.
#include <cassert>
#include <cstdint>
#include <string_view>

#include "web/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parts = station::web::parse_multipart_form("multipart/form-data; boundary=b", body);
  if (!parts.is_ok()) return 0;
  assert(parts->size() <= station::web::kMultipartPartsMax);
  std::size_t total = 0;
  for ([[maybe_unused]] const auto& part : *parts) {
    assert(!part.name.empty());
    total += part.body.size();
  }
  assert(total <= body.size());
  return 0;
}
