// messaging/messenger: the SMS outbox and the loop that sends it.
//
// enqueue() writes a `messages` row (state queued) and returns at once; the message is durable
// before anyone is told it exists. When an SMSC is configured, a sender thread hands queued rows
// to an SmsTransport (the SMPP client) and marks them submitted with the SMSC's message id;
// delivery receipts then mark them delivered or failed. With no SMSC, rows stay queued and admins
// read them with list() (`station admin outbox list`, GET /v1/admin/outbox).
//
// States: queued -> submitted -> delivered | failed; queued -> undeliverable after
// limits::kSmsSubmitAttemptsMax refused submissions (or at once for a permanent refusal).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "messaging/smpp.h"
#include "storage/database.h"

namespace station::messaging {

enum class MessageState { kQueued, kSubmitted, kDelivered, kFailed, kUndeliverable };
std::string_view message_state_name(MessageState state);
std::optional<MessageState> parse_message_state(std::string_view name);

inline constexpr std::string_view kMessageIdPrefix = "msg";

struct OutboxMessage {
  Id id = 0;
  std::optional<Id> customer_id;
  std::string destination;  // E.164 digits, no '+'
  std::string language;     // "zh-CN" or "en"
  std::string text;
  MessageState state = MessageState::kQueued;
  std::string smsc_message_id;  // empty until submitted
  std::int64_t attempts = 0;
  std::string error;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// Where the sender loop submits a message. Implemented by SmppClient; a fake in tests.
class SmsTransport {
 public:
  virtual ~SmsTransport() = default;
  // False while the link is down: the sender then leaves rows queued without counting an attempt,
  // so an SMSC outage never makes messages undeliverable.
  virtual bool ready() const = 0;
  // Blocks until the SMSC answered every segment; returns the first segment's message id.
  // kUnavailable for a transient failure (not bound, throttled, timeout): retried later.
  // kValidationFailed for a permanent refusal: the message becomes undeliverable.
  virtual Result<std::string> submit(const OutboxMessage& message) = 0;
};

class Messenger {
 public:
  Messenger(storage::Database& database, IdGenerator& ids, const Clock& clock);
  ~Messenger();  // stops the sender
  Messenger(const Messenger&) = delete;
  Messenger& operator=(const Messenger&) = delete;

  // Validates and stores a message in state queued; wakes the sender. `destination` may start
  // with '+', which is dropped; it must then be 6-20 digits. `language` other than "zh-CN" is
  // stored as "en".
  Result<OutboxMessage> enqueue(std::string_view destination, std::string_view text,
                                std::string_view language, std::optional<Id> customer_id);

  // Newest first; limit within [1, limits::kPageSizeMax].
  Result<std::vector<OutboxMessage>> list(std::size_t limit);
  Result<OutboxMessage> get(Id id);

  // One pass: submits up to limits::kSmsSendBatch queued rows, oldest first. Returns how many
  // were submitted. The sender thread calls this; tests may call it directly.
  Result<std::size_t> send_queued(SmsTransport& transport);

  // A delivery receipt from the SMSC: the submitted message with that SMSC id becomes delivered
  // or failed. A receipt may overtake the sender's own "submitted" write (the SMSC answers
  // submit_sm and sends the receipt back to back), so a receipt for an id not yet stored is kept
  // (at most limits::kSmsEarlyReceiptsMax, oldest dropped) and applied when the id is stored.
  Status record_receipt(const smpp::DeliveryReceipt& receipt);

  // Starts the sender thread on `transport`, which must outlive stop_sender(). It runs a pass
  // when woken by enqueue() and at least every limits::kSmsSenderPollMs (real time).
  void start_sender(SmsTransport& transport);
  void stop_sender();

 private:
  Status update_state(Id id, MessageState to, std::string_view smsc_message_id,
                      std::string_view error, bool count_attempt);

  // Applies a receipt; false when no submitted message has its SMSC id.
  Result<bool> apply_receipt(const smpp::DeliveryReceipt& receipt);

  storage::Database& database_;
  IdGenerator& ids_;
  const Clock& clock_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool work_pending_ = false;  // GUARDED_BY(mutex_)
  bool stopping_ = false;      // GUARDED_BY(mutex_)
  std::thread sender_;

  // Serialises "mark submitted, then look for an early receipt" against "apply a receipt, else
  // keep it", so no receipt falls between the two.
  std::mutex receipts_mutex_;
  std::deque<smpp::DeliveryReceipt> early_receipts_;  // GUARDED_BY(receipts_mutex_)
};

}  // namespace station::messaging
