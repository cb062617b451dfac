#include "smdp/progress_callbacks.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <ctime>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "smdp/es2_client.h"

namespace station::smdp {
namespace {

using storage::Value;

constexpr std::string_view kQueued = "queued";
constexpr std::string_view kDelivered = "delivered";
constexpr std::string_view kUndeliverable = "undeliverable";
constexpr std::size_t kErrorBytesMax = 200;

// SGP.22 timestamps: yyyy-MM-ddTHH:mm:ssZ, UTC.
std::string sgp22_timestamp(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const std::size_t size = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, size);
}

}  // namespace

Status check_config(const ProgressCallbackConfig& config) {
  STATION_RETURN_IF_ERROR(check_es2_link(config.url, config.ca_file, config.bearer_token,
                                         "the operator's progress callbacks"));
  if (config.attempts_max == 0 || config.retry_base_ms == 0 ||
      config.retry_max_ms < config.retry_base_ms || config.timeout_ms == 0 ||
      config.poll_interval_ms == 0 || config.queue_max == 0) {
    return Status(ErrorCode::kValidationFailed,
                  "progress callback attempts, back-off, timeout, poll interval and queue size "
                  "must be positive (and the back-off cap at least its base)");
  }
  return Status::ok();
}

struct ProgressCallbacks::Row {
  Id id = 0;
  std::string body;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at_ms = 0;
};

ProgressCallbacks::ProgressCallbacks(storage::Database& database, IdGenerator& ids,
                                     const Clock& clock, metrics::Registry& metrics,
                                     ProgressCallbackConfig config,
                                     std::string requester_identifier)
    : database_(database),
      ids_(ids),
      clock_(clock),
      metrics_(metrics),
      config_(std::move(config)),
      requester_identifier_(std::move(requester_identifier)),
      client_(http::ClientOptions{.ca_file = config_.ca_file, .timeout_ms = config_.timeout_ms}) {
  assert(check_config(config_).is_ok());
}

ProgressCallbacks::~ProgressCallbacks() { stop(); }

void ProgressCallbacks::count(std::string_view outcome) {
  metrics_
      .counter("station_smdp_progress_callbacks_total",
               "ES2+ HandleDownloadProgressInfo reports to the operator, by outcome",
               {{"outcome", std::string(outcome)}})
      .add();
}

Status ProgressCallbacks::enqueue(const ProgressInfo& info) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(
      auto waiting,
      connection->query("SELECT COUNT(*) FROM smdp_progress_callbacks WHERE state = 'queued'"));
  if (!waiting.empty() && waiting[0].int_at(0) >= static_cast<std::int64_t>(config_.queue_max)) {
    count("dropped");
    spdlog::error("smdp: progress callback for ICCID {} dropped: {} reports wait already",
                  info.iccid, config_.queue_max);
    return Status(ErrorCode::kUnavailable, "the progress callback queue is full");
  }
  const Id id = ids_.next();
  nlohmann::json status = {{"status", info.success ? "Executed-Success" : "Failed"}};
  if (!info.success) {
    status["statusCodeData"] = {{"subjectCode", info.subject_code},
                                {"reasonCode", info.reason_code},
                                {"message", info.message}};
  }
  nlohmann::json body = {{"header",
                          {{"functionRequesterIdentifier", requester_identifier_},
                           {"functionCallIdentifier", std::to_string(id)}}},
                         {"iccid", info.iccid},
                         {"profileType", info.profile_type},
                         {"timestamp", sgp22_timestamp(clock_.now_unix_ms())},
                         {"notificationPointId", static_cast<int>(info.point)},
                         {"notificationPointStatus", std::move(status)}};
  if (!info.eid.empty()) body["eid"] = info.eid;
  if (info.result_data_base64) body["resultData"] = *info.result_data_base64;
  const std::int64_t now = clock_.now_unix_ms();
  std::array<Value, 6> params = {id, body.dump(), std::string(kQueued), now, now, now};
  STATION_RETURN_IF_ERROR(connection->execute(
      "INSERT INTO smdp_progress_callbacks (id, body, state, attempts, next_attempt_at_ms, "
      "created_at_ms, updated_at_ms) VALUES (?, ?, ?, 0, ?, ?, ?)",
      params));
  count("queued");
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_one();
  return Status::ok();
}

Status ProgressCallbacks::record_failure(const Row& row, std::string_view error) {
  const std::int64_t attempts = row.attempts + 1;
  const bool exhausted = attempts >= static_cast<std::int64_t>(config_.attempts_max);
  // base * 2^(attempts - 1), capped; the shift is bounded by the cap check.
  std::int64_t delay = config_.retry_base_ms;
  for (std::int64_t i = 1; i < attempts && delay < config_.retry_max_ms; ++i) delay *= 2;
  delay = std::min<std::int64_t>(delay, config_.retry_max_ms);
  const std::int64_t now = clock_.now_unix_ms();
  std::string reason(error.substr(0, kErrorBytesMax));
  std::array<Value, 6> params = {std::string(exhausted ? kUndeliverable : kQueued),
                                 attempts,
                                 now + delay,
                                 reason,
                                 now,
                                 row.id};
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_RETURN_IF_ERROR(connection->execute(
      "UPDATE smdp_progress_callbacks SET state = ?, attempts = ?, next_attempt_at_ms = ?, "
      "last_error = ?, updated_at_ms = ? WHERE id = ?",
      params));
  if (exhausted) {
    count("undeliverable");
    spdlog::error("smdp: progress callback {} undeliverable after {} tries: {}", row.id, attempts,
                  reason);
  }
  return Status::ok();
}

Result<std::size_t> ProgressCallbacks::deliver_due() {
  std::vector<Row> due;
  {
    STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
    STATION_ASSIGN_OR_RETURN(
        auto rows,
        connection->query(fmt::format("SELECT id, body, attempts, next_attempt_at_ms FROM "
                                      "smdp_progress_callbacks WHERE state = 'queued' ORDER BY "
                                      "id LIMIT {}",
                                      kProgressCallbackBatch)));
    for (const auto& row : rows) {
      due.push_back(Row{row.int_at(0), row.text_at(1), row.int_at(2), row.int_at(3)});
    }
  }
  std::size_t delivered = 0;
  for (const Row& row : due) {
    // In order: a row not due yet holds back the ones queued after it.
    if (row.next_attempt_at_ms > clock_.now_unix_ms()) break;
    auto response = client_.send(es2_request(config_.url, row.body, config_.bearer_token));
    std::string error;
    if (!response.is_ok()) {
      error = response.status().to_string();
    } else if (response->status < 200 || response->status > 299) {
      error = fmt::format("the operator answered HTTP {}", response->status);
    }
    if (!error.empty()) {
      STATION_RETURN_IF_ERROR(record_failure(row, error));
      break;
    }
    STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
    std::array<Value, 4> params = {std::string(kDelivered), row.attempts + 1, clock_.now_unix_ms(),
                                   row.id};
    STATION_RETURN_IF_ERROR(connection->execute(
        "UPDATE smdp_progress_callbacks SET state = ?, attempts = ?, updated_at_ms = ? "
        "WHERE id = ?",
        params));
    count("delivered");
    ++delivered;
  }
  return delivered;
}

void ProgressCallbacks::start(const storage::OwnershipLock& /*owner*/) {
  std::lock_guard guard(mutex_);
  if (sender_.joinable()) return;
  stopping_ = false;
  sender_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      pending_ = false;
      lock.unlock();
      auto passed = deliver_due();
      if (!passed.is_ok()) {
        spdlog::warn("smdp: progress callbacks: {}", passed.status().to_string());
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(config_.poll_interval_ms),
                     [this] { return stopping_ || pending_; });
    }
  });
}

void ProgressCallbacks::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
}

}  // namespace station::smdp
