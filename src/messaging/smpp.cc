#include "messaging/smpp.h"

#include <cassert>

#include "fmt/format.h"

namespace station::messaging::smpp {
namespace {

constexpr std::uint16_t kTagReceiptedMessageId = 0x001E;

class Writer {
 public:
  void u8(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void u16(std::uint16_t value) {
    u8(static_cast<std::uint8_t>(value >> 8));
    u8(static_cast<std::uint8_t>(value));
  }
  void u32(std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) u8(static_cast<std::uint8_t>(value >> shift));
  }
  // A C-octet string: the text, then NUL; `max` counts the NUL.
  void c_string(std::string_view text, [[maybe_unused]] std::size_t max) {
    assert(text.size() < max && text.find('\0') == std::string_view::npos);
    out_.append(text);
    u8(0);
  }
  void octets(std::string_view bytes) { out_.append(bytes); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool at_end() const { return position_ == bytes_.size(); }
  std::size_t remaining() const { return bytes_.size() - position_; }

  Result<std::uint8_t> u8(std::string_view field) {
    if (remaining() < 1) return truncated(field);
    return bytes_[position_++];
  }
  Result<std::uint16_t> u16(std::string_view field) {
    if (remaining() < 2) return truncated(field);
    auto value = static_cast<std::uint16_t>((bytes_[position_] << 8) | bytes_[position_ + 1]);
    position_ += 2;
    return value;
  }
  Result<std::uint32_t> u32(std::string_view field) {
    if (remaining() < 4) return truncated(field);
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value = (value << 8) | bytes_[position_++];
    return value;
  }
  // A C-octet string of at most `max` octets including its NUL; a missing NUL within the bound
  // or within the PDU is an error, never a read past either.
  Result<std::string> c_string(std::string_view field, std::size_t max) {
    const std::size_t window = std::min(max, remaining());
    for (std::size_t i = 0; i < window; ++i) {
      if (bytes_[position_ + i] == 0) {
        std::string text(reinterpret_cast<const char*>(bytes_.data() + position_), i);
        position_ += i + 1;
        return text;
      }
    }
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("smpp: {} is not NUL-terminated within {} octets", field, max));
  }
  Result<std::string> octets(std::string_view field, std::size_t count) {
    if (remaining() < count) return truncated(field);
    std::string text(reinterpret_cast<const char*>(bytes_.data() + position_), count);
    position_ += count;
    return text;
  }

 private:
  static Status truncated(std::string_view field) {
    return Status(ErrorCode::kMalformedRequest, fmt::format("smpp: PDU ends inside {}", field));
  }
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

bool is_bind(std::uint32_t id) {
  return id == command::kBindTransmitter || id == command::kBindTransceiver;
}
bool is_bind_resp(std::uint32_t id) {
  return id == command::kBindTransmitterResp || id == command::kBindTransceiverResp;
}
bool is_short_message(std::uint32_t id) {
  return id == command::kSubmitSm || id == command::kDeliverSm;
}
bool is_message_id_resp(std::uint32_t id) {
  return id == command::kSubmitSmResp || id == command::kDeliverSmResp;
}
bool is_no_body(std::uint32_t id) {
  return id == command::kEnquireLink || id == command::kEnquireLinkResp ||
         id == command::kUnbind || id == command::kUnbindResp || id == command::kGenericNack;
}

void encode_body(Writer& out, const Bind& bind) {
  out.c_string(bind.system_id, kSystemIdMax);
  out.c_string(bind.password, kPasswordMax);
  out.c_string(bind.system_type, kSystemTypeMax);
  out.u8(bind.interface_version);
  out.u8(bind.addr_ton);
  out.u8(bind.addr_npi);
  out.c_string(bind.address_range, kAddressRangeMax);
}

void encode_body(Writer& out, const ShortMessage& message) {
  assert(message.short_message.size() <= kShortMessageMax);
  out.c_string(message.service_type, kServiceTypeMax);
  out.u8(message.source_addr_ton);
  out.u8(message.source_addr_npi);
  out.c_string(message.source_addr, kAddressMax);
  out.u8(message.dest_addr_ton);
  out.u8(message.dest_addr_npi);
  out.c_string(message.destination_addr, kAddressMax);
  out.u8(message.esm_class);
  out.u8(message.protocol_id);
  out.u8(message.priority_flag);
  out.c_string(message.schedule_delivery_time, kTimeMax);
  out.c_string(message.validity_period, kTimeMax);
  out.u8(message.registered_delivery);
  out.u8(message.replace_if_present_flag);
  out.u8(message.data_coding);
  out.u8(message.sm_default_msg_id);
  out.u8(static_cast<std::uint8_t>(message.short_message.size()));
  out.octets(message.short_message);
  if (message.receipted_message_id) {
    assert(message.receipted_message_id->size() < kMessageIdMax);
    out.u16(kTagReceiptedMessageId);
    out.u16(static_cast<std::uint16_t>(message.receipted_message_id->size() + 1));
    out.c_string(*message.receipted_message_id, kMessageIdMax);
  }
}

Result<Bind> decode_bind(Reader& in) {
  Bind bind;
  STATION_ASSIGN_OR_RETURN(bind.system_id, in.c_string("system_id", kSystemIdMax));
  STATION_ASSIGN_OR_RETURN(bind.password, in.c_string("password", kPasswordMax));
  STATION_ASSIGN_OR_RETURN(bind.system_type, in.c_string("system_type", kSystemTypeMax));
  STATION_ASSIGN_OR_RETURN(bind.interface_version, in.u8("interface_version"));
  STATION_ASSIGN_OR_RETURN(bind.addr_ton, in.u8("addr_ton"));
  STATION_ASSIGN_OR_RETURN(bind.addr_npi, in.u8("addr_npi"));
  STATION_ASSIGN_OR_RETURN(bind.address_range, in.c_string("address_range", kAddressRangeMax));
  return bind;
}

Status decode_tlvs(Reader& in, ShortMessage& message) {
  while (!in.at_end()) {
    STATION_ASSIGN_OR_RETURN(const std::uint16_t tag, in.u16("tlv tag"));
    STATION_ASSIGN_OR_RETURN(const std::uint16_t length, in.u16("tlv length"));
    STATION_ASSIGN_OR_RETURN(std::string value, in.octets("tlv value", length));
    if (tag != kTagReceiptedMessageId) continue;
    if (value.empty() || value.size() > kMessageIdMax || value.back() != '\0' ||
        value.find('\0') != value.size() - 1) {
      return Status(ErrorCode::kMalformedRequest, "smpp: bad receipted_message_id");
    }
    value.pop_back();
    message.receipted_message_id = std::move(value);
  }
  return Status::ok();
}

Result<ShortMessage> decode_short_message(Reader& in) {
  ShortMessage m;
  STATION_ASSIGN_OR_RETURN(m.service_type, in.c_string("service_type", kServiceTypeMax));
  STATION_ASSIGN_OR_RETURN(m.source_addr_ton, in.u8("source_addr_ton"));
  STATION_ASSIGN_OR_RETURN(m.source_addr_npi, in.u8("source_addr_npi"));
  STATION_ASSIGN_OR_RETURN(m.source_addr, in.c_string("source_addr", kAddressMax));
  STATION_ASSIGN_OR_RETURN(m.dest_addr_ton, in.u8("dest_addr_ton"));
  STATION_ASSIGN_OR_RETURN(m.dest_addr_npi, in.u8("dest_addr_npi"));
  STATION_ASSIGN_OR_RETURN(m.destination_addr, in.c_string("destination_addr", kAddressMax));
  STATION_ASSIGN_OR_RETURN(m.esm_class, in.u8("esm_class"));
  STATION_ASSIGN_OR_RETURN(m.protocol_id, in.u8("protocol_id"));
  STATION_ASSIGN_OR_RETURN(m.priority_flag, in.u8("priority_flag"));
  STATION_ASSIGN_OR_RETURN(m.schedule_delivery_time,
                           in.c_string("schedule_delivery_time", kTimeMax));
  STATION_ASSIGN_OR_RETURN(m.validity_period, in.c_string("validity_period", kTimeMax));
  STATION_ASSIGN_OR_RETURN(m.registered_delivery, in.u8("registered_delivery"));
  STATION_ASSIGN_OR_RETURN(m.replace_if_present_flag, in.u8("replace_if_present_flag"));
  STATION_ASSIGN_OR_RETURN(m.data_coding, in.u8("data_coding"));
  STATION_ASSIGN_OR_RETURN(m.sm_default_msg_id, in.u8("sm_default_msg_id"));
  STATION_ASSIGN_OR_RETURN(const std::uint8_t sm_length, in.u8("sm_length"));
  if (sm_length > kShortMessageMax) {
    return Status(ErrorCode::kMalformedRequest, "smpp: sm_length beyond 254");
  }
  STATION_ASSIGN_OR_RETURN(m.short_message, in.octets("short_message", sm_length));
  STATION_RETURN_IF_ERROR(decode_tlvs(in, m));
  return m;
}

}  // namespace

bool is_known_command(std::uint32_t command_id) {
  return is_bind(command_id) || is_bind_resp(command_id) || is_short_message(command_id) ||
         is_message_id_resp(command_id) || is_no_body(command_id);
}

std::string encode(const Pdu& pdu) {
  Writer out;
  out.u32(0);  // command_length, patched below
  out.u32(pdu.command_id);
  out.u32(pdu.command_status);
  out.u32(pdu.sequence_number);
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, NoBody>) {
          assert(is_no_body(pdu.command_id));
        } else if constexpr (std::is_same_v<T, Bind>) {
          assert(is_bind(pdu.command_id));
          encode_body(out, body);
        } else if constexpr (std::is_same_v<T, BindResp>) {
          assert(is_bind_resp(pdu.command_id));
          out.c_string(body.system_id, kSystemIdMax);
        } else if constexpr (std::is_same_v<T, ShortMessage>) {
          assert(is_short_message(pdu.command_id));
          encode_body(out, body);
        } else {
          static_assert(std::is_same_v<T, MessageIdResp>);
          assert(is_message_id_resp(pdu.command_id));
          out.c_string(body.message_id, kMessageIdMax);
        }
      },
      pdu.body);
  std::string& bytes = out.bytes();
  const auto length = static_cast<std::uint32_t>(bytes.size());
  for (std::size_t i = 0; i < 4; ++i) bytes[i] = static_cast<char>(length >> (24 - 8 * i));
  return std::move(bytes);
}

Result<std::uint32_t> read_command_length(std::span<const std::uint8_t> header,
                                          std::size_t max_bytes) {
  assert(header.size() >= 4);
  Reader in(header.first(4));
  STATION_ASSIGN_OR_RETURN(const std::uint32_t length, in.u32("command_length"));
  if (length < kHeaderBytes || length > max_bytes) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("smpp: command_length {} outside [{}, {}]", length, kHeaderBytes,
                              max_bytes));
  }
  return length;
}

Result<Pdu> decode(std::span<const std::uint8_t> bytes, std::size_t max_bytes) {
  if (bytes.size() < kHeaderBytes) {
    return Status(ErrorCode::kMalformedRequest, "smpp: shorter than a PDU header");
  }
  STATION_ASSIGN_OR_RETURN(const std::uint32_t length, read_command_length(bytes, max_bytes));
  if (length != bytes.size()) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("smpp: command_length {} but {} octets", length, bytes.size()));
  }
  Reader in(bytes);
  Pdu pdu;
  (void)in.u32("command_length");
  STATION_ASSIGN_OR_RETURN(pdu.command_id, in.u32("command_id"));
  STATION_ASSIGN_OR_RETURN(pdu.command_status, in.u32("command_status"));
  STATION_ASSIGN_OR_RETURN(pdu.sequence_number, in.u32("sequence_number"));
  const std::uint32_t id = pdu.command_id;
  if (is_no_body(id)) {
    if (!in.at_end()) return Status(ErrorCode::kMalformedRequest, "smpp: body on a bodiless PDU");
    return pdu;
  }
  // A refused request may be answered with a header only (spec 3.3 and the *_resp sections).
  if (is_response(id) && pdu.command_status != status::kOk && in.at_end()) {
    if (is_bind_resp(id)) {
      pdu.body = BindResp{};
      return pdu;
    }
    if (is_message_id_resp(id)) {
      pdu.body = MessageIdResp{};
      return pdu;
    }
  }
  if (is_bind(id)) {
    STATION_ASSIGN_OR_RETURN(pdu.body, decode_bind(in));
  } else if (is_bind_resp(id)) {
    BindResp resp;
    STATION_ASSIGN_OR_RETURN(resp.system_id, in.c_string("system_id", kSystemIdMax));
    // Optional TLVs (sc_interface_version) may follow; they are not needed here.
    pdu.body = std::move(resp);
    return pdu;
  } else if (is_short_message(id)) {
    STATION_ASSIGN_OR_RETURN(pdu.body, decode_short_message(in));
  } else if (is_message_id_resp(id)) {
    MessageIdResp resp;
    STATION_ASSIGN_OR_RETURN(resp.message_id, in.c_string("message_id", kMessageIdMax));
    pdu.body = std::move(resp);
  } else {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("smpp: unsupported command_id {:#010x}", id));
  }
  if (!in.at_end()) {
    return Status(ErrorCode::kMalformedRequest, "smpp: trailing octets after the body");
  }
  return pdu;
}

Result<DeliveryReceipt> parse_delivery_receipt(std::string_view text) {
  // Keys are matched where a word starts; the value runs to the next space, except for text:
  // which runs to the end and is not needed.
  auto value_of = [text](std::string_view key) -> std::optional<std::string_view> {
    for (std::size_t at = text.find(key); at != std::string_view::npos;
         at = text.find(key, at + 1)) {
      if (at != 0 && text[at - 1] != ' ') continue;
      const std::size_t begin = at + key.size();
      const std::size_t end = text.find(' ', begin);
      return text.substr(begin, end == std::string_view::npos ? end : end - begin);
    }
    return std::nullopt;
  };
  const auto id = value_of("id:");
  const auto stat = value_of("stat:");
  if (!id || id->empty() || id->size() >= kMessageIdMax || !stat || stat->empty() ||
      stat->size() > 7) {
    return Status(ErrorCode::kMalformedRequest, "smpp: not a delivery receipt (id:, stat:)");
  }
  DeliveryReceipt receipt{std::string(*id), std::string(*stat), ""};
  if (const auto err = value_of("err:")) receipt.err = std::string(err->substr(0, 3));
  return receipt;
}

}  // namespace station::messaging::smpp
