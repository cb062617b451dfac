#include "common/periodic.h"

#include <cassert>
#include <chrono>
#include <utility>

namespace station {

Periodic::~Periodic() { stop(); }

void Periodic::start(std::uint32_t interval_ms, Task task) {
  assert(!thread_.joinable() && task);
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this, interval_ms, task = std::move(task)] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      const bool work_left = task();
      lock.lock();
      if (!work_left) {
        wake_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return stopping_; });
      }
    }
  });
}

void Periodic::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace station
