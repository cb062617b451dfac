#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster, then removes the cluster.
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
#
# The cluster lives in a new directory under /tmp, listens on its own unix socket there and on
# 127.0.0.1 at a free port, trusts loopback connections, and keeps fsync on (durability tests
# rely on it). The command sees:
#   STATION_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/station_test
#   PGHOST=127.0.0.1 PGPORT=PORT PGUSER=postgres PGDATABASE=station_test  (psql, pgbench)
# The script exits with the command's exit code; the cluster is stopped and deleted in every
# case. PostgreSQL refuses to run as root, so under root the server runs as the `postgres` system
# user (made by Debian's postgresql package); otherwise as the current user.
# Binaries: $STATION_PG_BINDIR if set, else the newest /usr/lib/postgresql/*/bin, else
# `pg_config --bindir` (never a bare PATH lookup: /usr/local/bin may hold unrelated wrappers).
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

find_bindir() {
  if [[ -n ${STATION_PG_BINDIR:-} ]]; then
    echo "$STATION_PG_BINDIR"
    return
  fi
  local dir
  while read -r dir; do
    if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then
      echo "$dir"
      return
    fi
  done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r)
  if command -v pg_config >/dev/null && dir=$(pg_config --bindir) && [[ -x $dir/initdb ]]; then
    echo "$dir"
    return
  fi
  echo "with-postgres: no PostgreSQL server binaries found (run scripts/setup.sh)" >&2
  return 1
}

bindir=$(find_bindir)
superuser=postgres
database=station_test

# Runs a PostgreSQL tool as the user that owns the cluster, from a directory it can read.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root needs the 'postgres' system user" >&2
    exit 1
  fi
  as_owner=(runuser -u postgres --)
fi
pg() { (cd "$cluster" && "${as_owner[@]}" "$@"); }

cluster=$(mktemp -d /tmp/station-pg.XXXXXX)
started=0
cleanup() {
  if ((started)); then
    pg "$bindir/pg_ctl" -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$cluster"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ((${#as_owner[@]})); then chown postgres: "$cluster"; fi

pg "$bindir/initdb" -D "$cluster/data" -U "$superuser" --auth=trust --encoding=UTF8 \
  --locale=C --no-instructions >"$cluster/initdb.log" 2>&1 || {
  cat "$cluster/initdb.log" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Another process may take the free port before the server binds it: try a few.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  # postgresql.auto.conf is read after postgresql.conf; rewritten whole on each attempt.
  cat >"$cluster/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$cluster'
fsync = on
synchronous_commit = on
max_connections = 200
CONF
  if pg "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start \
    >/dev/null 2>&1; then
    started=1
    break
  fi
  if ((attempt == 5)); then
    echo "with-postgres: the server did not start; its log:" >&2
    cat "$cluster/server.log" >&2 || true
    exit 1
  fi
done

pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$superuser" "$database"

export STATION_TEST_POSTGRES_URL="postgres://$superuser@127.0.0.1:$port/$database"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=$superuser PGDATABASE=$database

set +e
"$@"
status=$?
set -e
exit "$status"
