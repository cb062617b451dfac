#include "messaging/smpp_client.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cassert>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <semaphore>
#include <thread>

#include "common/limits.h"
#include "fmt/format.h"
#include "messaging/text_coding.h"
#include "spdlog/spdlog.h"

namespace station::messaging {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

Status validate(const SmppConfig& config) {
  auto too_long = [](std::string_view field, const std::string& value, std::size_t max) {
    return value.size() >= max ? Status(ErrorCode::kValidationFailed,
                                        fmt::format("{} is longer than {} characters", field,
                                                    max - 1))
                               : Status::ok();
  };
  if (config.host.empty()) return Status(ErrorCode::kValidationFailed, "smpp host is empty");
  if (config.port == 0) return Status(ErrorCode::kValidationFailed, "smpp port is 0");
  STATION_RETURN_IF_ERROR(too_long("smpp_system_id", config.system_id, smpp::kSystemIdMax));
  STATION_RETURN_IF_ERROR(too_long("smpp_password", config.password, smpp::kPasswordMax));
  STATION_RETURN_IF_ERROR(too_long("smpp_system_type", config.system_type, smpp::kSystemTypeMax));
  STATION_RETURN_IF_ERROR(too_long("smpp_source_addr", config.source_addr, smpp::kAddressMax));
  if (config.enquire_link_ms == 0 || config.response_timeout_ms == 0 ||
      config.backoff_initial_ms == 0 || config.backoff_max_ms < config.backoff_initial_ms) {
    return Status(ErrorCode::kValidationFailed, "smpp timers must be positive");
  }
  return Status::ok();
}

// Everything below runs on the client's own thread unless it says otherwise.
class SmppClient::Impl {
 public:
  Impl(SmppConfig config, ReceiptHandler on_receipt)
      : config_(std::move(config)), on_receipt_(std::move(on_receipt)) {}

  void start() {
    assert(!thread_.joinable());
    asio::co_spawn(io_, run(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  // Any thread.
  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      stopping_ = true;
      backoff_timer_.cancel();
      if (!bound_) {
        close_socket();
        return;
      }
      // Clean unbind: close on unbind_resp, or when it does not come in time.
      auto done = request(smpp::Pdu{smpp::command::kUnbind, smpp::status::kOk, 0, smpp::NoBody{}},
                          false, limits::kSmppUnbindWaitMs,
                          [this](const Result<smpp::Pdu>&) { close_socket(); });
      (void)done;
    });
    thread_.join();
  }

  // Any thread (the sender). Blocks until every segment is answered.
  Result<std::string> submit(const OutboxMessage& message) {
    if (!bound_) return Status(ErrorCode::kUnavailable, "smsc not bound");
    STATION_ASSIGN_OR_RETURN(const EncodedText encoded,
                             encode_text(message.text, static_cast<std::uint8_t>(message.id)));
    std::vector<std::future<Result<smpp::Pdu>>> answers;
    for (const std::string& segment : encoded.segments) {
      if (!window_.try_acquire_for(std::chrono::milliseconds(config_.response_timeout_ms))) {
        break;  // the answers already asked for are still awaited below
      }
      smpp::ShortMessage sm;
      const bool numeric = !config_.source_addr.empty() &&
                           config_.source_addr.find_first_not_of("0123456789") == std::string::npos;
      sm.source_addr_ton = numeric ? 1 : 5;  // international, or alphanumeric
      sm.source_addr_npi = numeric ? 1 : 0;
      sm.source_addr = config_.source_addr;
      sm.dest_addr_ton = 1;
      sm.dest_addr_npi = 1;
      sm.destination_addr = message.destination;
      sm.esm_class = encoded.concatenated ? smpp::kEsmClassUdhIndicator : 0;
      sm.registered_delivery = smpp::kRegisteredDeliveryFinal;
      sm.data_coding = encoded.data_coding;
      sm.short_message = segment;
      auto promise = std::make_shared<std::promise<Result<smpp::Pdu>>>();
      answers.push_back(promise->get_future());
      asio::post(io_, [this, sm = std::move(sm), promise] {
        request(smpp::Pdu{smpp::command::kSubmitSm, smpp::status::kOk, 0, sm}, true,
                config_.response_timeout_ms,
                [promise](const Result<smpp::Pdu>& answer) { promise->set_value(answer); });
      });
    }
    if (answers.size() != encoded.segments.size()) {
      for (auto& answer : answers) answer.wait();
      return Status(ErrorCode::kUnavailable, "smsc window stayed full");
    }
    std::string first_id;
    for (auto& future : answers) {
      const Result<smpp::Pdu> answer = future.get();
      if (!answer.is_ok()) return answer.status();
      const std::uint32_t status = answer->command_status;
      if (answer->command_id == smpp::command::kGenericNack || status != smpp::status::kOk) {
        const bool transient = status == smpp::status::kThrottled ||
                               status == smpp::status::kSystemError || status == 0x14;
        return Status(transient ? ErrorCode::kUnavailable : ErrorCode::kValidationFailed,
                      fmt::format("smsc refused submit_sm: status {:#010x}", status));
      }
      if (first_id.empty()) first_id = std::get<smpp::MessageIdResp>(answer->body).message_id;
    }
    if (first_id.empty()) return Status(ErrorCode::kUnavailable, "smsc gave no message id");
    return first_id;
  }

  std::atomic<bool> bound_{false};
  std::atomic<std::uint64_t> binds_{0};

 private:
  using Completion = std::function<void(const Result<smpp::Pdu>&)>;
  struct Pending {
    Completion done;
    bool in_window;
    std::unique_ptr<asio::steady_timer> deadline;
  };

  awaitable<void> run() {
    std::minstd_rand random(std::random_device{}());
    std::uint32_t backoff_ms = config_.backoff_initial_ms;
    while (!stopping_) {
      const Status ended = co_await session();
      if (stopping_) break;
      if (bound_.exchange(false) || ended.code() == ErrorCode::kOk) {
        backoff_ms = config_.backoff_initial_ms;
      }
      // Jitter: wait a uniform time in [backoff/2, backoff] so many clients do not reconnect
      // in step.
      std::uniform_int_distribution<std::uint32_t> jitter(backoff_ms / 2, backoff_ms);
      const std::uint32_t wait_ms = jitter(random);
      spdlog::warn("smpp {}:{}: {}; reconnecting in {} ms", config_.host, config_.port,
                   ended.to_string(), wait_ms);
      backoff_timer_.expires_after(std::chrono::milliseconds(wait_ms));
      boost::system::error_code ignored;
      co_await backoff_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      backoff_ms = std::min(config_.backoff_max_ms, backoff_ms * 2);
    }
  }

  // One link: connect, bind, serve until it drops. Returns why it ended.
  awaitable<Status> session() {
    boost::system::error_code error;
    tcp::resolver resolver(io_);
    auto endpoints = co_await resolver.async_resolve(
        config_.host, std::to_string(config_.port),
        asio::redirect_error(asio::use_awaitable, error));
    if (error) co_return Status(ErrorCode::kUnavailable, "resolve: " + error.message());
    socket_.emplace(io_);
    ++link_generation_;
    co_await asio::async_connect(*socket_, endpoints,
                                 asio::redirect_error(asio::use_awaitable, error));
    if (error || stopping_) {
      close_socket();
      co_return Status(ErrorCode::kUnavailable, "connect: " + error.message());
    }
    last_heard_ = Clock::now();
    smpp::Bind bind{config_.system_id, config_.password, config_.system_type};
    request(smpp::Pdu{smpp::command::kBindTransceiver, smpp::status::kOk, 0, bind}, false,
            config_.response_timeout_ms, [this](const Result<smpp::Pdu>& answer) {
              if (answer.is_ok() && answer->command_status == smpp::status::kOk &&
                  answer->command_id == smpp::command::kBindTransceiverResp) {
                bound_ = true;
                ++binds_;
                spdlog::info("smpp {}:{}: bound as {}", config_.host, config_.port,
                             config_.system_id);
                return;
              }
              spdlog::warn("smpp {}:{}: bind refused ({})", config_.host, config_.port,
                           answer.is_ok() ? fmt::format("status {:#010x}", answer->command_status)
                                          : answer.status().to_string());
              close_socket();
            });
    // Each link has its own keep-alive timer, so a late wake-up of the last link's loop never
    // touches this one.
    keepalive_timer_ = std::make_shared<asio::steady_timer>(io_);
    asio::co_spawn(io_, keepalive(keepalive_timer_), asio::detached);

    Status ended;
    while (true) {
      Result<std::string> frame = co_await read_frame();
      if (!frame.is_ok()) {
        ended = frame.status();
        break;
      }
      dispatch(*frame);
    }
    close_socket();
    keepalive_timer_->cancel();
    fail_pending(ended.is_ok() ? Status(ErrorCode::kUnavailable, "link closed") : ended);
    co_return ended;
  }

  awaitable<Result<std::string>> read_frame() {
    boost::system::error_code error;
    std::string frame(4, '\0');
    co_await asio::async_read(*socket_, asio::buffer(frame),
                              asio::redirect_error(asio::use_awaitable, error));
    if (error) co_return Status(ErrorCode::kUnavailable, "read: " + error.message());
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(frame.data());
    const auto length = smpp::read_command_length(std::span(bytes, 4), limits::kSmppPduBytesMax);
    if (!length.is_ok()) co_return length.status();  // framing is lost: drop the link
    frame.resize(*length);
    co_await asio::async_read(*socket_, asio::buffer(frame.data() + 4, *length - 4),
                              asio::redirect_error(asio::use_awaitable, error));
    if (error) co_return Status(ErrorCode::kUnavailable, "read: " + error.message());
    last_heard_ = Clock::now();
    co_return frame;
  }

  void dispatch(const std::string& frame) {
    auto decoded = smpp::decode(frame, limits::kSmppPduBytesMax);
    if (!decoded.is_ok()) {
      // The frame is whole (its length was checked), so the header can be read back.
      std::uint32_t id = 0, sequence = 0;
      for (std::size_t i = 4; i < 8; ++i) id = (id << 8) | static_cast<std::uint8_t>(frame[i]);
      for (std::size_t i = 12; i < 16; ++i) {
        sequence = (sequence << 8) | static_cast<std::uint8_t>(frame[i]);
      }
      spdlog::warn("smpp: {}", decoded.status().message());
      reply(smpp::Pdu{smpp::command::kGenericNack,
                      smpp::is_known_command(id) ? smpp::status::kSystemError
                                                 : smpp::status::kInvalidCommandId,
                      sequence, smpp::NoBody{}});
      return;
    }
    smpp::Pdu& pdu = *decoded;
    switch (pdu.command_id) {
      case smpp::command::kEnquireLink:
        reply(smpp::Pdu{smpp::command::kEnquireLinkResp, smpp::status::kOk, pdu.sequence_number,
                        smpp::NoBody{}});
        return;
      case smpp::command::kUnbind:
        reply(smpp::Pdu{smpp::command::kUnbindResp, smpp::status::kOk, pdu.sequence_number,
                        smpp::NoBody{}});
        bound_ = false;
        close_when_flushed_ = true;
        return;
      case smpp::command::kDeliverSm:
        handle_deliver_sm(pdu);
        return;
      default:
        break;
    }
    if (smpp::is_response(pdu.command_id)) {
      complete(pdu.sequence_number, std::move(pdu));
      return;
    }
    reply(smpp::Pdu{smpp::command::kGenericNack, smpp::status::kInvalidCommandId,
                    pdu.sequence_number, smpp::NoBody{}});
  }

  void handle_deliver_sm(const smpp::Pdu& pdu) {
    const auto& message = std::get<smpp::ShortMessage>(pdu.body);
    // Acknowledge first: the receipt is ours whether or not we can use it.
    reply(smpp::Pdu{smpp::command::kDeliverSmResp, smpp::status::kOk, pdu.sequence_number,
                    smpp::MessageIdResp{}});
    if (!smpp::is_delivery_receipt(message)) {
      spdlog::info("smpp: ignoring a mobile-originated message");
      return;
    }
    auto receipt = smpp::parse_delivery_receipt(message.short_message);
    if (!receipt.is_ok()) {
      spdlog::warn("smpp: unreadable delivery receipt: {}", receipt.status().message());
      return;
    }
    if (message.receipted_message_id) receipt->message_id = *message.receipted_message_id;
    on_receipt_(*receipt);
  }

  awaitable<void> keepalive(std::shared_ptr<asio::steady_timer> timer) {
    const auto interval = std::chrono::milliseconds(config_.enquire_link_ms);
    while (socket_ && socket_->is_open()) {
      timer->expires_after(interval);
      boost::system::error_code error;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, error));
      if (error || !socket_ || !socket_->is_open()) co_return;
      if (Clock::now() - last_heard_ > 2 * interval) {
        spdlog::warn("smpp: link silent for {} ms; dropping it", 2 * config_.enquire_link_ms);
        close_socket();
        co_return;
      }
      request(smpp::Pdu{smpp::command::kEnquireLink, smpp::status::kOk, 0, smpp::NoBody{}},
              false, config_.response_timeout_ms, [](const Result<smpp::Pdu>&) {});
    }
  }

  // Sends a request with the next sequence number; `done` runs once, with the response, or an
  // error on timeout or when the link drops.
  std::uint32_t request(smpp::Pdu pdu, bool in_window, std::uint32_t timeout_ms,
                        Completion done) {
    if (!socket_ || !socket_->is_open()) {
      if (in_window) window_.release();
      done(Status(ErrorCode::kUnavailable, "smsc not connected"));
      return 0;
    }
    // Sequence numbers run 1..0x7FFFFFFF (spec 5.1.4).
    pdu.sequence_number = next_sequence_;
    next_sequence_ = next_sequence_ == 0x7FFFFFFF ? 1 : next_sequence_ + 1;
    auto deadline = std::make_unique<asio::steady_timer>(io_);
    deadline->expires_after(std::chrono::milliseconds(timeout_ms));
    const std::uint32_t sequence = pdu.sequence_number;
    deadline->async_wait([this, sequence](boost::system::error_code error) {
      if (!error) complete(sequence, Status(ErrorCode::kUnavailable, "smsc response timed out"));
    });
    pending_[sequence] = Pending{std::move(done), in_window, std::move(deadline)};
    write(smpp::encode(pdu));
    return sequence;
  }

  void complete(std::uint32_t sequence, Result<smpp::Pdu> answer) {
    auto found = pending_.find(sequence);
    if (found == pending_.end()) return;  // late, or not ours
    Pending pending = std::move(found->second);
    pending_.erase(found);
    pending.deadline->cancel();
    if (pending.in_window) window_.release();
    pending.done(answer);
  }

  void fail_pending(const Status& why) {
    while (!pending_.empty()) complete(pending_.begin()->first, why);
  }

  void reply(const smpp::Pdu& pdu) { write(smpp::encode(pdu)); }

  void write(std::string bytes) {
    if (write_queue_.size() >= limits::kSmppWindowMax * 4) {
      // The SMSC reads nothing: no point queueing more.
      close_socket();
      return;
    }
    write_queue_.push_back(std::make_shared<const std::string>(std::move(bytes)));
    if (write_queue_.size() == 1) write_next();
  }

  void write_next() {
    if (!socket_ || !socket_->is_open()) {
      write_queue_.clear();
      return;
    }
    // The handler holds the bytes: close_socket() may drop the queue while a write is out.
    auto bytes = write_queue_.front();
    asio::async_write(*socket_, asio::buffer(*bytes),
                      [this, bytes, generation = link_generation_](
                          boost::system::error_code error, std::size_t) {
                        if (generation != link_generation_ || write_queue_.empty()) return;
                        write_queue_.pop_front();
                        if (error) {
                          write_queue_.clear();
                          close_socket();
                          return;
                        }
                        if (!write_queue_.empty()) {
                          write_next();
                        } else if (close_when_flushed_) {
                          close_socket();
                        }
                      });
  }

  void close_socket() {
    close_when_flushed_ = false;
    write_queue_.clear();
    if (socket_ && socket_->is_open()) {
      boost::system::error_code ignored;
      socket_->shutdown(tcp::socket::shutdown_both, ignored);
      socket_->close(ignored);
    }
  }

  const SmppConfig config_;
  const ReceiptHandler on_receipt_;
  asio::io_context io_;
  std::thread thread_;
  std::counting_semaphore<limits::kSmppWindowMax> window_{limits::kSmppWindowMax};

  // Client thread only.
  std::optional<tcp::socket> socket_;
  std::shared_ptr<asio::steady_timer> keepalive_timer_;
  std::uint64_t link_generation_ = 0;  // counts links, so a write completion knows its own
  asio::steady_timer backoff_timer_{io_};
  std::deque<std::shared_ptr<const std::string>> write_queue_;
  bool close_when_flushed_ = false;
  bool stopping_ = false;
  std::uint32_t next_sequence_ = 1;
  std::map<std::uint32_t, Pending> pending_;
  Clock::time_point last_heard_;
};

SmppClient::SmppClient(SmppConfig config, ReceiptHandler on_receipt)
    : impl_(std::make_shared<Impl>(std::move(config), std::move(on_receipt))) {}
SmppClient::~SmppClient() { stop(); }
void SmppClient::start() { impl_->start(); }
void SmppClient::stop() { impl_->stop(); }
bool SmppClient::is_bound() const { return impl_->bound_; }
std::uint64_t SmppClient::binds() const { return impl_->binds_; }
Result<std::string> SmppClient::submit(const OutboxMessage& message) {
  return impl_->submit(message);
}

}  // namespace station::messaging
