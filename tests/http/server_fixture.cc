#include "http/server_fixture.h"

#include <regex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace station::http::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

Handler Gate::handler() {
  return [this](Request&, Responder respond) {
    std::lock_guard lock(mutex_);
    responders_.push_back(std::move(respond));
    parked_.notify_all();
  };
}

std::optional<Responder> Gate::next_request() {
  std::unique_lock lock(mutex_);
  if (!parked_.wait_for(lock, kWaitMax, [this] { return !responders_.empty(); })) {
    return std::nullopt;
  }
  Responder respond = std::move(responders_.front());
  responders_.pop_front();
  return respond;
}

void Gate::clear() {
  std::lock_guard lock(mutex_);
  responders_.clear();
}

ServerOptions ServerTest::test_options() {
  ServerOptions options;
  options.listen_host = "127.0.0.1";
  options.listen_port = 0;
  options.threads = 2;
  options.shutdown_grace_ms = 2'000;
  return options;
}

void ServerTest::start(ServerOptions options) {
  // Answers synchronously, inside dispatch.
  router_.add("GET", "/hello/{name}", [](Request& request, Responder respond) {
    respond(json_response(200, json{{"name", request.path_params.at("name")}}.dump()));
  });
  // Shows what the server made of the request target.
  router_.add("GET", "/decode/{value}", [](Request& request, Responder respond) {
    json query = json::array();
    for (const auto& [name, value] : request.query) query.push_back({name, value});
    json body = {{"path", request.path},
                 {"value", request.path_params.at("value")},
                 {"query", query},
                 {"target", request.target},
                 {"route", request.route}};
    respond(json_response(200, body.dump(-1, ' ', false, json::error_handler_t::replace)));
  });
  router_.add("GET", "/items/{id}", [](Request&, Responder respond) {
    respond(json_response(200, "{}"));
  });
  router_.add("DELETE", "/items/{id}", [](Request&, Responder respond) {
    respond(json_response(200, "{}"));
  });
  router_.add("POST", "/echo", [](Request& request, Responder respond) {
    Response response;
    response.content_type = "text/plain";
    response.body = request.body;
    respond(std::move(response));
  });
  // Answers from another thread after the given number of milliseconds.
  router_.add("GET", "/later/{ms}", [this](Request& request, Responder respond) {
    int ms = std::stoi(request.path_params.at("ms"));
    answer_later(std::move(respond), json_response(200, json{{"later", ms}}.dump()),
                 std::chrono::milliseconds(ms));
  });
  router_.add("GET", "/gate", gate_.handler());
  add_operational_routes(router_, registry_, [this] {
    std::lock_guard lock(readiness_mutex_);
    return readiness_;
  });

  server_ = std::make_unique<Server>(options, router_, registry_, nullptr);
  Status listening = server_->listen();
  ASSERT_TRUE(listening.is_ok()) << listening.to_string();
  ASSERT_NE(server_->port(), 0);
  runner_ = std::thread([this] { server_->run(); });
}

void ServerTest::stop_and_wait() {
  server_->stop();
  runner_.join();
}

void ServerTest::TearDown() {
  if (runner_.joinable()) stop_and_wait();
  // Responders must be dropped while the server they answer through still exists.
  gate_.clear();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(workers_mutex_);
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
  server_.reset();
}

void ServerTest::answer_later(Responder respond, Response response,
                              std::chrono::milliseconds delay) {
  std::lock_guard lock(workers_mutex_);
  workers_.emplace_back(
      [respond = std::move(respond), response = std::move(response), delay]() mutable {
        std::this_thread::sleep_for(delay);
        respond(std::move(response));
      });
}

std::optional<std::string> ServerTest::metric(std::string_view series) const {
  std::string text = registry_.render_prometheus();
  std::string prefix = std::string(series) + " ";
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + at, end - at);
    if (line.substr(0, prefix.size()) == prefix) return std::string(line.substr(prefix.size()));
    at = end + 1;
  }
  return std::nullopt;
}

void expect_problem(const HttpReply& reply, int status, std::string_view code) {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "application/problem+json");
  json problem = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(problem.is_object()) << reply.body;
  for (const char* member : {"type", "title", "status", "code", "instance", "request_id"}) {
    EXPECT_TRUE(problem.contains(member)) << member << " missing in " << reply.body;
  }
  EXPECT_EQ(problem.value("type", ""), "https://station.dev/problems/" + std::string(code));
  EXPECT_EQ(problem.value("status", 0), status);
  EXPECT_EQ(problem.value("code", ""), code);
  EXPECT_FALSE(problem.value("title", "").empty());
  EXPECT_EQ(problem.value("request_id", ""), reply.header("x-request-id"));
}

void expect_standard_headers(const HttpReply& reply) {
  EXPECT_FALSE(reply.header("x-request-id").empty());
  static const std::regex kImfFixdate(
      R"([A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT)");
  EXPECT_TRUE(std::regex_match(reply.header("date"), kImfFixdate)) << reply.header("date");
  EXPECT_EQ(reply.header("server"), "station");
}

RawConnection::RawConnection(std::uint16_t port) : stream_(io_) {
  beast::error_code ec;
  stream_.socket().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  connected_ = !ec;
}

bool RawConnection::send(std::string_view bytes) {
  beast::error_code ec;
  net::write(stream_.socket(), net::buffer(bytes.data(), bytes.size()), ec);
  return !ec;
}

std::optional<HttpReply> RawConnection::read_reply() {
  if (end_ != End::kOpen) return std::nullopt;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1024 * 1024);
  beast::error_code result = net::error::would_block;
  stream_.expires_after(kWaitMax);
  bhttp::async_read(stream_, buffer_, parser,
                    [&result](beast::error_code ec, std::size_t) { result = ec; });
  io_.restart();
  io_.run();
  if (result) {
    note_end(result);
    return std::nullopt;
  }
  const auto& message = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = message.body();
  return reply;
}

bool RawConnection::wait_closed(std::string* received) {
  if (received) *received += beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  if (end_ != End::kOpen) return end_ == End::kClosed;
  char chunk[4096];
  while (true) {
    beast::error_code result = net::error::would_block;
    std::size_t n = 0;
    stream_.expires_after(kWaitMax);
    stream_.async_read_some(net::buffer(chunk), [&](beast::error_code ec, std::size_t bytes) {
      result = ec;
      n = bytes;
    });
    io_.restart();
    io_.run();
    if (received) received->append(chunk, n);
    if (result) {
      note_end(result);
      return end_ == End::kClosed;
    }
  }
}

void RawConnection::note_end(const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    end_ = End::kTimedOut;
    return;
  }
  // Bytes that are not an HTTP answer say nothing about whether the connection is still open.
  const auto& http_errors = bhttp::make_error_code(bhttp::error::bad_version).category();
  bool parse_error = ec.category() == http_errors && ec != bhttp::error::end_of_stream &&
                     ec != bhttp::error::partial_message;
  // Otherwise end of stream, reset, or a socket that never connected: closed either way.
  if (!parse_error) end_ = End::kClosed;
}

}  // namespace station::http::test
