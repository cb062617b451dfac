#include "storage/connection_pool.h"

#include <fmt/format.h>

#include <cassert>
#include <chrono>
#include <utility>

namespace station::storage::internal {

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::create(std::uint32_t size,
                                                               std::uint32_t acquire_timeout_ms,
                                                               Opener open) {
  assert(size > 0);
  std::unique_ptr<ConnectionPool> pool(
      new ConnectionPool(size, acquire_timeout_ms, std::move(open)));
  STATION_ASSIGN_OR_RETURN(std::unique_ptr<PooledConnection> first, pool->open_());
  pool->idle_.push_back(std::move(first));
  pool->open_count_ = 1;
  return pool;
}

ConnectionPool::ConnectionPool(std::uint32_t size, std::uint32_t acquire_timeout_ms, Opener open)
    : size_(size), acquire_timeout_ms_(acquire_timeout_ms), open_(std::move(open)) {}

ConnectionPool::~ConnectionPool() {
  std::lock_guard lock(mutex_);
  assert(open_count_ == idle_.size() && "a ConnectionLease outlived its Database");
}

Result<ConnectionLease> ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(acquire_timeout_ms_);
  const bool available = released_.wait_until(
      lock, deadline, [this] { return !idle_.empty() || open_count_ < size_; });
  if (!available) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("no database connection became free within {} ms (pool of {})",
                              acquire_timeout_ms_, size_));
  }
  if (!idle_.empty()) {
    std::unique_ptr<PooledConnection> connection = std::move(idle_.back());
    idle_.pop_back();
    return lease(std::move(connection));
  }
  // Reserve the slot, then open outside the lock: connecting can take a network round trip.
  ++open_count_;
  lock.unlock();
  Result<std::unique_ptr<PooledConnection>> opened = open_();
  if (!opened.is_ok()) {
    lock.lock();
    --open_count_;
    released_.notify_one();
    return opened.status();
  }
  return lease(std::move(opened).value());
}

ConnectionLease ConnectionPool::lease(std::unique_ptr<PooledConnection> connection) {
  assert(connection != nullptr && connection->reusable());
  return ConnectionLease(std::move(connection), [this](std::unique_ptr<Connection> returned) {
    release(std::move(returned));
  });
}

void ConnectionPool::release(std::unique_ptr<Connection> connection) {
  // Every connection this pool leases is a PooledConnection (see lease()).
  std::unique_ptr<PooledConnection> pooled(static_cast<PooledConnection*>(connection.release()));
  // Close an unusable connection before freeing its slot, so the pool never exceeds its size.
  if (!pooled->reusable()) pooled.reset();  // closing rolls back whatever it left open
  std::lock_guard lock(mutex_);
  if (pooled != nullptr) {
    idle_.push_back(std::move(pooled));
  } else {
    --open_count_;
  }
  released_.notify_one();
}

}  // namespace station::storage::internal
