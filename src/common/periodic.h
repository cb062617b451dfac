// common/periodic: runs one task on a thread of its own, at start and then every interval (real
// time), until stop(). A task that answers true left work behind (it filled a batch) and runs
// again at once, so a backlog drains in bounded steps without one long run holding a table. For
// the sweepers that keep tables to their live rows (the sites' sessions and codes, the SM-DP+'s
// abandoned sessions); running at start clears what piled up while the process was down.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace station {

class Periodic {
 public:
  // Answers whether work is left for an immediate next run.
  using Task = std::function<bool()>;

  Periodic() = default;
  ~Periodic();  // stop()
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  // REQUIRES: not running (never started, or stopped).
  void start(std::uint32_t interval_ms, Task task);
  // Waits for a run in progress to end; a stopped Periodic may start again.
  void stop();

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace station
