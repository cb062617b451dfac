#include "common/worker_pool.h"

#include <atomic>
#include <future>

#include <gtest/gtest.h>

namespace station {
namespace {

TEST(WorkerPool, RefusesWorkBeyondItsBoundAndTakesItAgainOnceFree) {
  WorkerPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.try_post([&] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.try_post([&] { ++ran; }));  // queued behind the running one
  EXPECT_EQ(pool.held(), 2u);
  EXPECT_FALSE(pool.try_post([&] { ran += 100; }));  // running + queued = work_max
  release.set_value();
  pool.join();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(pool.held(), 0u);
  EXPECT_FALSE(pool.try_post([] {}));  // joined: no new work
}

TEST(WorkerPool, JoinRunsEverythingQueued) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(2, 64);
    for (int i = 0; i < 64; ++i) ASSERT_TRUE(pool.try_post([&] { ++ran; }));
  }  // the destructor joins
  EXPECT_EQ(ran.load(), 64);
}

}  // namespace
}  // namespace station
