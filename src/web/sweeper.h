// web/sweeper: deletes what the sites' tables no longer need, so they hold live rows only:
// expired sessions (of visitors, customers and staff alike) and sign-in codes past their
// lifetime and rate-limit window. Each run deletes at most limits::kWebSweepBatch rows of each;
// a run that filled a batch is followed at once by another, so a backlog drains in bounded
// steps without one long delete holding the table.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/result.h"
#include "web/sessions.h"
#include "web/sign_in_codes.h"

namespace station::web {

struct SweepCounts {
  std::size_t sessions = 0;
  std::size_t codes = 0;
};

class Sweeper {
 public:
  Sweeper(Sessions& sessions, SignInCodes& codes);
  ~Sweeper();  // stop()
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // One run; the thread calls it, tests may too.
  Result<SweepCounts> sweep_once();

  // Runs every `interval_ms` (real time) on a thread of its own until stop().
  void start(std::uint32_t interval_ms);
  void stop();

 private:
  Sessions& sessions_;
  SignInCodes& codes_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace station::web
