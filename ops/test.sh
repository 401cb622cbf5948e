#!/usr/bin/env bash
# The README's second command: installs what the tests need, starts a real PostgreSQL server,
# runs every test, stops the server. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ops/install-deps.sh
source ops/postgres.sh
trap stop_test_postgres EXIT
start_test_postgres

start=$(date +%s)
swift build --build-tests
echo "test: build took $(( $(date +%s) - start )) s"
start=$(date +%s)
swift test
echo "test: tests took $(( $(date +%s) - start )) s"
bash ops/check-allocations.sh
