#include "metrics/registry.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace station::metrics {
namespace {

TEST(RegistryTest, RendersCountersWithEscapedLabels) {
  Registry registry;
  registry.counter("requests_total", "Requests", {{"route", "/v1/x"}, {"note", "a\"b\\c"}}).add(3);
  registry.counter("requests_total", "Requests", {{"route", "/v1/x"}, {"note", "a\"b\\c"}}).add();
  std::string text = registry.render_prometheus();
  EXPECT_NE(text.find("# HELP requests_total Requests\n# TYPE requests_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find(R"(requests_total{route="/v1/x",note="a\"b\\c"} 4)"), std::string::npos)
      << text;
}

TEST(RegistryTest, HistogramBucketsAreCumulativeWithInf) {
  Registry registry;
  auto& histogram = registry.histogram("latency_seconds", "Latency", {0.1, 1}, {{"route", "r"}});
  histogram.observe(0.05);
  histogram.observe(0.5);
  histogram.observe(5);
  std::string text = registry.render_prometheus();
  EXPECT_NE(text.find(R"(latency_seconds_bucket{route="r",le="0.1"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(latency_seconds_bucket{route="r",le="1"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(latency_seconds_bucket{route="r",le="+Inf"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(latency_seconds_count{route="r"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(latency_seconds_sum{route="r"} 5.55)"), std::string::npos) << text;
}

TEST(RegistryTest, CallbacksAreReadAtScrapeTime) {
  Registry registry;
  double depth = 1;
  registry.gauge_callback("queue_depth", "Depth", [&] { return depth; });
  registry.histogram_callback("batch_size", "Sizes", [] {
    return Histogram::Snapshot{{1, 2}, {1, 3, 4}, 9, 4};
  });
  depth = 7;
  std::string text = registry.render_prometheus();
  EXPECT_NE(text.find("queue_depth 7\n"), std::string::npos);
  EXPECT_NE(text.find(R"(batch_size_bucket{le="+Inf"} 4)"), std::string::npos) << text;
}

TEST(RegistryTest, EscapesHelpAndNewlinesInLabels) {
  Registry registry;
  registry.counter("odd_total", "Line one\nback\\slash", {{"path", "a\nb"}}).add();
  registry.counter("plain_total", "No labels").add(2);
  std::string text = registry.render_prometheus();
  EXPECT_NE(text.find("# HELP odd_total Line one\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(odd_total{path="a\nb"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find("plain_total 2\n"), std::string::npos) << text;
}

TEST(RegistryTest, RegisteringACallbackAgainReplacesIt) {
  Registry registry;
  registry.gauge_callback("open_connections", "Open", [] { return 1.0; });
  registry.gauge_callback("open_connections", "Open", [] { return 2.0; });
  std::string text = registry.render_prometheus();
  EXPECT_NE(text.find("open_connections 2\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("open_connections 1\n"), std::string::npos) << text;
}

TEST(RegistryTest, ConcurrentUpdatesAreAllCounted) {
  Registry registry;
  constexpr int kThreads = 4;
  constexpr int kAddsPerThread = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry] {
      for (int i = 0; i < kAddsPerThread; ++i) {
        registry.counter("hits_total", "Hits", {{"route", "/x"}}).add();
        registry.histogram("size", "Sizes", {1, 10}, {{"route", "/x"}}).observe(5);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(registry.counter("hits_total", "Hits", {{"route", "/x"}}).value(),
            std::uint64_t{kThreads * kAddsPerThread});
  auto snapshot = registry.histogram("size", "Sizes", {1, 10}, {{"route", "/x"}}).snapshot();
  EXPECT_EQ(snapshot.count, std::uint64_t{kThreads * kAddsPerThread});
  EXPECT_EQ(snapshot.cumulative_counts,
            (std::vector<std::uint64_t>{0, snapshot.count, snapshot.count}));
}

}  // namespace
}  // namespace station::metrics
