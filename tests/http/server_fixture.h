// The HTTP transport's test fixture: a real Server on 127.0.0.1 (any free port) with a test
// Router and metrics Registry, run on a thread of its own; a raw client connection for the
// low-level cases (pipelining, limits, timeouts); and a Gate that parks requests until the test
// answers them, so that "a request is in flight" is a state the test controls rather than a
// race it sleeps through.
//
// Every wait in here is bounded by kWaitMax, so a misbehaving server fails a test instead of
// hanging it. kWaitMax is a safety net, not a timing assertion.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <gtest/gtest.h>

#include "http/server.h"
#include "support/http_client.h"

namespace station::http::test {

using station::testing::HttpReply;

inline constexpr std::chrono::seconds kWaitMax{10};

// Holds the Responders of requests routed to handler() until the test takes them.
class Gate {
 public:
  Handler handler();
  // The Responder of the next parked request, waiting up to kWaitMax for one; nullopt if none
  // arrived in time.
  std::optional<Responder> next_request();
  // Drops every parked Responder (their requests are never answered).
  void clear();

 private:
  std::mutex mutex_;
  std::condition_variable parked_;
  std::deque<Responder> responders_;  // GUARDED_BY(mutex_)
};

class ServerTest : public ::testing::Test {
 protected:
  // Defaults for tests: a short grace period so that a failing stop does not hang the suite.
  static ServerOptions test_options();

  // Registers the test routes (see server_fixture.cc), listens on a free port and runs.
  void start(ServerOptions options = test_options());
  // stop() and wait for run() to return.
  void stop_and_wait();
  void TearDown() override;

  std::uint16_t port() const { return server_->port(); }
  // Answers `respond` with `response` from another thread after `delay`; the thread is joined
  // at tear-down.
  void answer_later(Responder respond, Response response, std::chrono::milliseconds delay);
  // The value of one series of the Prometheus text, or nullopt when absent.
  std::optional<std::string> metric(std::string_view series) const;

  Router router_;
  metrics::Registry registry_;
  Gate gate_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::mutex workers_mutex_;
  std::vector<std::thread> workers_;  // GUARDED_BY(workers_mutex_)
  std::mutex readiness_mutex_;
  Status readiness_;  // GUARDED_BY(readiness_mutex_)
};

// A client connection for raw bytes. Connect failures are reported by connected(), not thrown.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);

  bool connected() const { return connected_; }
  // False when the server has closed or reset the connection.
  bool send(std::string_view bytes);
  // The next complete answer; nullopt when the connection ends (or kWaitMax passes) first.
  std::optional<HttpReply> read_reply();
  // True when the server closes the connection within kWaitMax (or a read before already saw
  // it closed); whatever it sent that was not read yet is appended to `received`.
  bool wait_closed(std::string* received = nullptr);

 private:
  enum class End { kOpen, kClosed, kTimedOut };
  // Records how a read ended: once the end of the connection has been seen it is not read for
  // again, because Asio's edge-triggered reactor does not report an end of stream a second time
  // (the read would wait for kWaitMax), and a timed-out read has closed the socket itself.
  void note_end(const boost::beast::error_code& ec);

  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
  End end_ = End::kOpen;
};

// Checks an RFC 9457 answer: problem+json with every member, `code`, and `request_id` equal to
// the X-Request-Id header.
void expect_problem(const HttpReply& reply, int status, std::string_view code);

// Checks the headers every answer carries: X-Request-Id, Date (IMF-fixdate) and Server.
void expect_standard_headers(const HttpReply& reply);

}  // namespace station::http::test
