// web/sweeper: deletes what the sites' tables no longer need, so they hold live rows only:
// expired sessions (of visitors, customers and staff alike) and sign-in codes past their
// lifetime and rate-limit window. Each run deletes at most limits::kWebSweepBatch rows of each;
// the runs' timing is common/periodic.h's.
#pragma once

#include <cstdint>

#include "common/periodic.h"
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

  // Runs at once, then every `interval_ms` (real time), on a thread of its own until stop().
  void start(std::uint32_t interval_ms);
  void stop();

 private:
  Sessions& sessions_;
  SignInCodes& codes_;
  Periodic periodic_;
};

}  // namespace station::web
