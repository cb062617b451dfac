#include "web/sweeper.h"

#include <spdlog/spdlog.h>

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
  periodic_.start(interval_ms, [this] {
    auto swept = sweep_once();
    if (!swept.is_ok()) spdlog::warn("web sweeper: {}", swept.status().to_string());
    return swept.is_ok() && (swept->sessions == limits::kWebSweepBatch ||
                             swept->codes == limits::kWebSweepBatch);
  });
}

void Sweeper::stop() { periodic_.stop(); }

}  // namespace station::web
