// http/server: an asynchronous HTTP/1.1 server on Boost.Beast.
//
// Keep-alive; requests on one connection are answered in order (the next is read only after the
// previous answer is written, so pipelined requests wait in the buffer). Limits: header block,
// body (checked against Content-Length before the body is read, and while reading a chunked
// one), time to receive a request, idle time between requests, number of connections. Handlers
// answer through a Responder that may be called from any thread; the answer is written on the
// connection's strand. Every answer carries X-Request-Id and Date; every request is counted in
// the metrics and written to the access log (method, path without query, route, status, sizes,
// duration, principal: never headers or bodies, which hold keys and personal data).
//
// Graceful stop: stop accepting, close idle connections, let in-flight requests finish for up to
// the grace period, then close the rest; run() returns when no connection is left.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "common/limits.h"
#include "common/status.h"
#include "http/router.h"
#include "metrics/registry.h"

namespace station::http {

struct ServerOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;  // 0: any free port (see Server::port())
  std::uint32_t threads = 2;
  std::size_t header_bytes_max = limits::kHttpHeaderBytesMax;
  std::size_t body_bytes_max = limits::kHttpBodyBytesMax;
  std::uint32_t request_timeout_ms = limits::kHttpRequestTimeoutMsDefault;
  std::uint32_t keep_alive_idle_ms = limits::kHttpKeepAliveIdleMsDefault;
  std::uint32_t shutdown_grace_ms = limits::kHttpShutdownGraceMsDefault;
  std::uint32_t connections_max = limits::kHttpConnectionsMax;
};

class Server {
 public:
  // `router` and `registry` must outlive the server. `access_log` may be null (no access log).
  Server(ServerOptions options, const Router& router, metrics::Registry& registry,
         std::shared_ptr<spdlog::logger> access_log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; after it, port() is the bound port. kUnavailable when the address is
  // taken, kValidationFailed when it is not an address.
  Status listen();
  std::uint16_t port() const;

  // Runs the io threads; blocks until a stop has drained every connection.
  void run();
  // Graceful stop; safe from any thread, any number of times.
  void stop();
  // Makes SIGINT and SIGTERM call stop(). Call before run().
  void stop_on_signals();

  struct Impl;  // opaque; public only so the connection type in server.cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

// GET /healthz (alive), GET /readyz (readiness() ok, else 503), GET /metrics (Prometheus).
void add_operational_routes(Router& router, metrics::Registry& registry,
                            std::function<Status()> readiness);

}  // namespace station::http
