// Test support: a blocking HTTP/1.1 client for tests against a server on loopback.
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

}  // namespace station::testing
