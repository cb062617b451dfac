// The HTTP transport on its own: a real Server on a loopback port with a test router.
#include "http/server.h"

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/http_client.h"

namespace station::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using testing::http_request;

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    options.listen_host = "127.0.0.1";
    options.listen_port = 0;
    options.threads = 2;
    router_.add("GET", "/hello/{name}", [](Request& request, Responder respond) {
      nlohmann::json body = {{"name", request.path_params["name"]},
                             {"q", std::string(request.query_param("q").value_or(""))}};
      respond(json_response(200, body.dump()));
    });
    router_.add("POST", "/echo", [](Request& request, Responder respond) {
      respond(json_response(200, request.body));
    });
    router_.add("GET", "/slow", [](Request&, Responder respond) {
      std::thread([respond] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        respond(json_response(200, R"({"slow":true})"));
      }).detach();
    });
    add_operational_routes(router_, registry_, [this] { return readiness_; });
    server_ = std::make_unique<Server>(options, router_, registry_, nullptr);
    ASSERT_TRUE(server_->listen().is_ok());
    runner_ = std::thread([this] { server_->run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->stop();
      runner_.join();
    }
  }

  // Writes raw bytes on a fresh connection and reads until the server closes it.
  std::string raw_exchange(const std::string& bytes) {
    net::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    net::write(socket, net::buffer(bytes));
    std::string out;
    boost::system::error_code ec;
    char buffer[4096];
    while (true) {
      std::size_t n = socket.read_some(net::buffer(buffer), ec);
      if (ec) break;
      out.append(buffer, n);
    }
    return out;
  }

  Router router_;
  metrics::Registry registry_;
  Status readiness_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
};

TEST_F(ServerTest, RoutesCapturesDecodesAndTagsEveryAnswer) {
  start();
  auto reply = http_request(server_->port(), "GET", "/hello/Li%20Lei?q=a+b%21", "",
                            {{"X-Request-Id", "trace-42"}});
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json()["name"], "Li Lei");
  EXPECT_EQ(reply.json()["q"], "a b!");
  EXPECT_EQ(reply.header("x-request-id"), "trace-42");
  EXPECT_FALSE(reply.header("date").empty());
  EXPECT_EQ(reply.header("server"), "station");

  auto generated = http_request(server_->port(), "GET", "/hello/x", "",
                                {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_EQ(generated.header("x-request-id").size(), 16u);

  auto missing = http_request(server_->port(), "GET", "/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("content-type"), "application/problem+json");
  auto problem = missing.json();
  for (const char* member : {"type", "title", "status", "code", "instance", "request_id"}) {
    EXPECT_TRUE(problem.contains(member)) << member;
  }
  EXPECT_EQ(problem["code"], "not_found");

  auto wrong_method = http_request(server_->port(), "DELETE", "/echo");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "POST");

  EXPECT_EQ(http_request(server_->port(), "GET", "/hello/%zz").status, 400);
  EXPECT_EQ(http_request(server_->port(), "GET", "/hello/a%00b").status, 400);
}

TEST_F(ServerTest, KeepAliveAnswersPipelinedRequestsInOrder) {
  start();
  std::string three =
      "GET /hello/one HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /hello/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string out = raw_exchange(three);
  auto one = out.find("\"one\"");
  auto slow = out.find("\"slow\"");
  auto third = out.find("\"three\"");
  ASSERT_NE(one, std::string::npos) << out;
  ASSERT_NE(slow, std::string::npos) << out;
  ASSERT_NE(third, std::string::npos) << out;
  EXPECT_LT(one, slow);
  EXPECT_LT(slow, third);
}

TEST_F(ServerTest, LimitsAreAnsweredWithProblems) {
  ServerOptions options;
  options.body_bytes_max = 1024;
  options.header_bytes_max = 2048;
  start(options);
  // Decided from Content-Length: the body is never sent.
  std::string out = raw_exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 5000\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out;
  EXPECT_NE(out.find("payload_too_large"), std::string::npos);

  std::string chunk(1500, 'x');
  out = raw_exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5DC\r\n" +
                     chunk + "\r\n0\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out.substr(0, 200);

  out = raw_exchange("GET /hello/x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') +
                     "\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 431"), std::string::npos) << out.substr(0, 200);
  EXPECT_NE(out.find("header_too_large"), std::string::npos);

  out = raw_exchange("NONSENSE\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 400"), std::string::npos) << out;
}

TEST_F(ServerTest, StalledClientIsDisconnected) {
  ServerOptions options;
  options.request_timeout_ms = 300;
  start(options);
  auto started = std::chrono::steady_clock::now();
  std::string out = raw_exchange("GET /hello/x HTTP/1.1\r\nHost:");  // and nothing more
  EXPECT_TRUE(out.empty() || out.find("408") != std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(ServerTest, GracefulStopFinishesInFlightRequests) {
  start();
  auto slow = std::async(std::launch::async,
                         [this] { return http_request(server_->port(), "GET", "/slow"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server_->stop();
  auto reply = slow.get();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json()["slow"], true);
  runner_.join();
  server_.reset();
}

TEST_F(ServerTest, OperationalRoutesAndMetrics) {
  start();
  EXPECT_EQ(http_request(server_->port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(server_->port(), "GET", "/readyz").status, 200);
  readiness_ = Status(ErrorCode::kStorageError, "database unreachable");
  EXPECT_EQ(http_request(server_->port(), "GET", "/readyz").status, 503);
  http_request(server_->port(), "GET", "/nowhere");
  http_request(server_->port(), "BREW", "/hello/x");
  auto metrics = http_request(server_->port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(station_http_requests_total{route="/healthz",method="GET",status="200"} 1)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(route="unmatched")"), std::string::npos);
  EXPECT_NE(metrics.find(R"(method="other")"), std::string::npos);
  EXPECT_NE(metrics.find("station_http_request_duration_seconds_bucket"), std::string::npos);
}

}  // namespace
}  // namespace station::http
