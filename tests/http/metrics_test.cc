// Request metrics and the operational routes (/metrics, /healthz, /readyz).
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/server_fixture.h"

namespace station::http::test {
namespace {

using nlohmann::json;
using station::testing::http_request;

std::string requests_total(const std::string& route, const std::string& method, int status) {
  return "station_http_requests_total{route=\"" + route + "\",method=\"" + method +
         "\",status=\"" + std::to_string(status) + "\"}";
}

class MetricsTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerOptions options = test_options();
    options.body_bytes_max = 1024;
    start(options);
  }

  // Sends raw bytes on a fresh connection and waits for the answer, so it has been counted.
  void send_raw(const std::string& bytes) {
    RawConnection connection(port());
    connection.send(bytes);
    ASSERT_TRUE(connection.read_reply().has_value());
  }
};

TEST_F(MetricsTest, RequestsAreCountedByRoutePatternMethodAndStatus) {
  http_request(port(), "GET", "/hello/a");
  http_request(port(), "GET", "/hello/b");
  http_request(port(), "GET", "/hello/c?x=1");
  http_request(port(), "POST", "/echo", "x");
  http_request(port(), "GET", "/nowhere");
  http_request(port(), "PUT", "/items/1", "{}");
  send_raw("BREW /hello/x HTTP/1.1\r\nHost: t\r\n\r\n");
  send_raw("NONSENSE\r\n\r\n");
  send_raw("GET /decode/%zz HTTP/1.1\r\nHost: t\r\n\r\n");
  send_raw("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");

  // Routes by pattern, never by raw path: the label set stays bounded whatever clients send.
  EXPECT_EQ(metric(requests_total("/hello/{name}", "GET", 200)), "3");
  EXPECT_EQ(metric(requests_total("/echo", "POST", 200)), "1");
  EXPECT_EQ(metric(requests_total("unmatched", "GET", 404)), "1");
  EXPECT_EQ(metric(requests_total("unmatched", "PUT", 405)), "1");
  EXPECT_EQ(metric(requests_total("unmatched", "other", 405)), "1");
  EXPECT_EQ(metric(requests_total("unmatched", "other", 400)), "1");
  EXPECT_EQ(metric(requests_total("unmatched", "GET", 400)), "1");
  EXPECT_EQ(metric(requests_total("unmatched", "POST", 413)), "1");
  EXPECT_FALSE(metric(requests_total("/hello/a", "GET", 200)).has_value());
  EXPECT_EQ(metric("station_http_request_duration_seconds_count{route=\"/hello/{name}\","
                   "method=\"GET\"}"),
            "3");
}

TEST_F(MetricsTest, MetricsRouteServesPrometheusText) {
  http_request(port(), "GET", "/hello/a");
  // The server notices the client's close asynchronously: wait until that connection is no
  // longer counted, so that the scraping connection is the only one.
  auto deadline = std::chrono::steady_clock::now() + kWaitMax;
  while (metric("station_http_open_connections") != "0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto reply = http_request(port(), "GET", "/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(reply.body.find(requests_total("/hello/{name}", "GET", 200) + " 1\n"),
            std::string::npos)
      << reply.body;
  // The scraping connection itself is open while the gauge is read.
  EXPECT_NE(reply.body.find("station_http_open_connections 1\n"), std::string::npos);
}

TEST_F(MetricsTest, HealthAndReadiness) {
  auto healthz = http_request(port(), "GET", "/healthz");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_EQ(healthz.json()["status"], "ok");

  auto ready = http_request(port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json()["status"], "ready");

  {
    std::lock_guard lock(readiness_mutex_);
    readiness_ = Status(ErrorCode::kStorageError, "database unreachable");
  }
  auto not_ready = http_request(port(), "GET", "/readyz", "", {{"X-Request-Id", "probe-7"}});
  expect_problem(not_ready, 503, "unavailable");
  EXPECT_EQ(not_ready.header("retry-after"), "1");
  EXPECT_EQ(not_ready.json()["request_id"], "probe-7");
  EXPECT_NE(not_ready.json()["detail"].get<std::string>().find("database unreachable"),
            std::string::npos);
  // Liveness does not depend on readiness.
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);

  {
    std::lock_guard lock(readiness_mutex_);
    readiness_ = Status::ok();
  }
  EXPECT_EQ(http_request(port(), "GET", "/readyz").status, 200);
}

TEST_F(MetricsTest, RegistryOutlivesTheServerSafely) {
  stop_and_wait();
  server_.reset();
  // The connections gauge must not read a destroyed server.
  EXPECT_EQ(metric("station_http_open_connections"), "0");
}

}  // namespace
}  // namespace station::http::test
