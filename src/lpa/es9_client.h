// lpa/es9_client: the LPA's side of ES9+ (GSMA SGP.22 section 5.6, functions; section 6.5, the
// HTTPS/JSON binding) — what the device asks the SM-DP+ during a profile download.
//
// Binding, as SGP.22 6.5 defines it:
//   POST https://<SM-DP+ address>/gsma/rsp2/es9plus/<function>
//   Content-Type: application/json;charset=UTF-8, X-Admin-Protocol: gsma/rsp/v2.2.0
//   request and response bodies are JSON objects; ASN.1 values travel as base64 of their DER,
//   transactionId as upper-case hex; every response carries
//     "header": {"functionExecutionStatus": {"status": "Executed-Success" | "Executed-WithWarning"
//                | "Failed" | "Expired", "statusCodeData": {"subjectCode", "reasonCode",
//                "subjectIdentifier"?, "message"?}}}
//   handleNotification answers 204 without a body.
// A "Failed" or "Expired" status becomes an Es9Error carrying the subject and reason codes, so
// that the user is told the SM-DP+'s cause (e.g. 8.2.6 / 3.8: Matching ID refused).
//
// Limits: response bodies at most kMaxEs9ResponseBytes; every base64 field decoded within it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/client.h"

namespace station::lpa {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::size_t kMaxEs9ResponseBytes = 256 * 1024;  // a BPP is a few kB
inline constexpr std::string_view kAdminProtocol = "gsma/rsp/v2.2.0";

// The status of a failed ES9+ function, as the SM-DP+ reported it.
struct Es9Status {
  std::string status;  // "Failed", "Expired", ...
  std::string subject_code;
  std::string reason_code;
  std::string message;
};

struct InitiateAuthenticationResult {
  std::string transaction_id;      // hex, as sent
  Bytes server_signed1;            // DER
  Bytes server_signature1;         // the 5F37 TLV
  Bytes euicc_ci_pkid_to_be_used;  // the SubjectKeyIdentifier TLV (04 ...)
  Bytes server_certificate;        // DER
};

struct AuthenticateClientResult {
  std::string transaction_id;
  Bytes profile_metadata;  // StoreMetadataRequest TLV
  Bytes smdp_signed2;
  Bytes smdp_signature2;  // 5F37 TLV
  Bytes smdp_certificate;
};

class Es9Client {
 public:
  // `smdp_address` is the activation code's "host[:port]".
  Es9Client(const http::Client& http, std::string smdp_address)
      : http_(http), smdp_address_(std::move(smdp_address)) {}

  Result<InitiateAuthenticationResult> initiate_authentication(const Bytes& euicc_challenge,
                                                               const Bytes& euicc_info1);
  Result<AuthenticateClientResult> authenticate_client(const std::string& transaction_id,
                                                       const Bytes& authenticate_server_response);
  Result<Bytes> get_bound_profile_package(const std::string& transaction_id,
                                          const Bytes& prepare_download_response);
  Status handle_notification(const Bytes& pending_notification);
  Status cancel_session(const std::string& transaction_id, const Bytes& cancel_session_response);

  // The status of the last failed function, when the SM-DP+ sent one.
  const Es9Status& last_status() const { return last_status_; }

 private:
  // POSTs `body` to the function; the response body (empty for 204). A failure status of the
  // SM-DP+ is kConflict naming the subject and reason codes (kept in last_status()); a response
  // that is not the binding's is kMalformedRequest.
  Result<std::string> call(std::string_view function, const std::string& body);

  const http::Client& http_;
  std::string smdp_address_;
  Es9Status last_status_;
};

}  // namespace station::lpa
