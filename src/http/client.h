// http/client: a blocking HTTP/1.1 client over TLS (or plain TCP for loopback tests), for the
// LPA's ES9+ calls to an SM-DP+ and other outgoing requests.
//
// TLS: 1.2 or later; the server's certificate must chain to a trust anchor of the configured CA
// file (PEM; e.g. the CI certificate of a test PKI, under which the SM-DP+'s DPtls certificate is
// issued) and name the URL's host (subjectAltName DNS or IP); SNI is sent. There is no fallback to
// the system's trust store: an SM-DP+ is trusted through the RSP PKI only.
//
// One connection per request, unless idle_connections_max > 0: then a connection the server keeps
// open (HTTP/1.1 keep-alive) waits, idle, for the next request to the same scheme, host and port,
// which saves a TLS handshake on both sides (an ES9+ session is four calls in a row). A request
// is sent again on a fresh connection only when a reused one ended before any byte of an answer
// came back, as when the server had closed it for being idle. Every step (resolve, connect,
// handshake, write, read) runs against one deadline, the request's timeout; a response beyond
// max_response_bytes (headers and body) is refused, not truncated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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
  // Idle connections kept for reuse, per client (and its copies); 0: none.
  std::size_t idle_connections_max = 0;
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
  explicit Client(ClientOptions options);
  // kUnavailable when the server cannot be reached or the connection fails or times out,
  // kUnauthenticated when its certificate does not verify, kPayloadTooLarge for a response
  // beyond the limit, kValidationFailed for a malformed URL.
  Result<ClientResponse> send(const ClientRequest& request) const;

  struct Connection;  // opaque; public only so that the helpers in client.cc can name it

 private:
  struct IdleConnections;
  std::unique_ptr<Connection> take_idle(const std::string& origin) const;
  void keep_idle(std::unique_ptr<Connection> connection) const;

  ClientOptions options_;
  std::shared_ptr<IdleConnections> idle_;  // shared by copies; null without reuse
};

}  // namespace station::http
