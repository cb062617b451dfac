// Fuzz target: JSON request bodies as the API reads them (limits, duplicates, strict integers).
#include <cstdint>
#include <string_view>

#include "api/json_body.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = station::api::JsonBody::parse("application/json", text);
  if (!body.is_ok()) return 0;
  body->only({"customer_id", "amount_minor", "currency", "channel", "reference"}).ignore();
  (void)body->string("customer_id", 64).is_ok();
  (void)body->optional_string("reference", 255).is_ok();
  (void)body->integer("amount_minor", true).is_ok();
  return 0;
}
