#include "metrics/registry.h"

#include <cassert>
#include <cmath>
#include <variant>

#include <fmt/format.h>

namespace station::metrics {
namespace {

// The text format escapes backslash and newline in HELP, and also the double quote in label
// values.
std::string escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || (quote && c == '"')) {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// {a="x",b="y"} plus an optional extra label (for histogram buckets); empty when no labels.
std::string render_labels(const Labels& labels, const std::string& extra_name = "",
                          const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out += fmt::format("{}=\"{}\"", name, escape(value, true));
  }
  if (!extra_name.empty()) {
    if (!first) out.push_back(',');
    out += fmt::format("{}=\"{}\"", extra_name, extra_value);
  }
  out.push_back('}');
  return out;
}

std::string format_double(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<std::uint64_t>[upper_bounds_.size() + 1]) {
  for (std::size_t i = 0; i + 1 < upper_bounds_.size(); ++i) {
    assert(upper_bounds_[i] < upper_bounds_[i + 1] && "bounds must increase");
  }
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double value) {
  std::size_t bucket = 0;
  while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (value > 0) {
    sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(value * 1e6)),
                          std::memory_order_relaxed);
  }
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  out.upper_bounds = upper_bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out.cumulative_counts.push_back(running);
  }
  out.count = running;
  out.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  return out;
}

struct Registry::Family {
  std::string help;
  std::string type;  // counter | histogram | gauge
  std::vector<double> bounds;
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
  std::function<double()> gauge;
  std::function<Histogram::Snapshot()> histogram_reader;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& family = families_[name];
  if (!family) family = std::make_unique<Family>(Family{help, "counter"});
  assert(family->type == "counter");
  auto& series = family->counters[labels];
  if (!series) series = std::make_unique<Counter>();
  return *series;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& upper_bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& family = families_[name];
  if (!family) family = std::make_unique<Family>(Family{help, "histogram", upper_bounds});
  assert(family->type == "histogram" && family->bounds == upper_bounds);
  auto& series = family->histograms[labels];
  if (!series) series = std::make_unique<Histogram>(upper_bounds);
  return *series;
}

void Registry::gauge_callback(const std::string& name, const std::string& help,
                              std::function<double()> read) {
  std::lock_guard lock(mutex_);
  auto& family = families_[name];
  assert((!family || family->gauge) && "a gauge callback's name is not used by another type");
  family = std::make_unique<Family>(Family{help, "gauge"});
  family->gauge = std::move(read);
}

void Registry::histogram_callback(const std::string& name, const std::string& help,
                                  std::function<Histogram::Snapshot()> read) {
  std::lock_guard lock(mutex_);
  auto& family = families_[name];
  assert((!family || family->histogram_reader) &&
         "a histogram callback's name is not used by another type");
  family = std::make_unique<Family>(Family{help, "histogram"});
  family->histogram_reader = std::move(read);
}

namespace {

void render_histogram(std::string& out, const std::string& name, const Labels& labels,
                      const Histogram::Snapshot& snapshot) {
  for (std::size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
    std::string le =
        i < snapshot.upper_bounds.size() ? format_double(snapshot.upper_bounds[i]) : "+Inf";
    out += fmt::format("{}_bucket{} {}\n", name, render_labels(labels, "le", le),
                       snapshot.cumulative_counts[i]);
  }
  out += fmt::format("{}_sum{} {}\n", name, render_labels(labels), format_double(snapshot.sum));
  out += fmt::format("{}_count{} {}\n", name, render_labels(labels), snapshot.count);
}

}  // namespace

std::string Registry::render_prometheus() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape(family->help, false), name,
                       family->type);
    if (family->type == "counter") {
      for (const auto& [labels, series] : family->counters) {
        out += fmt::format("{}{} {}\n", name, render_labels(labels), series->value());
      }
    } else if (family->type == "gauge") {
      out += fmt::format("{} {}\n", name, format_double(family->gauge()));
    } else if (family->histogram_reader) {
      render_histogram(out, name, {}, family->histogram_reader());
    } else {
      for (const auto& [labels, series] : family->histograms) {
        render_histogram(out, name, labels, series->snapshot());
      }
    }
  }
  return out;
}

std::vector<double> Registry::latency_buckets_seconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace station::metrics
