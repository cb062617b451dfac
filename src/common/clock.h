// common/clock: time is injected so that expiry paths are testable without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace station {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch (UTC).
  virtual std::int64_t now_unix_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_unix_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

// A clock that moves only when told; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_unix_ms) : now_ms_(start_unix_ms) {}
  std::int64_t now_unix_ms() const override { return now_ms_.load(); }
  void advance_ms(std::int64_t delta_ms) { now_ms_.fetch_add(delta_ms); }
  void set_ms(std::int64_t unix_ms) { now_ms_.store(unix_ms); }

 private:
  std::atomic<std::int64_t> now_ms_;
};

// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-11-25T01:20:00.123Z.
std::string format_rfc3339_ms(std::int64_t unix_ms);

}  // namespace station
