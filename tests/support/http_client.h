// Test support: a blocking HTTP/1.1 client (plain or TLS) for tests against a server on loopback.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace station::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  nlohmann::json json() const { return nlohmann::json::parse(body); }
  std::string header(const std::string& lower_name) const;
};

// One request on a fresh connection. Throws on transport errors (tests treat them as failures).
HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});

// What an HTTPS client trusts: the CA certificate file (PEM) and the name the server's
// certificate must carry.
struct TlsTrust {
  std::string ca_file;
  std::string server_name = "localhost";
};

// As http_request, over TLS; throws when the server's certificate does not verify.
HttpReply https_request(std::uint16_t port, const TlsTrust& trust, const std::string& method,
                        const std::string& target, const std::string& body = "",
                        const std::map<std::string, std::string>& headers = {});

}  // namespace station::testing
