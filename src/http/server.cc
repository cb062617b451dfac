#include "http/server.h"

#include <atomic>
#include <cassert>
#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace station::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string generate_request_id() {
  thread_local std::mt19937_64 random(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t value = random();
  std::string out(16, '0');
  for (auto& c : out) {
    c = kHex[value & 15U];
    value >>= 4;
  }
  return out;
}

// A client's X-Request-Id is kept when it is short and plain, so ids can be correlated across
// systems without letting a client inject text into logs.
bool is_acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; nullopt for a malformed escape or a NUL byte.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buffer, n);
}

std::string method_label(std::string_view method) {
  for (std::string_view known : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
    if (method == known) return std::string(method);
  }
  return "other";  // bounded label cardinality whatever clients send
}

}  // namespace

class Session;

struct Server::Impl {
  Impl(ServerOptions o, const Router& r, metrics::Registry& m, std::shared_ptr<spdlog::logger> l)
      : options(std::move(o)), router(r), registry(m), access_log(std::move(l)) {}

  void accept();
  void begin_stop();
  void session_closed();
  void record(const Request& request, int status, std::size_t bytes_in, std::size_t bytes_out,
              Clock::time_point started);

  ServerOptions options;
  const Router& router;
  metrics::Registry& registry;
  std::shared_ptr<spdlog::logger> access_log;

  net::io_context io;
  tcp::acceptor acceptor{net::make_strand(io)};
  net::signal_set signals{io};
  net::steady_timer grace_timer{io};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint32_t> open_connections{0};

  std::mutex sessions_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;  // GUARDED_BY(sessions_mutex)
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {
    beast::error_code ignored;
    auto endpoint = stream_.socket().remote_endpoint(ignored);
    remote_ = ignored ? "" : endpoint.address().to_string();
  }

  ~Session() { server_.session_closed(); }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // On the session's strand: closes an idle connection at once; a busy one after its answer.
  void stop_if_idle() {
    if (idle_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.close();
    }
  }

  net::any_io_executor get_executor_for_stop() { return stream_.get_executor(); }

  // On the session's strand: the grace period is over.
  void force_close() {
    work_.reset();
    stream_.close();
  }

 private:
  void read_header() {
    if (server_.stopping) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_bytes_max));
    parser_->body_limit(server_.options.body_bytes_max);
    auto wait_ms = first_request_ ? server_.options.request_timeout_ms
                                  : server_.options.keep_alive_idle_ms;
    stream_.expires_after(std::chrono::milliseconds(wait_ms));
    idle_ = true;
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    idle_ = false;
    first_request_ = false;
    started_ = Clock::now();
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return on_request();
    stream_.expires_after(std::chrono::milliseconds(server_.options.request_timeout_ms));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code body_ec, std::size_t) {
                        if (body_ec) return self->on_read_error(body_ec);
                        self->on_request();
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return answer_error(ErrorCode::kPayloadTooLarge,
                          "the body is larger than " +
                              std::to_string(server_.options.body_bytes_max) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return answer_error(ErrorCode::kHeaderTooLarge, "the request header block is too large");
    }
    // Closed by the peer, timed out (Beast has closed the socket), or cancelled by a stop.
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::bad_descriptor) {
      return close();
    }
    answer_error(ErrorCode::kMalformedRequest, "the request is not valid HTTP/1.1");
  }

  // Answers a request that could not be read, then closes the connection.
  void answer_error(ErrorCode code, std::string_view detail) {
    request_ = Request{};
    request_.request_id = generate_request_id();
    request_.remote_address = remote_;
    request_.route = "unmatched";
    keep_alive_ = false;
    write(problem(code, detail, request_));
  }

  void on_request() {
    auto& message = parser_->get();
    request_ = Request{};
    request_.method = std::string(message.method_string());
    request_.target = std::string(message.target());
    request_.remote_address = remote_;
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto [it, inserted] = request_.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += "," + std::string(field.value());
    }
    auto id = request_.header("x-request-id");
    request_.request_id = id && is_acceptable_request_id(*id) ? std::string(*id)
                                                             : generate_request_id();
    request_.body = std::move(message.body());
    keep_alive_ = message.keep_alive();
    bytes_in_ = request_.body.size();

    std::string_view target = request_.target;
    auto question = target.find('?');
    auto path = percent_decode(target.substr(0, question), false);
    bool query_ok = true;
    if (question != std::string_view::npos) {
      std::string_view query = target.substr(question + 1);
      while (!query.empty() && query_ok) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        auto eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq), true);
        auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
        query_ok = name && value && request_.query.size() < limits::kHttpQueryParamsMax;
        if (query_ok && !name->empty()) request_.query.emplace(*name, *value);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      }
    }
    if (!path || !query_ok) {
      request_.route = "unmatched";
      keep_alive_ = false;
      return write(problem(ErrorCode::kMalformedRequest, "the request target is malformed",
                           request_));
    }
    request_.path = std::move(*path);

    // The handler may answer later from another thread; until then the io loop must not end.
    work_.emplace(net::make_work_guard(server_.io));
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [self = shared_from_this(), answered](Response response) {
      bool already = answered->exchange(true);
      assert(!already && "a request is answered exactly once");
      if (already) return;
      net::post(self->stream_.get_executor(),
                [self, response = std::move(response)]() mutable {
                  self->write(std::move(response));
                });
    };
    server_.router.dispatch(request_, std::move(respond));
  }

  void write(Response response) {
    if (request_.route.empty()) request_.route = "unmatched";
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), 11);
    message->set(bhttp::field::server, "station");
    message->set(bhttp::field::date, http_date());
    message->set(bhttp::field::content_type, response.content_type);
    message->set("X-Request-Id", request_.request_id);
    message->set("X-Content-Type-Options", "nosniff");
    message->set(bhttp::field::cache_control, "no-store");
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    bool keep = keep_alive_ && !server_.stopping;
    message->keep_alive(keep);
    message->prepare_payload();
    server_.record(request_, response.status, bytes_in_, message->body().size(), started_);

    stream_.expires_after(std::chrono::milliseconds(server_.options.request_timeout_ms));
    bhttp::async_write(stream_, *message,
                       [self = shared_from_this(), message, keep](beast::error_code ec,
                                                                  std::size_t) {
                         self->work_.reset();
                         if (ec || !keep) return self->close();
                         self->read_header();
                       });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  Server::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  Request request_;
  std::string remote_;
  Clock::time_point started_ = Clock::now();
  std::size_t bytes_in_ = 0;
  bool keep_alive_ = true;
  bool first_request_ = true;
  bool idle_ = false;
};

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      return accept();  // e.g. EMFILE: keep serving the connections we have
    }
    if (stopping || open_connections.load() >= options.connections_max) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      open_connections.fetch_add(1);
      auto session = std::make_shared<Session>(*this, std::move(socket));
      {
        std::lock_guard lock(sessions_mutex);
        sessions[session.get()] = session;
      }
      session->start();
    }
    accept();
  });
}

void Server::Impl::session_closed() {
  // Called from ~Session; the map entry is removed by pointer (the weak_ptr is already expired).
  std::lock_guard lock(sessions_mutex);
  for (auto it = sessions.begin(); it != sessions.end();) {
    it = it->second.expired() ? sessions.erase(it) : std::next(it);
  }
  if (open_connections.fetch_sub(1) == 1 && stopping) {
    net::post(io, [this] { grace_timer.cancel(); });
  }
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
  });
  net::post(io, [this] {
    signals.cancel();
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(sessions_mutex);
      for (auto& [pointer, weak] : sessions) {
        if (auto session = weak.lock()) live.push_back(std::move(session));
      }
    }
    if (live.empty()) return;
    for (auto& session : live) {
      net::dispatch(session->get_executor_for_stop(),
                    [session] { session->stop_if_idle(); });
    }
    grace_timer.expires_after(std::chrono::milliseconds(options.shutdown_grace_ms));
    grace_timer.async_wait([this](beast::error_code ec) {
      if (ec) return;  // every connection finished in time
      std::lock_guard lock(sessions_mutex);
      for (auto& [pointer, weak] : sessions) {
        if (auto session = weak.lock()) {
          net::dispatch(session->get_executor_for_stop(), [session] { session->force_close(); });
        }
      }
    });
  });
}

void Server::Impl::record(const Request& request, int status, std::size_t bytes_in,
                          std::size_t bytes_out, Clock::time_point started) {
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::string method = method_label(request.method);
  registry
      .counter("station_http_requests_total", "HTTP requests answered",
               {{"route", request.route}, {"method", method}, {"status", std::to_string(status)}})
      .add();
  registry
      .histogram("station_http_request_duration_seconds",
                 "Time from a request's header to its answer", metrics::Registry::latency_buckets_seconds(),
                 {{"route", request.route}, {"method", method}})
      .observe(seconds);
  if (access_log) {
    nlohmann::json line = {
        {"ts", std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()},
        {"request_id", request.request_id},
        {"remote", request.remote_address},
        {"method", request.method},
        {"path", request.path},
        {"route", request.route},
        {"status", status},
        {"bytes_in", bytes_in},
        {"bytes_out", bytes_out},
        {"duration_ms", seconds * 1000},
        {"principal", request.principal},
    };
    access_log->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

Server::Server(ServerOptions options, const Router& router, metrics::Registry& registry,
               std::shared_ptr<spdlog::logger> access_log)
    : impl_(std::make_unique<Impl>(std::move(options), router, registry, std::move(access_log))) {
  impl_->registry.gauge_callback("station_http_open_connections", "Open HTTP connections",
                                 [impl = impl_.get()] {
                                   return static_cast<double>(impl->open_connections.load());
                                 });
}

Server::~Server() {
  stop();
  impl_->io.stop();
}

Status Server::listen() {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.listen_host, ec);
  if (ec) {
    // Names such as "localhost" resolve to their first address.
    tcp::resolver resolver(impl_->io);
    auto results = resolver.resolve(impl_->options.listen_host, "", ec);
    if (ec || results.empty()) {
      return Status(ErrorCode::kValidationFailed,
                    "cannot resolve listen host '" + impl_->options.listen_host + "'");
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, impl_->options.listen_port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(ErrorCode::kUnavailable, "cannot listen on " + impl_->options.listen_host + ":" +
                                               std::to_string(impl_->options.listen_port) + ": " +
                                               ec.message());
  }
  impl_->accept();
  return Status::ok();
}

std::uint16_t Server::port() const {
  beast::error_code ec;
  auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void Server::run() {
  std::vector<std::thread> threads;
  for (std::uint32_t i = 1; i < std::max<std::uint32_t>(impl_->options.threads, 1); ++i) {
    threads.emplace_back([this] { impl_->io.run(); });
  }
  impl_->io.run();
  for (auto& thread : threads) thread.join();
}

void Server::stop() { impl_->begin_stop(); }

void Server::stop_on_signals() {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.async_wait([this](beast::error_code ec, int) {
    if (!ec) stop();
  });
}

void add_operational_routes(Router& router, metrics::Registry& registry,
                            std::function<Status()> readiness) {
  router.add("GET", "/healthz", [](Request&, Responder respond) {
    respond(json_response(200, R"({"status":"ok"})"));
  });
  router.add("GET", "/readyz", [readiness](Request& request, Responder respond) {
    Status status = readiness();
    if (!status.is_ok()) {
      return respond(problem(ErrorCode::kUnavailable, "not ready: " + status.message(), request));
    }
    respond(json_response(200, R"({"status":"ready"})"));
  });
  router.add("GET", "/metrics", [&registry](Request&, Responder respond) {
    Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = registry.render_prometheus();
    respond(std::move(response));
  });
}

}  // namespace station::http
