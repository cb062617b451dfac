// Fuzz target: the typed RSP decoders (der/rsp.h, asn1c underneath) on bytes from outside (ES9+
// fields, ES10 commands and answers). Every input goes to every decoder (a wrong outermost tag
// is refused at once); whatever decodes must encode again and decode to the same value, so the
// decoders accept nothing the encoders cannot write and the encoders write what the decoders
// read. Checks abort even in optimised builds (no assert), so the corpus replay catches them too.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "der/rsp.h"

namespace {

namespace der = station::der;
namespace rsp = station::der::rsp;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "der_rsp_fuzz: %s\n", what);
    std::abort();
  }
}

template <typename Decode>
void check_typed(der::ByteView input, Decode decode, const char* what) {
  auto value = decode(input);
  if (!value.is_ok()) return;
  auto encoded = rsp::encode(*value);
  if (!encoded.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", what, encoded.status().to_string().c_str());
    check(false, "a decoded value does not encode");
  }
  auto again = decode(*encoded);
  if (!again.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", what, again.status().to_string().c_str());
    check(false, "a re-encoded value does not decode");
  }
  check(*again == *value, "a re-encoded value decodes differently");
}

#define STATION_CHECK_DECODER(name) \
  check_typed(                      \
      input, [](der::ByteView in) { return rsp::name(in); }, #name)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const der::ByteView input(data, size);
  STATION_CHECK_DECODER(decode_euicc_info1);
  STATION_CHECK_DECODER(decode_euicc_info2);
  STATION_CHECK_DECODER(decode_initiate_authentication_request);
  STATION_CHECK_DECODER(decode_server_signed1);
  STATION_CHECK_DECODER(decode_ctx_params1);
  STATION_CHECK_DECODER(decode_authenticate_server_request);
  STATION_CHECK_DECODER(decode_authenticate_server_response);
  STATION_CHECK_DECODER(decode_smdp_signed2);
  STATION_CHECK_DECODER(decode_prepare_download_request);
  STATION_CHECK_DECODER(decode_euicc_signed2);
  STATION_CHECK_DECODER(decode_prepare_download_response);
  STATION_CHECK_DECODER(decode_store_metadata_request);
  STATION_CHECK_DECODER(decode_initialise_secure_channel_request);
  STATION_CHECK_DECODER(decode_configure_isdp_request);
  STATION_CHECK_DECODER(decode_replace_session_keys_request);
  STATION_CHECK_DECODER(decode_bound_profile_package);
  STATION_CHECK_DECODER(decode_notification_metadata);
  STATION_CHECK_DECODER(decode_profile_installation_result);
  STATION_CHECK_DECODER(decode_other_signed_notification);
  STATION_CHECK_DECODER(decode_pending_notification);
  STATION_CHECK_DECODER(decode_cancel_session_request);
  STATION_CHECK_DECODER(decode_euicc_cancel_session_signed);
  STATION_CHECK_DECODER(decode_cancel_session_response);
  STATION_CHECK_DECODER(decode_get_euicc_challenge_request);
  STATION_CHECK_DECODER(decode_get_euicc_challenge_response);
  STATION_CHECK_DECODER(decode_get_euicc_data_request);
  STATION_CHECK_DECODER(decode_get_euicc_data_response);
  STATION_CHECK_DECODER(decode_profile_info_list_request);
  STATION_CHECK_DECODER(decode_profile_info_list_response);
  STATION_CHECK_DECODER(decode_enable_profile_request);
  STATION_CHECK_DECODER(decode_enable_profile_response);
  STATION_CHECK_DECODER(decode_disable_profile_request);
  STATION_CHECK_DECODER(decode_disable_profile_response);
  STATION_CHECK_DECODER(decode_delete_profile_request);
  STATION_CHECK_DECODER(decode_delete_profile_response);
  STATION_CHECK_DECODER(decode_list_notification_request);
  STATION_CHECK_DECODER(decode_list_notification_response);
  STATION_CHECK_DECODER(decode_retrieve_notifications_list_request);
  STATION_CHECK_DECODER(decode_retrieve_notifications_list_response);
  STATION_CHECK_DECODER(decode_notification_sent_request);
  STATION_CHECK_DECODER(decode_notification_sent_response);
  return 0;
}
