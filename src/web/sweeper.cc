#include "web/sweeper.h"

#include <spdlog/spdlog.h>

#include <cassert>
#include <chrono>

#include "common/limits.h"

namespace station::web {

Sweeper::Sweeper(Sessions& sessions, SignInCodes& codes) : sessions_(sessions), codes_(codes) {}

Sweeper::~Sweeper() { stop(); }

Result<SweepCounts> Sweeper::sweep_once() {
  SweepCounts counts;
  STATION_ASSIGN_OR_RETURN(counts.sessions, sessions_.delete_expired(limits::kWebSweepBatch));
  STATION_ASSIGN_OR_RETURN(counts.codes, codes_.delete_spent(limits::kWebSweepBatch));
  return counts;
}

void Sweeper::start(std::uint32_t interval_ms) {
  assert(!thread_.joinable());
  stopping_ = false;
  thread_ = std::thread([this, interval_ms] {
    std::unique_lock lock(mutex_);
    bool backlog = false;
    while (!stopping_) {
      if (!backlog) {
        wake_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return stopping_; });
        if (stopping_) break;
      }
      lock.unlock();
      auto swept = sweep_once();
      if (!swept.is_ok()) spdlog::warn("web sweeper: {}", swept.status().to_string());
      backlog = swept.is_ok() && (swept->sessions == limits::kWebSweepBatch ||
                                  swept->codes == limits::kWebSweepBatch);
      lock.lock();
    }
  });
}

void Sweeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace station::web
