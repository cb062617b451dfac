// Fuzz target: ES9+ and ES2+ request bodies as the SM-DP+'s binding reads them (JSON, members,
// hex transaction ids, base64 DER fields, their limits). The first byte picks the function.
#include <cassert>
#include <cstdint>
#include <string_view>

#include "smdp/es9_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr std::string_view kJson = "application/json;charset=UTF-8";
  using namespace station::smdp;
  switch (data[0] % 8) {
    case 0: {
      auto parsed = parse_initiate_authentication(kJson, body);
      if (parsed.is_ok()) assert(parsed->euicc_challenge.size() == 16);
      break;
    }
    case 1:
    case 2:
    case 3: {
      constexpr std::string_view kMembers[] = {"authenticateServerResponse",
                                               "prepareDownloadResponse", "cancelSessionResponse"};
      auto parsed = parse_transaction_request(kJson, body, kMembers[data[0] % 8 - 1]);
      if (parsed.is_ok()) {
        assert(!parsed->transaction_id.empty() && parsed->transaction_id.size() <= 32);
        assert(parsed->payload.size() <= kEs9FieldBytesMax);
      }
      break;
    }
    case 4:
      (void)parse_handle_notification(kJson, body).is_ok();
      break;
    case 5:
      (void)parse_download_order(kJson, body).is_ok();
      break;
    case 6:
      (void)parse_confirm_order(kJson, body).is_ok();
      break;
    default:
      (void)parse_cancel_order(kJson, body).is_ok();
      (void)parse_release_profile(kJson, body).is_ok();
      break;
  }
  return 0;
}
