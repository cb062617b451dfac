#include "http/client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <charconv>
#include <mutex>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

namespace station::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using Clock = std::chrono::steady_clock;

Status unavailable(std::string message) {
  return Status(ErrorCode::kUnavailable, std::move(message));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Runs one asynchronous step started by `start` (which is handed a completion handler taking an
// error_code) until it completes or the deadline passes; on the deadline the socket is closed,
// which aborts the step.
template <typename Start, typename Socket>
boost::system::error_code run_step(asio::io_context& io, Clock::time_point deadline, Socket& socket,
                                   Start start) {
  std::optional<boost::system::error_code> result;
  start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
  io.restart();
  while (!result && Clock::now() < deadline) io.run_one_until(deadline);
  if (!result) {
    boost::system::error_code ignored;
    socket.close(ignored);
    io.restart();
    io.run();
    return asio::error::timed_out;
  }
  return *result;
}

// How an exchange ended, for the connection's reuse.
struct ExchangeEnd {
  bool reusable = false;  // answered whole, and the server keeps the connection open
  bool unanswered = false;  // not a byte of an answer came back (the server may never have read it)
};

template <typename Stream>
Result<ClientResponse> exchange(asio::io_context& io, Stream& stream, asio::ip::tcp::socket& socket,
                                Clock::time_point deadline, const Url& url,
                                const ClientRequest& request, std::size_t max_response_bytes,
                                bool keep_alive, ExchangeEnd& end) {
  bhttp::request<bhttp::string_body> message;
  message.method_string(request.method);
  message.target(url.target);
  message.version(11);
  const bool default_port = url.port == (url.tls ? 443 : 80);
  const std::string host =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  message.set(bhttp::field::host, default_port ? host : fmt::format("{}:{}", host, url.port));
  message.keep_alive(keep_alive);
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.body() = request.body;
  message.prepare_payload();
  end.unanswered = true;
  if (auto ec = run_step(io, deadline, socket,
                         [&](auto handler) { bhttp::async_write(stream, message, handler); })) {
    return unavailable(fmt::format("sending to {}: {}", url.host, ec.message()));
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(max_response_bytes, 64 * 1024)));
  parser.body_limit(max_response_bytes);
  if (auto ec = run_step(io, deadline, socket, [&](auto handler) {
        bhttp::async_read(stream, buffer, parser, handler);
      })) {
    end.unanswered = !parser.got_some();
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
      return Status(
          ErrorCode::kPayloadTooLarge,
          fmt::format("the response of {} is beyond {} bytes", url.host, max_response_bytes));
    }
    return unavailable(fmt::format("reading from {}: {}", url.host, ec.message()));
  }
  end.unanswered = false;
  auto response = parser.release();
  end.reusable = keep_alive && response.keep_alive() && buffer.size() == 0;
  ClientResponse out;
  out.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(response.body());
  return out;
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return Status(ErrorCode::kValidationFailed, fmt::format("URL '{}': {}", text, why));
  };
  if (text.size() > kClientUrlBytesMax) return invalid("too long");
  Url url;
  std::string_view rest;
  if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    url.tls = false;
    url.port = 80;
    rest = text.substr(7);
  } else {
    return invalid("not http or https");
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos || url.target.find('#') != std::string::npos) {
    return invalid("user info and fragments are not accepted");
  }
  for (char c : url.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return invalid("control character");
  }
  std::optional<std::string_view> port;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("unclosed IPv6 literal");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(":")) return invalid("bad port");
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty() || url.host.size() > 253) return invalid("no host");
  const bool ipv6 = authority.starts_with("[");
  for (char c : url.host) {
    const bool allowed =
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || (c == ':' && ipv6);
    if (!allowed) return invalid("bad host");
  }
  if (port) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(port->data(), port->data() + port->size(), value);
    if (port->empty() || error != std::errc() || end != port->data() + port->size() || value == 0 ||
        value > 65535) {
      return invalid("bad port");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

std::string ClientResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

// One open connection with its own io_context (the client is blocking): plain TCP, or TLS.
struct Client::Connection {
  std::string origin;  // scheme://host:port
  asio::io_context io;
  std::optional<asio::ip::tcp::socket> plain;
  std::optional<asio::ssl::context> tls_context;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> tls;

  asio::ip::tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  Result<ClientResponse> exchange(Clock::time_point deadline, const Url& url,
                                  const ClientRequest& request, std::size_t max_response_bytes,
                                  bool keep_alive, ExchangeEnd& end) {
    if (tls) {
      return http::exchange(io, *tls, socket(), deadline, url, request, max_response_bytes,
                            keep_alive, end);
    }
    return http::exchange(io, *plain, socket(), deadline, url, request, max_response_bytes,
                          keep_alive, end);
  }
};

struct Client::IdleConnections {
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> connections;  // GUARDED_BY(mutex)
};

namespace {

// Resolves, connects and (for https) completes a verified TLS handshake.
Result<std::unique_ptr<Client::Connection>> open_connection(const Url& url, std::string origin,
                                                            const ClientOptions& options,
                                                            Clock::time_point deadline) {
  auto connection = std::make_unique<Client::Connection>();
  connection->origin = std::move(origin);
  asio::io_context& io = connection->io;
  asio::ip::tcp::resolver resolver(io);
  asio::ip::tcp::resolver::results_type endpoints;
  {
    std::optional<boost::system::error_code> result;
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](boost::system::error_code ec, auto found) {
                             result = ec;
                             endpoints = found;
                           });
    while (!result && Clock::now() < deadline) io.run_one_until(deadline);
    if (!result) {
      resolver.cancel();
      io.restart();
      io.run();
      return unavailable(fmt::format("resolving {}: timed out", url.host));
    }
    if (*result) return unavailable(fmt::format("resolving {}: {}", url.host, result->message()));
  }

  if (!url.tls) {
    auto& socket = connection->plain.emplace(io);
    if (auto ec = run_step(io, deadline, socket, [&](auto handler) {
          asio::async_connect(socket, endpoints, handler);
        })) {
      return unavailable(fmt::format("connecting to {}:{}: {}", url.host, url.port, ec.message()));
    }
    return connection;
  }

  if (options.ca_file.empty()) {
    return Status(ErrorCode::kValidationFailed, "https needs a CA file to verify the server");
  }
  auto& tls = connection->tls_context.emplace(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  tls.load_verify_file(options.ca_file, ec);
  if (ec) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("CA file {}: {}", options.ca_file, ec.message()));
  }
  tls.set_verify_mode(asio::ssl::verify_peer);
  auto& stream = connection->tls.emplace(io, tls);
  SSL* ssl = stream.native_handle();
  // SNI for names only (RFC 6066 forbids literal addresses); the name or address must match the
  // certificate.
  boost::system::error_code address_error;
  asio::ip::make_address(url.host, address_error);
  if (address_error) {
    // SSL_set_tlsext_host_name without its macro's C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(url.host.c_str()));
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (address_error) {
    X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
  }
  auto& socket = stream.next_layer();
  if (auto connect_error = run_step(io, deadline, socket, [&](auto handler) {
        asio::async_connect(socket, endpoints, handler);
      })) {
    return unavailable(
        fmt::format("connecting to {}:{}: {}", url.host, url.port, connect_error.message()));
  }
  if (auto handshake_error = run_step(io, deadline, socket, [&](auto handler) {
        stream.async_handshake(asio::ssl::stream_base::client, handler);
      })) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return Status(ErrorCode::kUnauthenticated,
                    fmt::format("the TLS certificate of {} does not verify: {}", url.host,
                                X509_verify_cert_error_string(verify)));
    }
    return unavailable(
        fmt::format("TLS handshake with {}: {}", url.host, handshake_error.message()));
  }
  return connection;
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {
  if (options_.idle_connections_max > 0) idle_ = std::make_shared<IdleConnections>();
}

std::unique_ptr<Client::Connection> Client::take_idle(const std::string& origin) const {
  if (!idle_) return nullptr;
  std::lock_guard lock(idle_->mutex);
  auto& idle = idle_->connections;
  for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
    if ((*it)->origin == origin) {
      std::unique_ptr<Connection> found = std::move(*it);
      idle.erase(std::next(it).base());
      return found;
    }
  }
  return nullptr;
}

void Client::keep_idle(std::unique_ptr<Connection> connection) const {
  if (!idle_) return;
  std::lock_guard lock(idle_->mutex);
  auto& idle = idle_->connections;
  if (idle.size() >= options_.idle_connections_max) idle.erase(idle.begin());  // the oldest goes
  idle.push_back(std::move(connection));
}

Result<ClientResponse> Client::send(const ClientRequest& request) const {
  STATION_ASSIGN_OR_RETURN(auto url, parse_url(request.url));
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  const bool keep_alive = idle_ != nullptr;
  const std::string origin =
      fmt::format("{}://{}:{}", url.tls ? "https" : "http", url.host, url.port);
  if (std::unique_ptr<Connection> reused = take_idle(origin)) {
    ExchangeEnd end;
    auto response = reused->exchange(deadline, url, request, options_.max_response_bytes,
                                     keep_alive, end);
    if (!end.unanswered) {
      if (end.reusable) keep_idle(std::move(reused));
      return response;
    }
    // Closed by the server while idle: the request goes on a fresh connection.
  }
  STATION_ASSIGN_OR_RETURN(auto connection, open_connection(url, origin, options_, deadline));
  ExchangeEnd end;
  auto response = connection->exchange(deadline, url, request, options_.max_response_bytes,
                                       keep_alive, end);
  if (end.reusable) keep_idle(std::move(connection));
  return response;
}

}  // namespace station::http
