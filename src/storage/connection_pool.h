// storage/connection_pool: a bounded pool of engine connections, shared by both engines.
//
// Connections are opened lazily up to the pool size. acquire() hands out an idle connection,
// opens a new one while under the bound, or waits for a release until the acquire timeout. A
// connection that comes back unusable (broken, or still inside a transaction) is closed instead
// of being reused, so the next acquire opens a fresh one: that is how a PostgreSQL connection
// reconnects after its server went away.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/database.h"

namespace station::storage::internal {

class PooledConnection : public Connection {
 public:
  // False when the connection must not be handed out again: broken, or left in a transaction.
  virtual bool reusable() const = 0;
};

class ConnectionPool {
 public:
  using Opener = std::function<Result<std::unique_ptr<PooledConnection>>()>;

  // Opens one connection at once, so that a wrong path or URL fails here rather than later.
  static Result<std::unique_ptr<ConnectionPool>> create(std::uint32_t size,
                                                        std::uint32_t acquire_timeout_ms,
                                                        Opener open);
  // REQUIRES: every lease has been returned.
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  Result<ConnectionLease> acquire();

 private:
  ConnectionPool(std::uint32_t size, std::uint32_t acquire_timeout_ms, Opener open);
  ConnectionLease lease(std::unique_ptr<PooledConnection> connection);
  void release(std::unique_ptr<Connection> connection);

  const std::uint32_t size_;
  const std::uint32_t acquire_timeout_ms_;
  const Opener open_;

  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<PooledConnection>> idle_;  // GUARDED_BY(mutex_)
  // Idle, leased and being opened; never above size_.
  std::uint32_t open_count_ = 0;  // GUARDED_BY(mutex_)
};

}  // namespace station::storage::internal
