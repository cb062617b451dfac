#!/usr/bin/env bash
# The test command: installs what is missing, builds Station twice (optimised, and with
# AddressSanitizer + UndefinedBehaviorSanitizer), starts a throwaway PostgreSQL, and runs every
# test against both storages (SQLite and PostgreSQL). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTATION_SANITIZE=ON \
  -DSTATION_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"

# PostgreSQL-backed tests fail instead of skipping when the database is missing.
export STATION_REQUIRE_POSTGRES=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Tests share one PostgreSQL database and reset it, so they run one at a time.
scripts/with-postgres.sh bash -c '
  set -e
  echo "== optimised build: all tests"
  ctest --test-dir build --output-on-failure --timeout 600
  echo "== sanitizer build: all tests but the crash test (it measures a real binary under load)"
  echo "   and the browser test (it drives Chromium; the optimised build runs it)"
  ctest --test-dir build-asan --output-on-failure --timeout 900 -LE "crash|browser"
'
