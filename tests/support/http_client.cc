#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

namespace station::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

std::string HttpReply::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

template <class Stream>
HttpReply exchange(Stream& stream, const std::string& method, const std::string& target,
                   const std::string& body, const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || method == "POST") {
    request.body() = body;
    request.prepare_payload();
  }
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  http::read(stream, buffer, parser);
  auto& response = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = response.body();
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  return reply;
}

tcp::endpoint loopback(std::uint16_t port) {
  return tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
}

}  // namespace

HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::map<std::string, std::string>& headers) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(loopback(port));
  return exchange(stream, method, target, body, headers);
}

HttpReply https_request(std::uint16_t port, const TlsTrust& trust, const std::string& method,
                        const std::string& target, const std::string& body,
                        const std::map<std::string, std::string>& headers) {
  namespace ssl = boost::asio::ssl;
  boost::asio::io_context io;
  ssl::context context(ssl::context::tls_client);
  context.load_verify_file(trust.ca_file);
  context.set_verify_mode(ssl::verify_peer);
  context.set_verify_callback(ssl::host_name_verification(trust.server_name));
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  // SNI (SSL_set_tlsext_host_name is a macro with an old-style cast).
  SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(trust.server_name.c_str()));
  beast::get_lowest_layer(stream).connect(loopback(port));
  stream.handshake(ssl::stream_base::client);
  return exchange(stream, method, target, body, headers);
}

}  // namespace station::testing
