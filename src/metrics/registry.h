// metrics: counters and histograms with labels, rendered in the Prometheus text format (0.0.4).
//
// Lock-light: each series is created once under a mutex and then updated with atomics, so hot
// paths (every HTTP request, every ledger batch) pay an atomic add. Label cardinality is bounded
// by the callers (route patterns, status codes), never by raw input.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace station::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void add(std::uint64_t delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Cumulative counts per bucket (last is +Inf), sum, count.
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative_counts;
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};  // sum scaled by 1e6, to stay atomic and integral
};

class Registry {
 public:
  Registry();
  ~Registry();
  // Returns the series, creating it on first use. The reference stays valid for the registry's
  // lifetime.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& upper_bounds, const Labels& labels = {});
  // A value read at scrape time (e.g. queue depth, pool size). Registering a name again
  // replaces its reader (a server restarted on the same registry). `read` must stay callable
  // for the registry's lifetime, or until replaced.
  void gauge_callback(const std::string& name, const std::string& help,
                      std::function<double()> read);
  // A histogram kept elsewhere (e.g. the ledger's batch sizes), read at scrape time; replaced
  // like a gauge callback.
  void histogram_callback(const std::string& name, const std::string& help,
                          std::function<Histogram::Snapshot()> read);

  std::string render_prometheus() const;

  // Seconds-based buckets for request latency: 0.5 ms to 10 s.
  static std::vector<double> latency_buckets_seconds();

 private:
  struct Family;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>> families_;  // GUARDED_BY(mutex_)
};

}  // namespace station::metrics
