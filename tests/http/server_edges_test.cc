// The server's answers at the edges of HTTP/1.1 and of handler contracts: 408 for a request
// that trickles, Expect: 100-continue, HEAD without a body, a handler that throws or drops its
// Responder, and the access log's fields (with nothing secret in them).
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include "http/server.h"

namespace station::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// A blocking client socket whose reads give up after 10 s, so that a misbehaving server fails
// a test instead of hanging it (a safety net, not a timing assertion).
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval timeout{10, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  void send(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }
  // Reads until `marker` has been received (or the connection ends); returns all read so far.
  std::string read_until(const std::string& marker) {
    while (received_.find(marker) == std::string::npos && read_some()) {
    }
    return received_;
  }
  std::string read_until_closed() {
    while (read_some()) {
    }
    return received_;
  }

 private:
  bool read_some() {
    char buffer[4096];
    boost::system::error_code ec;
    std::size_t n = socket_.read_some(net::buffer(buffer), ec);
    received_.append(buffer, n);
    return !ec;
  }
  net::io_context io_;
  tcp::socket socket_;
  std::string received_;
};

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class ServerEdgesTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}, bool stop_on_signals = false) {
    options.listen_host = "127.0.0.1";
    options.listen_port = 0;
    options.threads = 2;
    if (options.shutdown_grace_ms == limits::kHttpShutdownGraceMsDefault) {
      options.shutdown_grace_ms = 2'000;
    }
    router_.add("GET", "/hello/{name}", [](Request& request, Responder respond) {
      request.principal = "key:test";
      respond(json_response(200, nlohmann::json{{"name", request.path_params["name"]}}.dump()));
    });
    router_.add("POST", "/echo", [](Request& request, Responder respond) {
      respond(json_response(200, request.body));
    });
    router_.add("GET", "/throw",
                [](Request&, Responder) -> void { throw std::runtime_error("a handler bug"); });
    router_.add("GET", "/drop", [](Request&, Responder respond) {
      std::thread([dropped = std::move(respond)] {}).join();  // dropped on another thread
    });
    router_.add("GET", "/park", [this](Request&, Responder respond) {
      std::lock_guard lock(parked_mutex_);
      parked_ = std::move(respond);
      parked_changed_.notify_all();
    });
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(access_log_text_);
    auto access_log = std::make_shared<spdlog::logger>("access-test", sink);
    access_log->set_pattern("%v");
    server_ = std::make_unique<Server>(options, router_, registry_, access_log);
    ASSERT_TRUE(server_->listen().is_ok());
    if (stop_on_signals) server_->stop_on_signals();
    runner_ = std::thread([this] { server_->run(); });
  }

  // Waits (at most 10 s) for a request to /park and returns its Responder.
  std::optional<Responder> take_parked() {
    std::unique_lock lock(parked_mutex_);
    parked_changed_.wait_for(lock, std::chrono::seconds(10),
                             [this] { return parked_.has_value(); });
    std::optional<Responder> out = std::move(parked_);
    parked_.reset();
    return out;
  }

  void stop() {
    if (!server_) return;
    server_->stop();
    runner_.join();
    server_.reset();
  }

  void TearDown() override { stop(); }

  std::uint16_t port() const { return server_->port(); }

  Router router_;
  metrics::Registry registry_;
  std::mutex parked_mutex_;
  std::condition_variable parked_changed_;
  std::optional<Responder> parked_;  // GUARDED_BY(parked_mutex_)
  std::ostringstream access_log_text_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
};

TEST_F(ServerEdgesTest, TricklingRequestGets408AndIsClosed) {
  ServerOptions options;
  options.request_timeout_ms = 200;
  start(options);
  Client client(port());
  client.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nX-Request-Id: slow-1\r\nContent-Length: 10\r\n"
      "\r\nabc");  // and the rest never comes
  std::string out = client.read_until_closed();
  EXPECT_EQ(out.rfind("HTTP/1.1 408 ", 0), 0u) << out;
  EXPECT_NE(out.find("\"code\":\"request_timeout\""), std::string::npos) << out;
  EXPECT_NE(out.find("X-Request-Id: slow-1"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
}

TEST_F(ServerEdgesTest, ExpectContinueIsAnsweredBeforeTheBody) {
  start();
  Client client(port());
  client.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n");
  std::string interim = client.read_until("\r\n\r\n");
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << interim;
  client.send("{\"a\":1}");
  std::string out = client.read_until("{\"a\":1}");
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos) << out;

  // Over the limit, the final answer comes instead of 100 Continue.
  Client big(port());
  big.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n"
      "Expect: 100-continue\r\n\r\n");
  std::string refused = big.read_until_closed();
  EXPECT_EQ(refused.rfind("HTTP/1.1 413 ", 0), 0u) << refused;
}

TEST_F(ServerEdgesTest, AnswersToHeadHaveNoBody) {
  start();
  Client client(port());
  // No route answers HEAD: a 405 whose body must not be sent, or the next answer would be
  // misread.
  client.send(
      "HEAD /hello/a HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /hello/b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  std::string out = client.read_until_closed();
  auto second = out.find("HTTP/1.1 200 OK");
  ASSERT_NE(second, std::string::npos) << out;
  EXPECT_EQ(out.rfind("HTTP/1.1 405 ", 0), 0u) << out;
  std::string head_answer = out.substr(0, second);
  EXPECT_TRUE(head_answer.ends_with("\r\n\r\n")) << head_answer;
  EXPECT_EQ(head_answer.find("method_not_allowed"), std::string::npos) << head_answer;
  EXPECT_NE(out.find("{\"name\":\"b\"}"), std::string::npos) << out;
}

TEST_F(ServerEdgesTest, ThrowingOrDroppingHandlersAnswer500AndTheConnectionGoesOn) {
  start();
  Client client(port());
  client.send(
      "GET /throw HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /drop HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /hello/after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  std::string out = client.read_until_closed();
  EXPECT_EQ(count(out, "HTTP/1.1 500 Internal Server Error"), 2u) << out;
  EXPECT_EQ(count(out, "\"code\":\"internal\""), 2u) << out;
  EXPECT_NE(out.find("{\"name\":\"after\"}"), std::string::npos) << out;
}

TEST_F(ServerEdgesTest, AccessLogHasOneJsonLinePerRequestWithoutSecrets) {
  start();
  Client client(port());
  client.send(
      "GET /hello/li%20lei?api_key=s3cr3t HTTP/1.1\r\nHost: t\r\n"
      "Authorization: Bearer k3y-material\r\nX-Request-Id: log-1\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\nConnection: close\r\n\r\n"
      "personal-dat");
  client.read_until_closed();
  stop();

  std::string text = access_log_text_.str();
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
  EXPECT_EQ(text.find("k3y-material"), std::string::npos) << text;
  EXPECT_EQ(text.find("personal-dat"), std::string::npos) << text;

  std::istringstream lines(text);
  std::string line;
  std::vector<nlohmann::json> entries;
  while (std::getline(lines, line)) entries.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(entries.size(), 2u) << text;
  const auto& get = entries[0];
  for (const char* field : {"ts", "request_id", "remote", "method", "path", "route", "status",
                            "bytes_in", "bytes_out", "duration_ms", "principal"}) {
    EXPECT_TRUE(get.contains(field)) << field;
  }
  EXPECT_EQ(get["request_id"], "log-1");
  EXPECT_EQ(get["remote"], "127.0.0.1");
  EXPECT_EQ(get["method"], "GET");
  EXPECT_EQ(get["path"], "/hello/li lei");
  EXPECT_EQ(get["route"], "/hello/{name}");
  EXPECT_EQ(get["status"], 200);
  EXPECT_EQ(get["principal"], "key:test");
  EXPECT_TRUE(get["ts"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(entries[1]["bytes_in"], 12);
  EXPECT_EQ(entries[1]["bytes_out"], 12);
}

TEST_F(ServerEdgesTest, SecondSignalCutsTheGracePeriodShort) {
  ServerOptions options;
  options.shutdown_grace_ms = 600'000;  // the test would time out if it were waited for
  start(options, /*stop_on_signals=*/true);
  Client client(port());
  client.send("GET /park HTTP/1.1\r\nHost: t\r\n\r\n");
  auto parked = take_parked();
  ASSERT_TRUE(parked.has_value());

  std::raise(SIGINT);   // stop: the parked request may still be answered...
  std::raise(SIGTERM);  // ...until the second signal closes it
  std::string out = client.read_until_closed();
  EXPECT_EQ(out.find("HTTP/1.1"), std::string::npos) << out;
  runner_.join();

  // Answered after run() returned: dropped quietly.
  (*parked)(json_response(200, "{}"));
  parked.reset();
  server_.reset();
}

}  // namespace
}  // namespace station::http
