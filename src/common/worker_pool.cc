#include "common/worker_pool.h"

#include <cassert>

namespace station {

WorkerPool::WorkerPool(std::size_t threads, std::size_t work_max) : work_max_(work_max) {
  assert(threads >= 1 && work_max >= 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run_worker(); });
}

WorkerPool::~WorkerPool() { join(); }

bool WorkerPool::try_post(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    if (joining_ || queue_.size() + running_ >= work_max_) return false;
    queue_.push_back(std::move(work));
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::join() {
  {
    std::lock_guard lock(mutex_);
    joining_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::size_t WorkerPool::held() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + running_;
}

void WorkerPool::run_worker() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return joining_ || !queue_.empty(); });
    if (queue_.empty()) return;  // joining, and nothing left to run
    std::function<void()> work = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    work();
    work = nullptr;  // release what the task captured before counting it done
    lock.lock();
    --running_;
  }
}

}  // namespace station
