// Answers from handlers (synchronous, from other threads, never) and the graceful stop.
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/server_fixture.h"

namespace station::http::test {
namespace {

using nlohmann::json;
using station::testing::http_request;

const std::string kGateRequest = "GET /gate HTTP/1.1\r\nHost: t\r\n\r\n";

class LifecycleTest : public ServerTest {};

TEST_F(LifecycleTest, HandlerAnswersSynchronously) {
  start();
  auto reply = http_request(port(), "GET", "/hello/now");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json()["name"], "now");
}

TEST_F(LifecycleTest, HandlerAnswersFromAnotherThreadLater) {
  start();
  auto reply = http_request(port(), "GET", "/later/30");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json()["later"], 30);
}

TEST_F(LifecycleTest, ParkedRequestIsAnsweredWithTheHandlersStatusAndHeaders) {
  start();
  RawConnection connection(port());
  ASSERT_TRUE(connection.send("GET /gate HTTP/1.1\r\nHost: t\r\nX-Request-Id: parked-1\r\n\r\n"));
  auto respond = gate_.next_request();
  ASSERT_TRUE(respond.has_value());
  Response response;
  response.status = 201;
  response.content_type = "text/plain";
  response.headers.emplace_back("Location", "/things/1");
  response.body = "made";
  std::thread([respond = std::move(*respond), response]() mutable {
    respond(std::move(response));
  }).join();
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(reply->header("content-type"), "text/plain");
  EXPECT_EQ(reply->header("location"), "/things/1");
  EXPECT_EQ(reply->header("x-request-id"), "parked-1");
  EXPECT_EQ(reply->body, "made");
  // The connection stays usable after an asynchronous answer.
  ASSERT_TRUE(connection.send("GET /hello/after HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto after = connection.read_reply();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->json()["name"], "after");
}

// A handler bug (no answer, ever) must not leave the client waiting: the server answers 500
// for it (see server.h), and the connection stays usable since the request was read whole.
TEST_F(LifecycleTest, DroppedResponderIsAnswered500) {
  start();
  RawConnection connection(port());
  ASSERT_TRUE(
      connection.send("GET /gate HTTP/1.1\r\nHost: t\r\nX-Request-Id: dropped-1\r\n\r\n"));
  auto respond = gate_.next_request();
  ASSERT_TRUE(respond.has_value());
  respond.reset();
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply.has_value());
  expect_problem(*reply, 500, "internal");
  EXPECT_EQ(reply->header("x-request-id"), "dropped-1");
  ASSERT_TRUE(connection.send("GET /hello/after HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto after = connection.read_reply();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->json()["name"], "after");
}

TEST_F(LifecycleTest, StopWithoutConnectionsReturns) {
  start();
  server_->stop();
  server_->stop();  // any number of times
  runner_.join();
}

TEST_F(LifecycleTest, StopBeforeRunReturnsAtOnce) {
  server_ = std::make_unique<Server>(test_options(), router_, registry_, nullptr);
  ASSERT_TRUE(server_->listen().is_ok());
  server_->stop();
  server_->run();
}

TEST_F(LifecycleTest, StopFinishesInFlightRequestsAndClosesTheRest) {
  start();
  std::uint16_t server_port = port();
  RawConnection in_flight(server_port);
  ASSERT_TRUE(in_flight.send(kGateRequest));
  auto respond = gate_.next_request();
  ASSERT_TRUE(respond.has_value());

  RawConnection idle(server_port);
  ASSERT_TRUE(idle.send("GET /hello/x HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(idle.read_reply().has_value());

  server_->stop();

  EXPECT_TRUE(idle.wait_closed());
  // A new connection is refused, or accepted and closed without an answer.
  RawConnection late(server_port);
  if (late.connected()) {
    late.send("GET /hello/x HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_FALSE(late.read_reply().has_value());
  }

  // The in-flight request still gets its whole answer, and the connection then closes.
  std::string body(100'000, 'a');
  (*respond)(json_response(200, json{{"body", body}}.dump()));
  auto reply = in_flight.read_reply();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->json()["body"], body);
  EXPECT_EQ(reply->header("connection"), "close");
  EXPECT_TRUE(in_flight.wait_closed());

  runner_.join();  // run() returns once the last connection is gone
  RawConnection after(server_port);
  EXPECT_FALSE(after.connected());
}

TEST_F(LifecycleTest, StopWaitsForAnAnswerFromAnotherThread) {
  start();
  RawConnection in_flight(port());
  ASSERT_TRUE(in_flight.send(kGateRequest));
  auto respond = gate_.next_request();
  ASSERT_TRUE(respond.has_value());
  server_->stop();
  answer_later(std::move(*respond), json_response(200, R"({"late":true})"),
               std::chrono::milliseconds(50));
  auto reply = in_flight.read_reply();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->json()["late"], true);
  runner_.join();
}

TEST_F(LifecycleTest, HandlerThatNeverAnswersIsCutOffAfterTheGracePeriod) {
  ServerOptions options = test_options();
  options.shutdown_grace_ms = 200;
  start(options);
  RawConnection stuck(port());
  ASSERT_TRUE(stuck.send(kGateRequest));
  auto respond = gate_.next_request();
  ASSERT_TRUE(respond.has_value());

  server_->stop();
  EXPECT_FALSE(stuck.read_reply().has_value());
  EXPECT_TRUE(stuck.wait_closed());
  runner_.join();

  // The handler answers at last, after run() has returned: nothing to write to, no harm done.
  (*respond)(json_response(200, "{}"));
  respond.reset();
  server_.reset();
}

}  // namespace
}  // namespace station::http::test
