// Test assertions on Status and Result: one definition for every test that checks errors as
// values (header only: needs GoogleTest and tests/ on the include path, nothing to link).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <utility>

#include "common/result.h"
#include "common/status.h"

// EXPECT/ASSERT that a Status is ok, printing it when it is not.
#define EXPECT_OK(expr)                                  \
  do {                                                   \
    const ::station::Status status_ = (expr);            \
    EXPECT_TRUE(status_.is_ok()) << status_.to_string(); \
  } while (false)

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const ::station::Status status_ = (expr);            \
    ASSERT_TRUE(status_.is_ok()) << status_.to_string(); \
  } while (false)

namespace station::testing {

// The value of a Result the test cannot go on without: with no value to return, an error fails
// the test and aborts.
template <typename T>
T must(Result<T> result) {
  if (!result.is_ok()) {
    ADD_FAILURE() << "unexpected error: " << result.status().to_string();
    std::abort();
  }
  return std::move(result).value();
}

}  // namespace station::testing
