// common/worker_pool: a fixed set of threads running posted work, with an explicit bound on the
// work it holds (queued or running). For steps that must not run on I/O threads: CPU-heavy
// crypto (the SM-DP+'s signatures and key agreements) and blocking storage or network calls
// (the orders' payments and allocations). Beyond the bound, try_post refuses at once, so the
// caller can answer "busy, retry" (503) instead of letting latency grow without limit.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace station {

class WorkerPool {
 public:
  // REQUIRES: threads >= 1 and work_max >= 1.
  WorkerPool(std::size_t threads, std::size_t work_max);
  // join().
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `work` to run on a worker. False, and `work` is dropped unrun, when work_max tasks
  // are queued or running already, or after join() began.
  [[nodiscard]] bool try_post(std::function<void()> work);

  // Stops taking work, runs every task already queued, then joins the threads. Safe to call
  // more than once; never from a worker.
  void join();

  // Tasks queued or running now.
  std::size_t held() const;
  std::size_t work_max() const { return work_max_; }

 private:
  void run_worker();

  const std::size_t work_max_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mutex_)
  std::size_t running_ = 0;                  // GUARDED_BY(mutex_)
  bool joining_ = false;                     // GUARDED_BY(mutex_)
  std::vector<std::thread> threads_;
};

}  // namespace station
