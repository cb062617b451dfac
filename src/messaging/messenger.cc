#include "messaging/messenger.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>

#include "common/limits.h"
#include "fmt/format.h"
#include "messaging/email.h"
#include "messaging/text_coding.h"
#include "spdlog/spdlog.h"

namespace station::messaging {
namespace {

using storage::Row;
using storage::Rows;
using storage::Value;

constexpr std::array<std::string_view, 5> kStateNames = {"queued", "submitted", "delivered",
                                                         "failed", "undeliverable"};

constexpr std::array<std::string_view, 2> kChannelNames = {"sms", "email"};

constexpr std::string_view kColumns =
    "id, customer_id, destination, language, text, state, smsc_message_id, attempts, error, "
    "created_at_ms, updated_at_ms, channel, subject, next_attempt_at_ms";

Result<OutboxMessage> message_from_row(const Row& row) {
  OutboxMessage message;
  message.id = row.int_at(0);
  if (!row.is_null(1)) message.customer_id = row.int_at(1);
  message.destination = row.text_at(2);
  message.language = row.text_at(3);
  message.text = row.text_at(4);
  const auto state = parse_message_state(row.text_at(5));
  if (!state) {
    return Status(ErrorCode::kInternal,
                  fmt::format("message {} has state '{}'", message.id, row.text_at(5)));
  }
  message.state = *state;
  message.smsc_message_id = row.text_or(6, "");
  message.attempts = row.int_at(7);
  message.error = row.text_or(8, "");
  message.created_at_ms = row.int_at(9);
  message.updated_at_ms = row.int_at(10);
  const auto channel = parse_channel(row.text_at(11));
  if (!channel) {
    return Status(ErrorCode::kInternal,
                  fmt::format("message {} has channel '{}'", message.id, row.text_at(11)));
  }
  message.channel = *channel;
  message.subject = row.text_or(12, "");
  message.next_attempt_at_ms = row.int_at(13);
  return message;
}

Result<std::vector<OutboxMessage>> messages_from_rows(const Rows& rows) {
  std::vector<OutboxMessage> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    STATION_ASSIGN_OR_RETURN(OutboxMessage message, message_from_row(row));
    out.push_back(std::move(message));
  }
  return out;
}

std::string bounded_error(std::string_view error) {
  return std::string(error.substr(0, limits::kSmsErrorBytesMax));
}

}  // namespace

std::string_view message_state_name(MessageState state) {
  return kStateNames[static_cast<std::size_t>(state)];
}

std::optional<MessageState> parse_message_state(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<MessageState>(i);
  }
  return std::nullopt;
}

std::string_view channel_name(Channel channel) {
  return kChannelNames[static_cast<std::size_t>(channel)];
}

std::optional<Channel> parse_channel(std::string_view name) {
  for (std::size_t i = 0; i < kChannelNames.size(); ++i) {
    if (kChannelNames[i] == name) return static_cast<Channel>(i);
  }
  return std::nullopt;
}

Messenger::Messenger(storage::Database& database, IdGenerator& ids, const Clock& clock)
    : database_(database), ids_(ids), clock_(clock) {}

Messenger::~Messenger() { stop_sender(); }

Result<OutboxMessage> Messenger::enqueue(std::string_view destination, std::string_view text,
                                         std::string_view language, std::optional<Id> customer_id) {
  if (!destination.empty() && destination.front() == '+') destination.remove_prefix(1);
  const bool digits = destination.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits || destination.size() < 6 || destination.size() >= smpp::kAddressMax) {
    return Status(ErrorCode::kValidationFailed, "destination must be 6-20 digits (E.164)");
  }
  // Refuse now what could never be sent: bad UTF-8, empty, too long.
  STATION_RETURN_IF_ERROR(encode_text(text, 0).status());

  OutboxMessage message;
  message.id = ids_.next();
  message.customer_id = customer_id;
  message.destination = std::string(destination);
  message.language = language == "zh-CN" ? "zh-CN" : "en";
  message.text = std::string(text);
  message.created_at_ms = message.updated_at_ms = clock_.now_unix_ms();
  STATION_RETURN_IF_ERROR(insert(message, sms_sender_));
  return message;
}

Result<OutboxMessage> Messenger::enqueue_email(std::string_view address, std::string_view subject,
                                               std::string_view text, std::string_view language,
                                               std::optional<Id> customer_id) {
  STATION_ASSIGN_OR_RETURN(std::string normalised, normalise_email_address(address));
  STATION_RETURN_IF_ERROR(check_email_content(subject, text));
  OutboxMessage message;
  message.id = ids_.next();
  message.customer_id = customer_id;
  message.channel = Channel::kEmail;
  message.destination = std::move(normalised);
  message.language = language == "zh-CN" ? "zh-CN" : "en";
  message.subject = std::string(subject);
  message.text = std::string(text);
  message.created_at_ms = message.updated_at_ms = clock_.now_unix_ms();
  STATION_RETURN_IF_ERROR(insert(message, email_sender_));
  return message;
}

Status Messenger::insert(const OutboxMessage& message, Sender& sender) {
  const Value params[] = {message.id,
                          message.customer_id ? Value(*message.customer_id) : Value(nullptr),
                          std::string(channel_name(message.channel)),
                          message.destination,
                          message.language,
                          message.subject.empty() ? Value(nullptr) : Value(message.subject),
                          message.text,
                          std::string(message_state_name(MessageState::kQueued)),
                          message.created_at_ms,
                          message.updated_at_ms};
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_RETURN_IF_ERROR(connection->execute(
      "INSERT INTO messages (id, customer_id, channel, destination, language, subject, text, "
      "state, attempts, next_attempt_at_ms, created_at_ms, updated_at_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
      params));
  {
    std::lock_guard lock(mutex_);
    sender.work_pending = true;
  }
  wake_.notify_all();
  return Status::ok();
}

Result<std::vector<OutboxMessage>> Messenger::list(std::size_t limit) {
  if (limit == 0 || limit > limits::kPageSizeMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("limit must be 1-{}", limits::kPageSizeMax));
  }
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {static_cast<std::int64_t>(limit)};
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection->query(fmt::format("SELECT {} FROM messages ORDER BY id DESC LIMIT ?", kColumns),
                        params));
  return messages_from_rows(rows);
}

Result<OutboxMessage> Messenger::get(Id id) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {id};
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection->query(fmt::format("SELECT {} FROM messages WHERE id = ?", kColumns), params));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no such message");
  return message_from_row(rows[0]);
}

Status Messenger::update_state(Id id, MessageState to, std::string_view smsc_message_id,
                               std::string_view error, bool count_attempt,
                               std::int64_t next_attempt_at_ms) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {
      std::string(message_state_name(to)),
      smsc_message_id.empty() ? Value(nullptr) : Value(std::string(smsc_message_id)),
      error.empty() ? Value(nullptr) : Value(bounded_error(error)),
      std::int64_t{count_attempt ? 1 : 0},
      next_attempt_at_ms,
      clock_.now_unix_ms(),
      id};
  return connection->execute(
      "UPDATE messages SET state = ?, smsc_message_id = COALESCE(?, smsc_message_id), "
      "error = ?, attempts = attempts + ?, next_attempt_at_ms = ?, updated_at_ms = ? "
      "WHERE id = ?",
      params);
}

Result<std::vector<OutboxMessage>> Messenger::queued(Channel channel, std::size_t batch) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {std::string(channel_name(channel)),
                          std::string(message_state_name(MessageState::kQueued)),
                          clock_.now_unix_ms(), static_cast<std::int64_t>(batch)};
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection->query(fmt::format("SELECT {} FROM messages WHERE channel = ? AND state = ? "
                                    "AND next_attempt_at_ms <= ? ORDER BY id LIMIT ?",
                                    kColumns),
                        params));
  return messages_from_rows(rows);
}

Result<std::size_t> Messenger::send_queued(SmsTransport& transport) {
  if (!transport.ready()) return std::size_t{0};
  STATION_ASSIGN_OR_RETURN(const std::vector<OutboxMessage> batch,
                           queued(Channel::kSms, limits::kSmsSendBatch));
  std::size_t submitted = 0;
  for (const OutboxMessage& message : batch) {
    auto smsc_id = transport.submit(message);
    if (smsc_id.is_ok()) {
      std::lock_guard lock(receipts_mutex_);
      STATION_RETURN_IF_ERROR(
          update_state(message.id, MessageState::kSubmitted, *smsc_id, "", true));
      ++submitted;
      for (auto early = early_receipts_.begin(); early != early_receipts_.end(); ++early) {
        if (early->message_id != *smsc_id) continue;
        const smpp::DeliveryReceipt receipt = *early;
        early_receipts_.erase(early);
        STATION_RETURN_IF_ERROR(apply_receipt(receipt).status());
        break;
      }
      continue;
    }
    const Status& refusal = smsc_id.status();
    const bool permanent = refusal.code() == ErrorCode::kValidationFailed ||
                           message.attempts + 1 >= limits::kSmsSubmitAttemptsMax;
    spdlog::warn("sms {}: submit failed ({}){}", format_public_id(kMessageIdPrefix, message.id),
                 refusal.to_string(), permanent ? ", giving up" : "");
    STATION_RETURN_IF_ERROR(
        update_state(message.id, permanent ? MessageState::kUndeliverable : MessageState::kQueued,
                     "", refusal.message(), true));
    // A transient failure (no bind, throttled) will fail the rest too: stop this pass.
    if (!permanent) break;
  }
  return submitted;
}

Result<std::size_t> Messenger::send_queued_email(EmailTransport& transport) {
  STATION_ASSIGN_OR_RETURN(const std::vector<OutboxMessage> batch,
                           queued(Channel::kEmail, limits::kEmailSendBatch));
  std::size_t accepted = 0;
  for (const OutboxMessage& message : batch) {
    auto message_id = transport.send(message);
    if (message_id.is_ok()) {
      STATION_RETURN_IF_ERROR(
          update_state(message.id, MessageState::kSubmitted, *message_id, "", true));
      ++accepted;
      continue;
    }
    const Status& refusal = message_id.status();
    const bool permanent = refusal.code() == ErrorCode::kValidationFailed ||
                           message.attempts + 1 >= limits::kEmailSendAttemptsMax;
    // Doubling from the base: 30 s, 1 min, 2 min, ... capped.
    const std::int64_t backoff_ms =
        std::min(limits::kEmailRetryBaseMs << std::min<std::int64_t>(message.attempts, 20),
                 limits::kEmailRetryMaxMs);
    spdlog::warn("email {}: send failed ({}){}", format_public_id(kMessageIdPrefix, message.id),
                 refusal.to_string(), permanent ? ", giving up" : "");
    STATION_RETURN_IF_ERROR(update_state(
        message.id, permanent ? MessageState::kUndeliverable : MessageState::kQueued, "",
        refusal.message(), true, permanent ? 0 : clock_.now_unix_ms() + backoff_ms));
    // The server is unreachable or busy: the rest would fail too.
    if (!permanent) break;
  }
  return accepted;
}

Result<bool> Messenger::apply_receipt(const smpp::DeliveryReceipt& receipt) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const MessageState to = receipt.delivered() ? MessageState::kDelivered : MessageState::kFailed;
  const Value params[] = {std::string(message_state_name(to)),
                          receipt.delivered()
                              ? Value(nullptr)
                              : Value(fmt::format("{} err:{}", receipt.stat, receipt.err)),
                          clock_.now_unix_ms(), receipt.message_id,
                          std::string(message_state_name(MessageState::kSubmitted))};
  STATION_RETURN_IF_ERROR(
      connection->execute("UPDATE messages SET state = ?, error = ?, updated_at_ms = ? "
                          "WHERE smsc_message_id = ? AND state = ?",
                          params));
  if (connection->changes() > 0) return true;
  // Already settled (a repeated receipt) is not "unknown": only keep ids never stored.
  const Value id[] = {receipt.message_id};
  STATION_ASSIGN_OR_RETURN(
      Rows rows, connection->query("SELECT id FROM messages WHERE smsc_message_id = ?", id));
  return !rows.empty();
}

Status Messenger::record_receipt(const smpp::DeliveryReceipt& receipt) {
  if (!receipt.is_final()) return Status::ok();
  std::lock_guard lock(receipts_mutex_);
  STATION_ASSIGN_OR_RETURN(const bool applied, apply_receipt(receipt));
  if (!applied) {
    if (early_receipts_.size() == limits::kSmsEarlyReceiptsMax) early_receipts_.pop_front();
    early_receipts_.push_back(receipt);
  }
  return Status::ok();
}

void Messenger::start_sender(SmsTransport& transport) {
  start_loop(sms_sender_, "sms", limits::kSmsSendBatch,
             [this, &transport] { return send_queued(transport); });
}

void Messenger::start_email_sender(EmailTransport& transport) {
  start_loop(email_sender_, "email", limits::kEmailSendBatch,
             [this, &transport] { return send_queued_email(transport); });
}

void Messenger::start_loop(Sender& sender, std::string_view name, std::size_t batch,
                           std::function<Result<std::size_t>()> pass) {
  assert(!sender.thread.joinable());
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    sender.work_pending = true;  // rows queued while no sender ran
  }
  sender.thread = std::thread([this, &sender, name, batch, pass = std::move(pass)] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(limits::kSmsSenderPollMs),
                     [this, &sender] { return stopping_ || sender.work_pending; });
      if (stopping_) break;
      sender.work_pending = false;
      lock.unlock();
      auto sent = pass();
      if (!sent.is_ok()) spdlog::warn("{} sender: {}", name, sent.status().to_string());
      lock.lock();
      // A full batch means more may be waiting.
      if (sent.is_ok() && *sent == batch) sender.work_pending = true;
    }
  });
}

void Messenger::stop_sender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sms_sender_.thread.joinable()) sms_sender_.thread.join();
  if (email_sender_.thread.joinable()) email_sender_.thread.join();
}

}  // namespace station::messaging
