#!/usr/bin/env bash
# Runs the portal's browser test: installs playwright-core from the lock file (npm ci) into
# WORK_DIR, then drives Debian's headless Chromium against the real station binary.
# Usage: run.sh STATION_BINARY WORK_DIR
# Screenshots go to WORK_DIR/screenshots, or to STATION_SCREENSHOTS_DIR when set (to refresh
# docs/screenshots: STATION_SCREENSHOTS_DIR=$PWD/docs/screenshots ctest -R web_browser).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
station=$1
work=$(mkdir -p "$2" && cd "$2" && pwd)
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" || [[ ! -d $work/node_modules ]]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
fi
export PLAYWRIGHT_CORE="$work/node_modules/playwright-core"
export STATION_SCREENSHOTS_DIR=${STATION_SCREENSHOTS_DIR:-$work/screenshots}
exec node "$here/portal_test.cjs" "$station"
