// http/client: a blocking HTTP/1.1 client over TLS (or plain TCP for loopback tests), for the
// LPA's ES9+ calls to an SM-DP+ and other outgoing requests.
//
// TLS: 1.2 or later; the server's certificate must chain to a trust anchor of the configured CA
// file (PEM; e.g. the CI certificate of a test PKI, under which the SM-DP+'s DPtls certificate is
// issued) and name the URL's host (subjectAltName DNS or IP); SNI is sent. There is no fallback to
// the system's trust store: an SM-DP+ is trusted through the RSP PKI only.
//
// One connection per request (ES9+ sessions are a handful of calls). Every step (resolve, connect,
// handshake, write, read) runs against one deadline, the request's timeout; a response beyond
// max_response_bytes (headers and body) is refused, not truncated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace station::http {

inline constexpr std::size_t kClientResponseBytesMaxDefault = 1024 * 1024;
inline constexpr std::size_t kClientUrlBytesMax = 2048;

struct Url {
  bool tls = true;   // https
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
};
// "https://host[:port][/path]" or "http://..."; kValidationFailed otherwise (user info and
// fragments are refused).
Result<Url> parse_url(std::string_view url);

struct ClientOptions {
  std::string ca_file;  // PEM trust anchors; required for https
  std::uint32_t timeout_ms = 30'000;
  std::size_t max_response_bytes = kClientResponseBytesMaxDefault;
};

struct ClientRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header of that name (case-insensitive); empty when absent.
  std::string header(std::string_view name) const;
};

class Client {
 public:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}
  // kUnavailable when the server cannot be reached or the connection fails or times out,
  // kUnauthenticated when its certificate does not verify, kPayloadTooLarge for a response
  // beyond the limit, kValidationFailed for a malformed URL.
  Result<ClientResponse> send(const ClientRequest& request) const;

 private:
  ClientOptions options_;
};

}  // namespace station::http
