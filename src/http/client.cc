#include "http/client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <charconv>
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

template <typename Stream>
Result<ClientResponse> exchange(asio::io_context& io, Stream& stream, asio::ip::tcp::socket& socket,
                                Clock::time_point deadline, const Url& url,
                                const ClientRequest& request, std::size_t max_response_bytes) {
  bhttp::request<bhttp::string_body> message;
  message.method_string(request.method);
  message.target(url.target);
  message.version(11);
  const bool default_port = url.port == (url.tls ? 443 : 80);
  const std::string host =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  message.set(bhttp::field::host, default_port ? host : fmt::format("{}:{}", host, url.port));
  message.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.body() = request.body;
  message.prepare_payload();
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
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
      return Status(
          ErrorCode::kPayloadTooLarge,
          fmt::format("the response of {} is beyond {} bytes", url.host, max_response_bytes));
    }
    return unavailable(fmt::format("reading from {}: {}", url.host, ec.message()));
  }
  auto response = parser.release();
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

Result<ClientResponse> Client::send(const ClientRequest& request) const {
  STATION_ASSIGN_OR_RETURN(auto url, parse_url(request.url));
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  asio::io_context io;
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
    asio::ip::tcp::socket socket(io);
    if (auto ec = run_step(io, deadline, socket, [&](auto handler) {
          asio::async_connect(socket, endpoints, handler);
        })) {
      return unavailable(fmt::format("connecting to {}:{}: {}", url.host, url.port, ec.message()));
    }
    return exchange(io, socket, socket, deadline, url, request, options_.max_response_bytes);
  }

  if (options_.ca_file.empty()) {
    return Status(ErrorCode::kValidationFailed, "https needs a CA file to verify the server");
  }
  asio::ssl::context tls(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  tls.load_verify_file(options_.ca_file, ec);
  if (ec) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("CA file {}: {}", options_.ca_file, ec.message()));
  }
  tls.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, tls);
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
  return exchange(io, stream, socket, deadline, url, request, options_.max_response_bytes);
}

}  // namespace station::http
