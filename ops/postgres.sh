#!/usr/bin/env bash
# Sourced by ops/test.sh: starts a throwaway PostgreSQL server for the tests and stops it on exit.
# initdb refuses to run as root, so as root the server runs as the `postgres` user, with its own
# data and socket directory, on loopback only.

start_test_postgres() {
  local bin port dir as_user=()
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    echo "postgres: no server binaries under /usr/lib/postgresql (run ops/install-deps.sh)" >&2
    return 1
  fi
  port="${DRIFTLINE_TEST_POSTGRES_PORT:-55432}"
  # wal_level=logical: the executor's logical capture is tested too (PostgreSQL's default, replica,
  # lacks it; DRIFTLINE_TEST_POSTGRES_WAL_LEVEL=replica measures what logical costs). Tests run without fsync (nothing to keep); DRIFTLINE_TEST_POSTGRES_DURABLE=1 keeps PostgreSQL's
  # default durability, for benchmarks whose figures must hold on a real server.
  local durability="-c fsync=off"
  [ "${DRIFTLINE_TEST_POSTGRES_DURABLE:-0}" = 1 ] && durability=""
  dir=$(mktemp -d /tmp/driftline-postgres.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    as_user=(runuser -u postgres --)
  fi
  "${as_user[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=200 -c wal_level=${DRIFTLINE_TEST_POSTGRES_WAL_LEVEL:-logical} -c log_lock_waits=on -c shared_preload_libraries=pg_stat_statements" start >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  export DRIFTLINE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  DRIFTLINE_TEST_POSTGRES_DIR="$dir"
  DRIFTLINE_TEST_POSTGRES_STOP=("${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop)
  echo "postgres: test server at $DRIFTLINE_TEST_POSTGRES_URL"
}

# After a failed run: the server's account of deadlocks and crashes (the log goes with the server).
show_test_postgres_problems() {
  [ -f "${DRIFTLINE_TEST_POSTGRES_DIR:-}/server.log" ] || return 0
  grep -A8 -E "deadlock detected|PANIC|server process .* was terminated" "$DRIFTLINE_TEST_POSTGRES_DIR/server.log" | tail -n 80 >&2 || true
}

stop_test_postgres() {
  if [ -n "${DRIFTLINE_TEST_POSTGRES_DIR:-}" ]; then
    "${DRIFTLINE_TEST_POSTGRES_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$DRIFTLINE_TEST_POSTGRES_DIR"
    DRIFTLINE_TEST_POSTGRES_DIR=""
  fi
}
