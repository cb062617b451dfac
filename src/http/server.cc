#include "http/server.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "http/target.h"

namespace station::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using TlsStream = net::ssl::stream<tcp::socket>;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

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
  if (id.empty() || id.size() > limits::kHttpRequestIdBytesMax) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
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

// True for the parser's own errors (bad syntax), as opposed to I/O errors of the socket.
bool is_http_syntax_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

using RequestHeader = bhttp::request_header<>;

// Method, target, decoded path, headers and request id: what can be known from the header alone.
void fill_from_header(const RequestHeader& header, Request& request) {
  request.method = std::string(header.method_string());
  request.target = std::string(header.target());
  for (const auto& field : header) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += "," + std::string(field.value());
  }
  auto id = request.header("x-request-id");
  if (id && is_acceptable_request_id(*id)) request.request_id = std::string(*id);
}

// One io_context per io thread (at least one), each told that one thread runs it.
std::vector<std::unique_ptr<net::io_context>> make_contexts(std::uint32_t threads) {
  std::vector<std::unique_ptr<net::io_context>> contexts;
  for (std::uint32_t i = 0; i < std::max<std::uint32_t>(threads, 1); ++i) {
    contexts.push_back(std::make_unique<net::io_context>(1));
  }
  return contexts;
}

std::vector<net::executor_work_guard<net::io_context::executor_type>> guard_all_but_first(
    const std::vector<std::unique_ptr<net::io_context>>& contexts) {
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (std::size_t i = 1; i < contexts.size(); ++i) {
    guards.push_back(net::make_work_guard(*contexts[i]));
  }
  return guards;
}

}  // namespace

// What the server and its tracker need of a connection, whatever its transport.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual net::any_io_executor executor() = 0;
  virtual void stop_if_idle() = 0;
  virtual void force_close() = 0;
};

// The sessions alive. Shared with every session, so that a session destroyed late (when its
// last owner is a queued handler destroyed with the io_context) never touches a destroyed
// server.
struct SessionTracker {
  std::size_t size() {
    std::lock_guard lock(mutex);
    return sessions.size();
  }
  void add(const std::shared_ptr<Connection>& session) {
    std::lock_guard lock(mutex);
    sessions.emplace(session.get(), session);
  }
  std::vector<std::shared_ptr<Connection>> live() {
    std::vector<std::shared_ptr<Connection>> out;
    std::lock_guard lock(mutex);
    for (auto& [pointer, weak] : sessions) {
      if (auto session = weak.lock()) out.push_back(std::move(session));
    }
    return out;
  }
  // From ~Session; tells the server when the last session of a stop is gone.
  void remove(Connection* session);

  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> sessions;  // GUARDED_BY(mutex)
  Server::Impl* server = nullptr;  // GUARDED_BY(mutex); null once the server is being destroyed
};

struct Server::Impl {
  Impl(ServerOptions o, const Router& r, metrics::Registry& m, std::shared_ptr<spdlog::logger> l);
  ~Impl();

  void accept();
  void begin_stop();
  // On `control`: the stop itself (begin_stop posts it here).
  void stop_on_control();
  // On `control`: the first SIGINT/SIGTERM stops gracefully, the next one cuts the grace short.
  void wait_for_signal();
  // On `control`: closes every connection now; the stop is over.
  void end_grace();
  // On `control`: ends the grace period early once a stop has no connection left.
  void check_drained();
  // On `control`, once a stop is over: lets every context's run() return when its own
  // connections are gone.
  void release_contexts();
  // TLS 1.2 and later only, with the certificate chain and key of `files`.
  Status load_tls(const TlsFiles& files);
  void record(const Request& request, int status, std::size_t bytes_in, std::size_t bytes_out,
              SteadyClock::time_point started);

  ServerOptions options;
  const Router& router;
  metrics::Registry& registry;
  std::shared_ptr<spdlog::logger> access_log;
  std::shared_ptr<SessionTracker> tracker = std::make_shared<SessionTracker>();
  metrics::Counter& connections_refused;
  std::uint16_t bound_port = 0;

  // One io_context per io thread, each run by its thread alone; a connection lives on one of
  // them from accept to close. With one context shared by several threads, completions woke
  // the other thread (futex, epoll): a fifth to a quarter of a small request's CPU
  // (docs/benchmarks.md).
  // Declared after everything a session uses: destroying an io_context destroys the sessions
  // still held by its queued handlers.
  std::vector<std::unique_ptr<net::io_context>> contexts = make_contexts(options.threads);
  // Keeps the contexts of threads 2..n running while they have no connection, until the stop
  // is over (release_contexts); the first one has the acceptor and the signals.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running =
      guard_all_but_first(contexts);
  std::size_t next_context = 0;  // on `control`: the context of the next accepted connection
  // Accepting, signals, the grace period and the drain check are serialised on this strand.
  net::strand<net::io_context::executor_type> control{contexts.front()->get_executor()};
  tcp::acceptor acceptor{control};
  // Set by listen() when options.tls is given: the certificate chain and key every HTTPS
  // connection is served with.
  std::optional<net::ssl::context> tls;
  net::signal_set signals{control};
  net::steady_timer grace_timer{control};
  net::steady_timer accept_retry_timer{control};
  // On `control`: end_grace() has run. A second signal can end the grace period before the
  // stop it cuts short has run on `control`; the stop must then not start a new grace period.
  bool grace_ended = false;
};

void SessionTracker::remove(Connection* session) {
  std::lock_guard lock(mutex);
  sessions.erase(session);
  if (sessions.empty() && stopping && server != nullptr) {
    net::post(server->control, [impl = server] { impl->check_drained(); });
  }
}

// One connection. Every member is used on the connection's strand only; the Responder's
// answer is posted onto it. Phases:
//   kIdle      waiting for a request's first byte (a stop closes the connection at once)
//   kReading   reading a request against its deadline; on expiry the read is cancelled and
//              408 answered
//   kHandling  the router has the request; no deadline (a stop's grace period bounds it)
//   kWriting   writing the answer; on expiry the connection is closed
//   kLingering after an error answer: dropping what the client still sends, then closing
//   kClosed
//
// `Stream` is tcp::socket (plain HTTP) or ssl::stream<tcp::socket> (HTTPS). With TLS the
// handshake comes first, in phase kIdle under the first request's deadline; closing skips the
// TLS close_notify (HTTP/1.1 frames its messages, so a truncation cannot pass for an end).
template <class Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  // `io` is the context `socket` was accepted on.
  Session(Server::Impl& server, std::shared_ptr<SessionTracker> tracker, net::io_context& io,
          tcp::socket socket)
      : server_(server),
        tracker_(std::move(tracker)),
        io_(io),
        socket_(make_stream(server, std::move(socket))),
        timer_(socket_.get_executor()) {
    beast::error_code ec;
    auto endpoint = tcp_socket().remote_endpoint(ec);
    remote_ = ec ? "" : endpoint.address().to_string();
  }
  ~Session() override { tracker_->remove(this); }

  net::any_io_executor executor() override { return socket_.get_executor(); }

  void start() {
    // A new connection must send its whole first request within the request timeout.
    request_deadline_ = SteadyClock::now() + request_timeout();
    if constexpr (kTls) {
      phase_ = Phase::kIdle;
      arm(request_deadline_);
      socket_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (self->phase_ != Phase::kIdle) return;  // closed meanwhile
                                if (ec) return self->close();  // not TLS, or no common ground
                                self->wait_for_request(self->request_deadline_);
                              });
    } else {
      wait_for_request(request_deadline_);
    }
  }

  void stop_if_idle() override {
    if (phase_ == Phase::kIdle) close();
  }

  void force_close() override { close(); }

  // From any thread: the handler's answer.
  void post_answer(Response response) {
    net::post(executor(), [self = this->shared_from_this(), response = std::move(response)]() mutable {
      if (self->phase_ != Phase::kHandling) return;  // closed when the grace period ended
      self->write(std::move(response));
    });
  }

  // From any thread: the handler dropped its Responder without answering.
  void post_unanswered() {
    net::post(executor(), [self = this->shared_from_this()] {
      if (self->phase_ != Phase::kHandling) return;
      spdlog::error("http: the handler of {} {} dropped its responder without answering",
                    self->request_.method, self->request_.route);
      self->write(problem(ErrorCode::kInternal, "the request was not answered", self->request_));
    });
  }

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kLingering, kClosed };

  static Stream make_stream(Server::Impl& server, tcp::socket socket);
  tcp::socket& tcp_socket() { return beast::get_lowest_layer(socket_); }

  milliseconds request_timeout() const { return milliseconds(server_.options.request_timeout_ms); }

  void wait_for_request(SteadyClock::time_point idle_deadline) {
    if (tracker_->stopping) return close();
    if (buffer_.size() > 0) return read_request();  // a pipelined request is already here
    phase_ = Phase::kIdle;
    arm(idle_deadline);
    socket_.async_read_some(buffer_.prepare(limits::kHttpReadChunkBytes),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (self->phase_ != Phase::kIdle) return;  // closed meanwhile
                              if (ec) return self->close();              // the client left
                              self->read_request();
                            });
  }

  void read_request() {
    phase_ = Phase::kReading;
    started_ = SteadyClock::now();
    if (!first_request_) request_deadline_ = started_ + request_timeout();
    first_request_ = false;
    timed_out_ = false;
    arm(request_deadline_);
    parser_.emplace();
    assert(server_.options.header_bytes_max <= UINT32_MAX);
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_bytes_max));
    parser_->body_limit(server_.options.body_bytes_max);
    bhttp::async_read_header(
        socket_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec || timed_out_) return on_read_error(ec);
    if (parser_->is_done()) return on_request();
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      // The body is within limits (Beast checked Content-Length): ask the client for it.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                              [self = this->shared_from_this()](beast::error_code write_ec, std::size_t) {
                                if (write_ec || self->timed_out_) {
                                  return self->on_read_error(write_ec);
                                }
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || self->timed_out_) return self->on_read_error(ec);
                        self->on_request();
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    assert(phase_ == Phase::kReading);
    if (ec == bhttp::error::body_limit) {
      return answer_error(
          ErrorCode::kPayloadTooLarge,
          "the body is larger than " + std::to_string(server_.options.body_bytes_max) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return answer_error(ErrorCode::kHeaderTooLarge,
                          "the request header block is larger than " +
                              std::to_string(server_.options.header_bytes_max) + " bytes");
    }
    if (timed_out_) {
      return answer_error(ErrorCode::kRequestTimeout,
                          "the request did not arrive within " +
                              std::to_string(server_.options.request_timeout_ms) + " ms");
    }
    // The client left mid-request, or the socket failed: nobody to answer.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        !is_http_syntax_error(ec)) {
      return close();
    }
    answer_error(ErrorCode::kMalformedRequest, "the request is not valid HTTP/1.1");
  }

  // Answers a request that was not read whole, then lingers and closes.
  void answer_error(ErrorCode code, std::string detail) {
    request_ = Request{};
    if (parser_) {
      // Whatever of the header was parsed (all of it when the body was refused from its
      // Content-Length), so that the answer keeps the client's request id and the metrics
      // and log name the method and path.
      fill_from_header(parser_->get().base(), request_);
      if (auto target = parse_target(request_.target); target.is_ok()) {
        request_.path = std::move(target->path);
      }
    }
    if (request_.request_id.empty()) request_.request_id = generate_request_id();
    request_.remote_address = remote_;
    request_.route = "unmatched";
    keep_alive_ = false;
    linger_ = true;
    bytes_in_ = 0;
    write(problem(code, detail, request_));
  }

  void on_request() {
    auto& message = parser_->get();
    request_ = Request{};
    fill_from_header(message.base(), request_);
    if (request_.request_id.empty()) request_.request_id = generate_request_id();
    request_.remote_address = remote_;
    request_.body = std::move(message.body());
    keep_alive_ = message.keep_alive();
    linger_ = false;
    bytes_in_ = request_.body.size();
    parser_.reset();

    auto target = parse_target(request_.target);
    if (!target.is_ok()) {
      request_.route = "unmatched";
      keep_alive_ = false;  // a client that sends such targets is not worth keeping
      return write(problem(target.status(), request_));
    }
    request_.path = std::move(target->path);
    request_.query = std::move(target->query);

    phase_ = Phase::kHandling;
    disarm();
    // The handler may answer later from another thread; until then run() must not return.
    work_.emplace(io_.get_executor());
    auto pending = std::make_shared<PendingAnswer>(this->shared_from_this());
    try {
      server_.router.dispatch(
          request_, [pending](Response response) { pending->answer(std::move(response)); });
    } catch (const std::exception& error) {
      // The edge for handler code: a throwing handler has dropped its Responder, which answers
      // 500 (see PendingAnswer), or it had answered already.
      spdlog::error("http: the handler of {} {} threw: {}", request_.method, request_.route,
                    error.what());
    }
  }

  void write(Response response) {
    assert(phase_ == Phase::kReading || phase_ == Phase::kHandling);
    assert(response.status >= 100 && response.status <= 599);
    phase_ = Phase::kWriting;
    if (request_.route.empty()) request_.route = "unmatched";
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), 11);
    message->set(bhttp::field::server, "station");
    message->set(bhttp::field::date, http_date());
    message->set(bhttp::field::content_type, response.content_type);
    message->set("X-Request-Id", request_.request_id);
    message->set("X-Content-Type-Options", "nosniff");
    message->set(bhttp::field::cache_control, "no-store");
    // A handler's header replaces the default of that name; Set-Cookie may come several times.
    for (const auto& [name, value] : response.headers) {
      if (beast::iequals(name, "Set-Cookie")) {
        message->insert(bhttp::field::set_cookie, value);
      } else {
        message->set(name, value);
      }
    }
    message->body() = std::move(response.body);
    bool keep = keep_alive_ && !tracker_->stopping;
    message->keep_alive(keep);
    message->prepare_payload();
    // An answer to HEAD never has a body (it would be read as the next answer).
    if (request_.method == "HEAD") message->body().clear();
    server_.record(request_, response.status, bytes_in_, message->body().size(), started_);

    arm(SteadyClock::now() + request_timeout());  // a client that does not read its answer
    bhttp::async_write(
        socket_, *message,
        [self = this->shared_from_this(), message, keep](beast::error_code ec, std::size_t) {
          self->work_.reset();
          if (self->phase_ != Phase::kWriting) return;  // closed meanwhile
          if (ec) return self->close();
          if (!keep) return self->linger_ ? self->linger() : self->close();
          self->wait_for_request(SteadyClock::now() +
                                 milliseconds(self->server_.options.keep_alive_idle_ms));
        });
  }

  // Half-closes, then reads and drops for a bounded time what the client still sends (the rest
  // of a refused body), so that closing does not reset the connection before the client has
  // read the answer.
  void linger() {
    phase_ = Phase::kLingering;
    beast::error_code ignored;
    tcp_socket().shutdown(tcp::socket::shutdown_send, ignored);
    arm(SteadyClock::now() + milliseconds(limits::kHttpLingerMs));
    buffer_.consume(buffer_.size());
    lingered_bytes_ = 0;
    linger_read();
  }

  void linger_read() {
    socket_.async_read_some(buffer_.prepare(limits::kHttpReadChunkBytes),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (self->phase_ != Phase::kLingering) return;
                              self->lingered_bytes_ += n;  // not committed: dropped
                              if (ec || self->lingered_bytes_ >= limits::kHttpLingerBytesMax) {
                                return self->close();
                              }
                              self->linger_read();
                            });
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    disarm();
    work_.reset();
    beast::error_code ignored;
    tcp_socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_socket().close(ignored);
  }

  // One deadline at a time; a generation number makes a superseded expiry harmless.
  void arm(SteadyClock::time_point deadline) {
    ++timer_generation_;
    timer_.expires_at(deadline);
    timer_.async_wait(
        [self = this->shared_from_this(), generation = timer_generation_](beast::error_code ec) {
          if (ec || generation != self->timer_generation_) return;
          self->on_deadline();
        });
  }

  void disarm() {
    ++timer_generation_;
    timer_.cancel();
  }

  void on_deadline() {
    switch (phase_) {
      case Phase::kReading: {
        // The cancelled read's handler answers 408 on this strand.
        timed_out_ = true;
        beast::error_code ignored;
        tcp_socket().cancel(ignored);
        return;
      }
      case Phase::kIdle:
      case Phase::kWriting:
      case Phase::kLingering:
        return close();
      case Phase::kHandling:
      case Phase::kClosed:
        return;
    }
  }

  // Shared by the copies of one request's Responder: answers once; when the last copy goes
  // unanswered, answers 500 instead.
  class PendingAnswer {
   public:
    explicit PendingAnswer(std::shared_ptr<Session> session) : session_(std::move(session)) {}
    ~PendingAnswer() {
      if (!answered_.exchange(true)) session_->post_unanswered();
    }
    PendingAnswer(const PendingAnswer&) = delete;
    PendingAnswer& operator=(const PendingAnswer&) = delete;

    void answer(Response response) {
      bool already = answered_.exchange(true);
      assert(!already && "a request is answered exactly once");
      if (!already) session_->post_answer(std::move(response));
    }

   private:
    std::shared_ptr<Session> session_;
    std::atomic<bool> answered_{false};
  };

  Server::Impl& server_;
  std::shared_ptr<SessionTracker> tracker_;
  net::io_context& io_;
  Stream socket_;
  net::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  Phase phase_ = Phase::kIdle;
  Request request_;
  std::string remote_;
  SteadyClock::time_point started_ = SteadyClock::now();
  SteadyClock::time_point request_deadline_;
  std::size_t bytes_in_ = 0;
  std::size_t lingered_bytes_ = 0;
  bool keep_alive_ = true;
  bool linger_ = false;
  bool first_request_ = true;
  bool timed_out_ = false;
};

template <>
tcp::socket Session<tcp::socket>::make_stream(Server::Impl&, tcp::socket socket) {
  return socket;
}

template <>
TlsStream Session<TlsStream>::make_stream(Server::Impl& server, tcp::socket socket) {
  assert(server.tls.has_value());
  return TlsStream(std::move(socket), *server.tls);
}

Server::Impl::Impl(ServerOptions o, const Router& r, metrics::Registry& m,
                   std::shared_ptr<spdlog::logger> l)
    : options(std::move(o)),
      router(r),
      registry(m),
      access_log(std::move(l)),
      connections_refused(
          registry.counter("station_http_connections_refused_total",
                           "Connections closed on arrival because connections_max were open")) {
  tracker->server = this;
  registry.gauge_callback("station_http_open_connections", "Open HTTP connections",
                          [tracker = tracker] { return static_cast<double>(tracker->size()); });
}

Server::Impl::~Impl() {
  std::lock_guard lock(tracker->mutex);
  tracker->server = nullptr;
}

void Server::Impl::accept() {
  // Round robin: each new connection on the next thread's context.
  net::io_context& io = *contexts[next_context++ % contexts.size()];
  acceptor.async_accept(net::make_strand(io), [this, &io](beast::error_code ec,
                                                          tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;  // stopping
    if (ec) {
      // E.g. out of file descriptors: keep serving the connections there are, retry soon.
      spdlog::warn("http: accept failed: {}", ec.message());
      accept_retry_timer.expires_after(milliseconds(limits::kHttpAcceptRetryMs));
      return accept_retry_timer.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && acceptor.is_open()) accept();
      });
    }
    if (tracker->size() >= options.connections_max) {
      connections_refused.add();
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      auto start = [this](auto session) {
        tracker->add(session);
        net::dispatch(session->executor(), [session] { session->start(); });
      };
      if (tls) {
        start(std::make_shared<Session<TlsStream>>(*this, tracker, io, std::move(socket)));
      } else {
        start(std::make_shared<Session<tcp::socket>>(*this, tracker, io, std::move(socket)));
      }
    }
    accept();
  });
}

void Server::Impl::begin_stop() {
  if (tracker->stopping.exchange(true)) return;
  net::post(control, [this] { stop_on_control(); });
}

void Server::Impl::stop_on_control() {
  beast::error_code ignored;
  acceptor.close(ignored);
  accept_retry_timer.cancel();
  if (grace_ended) return;  // cut short already: every connection has been closed
  for (auto& session : tracker->live()) {
    net::post(session->executor(), [session] { session->stop_if_idle(); });
  }
  grace_timer.expires_after(milliseconds(options.shutdown_grace_ms));
  grace_timer.async_wait([this](beast::error_code ec) {
    if (!ec) end_grace();  // else every connection finished in time
  });
  check_drained();
}

void Server::Impl::wait_for_signal() {
  signals.async_wait([this](beast::error_code ec, int) {
    if (ec) return;  // cancelled: the stop is over
    if (tracker->stopping.exchange(true)) {
      // Not waited for again: a wait outstanding would keep run() from returning.
      return end_grace();
    }
    spdlog::info("http: stopping; in-flight requests get {} ms (signal again to cut short)",
                 options.shutdown_grace_ms);
    // Armed before the stop, whose check_drained() cancels it at once when nothing is open;
    // otherwise cancelled by check_drained() or end_grace() when the stop is over.
    wait_for_signal();
    stop_on_control();
  });
}

void Server::Impl::end_grace() {
  grace_ended = true;
  for (auto& session : tracker->live()) {
    net::post(session->executor(), [session] { session->force_close(); });
  }
  // Nothing is left to wait for: a session whose Responder is still held elsewhere is closed
  // but not yet destroyed, and must not keep run() from returning.
  grace_timer.cancel();
  beast::error_code ignored;
  signals.cancel(ignored);
  release_contexts();
}

void Server::Impl::check_drained() {
  if (!tracker->stopping || tracker->size() > 0) return;
  grace_timer.cancel();
  beast::error_code ignored;
  signals.cancel(ignored);
  release_contexts();
}

void Server::Impl::release_contexts() {
  for (auto& guard : keep_running) guard.reset();
}

Status Server::Impl::load_tls(const TlsFiles& files) {
  net::ssl::context context(net::ssl::context::tls_server);
  beast::error_code ec;
  context.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                          net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                          net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use,
                      ec);
  if (!ec) context.use_certificate_chain_file(files.certificate_chain_file, ec);
  if (ec) {
    return Status(ErrorCode::kValidationFailed, "cannot use the TLS certificate chain '" +
                                                    files.certificate_chain_file +
                                                    "': " + ec.message());
  }
  context.use_private_key_file(files.private_key_file, net::ssl::context::pem, ec);
  if (!ec && SSL_CTX_check_private_key(context.native_handle()) != 1) {
    ec = beast::error_code(static_cast<int>(ERR_get_error()), net::error::get_ssl_category());
  }
  if (ec) {
    return Status(ErrorCode::kValidationFailed, "cannot use the TLS private key '" +
                                                    files.private_key_file + "' with '" +
                                                    files.certificate_chain_file + "'");
  }
  tls.emplace(std::move(context));
  return Status::ok();
}

void Server::Impl::record(const Request& request, int status, std::size_t bytes_in,
                          std::size_t bytes_out, SteadyClock::time_point started) {
  double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  std::string method = method_label(request.method);
  registry
      .counter("station_http_requests_total", "HTTP requests answered",
               {{"route", request.route}, {"method", method}, {"status", std::to_string(status)}})
      .add();
  registry
      .histogram("station_http_request_duration_seconds",
                 "Time from a request's first byte to its answer",
                 metrics::Registry::latency_buckets_seconds(),
                 {{"route", request.route}, {"method", method}})
      .observe(seconds);
  if (!access_log) return;
  nlohmann::json line = {
      {"ts", format_rfc3339_ms(SystemClock().now_unix_ms())},
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

Server::Server(ServerOptions options, const Router& router, metrics::Registry& registry,
               std::shared_ptr<spdlog::logger> access_log)
    : impl_(std::make_unique<Impl>(std::move(options), router, registry, std::move(access_log))) {}

Server::~Server() = default;

Status Server::listen() {
  auto& options = impl_->options;
  auto& acceptor = impl_->acceptor;
  assert(!acceptor.is_open() && "listen() is called once");
  if (options.tls) STATION_RETURN_IF_ERROR(impl_->load_tls(*options.tls));
  beast::error_code ec;
  auto address = net::ip::make_address(options.listen_host, ec);
  if (ec) {
    // Names such as "localhost" resolve to their first address.
    tcp::resolver resolver(*impl_->contexts.front());
    auto results = resolver.resolve(options.listen_host, "", ec);
    if (ec || results.empty()) {
      return Status(ErrorCode::kValidationFailed,
                    "cannot resolve listen host '" + options.listen_host + "'");
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, options.listen_port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) impl_->bound_port = acceptor.local_endpoint(ec).port();
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return Status(ErrorCode::kUnavailable, "cannot listen on " + options.listen_host + ":" +
                                               std::to_string(options.listen_port) + ": " +
                                               ec.message());
  }
  net::dispatch(impl_->control, [impl = impl_.get()] { impl->accept(); });
  return Status::ok();
}

std::uint16_t Server::port() const { return impl_->bound_port; }

void Server::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
    threads.emplace_back([context = impl_->contexts[i].get()] { context->run(); });
  }
  impl_->contexts.front()->run();
  // Nothing runs `control` any more (a stop that ended released them already; without one,
  // e.g. run() before listen(), the other threads must not wait for ever).
  impl_->release_contexts();
  for (auto& thread : threads) thread.join();
}

void Server::stop() { impl_->begin_stop(); }

void Server::stop_on_signals() {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  net::dispatch(impl_->control, [impl = impl_.get()] { impl->wait_for_signal(); });
}

void add_operational_routes(Router& router, metrics::Registry& registry,
                            std::function<Status()> readiness) {
  router.add("GET", "/healthz", [](Request&, Responder respond) {
    respond(json_response(200, R"({"status":"ok"})"));
  });
  router.add("GET", "/readyz",
             [readiness = std::move(readiness)](Request& request, Responder respond) {
               Status status = readiness();
               if (!status.is_ok()) {
                 return respond(
                     problem(ErrorCode::kUnavailable, "not ready: " + status.message(), request));
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
