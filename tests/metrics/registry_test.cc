#include "metrics/registry.h"

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

}  // namespace
}  // namespace station::metrics
