// messaging/messenger: the outbox of SMS and email, and the loops that send it.
//
// enqueue() (SMS) and enqueue_email() write a `messages` row (state queued) and return at once;
// the message is durable before anyone is told it exists. When an SMSC is configured, a sender
// thread hands queued SMS to an SmsTransport (the SMPP client) and marks them submitted with the
// SMSC's message id; delivery receipts then mark them delivered or failed. When a mail server is
// configured, another thread hands queued email to an EmailTransport (the SMTP client); an email
// the server accepted is submitted for good (SMTP has no receipts). Without a transport, rows of
// its channel stay queued and admins read them with list() (`station admin outbox list`,
// GET /v1/admin/outbox).
//
// States: queued -> submitted -> delivered | failed; queued -> undeliverable after
// limits::kSmsSubmitAttemptsMax (SMS) or limits::kEmailSendAttemptsMax (email) failed tries, or
// at once for a permanent refusal. A failed email waits before its next try: kEmailRetryBaseMs,
// doubling per try up to kEmailRetryMaxMs (next_attempt_at_ms).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
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

enum class Channel { kSms, kEmail };
std::string_view channel_name(Channel channel);
std::optional<Channel> parse_channel(std::string_view name);

inline constexpr std::string_view kMessageIdPrefix = "msg";

struct OutboxMessage {
  Id id = 0;
  std::optional<Id> customer_id;
  Channel channel = Channel::kSms;
  std::string destination;  // SMS: E.164 digits, no '+'; email: a normalised address
  std::string language;     // "zh-CN" or "en"
  std::string subject;      // email only
  std::string text;
  MessageState state = MessageState::kQueued;
  std::string smsc_message_id;  // the SMSC's id, or the email's Message-ID; empty until submitted
  std::int64_t attempts = 0;
  std::string error;
  std::int64_t next_attempt_at_ms = 0;  // a queued row is not tried before
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

// Where the email sender hands a message. Implemented by SmtpClient.
class EmailTransport {
 public:
  virtual ~EmailTransport() = default;
  // Blocks until the server accepted or refused the message; returns its Message-ID.
  // kUnavailable for a failure that may pass (retried after the back-off); kValidationFailed for
  // a permanent refusal (undeliverable).
  virtual Result<std::string> send(const OutboxMessage& message) = 0;
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

  // An email to `address` (normalised by normalise_email_address), stored queued; wakes the
  // email sender. kValidationFailed for a bad address, subject or text (messaging/email.h).
  Result<OutboxMessage> enqueue_email(std::string_view address, std::string_view subject,
                                      std::string_view text, std::string_view language,
                                      std::optional<Id> customer_id);

  // Newest first; limit within [1, limits::kPageSizeMax].
  Result<std::vector<OutboxMessage>> list(std::size_t limit);
  Result<OutboxMessage> get(Id id);

  // One pass: submits up to limits::kSmsSendBatch queued SMS, oldest first. Returns how many
  // were submitted. The sender thread calls this; tests may call it directly.
  Result<std::size_t> send_queued(SmsTransport& transport);
  // One pass over queued email whose next_attempt_at_ms has come, at most
  // limits::kEmailSendBatch, oldest first. Returns how many the server accepted.
  Result<std::size_t> send_queued_email(EmailTransport& transport);

  // A delivery receipt from the SMSC: the submitted message with that SMSC id becomes delivered
  // or failed. A receipt may overtake the sender's own "submitted" write (the SMSC answers
  // submit_sm and sends the receipt back to back), so a receipt for an id not yet stored is kept
  // (at most limits::kSmsEarlyReceiptsMax, oldest dropped) and applied when the id is stored.
  Status record_receipt(const smpp::DeliveryReceipt& receipt);

  // Starts the SMS sender thread on `transport`, which must outlive stop_sender(). It runs a
  // pass when woken by enqueue() and at least every limits::kSmsSenderPollMs (real time).
  void start_sender(SmsTransport& transport);
  // The same for email, woken by enqueue_email().
  void start_email_sender(EmailTransport& transport);
  // Stops both senders.
  void stop_sender();

 private:
  // One sender thread, woken when its channel has new rows.
  struct Sender {
    std::thread thread;
    bool work_pending = false;  // GUARDED_BY(mutex_)
  };
  // Runs `pass` on a thread of `sender` until stop_sender(); a pass that did a full batch
  // (returned `batch`) runs again at once.
  void start_loop(Sender& sender, std::string_view name, std::size_t batch,
                  std::function<Result<std::size_t>()> pass);
  Status insert(const OutboxMessage& message, Sender& sender);
  Status update_state(Id id, MessageState to, std::string_view smsc_message_id,
                      std::string_view error, bool count_attempt,
                      std::int64_t next_attempt_at_ms = 0);
  Result<std::vector<OutboxMessage>> queued(Channel channel, std::size_t batch);

  // Applies a receipt; false when no submitted message has its SMSC id.
  Result<bool> apply_receipt(const smpp::DeliveryReceipt& receipt);

  storage::Database& database_;
  IdGenerator& ids_;
  const Clock& clock_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  Sender sms_sender_;
  Sender email_sender_;

  // Serialises "mark submitted, then look for an early receipt" against "apply a receipt, else
  // keep it", so no receipt falls between the two.
  std::mutex receipts_mutex_;
  std::deque<smpp::DeliveryReceipt> early_receipts_;  // GUARDED_BY(receipts_mutex_)
};

}  // namespace station::messaging
