// cli: what `station admin ... import` prints when the store refuses an all-or-nothing CSV
// import, shared by the device catalogue and the profile inventory.
#pragma once

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace station::cli {

// Prints each problem of `outcome` (a devices or inventory ImportOutcome) on stderr, as
// "<file>: line N: reason" (line 0: the file as a whole), says whether the list was cut, and
// returns the exit code 1.
template <typename ImportOutcome>
int refuse_import(const std::string& file, const ImportOutcome& outcome) {
  for (const auto& problem : outcome.problems) {
    if (problem.line == 0) {
      fmt::print(stderr, "{}: {}\n", file, problem.reason);
    } else {
      fmt::print(stderr, "{}: line {}: {}\n", file, problem.line, problem.reason);
    }
  }
  if (outcome.problems_truncated) {
    fmt::print(stderr, "(only the first {} problems are listed)\n", outcome.problems.size());
  }
  fmt::print(stderr, "refused: nothing was imported\n");
  return 1;
}

}  // namespace station::cli
