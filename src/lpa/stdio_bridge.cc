#include "lpa/stdio_bridge.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rsp_crypto/rsp_crypto.h"

namespace station::lpa {
namespace {

using nlohmann::json;

std::string apdu_reply(int ecode, const Bytes& data = {}) {
  json payload = {{"ecode", ecode}};
  if (!data.empty()) payload["data"] = rsp_crypto::to_hex(data);
  return json{{"type", "apdu"}, {"payload", payload}}.dump();
}

std::string http_reply(int rcode, std::string_view body = {}) {
  return json{
      {"type", "http"},
      {"payload", {{"rcode", rcode}, {"rx", rsp_crypto::to_hex(rsp_crypto::as_bytes(body))}}}}
      .dump();
}

}  // namespace

std::optional<std::string> StdioBridge::handle_line(std::string_view line) {
  if (line.size() > kMaxBridgeLineBytes || line.empty() || line.front() != '{') return std::nullopt;
  json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object() || !message.contains("type") ||
      !message["type"].is_string() || !message.contains("payload") ||
      !message["payload"].is_object()) {
    return std::nullopt;
  }
  const std::string type = message["type"].get<std::string>();
  const json& payload = message["payload"];
  auto text = [&](const char* name) -> std::optional<std::string> {
    auto it = payload.find(name);
    if (it == payload.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (type == "apdu") {
    auto func = text("func");
    auto param = text("param");
    if (!func || !param) return apdu_reply(-1);
    return apdu(*func, *param);
  }
  if (type == "http") {
    auto url = text("url");
    auto tx = text("tx");
    auto it = payload.find("headers");
    if (!url || !tx || it == payload.end() || !it->is_array() || it->size() > kMaxBridgeHeaders) {
      return http_reply(-1);
    }
    std::vector<std::string> headers;
    for (const auto& header : *it) {
      if (!header.is_string()) return http_reply(-1);
      headers.push_back(header.get<std::string>());
    }
    return http(*url, *tx, headers);
  }
  return std::nullopt;
}

std::string StdioBridge::apdu(std::string_view func, std::string_view param) {
  if (func == "connect" || func == "disconnect") return apdu_reply(0);
  auto bytes = rsp_crypto::from_hex(param);
  if (!bytes.is_ok()) return apdu_reply(-1);
  if (func == "transmit") {
    auto response = card_.transmit(*bytes);
    return response.is_ok() ? apdu_reply(0, *response) : apdu_reply(-1);
  }
  if (func == "logic_channel_open") {
    if (bytes->empty() || bytes->size() > 16) return apdu_reply(-1);
    auto opened = card_.transmit(euicc::encode_command(
        {.cla = 0x00, .ins = euicc::kInsManageChannel, .p1 = 0x00, .p2 = 0x00, .le = 1}));
    if (!opened.is_ok()) return apdu_reply(-1);
    auto open_response = euicc::parse_response(*opened);
    if (!open_response.is_ok() || open_response->sw != euicc::kSwOk ||
        open_response->data.size() != 1) {
      return apdu_reply(-1);
    }
    const std::uint8_t channel = open_response->data[0];
    auto selected =
        card_.transmit(euicc::encode_command({.cla = euicc::cla_on_channel(0x00, channel),
                                              .ins = euicc::kInsSelect,
                                              .p1 = 0x04,
                                              .p2 = 0x0C,
                                              .data = *bytes}));
    auto select_response = selected.is_ok() ? euicc::parse_response(*selected)
                                            : Result<euicc::ResponseApdu>(selected.status());
    if (!select_response.is_ok() || select_response->sw != euicc::kSwOk) return apdu_reply(-1);
    return apdu_reply(channel);
  }
  if (func == "logic_channel_close") {
    if (bytes->size() != 1 || (*bytes)[0] == 0 || (*bytes)[0] > euicc::kMaxLogicalChannel) {
      return apdu_reply(-1);
    }
    const std::uint8_t channel = (*bytes)[0];
    auto closed = card_.transmit(euicc::encode_command({.cla = euicc::cla_on_channel(0x00, channel),
                                                        .ins = euicc::kInsManageChannel,
                                                        .p1 = 0x80,
                                                        .p2 = channel}));
    return apdu_reply(closed.is_ok() ? 0 : -1);
  }
  return apdu_reply(-1);
}

std::string StdioBridge::http(const std::string& url, std::string_view tx_hex,
                              const std::vector<std::string>& headers) {
  auto body = rsp_crypto::from_hex(tx_hex);
  if (!body.is_ok()) return http_reply(-1);
  http::ClientRequest request;
  request.method = "POST";
  request.url = url;
  request.body.assign(body->begin(), body->end());
  for (const std::string& header : headers) {
    // No control characters: a CR or LF would let the LPA inject headers or a second request.
    for (char c : header) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return http_reply(-1);
    }
    const std::size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0) return http_reply(-1);
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    request.headers.emplace_back(header.substr(0, colon), value);
  }
  auto response = http_.send(request);
  if (!response.is_ok()) return http_reply(0);
  return http_reply(response->status, response->body);
}

}  // namespace station::lpa
