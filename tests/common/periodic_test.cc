// Periodic: the task runs at start; a run that leaves work is followed at once, not an interval
// later; stop() does not wait out the interval.
#include "common/periodic.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace station {
namespace {

constexpr std::uint32_t kHourMs = 3'600'000;

// Waits (at most 20 s) until `runs` reaches `count`.
void await_runs(const std::atomic<int>& runs, int count) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (runs.load() < count && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(PeriodicTest, RunsAtStartAndDrainsABacklogWithoutWaitingForTheInterval) {
  std::atomic<int> runs{0};
  Periodic periodic;
  // Each of the first three runs reports work left; with an hour between runs, only running
  // again at once gets to four.
  periodic.start(kHourMs, [&runs] { return ++runs < 4; });
  await_runs(runs, 4);
  periodic.stop();  // waits out no interval: a test that ends is the proof
  EXPECT_EQ(runs.load(), 4);
}

TEST(PeriodicTest, AStoppedPeriodicStartsAgain) {
  std::atomic<int> runs{0};
  Periodic periodic;
  auto count = [&runs] {
    ++runs;
    return false;
  };
  periodic.start(kHourMs, count);
  await_runs(runs, 1);
  periodic.stop();
  periodic.start(kHourMs, count);
  await_runs(runs, 2);
  periodic.stop();
  EXPECT_EQ(runs.load(), 2);
}

}  // namespace
}  // namespace station
