#!/usr/bin/env bash
# Benchmark: durable HTTP top-ups per second (Station, SQLite and PostgreSQL stores) against the
# baseline a team would otherwise write, one PostgreSQL transaction per top-up (pgbench), all at
# the same concurrency on this machine in one run. Prints a Markdown table for
# docs/benchmarks.md. Needs a release build in build/ (scripts/run.sh or scripts/test.sh make one),
# or the binary named by STATION_BIN.
#
# Usage: bench/http_topups.sh [CONNECTIONS] [SECONDS]
# Runs inside a throwaway PostgreSQL: scripts/with-postgres.sh bench/http_topups.sh 64 20
set -euo pipefail
cd "$(dirname "$0")/.."

connections=${1:-64}
seconds=${2:-20}
customers=200
station=${STATION_BIN:-build/src/station}
[[ -x $station ]] || { echo "build first: cmake --build build (or set STATION_BIN)" >&2; exit 1; }
[[ -n ${STATION_TEST_POSTGRES_URL:-} ]] || { echo "run under scripts/with-postgres.sh" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- baseline: pgbench, one SQL transaction per top-up -----------------------------------------
psql "$STATION_TEST_POSTGRES_URL" -q <<SQL
DROP SCHEMA public CASCADE; CREATE SCHEMA public;
CREATE TABLE bench_accounts (id BIGINT PRIMARY KEY, balance_minor BIGINT NOT NULL);
CREATE TABLE bench_transfers (id BIGSERIAL PRIMARY KEY, debit BIGINT NOT NULL, credit BIGINT NOT NULL,
  amount_minor BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL);
CREATE INDEX ON bench_transfers (credit, id);
CREATE TABLE bench_idempotency (key TEXT PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL);
INSERT INTO bench_accounts SELECT g, 0 FROM generate_series(0, $customers) g;
SQL
pgbench_out=$(pgbench "$STATION_TEST_POSTGRES_URL" -n -M prepared -c "$connections" -j 2 \
  -T "$seconds" -D wallets=$customers -f bench/pgbench_topup.sql -r 2>&1)
pg_tps=$(awk '/^tps = /{print int($3); exit}' <<<"$pgbench_out")
pg_latency=$(awk '/^latency average = /{print $4; exit}' <<<"$pgbench_out")
# The same without the operator's cash row: no hot row, but no longer double-entry. Shown so the
# reader can see how much of the baseline's cost is that row's lock.
pgbench_single=$(pgbench "$STATION_TEST_POSTGRES_URL" -n -M prepared -c "$connections" -j 2 \
  -T "$seconds" -D wallets=$customers -f <(grep -v 'WHERE id = 0' bench/pgbench_topup.sql) 2>&1)
pg_single_tps=$(awk '/^tps = /{print int($3); exit}' <<<"$pgbench_single")
pg_single_latency=$(awk '/^latency average = /{print $4; exit}' <<<"$pgbench_single")

# --- Station over HTTP -------------------------------------------------------------------------
run_station() {  # $1: engine label, $2: extra serve flags
  local port key data
  port=$(free_port)
  data="$work/$1"
  mkdir -p "$data"
  if [[ $1 == postgres ]]; then
    psql "$STATION_TEST_POSTGRES_URL" -q -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;'
  fi
  # shellcheck disable=SC2086
  key=$($station admin api-key create --scope admin --data-dir "$data" $2 | tail -n 1)
  # shellcheck disable=SC2086
  $station serve --data-dir "$data" --listen "127.0.0.1:$port" $2 >"$data/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  : >"$data/customers"
  for i in $(seq $customers); do
    curl -sf -X POST "http://127.0.0.1:$port/v1/customers" -H "Authorization: Bearer $key" \
      -H 'Content-Type: application/json' -d "{\"name\":\"Bench $i\",\"currency\":\"CNY\"}" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' >>"$data/customers"
  done
  local out
  out=$(STATION_BENCH_KEY=$key STATION_BENCH_CUSTOMERS="$data/customers" \
    wrk -t2 -c"$connections" -d"${seconds}s" --latency -s bench/topup.lua "http://127.0.0.1:$port")
  kill "$server_pid"; wait "$server_pid" || true; server_pid=
  # shellcheck disable=SC2086
  $station admin ledger check --data-dir "$data" $2 >/dev/null || { echo "ledger check failed" >&2; exit 1; }
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/{print int($2)}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx responses during the run:" >&2; echo "$out" >&2; exit 1; fi
  echo "$rps $p50 $p99"
}

read -r sqlite_rps sqlite_p50 sqlite_p99 < <(run_station sqlite "")
read -r pgst_rps pgst_p50 pgst_p99 < <(run_station postgres "--database $STATION_TEST_POSTGRES_URL")

ratio() { python3 -c "print(f'{$1/$2:.1f}x')"; }
echo
echo "| what ($connections connections, ${seconds}s, $(nproc) cores) | top-ups/s | p50 | p99 | vs baseline |"
echo "|---|---|---|---|---|"
echo "| baseline: pgbench, 1 PostgreSQL transaction per top-up | $pg_tps | avg ${pg_latency} ms | | 1.0x |"
echo "| (for reference) the same without the operator cash row | $pg_single_tps | avg ${pg_single_latency} ms | | $(ratio "$pg_single_tps" "$pg_tps") |"
echo "| Station HTTP, SQLite store | $sqlite_rps | $sqlite_p50 | $sqlite_p99 | $(ratio "$sqlite_rps" "$pg_tps") |"
echo "| Station HTTP, PostgreSQL store | $pgst_rps | $pgst_p50 | $pgst_p99 | $(ratio "$pgst_rps" "$pg_tps") |"
