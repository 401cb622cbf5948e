#!/usr/bin/env bash
# The README's second command: installs what the tests need, starts a real PostgreSQL server,
# runs every test, stops the server. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ops/install-deps.sh
source ops/postgres.sh
trap 'status=$?; [ $status -eq 0 ] || show_test_postgres_problems; stop_test_postgres' EXIT
start_test_postgres

start=$(date +%s)
swift build --build-tests
echo "test: build took $(( $(date +%s) - start )) s"
# The suites that load 100k-300k-row tables (planner validation, executor) run after the
# rest, not beside it: on a 2-core machine they starved the detector tests' timed waits.
heavy='PlannerValidationTests|PostgresHashTests|PlanCommandTests|ExecutorPostgresTests|ExecutorSQLiteTests|ExecutorServiceTests|ClosedLoopTests|DemoLoopTests'
start=$(date +%s)
swift test --skip "$heavy"
echo "test: tests took $(( $(date +%s) - start )) s"
start=$(date +%s)
swift test --filter "$heavy"
echo "test: database-heavy tests took $(( $(date +%s) - start )) s"
# Operator files and contracts: alert rules, dashboard, manifests (ops/), the compose setup
# (docker/), every schema example, the shipped configs, and an outside subscriber (Python
# confluent-kafka) reading alerts from the embedded cluster.
bash ops/check-ops.sh
python3 schemas/check-examples.py
python3 docker/check.py
for config in docker/config/driftline.yaml schemas/examples/detector-config.yaml schemas/examples/detector-config.closed-loop.yaml; do
  .build/debug/driftline detect --config "$config" --check-config >/dev/null
done
bash examples/check-subscriber.sh .build/debug/driftline
bash ops/check-allocations.sh
