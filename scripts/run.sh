#!/usr/bin/env bash
# The run command: installs what is missing, builds Station, and starts the server on the
# embedded default store (SQLite under ./data), listening on 127.0.0.1:8080. On the first start
# the server prints an admin API key. Extra arguments go to `station serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec build/src/station serve --data-dir ./data --listen 127.0.0.1:8080 "$@"
