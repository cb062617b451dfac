// common/result: Result<T> is a value or the Status that explains why there is none.
#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "common/status.h"

namespace station {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.is_ok() && "a Result built from a Status must carry an error");
  }
  Result(ErrorCode code, std::string message) : Result(Status(code, std::move(message))) {}

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }

  // REQUIRES: is_ok()
  T& value() & {
    assert(is_ok());
    return *value_;
  }
  const T& value() const& {
    assert(is_ok());
    return *value_;
  }
  T&& value() && {
    assert(is_ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace station

// Returns the Status of an expression from the enclosing function when it is an error.
#define STATION_RETURN_IF_ERROR(expr)        \
  do {                                       \
    ::station::Status station_status_ = (expr); \
    if (!station_status_.is_ok()) return station_status_; \
  } while (false)

#define STATION_CONCAT_INNER(a, b) a##b
#define STATION_CONCAT(a, b) STATION_CONCAT_INNER(a, b)

// Declares `lhs` from a Result expression, or returns its Status from the enclosing function.
#define STATION_ASSIGN_OR_RETURN(lhs, expr) \
  STATION_ASSIGN_OR_RETURN_IMPL(STATION_CONCAT(station_result_, __LINE__), lhs, expr)
#define STATION_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.is_ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
