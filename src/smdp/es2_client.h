// smdp/es2_client: the operator's side of ES2+ (GSMA SGP.22 5.3) against a remote SM-DP+, so
// that Station's orders can use another SM-DP+ (Station's own, elsewhere, or a vendor's) instead
// of the one in this process: orders::Es2Port over HTTPS.
//
// Binding (SGP.22 6.5, as routes.h serves it):
//   POST <base URL>/gsma/rsp2/es2plus/{downloadOrder, confirmOrder, cancelOrder, releaseProfile}
//   Content-Type: application/json;charset=UTF-8, X-Admin-Protocol: gsma/rsp/v2.2.0,
//   Authorization: Bearer <token> when configured (never logged)
//   a JSON body with "header": {"functionRequesterIdentifier", "functionCallIdentifier"};
//   the answer's header.functionExecutionStatus is "Executed-Success" or "Failed" with
//   statusCodeData (subjectCode, reasonCode, message).
// TLS is verified against the configured CA file (http/client.h), never in clear.
// A "Failed" status becomes a Status naming the codes: reason 3.9 (unknown) kNotFound, 2.1
// (invalid) kValidationFailed, any other kConflict; HTTP 401/403 kUnauthenticated; a transport
// failure or another HTTP status kUnavailable; an answer not of the binding kMalformedRequest.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "http/client.h"
#include "orders/orders.h"

namespace station::smdp {

inline constexpr std::size_t kEs2ResponseBytesMax = 64 * 1024;
inline constexpr std::size_t kEs2TokenBytesMax = 512;

// An ES2+ link to the other side (the operator, or a remote SM-DP+), shared by both directions:
// kValidationFailed naming `what` unless `url` is https, a CA file is given and the token is at
// most kEs2TokenBytesMax printable bytes (or empty).
Status check_es2_link(std::string_view url, std::string_view ca_file, std::string_view bearer_token,
                      std::string_view what);
// A POST of `body` to `url` with the binding's headers and, when given, the bearer token.
http::ClientRequest es2_request(std::string url, std::string body, std::string_view bearer_token);

// The answer of ES2+ `function` from its HTTP status and body (at most kEs2ResponseBytesMax
// bytes, as the client reads it): the JSON object on "Executed-Success" or
// "Executed-WithWarning"; otherwise the Status named above.
Result<nlohmann::json> parse_es2_answer(std::string_view function, int http_status,
                                        std::string_view body);

struct RemoteSmdpConfig {
  std::string base_url;                          // https://host[:port] of the remote SM-DP+
  std::string ca_file;                           // PEM trust anchors of its TLS certificate
  std::string bearer_token;                      // its ES2+ credential; empty: none
  std::string requester_identifier = "station";  // functionRequesterIdentifier
  std::uint32_t timeout_ms = 10'000;
};
// kValidationFailed naming the fault: an https base URL without a path, a CA file, a printable
// token of at most 512 bytes.
Status check_config(const RemoteSmdpConfig& config);

struct RemoteConfirmation {
  std::string matching_id;
  std::string smdp_address;
};

class Es2Client {
 public:
  // REQUIRES: check_config(config) is ok.
  explicit Es2Client(RemoteSmdpConfig config);

  // DownloadOrder: the ICCID the remote SM-DP+ took.
  Result<std::string> download_order(std::optional<std::string_view> iccid,
                                     std::optional<std::string_view> eid,
                                     std::optional<std::string_view> profile_type);
  // ConfirmOrder; `confirmation_code_hash` is the lower-case hex SHA-256 of the code.
  Result<RemoteConfirmation> confirm_order(std::string_view iccid,
                                           std::optional<std::string_view> matching_id,
                                           std::optional<std::string_view> eid,
                                           std::optional<std::string_view> confirmation_code_hash,
                                           bool release);
  // CancelOrder with finalProfileStatusIndicator "Available" or "Unavailable".
  Status cancel_order(std::string_view iccid, std::optional<std::string_view> matching_id,
                      bool available);
  Status release_profile(std::string_view iccid);

 private:
  // POSTs `fields` (plus the header) to the function; the answer's JSON object.
  Result<nlohmann::json> call(std::string_view function, nlohmann::json fields);

  RemoteSmdpConfig config_;
  http::Client http_;
  std::atomic<std::uint64_t> calls_{0};
};

// Station's orders through a remote SM-DP+: DownloadOrder of the order's ICCID, then
// ConfirmOrder with its Matching ID, EID and code hash, released; CancelOrder (Available).
std::unique_ptr<orders::Es2Port> make_remote_es2_port(RemoteSmdpConfig config);

}  // namespace station::smdp
