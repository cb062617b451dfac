// http/server: an asynchronous HTTP/1.1 server on Boost.Beast, plain or over TLS (HTTPS, when
// ServerOptions.tls names a certificate and key; the handshake counts against the first
// request's deadline).
//
// Connections: keep-alive; requests on one connection are answered in order (the next request
// is read only after the previous answer is written, so pipelined requests wait in the buffer).
// "Expect: 100-continue" is answered before the body is read.
//
// Limits, each answered with problem+json and then the connection closed:
//   - header block beyond header_bytes_max: 431 header_too_large;
//   - body beyond body_bytes_max: 413 payload_too_large, decided from Content-Length before
//     the body is read, or while a chunked body is read;
//   - a request (first byte to last) not received within request_timeout_ms: 408
//     request_timeout; a new connection must also send its first byte within that time;
//   - not HTTP/1.x, or a malformed target (bad %-escape, NUL): 400 malformed_request.
// After such an answer the server reads and drops what the client still sends, for a bounded
// time (limits::kHttpLingerMs), so that the client sees the answer rather than a reset.
// A keep-alive connection idle for keep_alive_idle_ms is closed; an answer the client does not
// read within request_timeout_ms closes the connection; connections beyond connections_max are
// closed at once (counted in station_http_connections_refused_total).
//
// Handlers: the server calls router.dispatch(request, responder) on the connection's strand.
// The Request stays valid and unchanged until the Responder is called. The Responder may be
// called from any thread, exactly once; the answer is written on the connection's strand. A
// handler that drops every copy of its Responder unanswered gets a 500 internal answer written
// for it (and an error logged), so a handler bug cannot leave a client waiting.
//
// Every answer carries X-Request-Id (the client's when it is 1..64 of [A-Za-z0-9._-], else a
// generated one), Date and Server: station. Every request is counted in the metrics
// (station_http_requests_total{route,method,status}, station_http_request_duration_seconds
// {route,method}; route is the matched pattern or "unmatched"; method is "other" beyond the
// standard ones) and written as one JSON line to the access log (ts, request_id, remote, method,
// path without the query, route, status, bytes_in, bytes_out, duration_ms, principal): never
// headers, query strings or bodies, which hold keys and personal data.
//
// Graceful stop: stop accepting, close idle connections, let in-flight requests finish (their
// answers say Connection: close) for up to shutdown_grace_ms, then close the rest; run() returns
// when every connection is gone, so the caller can then flush storage.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "common/limits.h"
#include "common/status.h"
#include "http/router.h"
#include "metrics/registry.h"

namespace station::http {

// HTTPS: the server's certificate chain (PEM: the leaf first, then intermediates) and its
// unencrypted PEM private key. TLS 1.2 and 1.3 only.
struct TlsFiles {
  std::string certificate_chain_file;
  std::string private_key_file;
};

struct ServerOptions {
  std::string listen_host = "127.0.0.1";  // an address, or a name resolved at listen()
  std::uint16_t listen_port = 8080;       // 0: any free port (see Server::port())
  std::uint32_t threads = 2;              // io threads run by run(); 0 counts as 1
  std::size_t header_bytes_max = limits::kHttpHeaderBytesMax;
  std::size_t body_bytes_max = limits::kHttpBodyBytesMax;
  std::uint32_t request_timeout_ms = limits::kHttpRequestTimeoutMsDefault;
  std::uint32_t keep_alive_idle_ms = limits::kHttpKeepAliveIdleMsDefault;
  std::uint32_t shutdown_grace_ms = limits::kHttpShutdownGraceMsDefault;
  std::uint32_t connections_max = limits::kHttpConnectionsMax;
  std::optional<TlsFiles> tls;  // none: plain HTTP
};

class Server {
 public:
  // `router` and `registry` must outlive the server. `access_log` may be null (no access log).
  // Registers the gauge station_http_open_connections on `registry`.
  Server(ServerOptions options, const Router& router, metrics::Registry& registry,
         std::shared_ptr<spdlog::logger> access_log);
  // REQUIRES: run() is not running (it has returned, or was never called), and every Responder
  // handed out has been called or destroyed: a Responder must not outlive the server.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; after it, port() is the bound port. kUnavailable when the address is
  // taken, kValidationFailed when the host is not an address or a resolvable name, or when the
  // TLS certificate or key cannot be used.
  Status listen();
  // The bound port (0 before a successful listen()).
  std::uint16_t port() const;

  // Runs the io threads; blocks until a stop has drained every connection. Call once.
  void run();
  // Graceful stop; safe from any thread (and from handlers), any number of times, before or
  // during run().
  void stop();
  // Makes SIGINT and SIGTERM call stop(); a second one during the grace period closes every
  // connection at once. Call before run().
  void stop_on_signals();

  struct Impl;  // opaque; public only so the connection type in server.cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

// GET /healthz -> 200 {"status":"ok"} (the process is alive); GET /readyz -> 200
// {"status":"ready"} when readiness() is ok, else 503 unavailable problem; GET /metrics -> the
// registry in the Prometheus text format 0.0.4. `registry` must outlive the router.
void add_operational_routes(Router& router, metrics::Registry& registry,
                            std::function<Status()> readiness);

}  // namespace station::http
