// messaging/smpp_client: an SMPP 3.4 ESME (client) on Boost.Asio, bound as a transceiver.
//
// One background thread runs the connection: connect, bind_transceiver, then read PDUs until the
// link drops, answering the SMSC's enquire_link, deliver_sm (receipts go to the receipt handler)
// and unbind. It sends enquire_link every enquire_link_ms and drops a link that stays silent for
// twice that. A dropped or refused link is retried after an exponential, jittered back-off
// (backoff_initial_ms doubling up to backoff_max_ms; reset by a successful bind).
//
// submit() is called from other threads (the Messenger's sender) and blocks until the SMSC has
// answered every segment: at most limits::kSmppWindowMax submit_sm are in flight at once, each
// with its own sequence number. stop() unbinds cleanly (bounded wait for unbind_resp) and joins.
//
// The password is never logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "messaging/messenger.h"
#include "messaging/smpp.h"

namespace station::messaging {

struct SmppConfig {
  std::string host;  // empty: no SMSC configured
  std::uint16_t port = 2775;
  std::string system_id;
  std::string password;
  std::string system_type;
  std::string source_addr;
  std::uint32_t enquire_link_ms = 30'000;
  std::uint32_t response_timeout_ms = 10'000;
  std::uint32_t backoff_initial_ms = 500;
  std::uint32_t backoff_max_ms = 60'000;
};

// Checks field lengths against SMPP's C-octet bounds.
Status validate(const SmppConfig& config);

class SmppClient final : public SmsTransport {
 public:
  using ReceiptHandler = std::function<void(const smpp::DeliveryReceipt&)>;

  // REQUIRES: validate(config) is ok. The handler runs on the client's thread.
  SmppClient(SmppConfig config, ReceiptHandler on_receipt);
  ~SmppClient() override;  // stop()
  SmppClient(const SmppClient&) = delete;
  SmppClient& operator=(const SmppClient&) = delete;

  void start();
  void stop();

  bool is_bound() const;
  // Binds completed since start(), for tests and metrics.
  std::uint64_t binds() const;

  // SmsTransport: encodes the text (GSM 7-bit or UCS-2, concatenated when long) and submits
  // each segment with registered_delivery set. kUnavailable when not bound, on timeout, or for
  // a throttling/temporary status; kValidationFailed for any other refusal.
  Result<std::string> submit(const OutboxMessage& message) override;
  bool ready() const override { return is_bound(); }

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace station::messaging
