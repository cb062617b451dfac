// One connection's life: keep-alive, pipelining, Connection: close, the header and body limits,
// malformed requests, the request and idle timeouts, and the connection limit.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/server_fixture.h"

namespace station::http::test {
namespace {

using nlohmann::json;

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

std::string post(const std::string& body, const std::string& extra = "") {
  return "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra + "\r\n" + body;
}

std::string chunked_post(const std::string& body) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", body.size());
  return "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n";
}

class ConnectionTest : public ServerTest {};

TEST_F(ConnectionTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  RawConnection connection(port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(connection.send(get("/hello/n" + std::to_string(i))));
    auto reply = connection.read_reply();
    ASSERT_TRUE(reply.has_value()) << "request " << i;
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->json()["name"], "n" + std::to_string(i));
    EXPECT_NE(reply->header("connection"), "close");
  }
  ASSERT_TRUE(connection.send(post("payload")));
  auto echoed = connection.read_reply();
  ASSERT_TRUE(echoed.has_value());
  EXPECT_EQ(echoed->body, "payload");
}

TEST_F(ConnectionTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawConnection connection(port());
  // The first answer comes last from its handler; the order on the wire must not change.
  ASSERT_TRUE(connection.send(get("/later/100") + get("/hello/two") + post("three") +
                              get("/later/1")));
  auto first = connection.read_reply();
  auto second = connection.read_reply();
  auto third = connection.read_reply();
  auto fourth = connection.read_reply();
  ASSERT_TRUE(first && second && third && fourth);
  EXPECT_EQ(first->json()["later"], 100);
  EXPECT_EQ(second->json()["name"], "two");
  EXPECT_EQ(third->body, "three");
  EXPECT_EQ(fourth->json()["later"], 1);
}

TEST_F(ConnectionTest, ConnectionCloseIsHonoured) {
  start();
  RawConnection connection(port());
  ASSERT_TRUE(connection.send(get("/hello/x", "Connection: close\r\n")));
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->header("connection"), "close");
  EXPECT_TRUE(connection.wait_closed());

  // HTTP/1.0 closes by default.
  RawConnection old(port());
  ASSERT_TRUE(old.send("GET /hello/x HTTP/1.0\r\n\r\n"));
  auto old_reply = old.read_reply();
  ASSERT_TRUE(old_reply.has_value());
  EXPECT_EQ(old_reply->status, 200);
  EXPECT_TRUE(old.wait_closed());
}

class LimitTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerOptions options = test_options();
    options.body_bytes_max = 1024;
    options.header_bytes_max = 2048;
    start(options);
  }
};

TEST_F(LimitTest, BodyAtTheLimitIsAccepted) {
  RawConnection connection(port());
  std::string body(1024, 'b');
  ASSERT_TRUE(connection.send(post(body)));
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, body);

  ASSERT_TRUE(connection.send(chunked_post(body)));
  auto chunked = connection.read_reply();
  ASSERT_TRUE(chunked.has_value());
  EXPECT_EQ(chunked->status, 200);
  EXPECT_EQ(chunked->body, body);
}

TEST_F(LimitTest, ContentLengthOverTheLimitIsRefusedBeforeTheBodyIsSent) {
  RawConnection connection(port());
  // Only the header: the answer must come without waiting for a body that will never arrive.
  ASSERT_TRUE(connection.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\nX-Request-Id: big-1\r\n\r\n"));
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply.has_value());
  expect_problem(*reply, 413, "payload_too_large");
  expect_standard_headers(*reply);
  EXPECT_EQ(reply->header("x-request-id"), "big-1");
  EXPECT_EQ(reply->header("connection"), "close");
  EXPECT_TRUE(connection.wait_closed());
}

TEST_F(LimitTest, BodyOverTheLimitSentAnywayStillGetsItsAnswer) {
  // A client that writes its whole body before reading must still see the 413, not a reset.
  RawConnection connection(port());
  std::string body(256 * 1024, 'b');
  std::thread writer([&connection, request = post(body)] { connection.send(request); });
  auto reply = connection.read_reply();
  writer.join();
  ASSERT_TRUE(reply.has_value());
  expect_problem(*reply, 413, "payload_too_large");
}

TEST_F(LimitTest, ChunkedBodyOverTheLimitIsRefused) {
  RawConnection connection(port());
  ASSERT_TRUE(connection.send(chunked_post(std::string(1025, 'c'))));
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply.has_value());
  expect_problem(*reply, 413, "payload_too_large");
  EXPECT_TRUE(connection.wait_closed());

  // Many small chunks add up.
  RawConnection small_chunks(port());
  std::string request = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) request += "20\r\n" + std::string(32, 'c') + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_TRUE(small_chunks.send(request));
  auto many = small_chunks.read_reply();
  ASSERT_TRUE(many.has_value());
  expect_problem(*many, 413, "payload_too_large");
}

TEST_F(LimitTest, HeaderBlockOverTheLimitIsRefused) {
  RawConnection one_big(port());
  ASSERT_TRUE(one_big.send(get("/hello/x", "X-Big: " + std::string(4000, 'a') + "\r\n")));
  auto reply = one_big.read_reply();
  ASSERT_TRUE(reply.has_value());
  expect_problem(*reply, 431, "header_too_large");
  expect_standard_headers(*reply);
  EXPECT_TRUE(one_big.wait_closed());

  RawConnection many_small(port());
  std::string headers;
  for (int i = 0; i < 200; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
  ASSERT_TRUE(many_small.send(get("/hello/x", headers)));
  auto many = many_small.read_reply();
  ASSERT_TRUE(many.has_value());
  expect_problem(*many, 431, "header_too_large");
}

TEST_F(LimitTest, GarbageIsMalformed) {
  for (std::string garbage :
       {std::string("NONSENSE\r\n\r\n"), std::string("GET\r\n\r\n"),
        std::string("GET /hello/x HTTP/9.9\r\n\r\n"),
        std::string("GET /hello/x HTTP/1.1\r\nNo colon\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a TLS ClientHello
        std::string("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n"),
        std::string("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                    "Content-Length: 2\r\n\r\nab"),
        std::string("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "zz\r\n")}) {
    SCOPED_TRACE(garbage);
    RawConnection connection(port());
    connection.send(garbage);
    auto reply = connection.read_reply();
    ASSERT_TRUE(reply.has_value());
    expect_problem(*reply, 400, "malformed_request");
    expect_standard_headers(*reply);
    EXPECT_TRUE(connection.wait_closed());
  }
}

TEST_F(ConnectionTest, StalledRequestIsDisconnected) {
  ServerOptions options = test_options();
  options.request_timeout_ms = 300;
  start(options);

  RawConnection half_header(port());
  ASSERT_TRUE(half_header.send("GET /hello/x HTTP/1.1\r\nHost:"));
  EXPECT_TRUE(half_header.wait_closed());

  RawConnection half_body(port());
  ASSERT_TRUE(half_body.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(half_body.wait_closed());

  RawConnection silent(port());
  EXPECT_TRUE(silent.wait_closed());
}

TEST_F(ConnectionTest, StalledSecondRequestIsDisconnected) {
  ServerOptions options = test_options();
  options.request_timeout_ms = 300;
  start(options);  // keep_alive_idle_ms stays at its long default
  RawConnection connection(port());
  ASSERT_TRUE(connection.send(get("/hello/x")));
  ASSERT_TRUE(connection.read_reply().has_value());
  // Once a request has begun, the request timeout applies, not the idle one.
  ASSERT_TRUE(connection.send("GET /hello/x HTTP/1.1\r\nHo"));
  EXPECT_TRUE(connection.wait_closed());
}

TEST_F(ConnectionTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options = test_options();
  options.keep_alive_idle_ms = 300;
  start(options);
  RawConnection connection(port());
  ASSERT_TRUE(connection.send(get("/hello/x")));
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(connection.wait_closed());
}

TEST_F(ConnectionTest, ConnectionsOverTheLimitAreClosedWithoutAnswer) {
  ServerOptions options = test_options();
  options.connections_max = 2;
  start(options);
  auto first = std::make_unique<RawConnection>(port());
  RawConnection second(port());
  // An answer on each proves both are accepted and counted.
  for (RawConnection* connection : {first.get(), &second}) {
    ASSERT_TRUE(connection->send(get("/hello/x")));
    ASSERT_TRUE(connection->read_reply().has_value());
  }

  RawConnection third(port());
  third.send(get("/hello/third"));  // may already fail: the server closes at once
  EXPECT_FALSE(third.read_reply().has_value());
  EXPECT_TRUE(third.wait_closed());

  for (RawConnection* connection : {first.get(), &second}) {
    ASSERT_TRUE(connection->send(get("/hello/again")));
    auto reply = connection->read_reply();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 200);
  }

  // Once one closes, its place is free again (the server notices the close asynchronously).
  first.reset();
  auto deadline = std::chrono::steady_clock::now() + kWaitMax;
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    RawConnection next(port());
    served = next.send(get("/hello/next")) && next.read_reply().has_value();
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace station::http::test
