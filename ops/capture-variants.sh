#!/usr/bin/env bash
# What a change-capture trigger costs a durable single-row writer, per way of writing it: the
# experiment behind the executor's choice of capture (DEVELOPERS.md, "Capture cost"). Starts its own
# PostgreSQL at default durability, loads `bench execute`'s events table, and runs pgbench's
# single-row UPDATE for SECONDS per variant, alternating the variants in each trial (the disk is
# noisy: compare neighbours in time). Prints tx/s per variant and trial, then medians relative to no
# trigger. Usage: ops/capture-variants.sh [ROWS=1000000] [SECONDS=2] [TRIALS=15] [VARIANT...]
# Short runs, many alternations: 10 s runs on this disk varied 2,500–4,400 tx/s with no trigger at
# all. CAPTURE_SYNC=off runs the writer with synchronous_commit off: the trigger's CPU cost alone.
# CAPTURE_CPU=1 reports the server's CPU per transaction instead (pgbench -t, a fixed count, and the
# CPU of every server process, exited backends included through the postmaster's children times):
# CAPTURE_LOOP=1 times single-row UPDATE statements run in a loop inside the server (one
# transaction, no client, no commit): what the trigger adds to each statement, without the disk.
# Variant logical_slot is the executor's logical capture (no trigger: a publication and a pgoutput
# slot, decoded and advanced every second while the writer runs, as the drains do, more often).
# The server runs with wal_level=logical; CAPTURE_WAL=replica runs it at PostgreSQL's default (the
# logical variant then cannot run), which with the same variants measures what the level itself costs.
set -euo pipefail
rows="${1:-1000000}" seconds="${2:-2}" trials="${3:-15}"
shift $(( $# < 3 ? $# : 3 ))
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=postgres.sh
source "$here/postgres.sh"
DRIFTLINE_TEST_POSTGRES_PORT="${CAPTURE_PORT:-56432}" DRIFTLINE_TEST_POSTGRES_DURABLE=1 \
  DRIFTLINE_TEST_POSTGRES_WAL_LEVEL="${CAPTURE_WAL:-logical}" start_test_postgres >/dev/null
trap stop_test_postgres EXIT
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
url="$DRIFTLINE_TEST_POSTGRES_URL"
psql() { "$bin/psql" -X -q -v ON_ERROR_STOP=1 "$url" "$@"; }

psql <<SQL
CREATE TABLE events (id bigserial, ts timestamptz NOT NULL, user_id int, category text, amount numeric, note text, PRIMARY KEY (id, ts));
INSERT INTO events (ts, user_id, category, amount, note)
SELECT timestamptz '2026-01-01' + (g * interval '364 days' / $rows), (g::int8 * 7919) % 50000, (ARRAY['a','b','c'])[1 + g % 3], g % 1000, md5(g::text)
FROM generate_series(1, $rows) g;
VACUUM ANALYZE events;
ALTER TABLE events SET (autovacuum_enabled = off);
SQL

# Each variant: the SQL that installs it (the teardown drops every trigger, function and log).
declare -A setup
setup[none]=""
# The executor's capture (PostgresDialect.capture): one row trigger for all three operations.
read -r -d '' setup[row_plpgsql] <<'SQL' || true
CREATE TABLE changes (op "char" NOT NULL, id bigint, ts timestamptz);
CREATE FUNCTION capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO changes (op, id, ts) VALUES ('D', OLD.id, OLD.ts);
  ELSE
    INSERT INTO changes (op, id, ts) VALUES (substr(TG_OP, 1, 1), NEW.id, NEW.ts);
    IF TG_OP = 'UPDATE' AND (NEW.id IS DISTINCT FROM OLD.id OR NEW.ts IS DISTINCT FROM OLD.ts) THEN
      INSERT INTO changes (op, id, ts) VALUES ('D', OLD.id, OLD.ts);
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION capture();
SQL
# The same into an UNLOGGED log: no WAL for the capture, but a server crash empties the log.
setup[row_plpgsql_unlogged]="${setup[row_plpgsql]/CREATE TABLE changes/CREATE UNLOGGED TABLE changes}"
# The floor of a row trigger: the function runs and does nothing.
read -r -d '' setup[row_noop] <<'SQL' || true
CREATE FUNCTION capture() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION capture();
SQL
# One trigger per operation with no branching; the key change handled by a WHEN condition.
read -r -d '' setup[row_split] <<'SQL' || true
CREATE TABLE changes (op "char" NOT NULL, id bigint, ts timestamptz);
CREATE FUNCTION capture_new() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO changes VALUES ('U', NEW.id, NEW.ts); RETURN NULL; END $$;
CREATE FUNCTION capture_old() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO changes VALUES ('D', OLD.id, OLD.ts); RETURN NULL; END $$;
CREATE TRIGGER capture_i AFTER INSERT OR UPDATE ON events FOR EACH ROW EXECUTE FUNCTION capture_new();
CREATE TRIGGER capture_d AFTER DELETE ON events FOR EACH ROW EXECUTE FUNCTION capture_old();
CREATE TRIGGER capture_k AFTER UPDATE ON events FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.ts IS DISTINCT FROM OLD.ts) EXECUTE FUNCTION capture_old();
SQL
# The same work in a BEFORE trigger: no after-trigger event queue (the row is not fetched again at
# the statement's end), but a later BEFORE trigger of the application could still change the key.
read -r -d '' setup[row_before] <<'SQL' || true
CREATE TABLE changes (op "char" NOT NULL, id bigint, ts timestamptz);
CREATE FUNCTION capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO changes (op, id, ts) VALUES ('D', OLD.id, OLD.ts);
    RETURN OLD;
  END IF;
  INSERT INTO changes (op, id, ts) VALUES (substr(TG_OP, 1, 1), NEW.id, NEW.ts);
  IF TG_OP = 'UPDATE' AND (NEW.id IS DISTINCT FROM OLD.id OR NEW.ts IS DISTINCT FROM OLD.ts) THEN
    INSERT INTO changes (op, id, ts) VALUES ('D', OLD.id, OLD.ts);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER capture BEFORE INSERT OR UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION capture();
SQL
# Statement triggers over transition tables (one event each, as PostgreSQL requires).
read -r -d '' setup[statement] <<'SQL' || true
CREATE TABLE changes (op "char" NOT NULL, id bigint, ts timestamptz);
CREATE FUNCTION capture_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO changes SELECT 'I', id, ts FROM new_rows; RETURN NULL; END $$;
CREATE FUNCTION capture_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO changes SELECT 'U', id, ts FROM new_rows; RETURN NULL; END $$;
CREATE FUNCTION capture_del() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO changes SELECT 'D', id, ts FROM old_rows; RETURN NULL; END $$;
CREATE TRIGGER capture_i AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION capture_ins();
CREATE TRIGGER capture_u AFTER UPDATE ON events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION capture_upd();
CREATE TRIGGER capture_d AFTER DELETE ON events REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION capture_del();
SQL
# The slot itself is created after the publication, in a statement of its own (see below).
setup[logical_slot]="CREATE PUBLICATION capture FOR TABLE events WITH (publish_via_partition_root = true)"
drain="SELECT count(*) FROM pg_logical_slot_peek_binary_changes('capture', pg_current_wal_flush_lsn(), NULL, 'proto_version', '1', 'publication_names', 'capture')"
advance="SELECT pg_replication_slot_advance('capture', pg_current_wal_flush_lsn())"
teardown="SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'capture'; DROP PUBLICATION IF EXISTS capture;
DROP TRIGGER IF EXISTS capture ON events; DROP TRIGGER IF EXISTS capture_i ON events; DROP TRIGGER IF EXISTS capture_u ON events;
DROP TRIGGER IF EXISTS capture_d ON events; DROP TRIGGER IF EXISTS capture_k ON events;
DROP FUNCTION IF EXISTS capture(), capture_new(), capture_old(), capture_ins(), capture_upd(), capture_del(); DROP TABLE IF EXISTS changes;"

# CPU ticks of every server process, plus those of exited children (backends of earlier runs).
server_cpu_ticks() {
  local postmaster
  postmaster=$(head -n 1 "$DRIFTLINE_TEST_POSTGRES_DIR/data/postmaster.pid")
  { for pid in $(pgrep -u postgres); do awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null; done
    awk '{print $16 + $17}' "/proc/$postmaster/stat"; } | awk '{s += $1} END {print s}'
}
# Ends the logical variant's drain loop (its last decode finishes first: a slot in use cannot be dropped).
stop_drainer() {
  [ -n "$drainer" ] || return 0
  rm -f "$results.draining"
  wait "$drainer"
}
variants=(none row_plpgsql row_plpgsql_unlogged row_noop row_split row_before statement)
[ $# -gt 0 ] && variants=(none "$@")
script=$(mktemp)
printf '\\set id random(1, %d)\nUPDATE events SET amount = amount + 1 WHERE id = :id;\n' "$rows" >"$script"
results=$(mktemp)
# Every other trial runs the variants in reverse order: the table ages as it is updated (less room
# for HOT updates, more dead rows), and a fixed order would charge that to the later variants.
reversed=()
for ((i = ${#variants[@]} - 1; i >= 0; i--)); do reversed+=("${variants[i]}"); done
for trial in $(seq 1 "$trials"); do
  order=("${variants[@]}")
  [ $((trial % 2)) -eq 0 ] && order=("${reversed[@]}")
  for variant in "${order[@]}"; do
    psql -c "$teardown" >/dev/null 2>&1
    [ -n "${setup[$variant]}" ] && psql -c "${setup[$variant]}"
    drainer=""
    if [ "$variant" = logical_slot ]; then
      psql -c "SELECT pg_create_logical_replication_slot('capture', 'pgoutput')" >/dev/null
      touch "$results.draining"
      ( while [ -e "$results.draining" ]; do sleep 1; psql -c "$drain" >/dev/null; psql -c "$advance" >/dev/null; done ) &
      drainer=$!
    fi
    psql -c "CHECKPOINT"
    if [ "${CAPTURE_LOOP:-0}" = 1 ]; then
      n=$((seconds * 25000))
      ms=$("$bin/psql" -X -v ON_ERROR_STOP=1 "$url" -c '\timing on' -c "DO \$\$ BEGIN FOR i IN 1..$n LOOP UPDATE events SET amount = amount + 1 WHERE id = 1 + (i::int8 * 7919 + $trial) % $rows; END LOOP; END \$\$" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
      tps=$(python3 -c "print($n / ($ms / 1000))")
      echo "trial $trial $variant $tps statements/s in the server"
      echo "$trial $variant $tps" >>"$results"
      stop_drainer
      continue
    fi
    if [ "${CAPTURE_CPU:-0}" = 1 ]; then
      before=$(server_cpu_ticks)
      PGOPTIONS="-c synchronous_commit=${CAPTURE_SYNC:-on}" "$bin/pgbench" -n -c 1 -t "$((seconds * 5000))" -f "$script" "$url" >/dev/null 2>&1
      after=$(server_cpu_ticks)
      # Reported as transactions per server CPU second, so the summary's ratios read the same way.
      tps=$(python3 -c "print($((seconds * 5000)) / (($after - $before) / $(getconf CLK_TCK)))")
      echo "trial $trial $variant $tps tx per server CPU second"
      echo "$trial $variant $tps" >>"$results"
      stop_drainer
      continue
    fi
    tps=$(PGOPTIONS="-c synchronous_commit=${CAPTURE_SYNC:-on}" "$bin/pgbench" -n -c 1 -T "$seconds" -f "$script" "$url" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    echo "trial $trial $variant $tps tx/s"
    echo "$trial $variant $tps" >>"$results"
    stop_drainer
  done
done
python3 - "$results" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    trial, variant, tps = line.split(); runs[trial][variant] = float(tps)
variants = list(next(iter(runs.values())).keys())
for variant in variants:
    ratios = [r[variant] / r["none"] for r in runs.values()]
    print(f"{variant:22s} {statistics.median([r[variant] for r in runs.values()]):8.0f} tx/s  {statistics.median(ratios)*100:5.1f}% of no trigger (trials {min(ratios)*100:.0f}–{max(ratios)*100:.0f}%)")
PY
